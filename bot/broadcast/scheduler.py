"""The digest and the alerts, run in the worker: every `tick_s` each looks whether it is due
(the store decides which instance does it, bot/storage/broadcasts.py). Every call that blocks
(the tracking server's) runs in a worker thread; the store's calls run on its own threads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from slack_sdk.web.async_client import AsyncWebClient

from bot.broadcast.alert_rules import Thresholds
from bot.broadcast.alerts import AlertPolicy, Alerts, Backlog
from bot.broadcast.digest import Digest
from bot.broadcast.report_message import ChannelReports
from bot.broadcast.schedule import DigestSchedule
from bot.storage.broadcasts import Broadcasts
from bot.storage.store import Store
from config import Settings

log = logging.getLogger(__name__)

TICK_S = 15.0
ERROR_PAUSE_S = 30.0


class Broadcaster:
    def __init__(
        self, digest: Digest | None, alerts: Alerts | None, tick_s: float = TICK_S
    ) -> None:
        self.digest = digest
        self.alerts = alerts
        self._tick_s = tick_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.digest is not None or self.alerts is not None:
            self._task = asyncio.create_task(self._run(), name="digest and alerts")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def tick(self) -> None:
        """Whatever is due now."""
        if self.digest is not None:
            await self.digest.run_due()
        if self.alerts is not None:
            await self.alerts.run_due()

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
                pause = self._tick_s
            except Exception:
                log.exception(
                    "the digest and alerts failed; looking again in %.0f s", ERROR_PAUSE_S
                )
                pause = ERROR_PAUSE_S
            await asyncio.sleep(pause)


def broadcaster(
    settings: Settings,
    store: Store,
    client: AsyncWebClient,
    backlog: Callable[[], Awaitable[Backlog]],
    owner: str,
    clock: Callable[[], float] = time.time,
) -> Broadcaster:
    """The digest and the alerts as the settings ask (neither without its channel)."""
    broadcasts = Broadcasts(store)
    reports = ChannelReports(settings, client)
    digest = None
    if settings.feedback_digest_channel:
        digest = Digest(
            broadcasts,
            reports,
            client,
            settings.feedback_digest_channel,
            DigestSchedule(settings.feedback_digest_cron, settings.feedback_zone),
            owner,
            clock,
        )
    alerts = None
    if settings.feedback_alert_channel:
        alerts = Alerts(
            broadcasts,
            reports,
            client,
            alert_policy(settings),
            backlog,
            owner,
            clock,
        )
    return Broadcaster(digest, alerts, tick_s=min(TICK_S, settings.feedback_alert_every))


def alert_policy(settings: Settings) -> AlertPolicy:
    assert settings.feedback_alert_channel is not None
    return AlertPolicy(
        channel=settings.feedback_alert_channel,
        every_s=settings.feedback_alert_every,
        window_s=settings.feedback_alert_window,
        baseline_s=settings.feedback_alert_baseline,
        thresholds=Thresholds(
            min_votes=settings.feedback_alert_min_votes,
            drop=settings.feedback_alert_drop,
            floor=settings.feedback_alert_floor,
        ),
    )
