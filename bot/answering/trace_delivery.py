"""Sending kept traces to the tracking server: oldest first, each removed from the store only
once the server has it whole (bot/tracing/durable_export.py).

A kept trace is sent within `GATHER_S`, with the traces kept meanwhile: the work of sending
(a claim, the requests, a delete) comes once a round instead of after each answer. Answers
come first: each few sends wait for a gap between answers (`answers_first`), unless their
oldest trace was kept `MAX_DEFER_S` ago; sending a trace costs the worker and the tracking
server more CPU than answering, and on shared cores it delayed the next answer
(bench/notes.md: per-answer overhead). While the server is
unreachable (connection refused, 5xx, timeouts; or refusing the bot's credentials, which an
operator can fix) one trace, the oldest, probes it with the queue core's backoff
(bot/storage/queue.py); the others wait in the store (not in memory: a batch at a time is
read). When it answers again, everything waiting is due at once. A trace refused for good
(bot/tracing/server_errors.py) or unsent for `retry_for_s` is kept as dead with its reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.storage.queue import Failure, Wakeup, backoff_s, drain
from bot.storage.store import Store, StoreUnavailable, WaitingTrace
from bot.tracing.durable_export import TraceSender
from bot.tracing.server_errors import failure_of
from bot.tracing.server_watch import TrackingServerWatch

log = logging.getLogger(__name__)

BATCH = 32
# Traces sent together: each one's info, then all their spans in one request
# (bot/tracing/durable_export.py's TraceSender).
GROUP = 16
GATHER_S = 0.5
# Answers first: a few traces are sent once no answer has been in progress for QUIET_S, but a
# trace kept MAX_DEFER_S ago is sent at once (under steady load, sends keep up: they are
# late, not fewer). Meanwhile it waits in the store.
QUIET_S = 0.02
MAX_DEFER_S = 2.0
BASE_DELAY_S = 0.5
MAX_DELAY_S = 15.0
IDLE_WAIT_S = 30.0


@dataclass
class TraceDeliverer:
    store: Store
    sender: TraceSender
    watch: TrackingServerWatch
    retry_for_s: float = 24 * 3600.0
    # Waits for a gap between answers (bounded): QuestionTaker.quiet. None: sends at once.
    answers_first: Callable[[float, float], Awaitable[None]] | None = None
    sent: int = 0
    failed_attempts: int = 0  # sends that failed (server down, 5xx, refused): /readyz
    _failures_in_a_row: int = field(default=0, init=False)
    _wakeup: Wakeup = field(default_factory=Wakeup, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)

    def start(self) -> None:
        self.watch.when_back(self._server_back)
        self._task = asyncio.create_task(self._run(), name="trace-deliverer")

    def wake(self) -> None:
        """A trace was kept: send it now, unless the server is away (then the next probe
        waits for its backoff: a trace per answer must not become a probe per answer). Safe
        from any thread."""
        if not self.watch.down:
            self._wakeup.wake()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def counters(self) -> dict[str, int]:
        return {"traces_sent": self.sent, "trace_exports_failed": self.failed_attempts}

    async def drain(self, timeout_s: float) -> bool:
        """Send everything waiting now, backoff ignored (an orderly stop); True if none is
        left. What is left stays in the store for the next start."""
        await drain(
            lambda: self.store.due_traces(BATCH, ignore_backoff=True),
            lambda batch: self._send_batch(list(batch), defer=False),
            timeout_s,
        )
        return await self.store.next_trace_due_in() is None  # none waits (nor is claimed)

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()  # a trace kept from here on ends the wait below
            try:
                batch = await self.store.due_traces(BATCH)
                if batch and not await self._send_batch(batch):
                    wait_s = self._backoff()
                elif len(batch) == BATCH:
                    continue  # more may be due
                else:  # what was due is sent: one read for when to look again, not two
                    due_in = await self.store.next_trace_due_in()
                    wait_s = IDLE_WAIT_S if due_in is None else due_in
            except asyncio.CancelledError:
                raise
            except StoreUnavailable as error:
                log.error("trace delivery cannot read the store: %s", error)
                wait_s = 5.0
            await self._wakeup.wait(wait_s)
            await asyncio.sleep(GATHER_S)

    async def _send_batch(self, batch: list[WaitingTrace], *, defer: bool = True) -> bool:
        """Send the batch (oldest first, a few at a time, each few in a gap between answers
        unless not `defer`); False as soon as the server is unreachable (the rest waits for the
        next probe)."""
        if self.watch.down:
            batch = batch[:1]  # one probe
        sent: list[int] = []
        try:
            for start in range(0, len(batch), GROUP):
                if defer and self.answers_first is not None:
                    kept_s_ago = time.time() - batch[start].created_at
                    await self.answers_first(QUIET_S, max(0.0, MAX_DEFER_S - kept_s_ago))
                results = await self._send_group(batch[start : start + GROUP], sent)
                if not all(results):
                    return False
            return True
        finally:
            await self.store.traces_sent(sent)
            self.sent += len(sent)

    async def _send_group(self, group: list[WaitingTrace], sent: list[int]) -> list[bool]:
        """For each trace: True if sent (its row ID added to `sent`) or dead for good; False
        if the server was unreachable (once it is, the group's other failures are the same
        outage: they wait, held, like the rest of the batch, for the server's return)."""
        outcomes = await asyncio.to_thread(self.sender.send_many, [w.trace_json for w in group])
        results: list[bool] = []
        for waiting, error in zip(group, outcomes, strict=True):
            if error is None:
                sent.append(waiting.id)
                self._failures_in_a_row = 0
                await self.watch.reachable()
                results.append(True)
            elif not all(results):
                results.append(False)
            else:
                self.failed_attempts += 1
                results.append(await self._failed(waiting, error))
        return results

    async def _failed(self, waiting: WaitingTrace, error: Exception) -> bool:
        reason = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
        if failure_of(error) is Failure.REFUSED:
            log.error("trace %s refused by the tracking server: %s", waiting.trace_id, reason)
            await self.store.trace_dead(waiting.id, f"refused: {reason}")
            return True
        if time.time() - waiting.created_at > self.retry_for_s:
            log.error(
                "trace %s unsent for %.0f s: kept as dead", waiting.trace_id, self.retry_for_s
            )
            await self.store.trace_dead(waiting.id, "tracking server unreachable too long")
            return True
        await self.watch.unreachable(error)
        self._failures_in_a_row += 1
        await self.store.retry_trace(waiting.id, f"unavailable: {reason}", self._backoff())
        return False

    def _backoff(self) -> float:
        return backoff_s(self._failures_in_a_row - 1, BASE_DELAY_S, MAX_DELAY_S)

    async def _server_back(self) -> None:
        await self.store.traces_due_now()
        self._wakeup.wake()
