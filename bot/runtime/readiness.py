"""What `GET /readyz` reports: the tracking server's reachability, the questions in the store, the
traces waiting for the tracking server, the outbox backlog, the worker process and its trace
export counters. Cheap: the server check is cached for a few seconds. Ready (200) means this
instance can take work: it is accepting and its store answers. The tracking server's state is
reported, not required: what it cannot take yet waits in the store (with several instances
behind a load balancer, an outage of it must not take every one of them out of rotation)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import aiohttp

from bot.runtime.app import Bot
from bot.runtime.worker_process import Workers
from bot.storage.store import StoreUnavailable

CACHE_S = 5.0


@dataclass
class Readiness:
    bot: Bot
    worker: Workers
    _checked_at: float = field(default=0.0, init=False)
    _reachable: bool = field(default=False, init=False)

    async def __call__(self) -> dict[str, object]:
        tracking = "reachable" if await self._tracking_reachable() else "unreachable"
        try:
            stats = await self.bot.outbox.stats()
            questions = await self.bot.store.question_stats()
            traces = await self.bot.store.trace_stats()
        except StoreUnavailable as error:  # nothing can be acked: not ready
            return {"tracking_server": tracking, "store": f"unavailable: {error}"}
        return {
            "tracking_server": tracking,
            "store": "available",
            "questions": questions.as_dict(),
            "traces": traces.as_dict(),
            "outbox": stats.as_dict(),
            "tasks_in_flight": len(self.bot.background) + questions.pending + questions.in_progress,
            **self.worker.stats(),
        }

    async def _tracking_reachable(self) -> bool:
        if time.monotonic() - self._checked_at < CACHE_S:
            return self._reachable
        url = self.bot.settings.mlflow_tracking_uri + "/health"
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session,
                session.get(url) as response,
            ):
                self._reachable = response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            self._reachable = False
        self._checked_at = time.monotonic()
        return self._reachable
