"""The front's handle on its worker process: start it, wake it, restart it if it dies.

The worker (`python -m bot.runtime.worker_main`, bot/runtime/worker.py) takes its work from
the store (bot/storage/store.py); this side only wakes it over its stdin when there is new
work (bot/runtime/pipe.py) and reads its counters back on its stdout. `wake_questions` and
`wake_feedback` never wait: they are called while Slack waits for its ack. If the worker dies
it is restarted, and the questions and feedback it held are released at once for the next one
to take: nothing it had begun is lost, it is answered (or delivered) again
(bot/answering/taking.py, bot/feedback/delivery.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence

from bot.feedback.outbox import Outbox
from bot.runtime.pipe import Counters, Ready, Stop, Wake, decode, encode
from bot.storage.store import Store, StoreUnavailable, lease_owner

log = logging.getLogger(__name__)

WORKER_COMMAND = (sys.executable, "-m", "bot.runtime.worker_main")
RESTART_DELAYS_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
STABLE_AFTER_S = 60.0  # a worker that lived this long is restarted without delay
EXPORT_COUNTERS = ("traces_dropped", "traces_sent", "trace_exports_failed")
WAKE_QUESTIONS = encode(Wake("questions"))
WAKE_FEEDBACK = encode(Wake("feedback"))
WAKE_JOBS = encode(Wake("jobs"))


class WorkerStartFailed(Exception):
    """The worker exited before it was ready (it says why on stderr)."""


class WorkerProcess:
    def __init__(self, store: Store | None, command: Sequence[str] = WORKER_COMMAND) -> None:
        self._store = store
        self._command = tuple(command)
        self._process: asyncio.subprocess.Process | None = None
        self._replies: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._counters: dict[str, int] = {}
        self._earlier_exports = dict.fromkeys(EXPORT_COUNTERS, 0)  # of workers that died
        self._stopping = False
        self.restarts = 0

    async def start(self) -> None:
        """Start the worker and wait until it is ready; WorkerStartFailed if it exits first."""
        await self._spawn()
        assert self._process is not None
        exited = asyncio.create_task(self._process.wait())
        ready = asyncio.create_task(self._ready.wait())
        await asyncio.wait({exited, ready}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if not self._ready.is_set():
            raise WorkerStartFailed(f"the worker process exited with {await exited} at start")
        exited.cancel()
        self._supervisor = asyncio.create_task(self._supervise(), name="worker supervisor")

    def wake_questions(self) -> None:
        """A question is in the store. (A worker that is down takes it when it starts.)"""
        self._write(WAKE_QUESTIONS)

    def wake_feedback(self) -> None:
        """New feedback is in the outbox. (A worker that is down delivers it when it starts.)"""
        self._write(WAKE_FEEDBACK)

    def wake_jobs(self) -> None:
        """A job is in the store (bot/storage/jobs.py)."""
        self._write(WAKE_JOBS)

    def stats(self) -> dict[str, object]:
        exports = {
            name: self._earlier_exports[name] + self._counters.get(name, 0)
            for name in EXPORT_COUNTERS
        }
        if self._stopping:
            state = (
                "stopped"
                if self._process is None or self._process.returncode is not None
                else "stopping"
            )
        else:
            state = "running" if self._stdin() is not None else "restarting"
        return {
            "worker": state,
            "worker_restarts": self.restarts,
            **exports,
        }

    async def stop(self, timeout_s: float) -> bool:
        """An orderly stop: the worker finishes its answers (or leaves them in the store),
        flushes their traces, drains the outbox and exits. False if it had to be killed or
        exited with an error."""
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        stdin = self._stdin()
        process = self._process
        if stdin is None or process is None:
            if process is not None and process.returncode is not None:
                await self._bury()
            return False
        stdin.write(encode(Stop()))
        stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout_s)
        except TimeoutError:
            log.error("the worker did not stop within %.0f s: killed", timeout_s)
            process.kill()
            await process.wait()
        return await self._bury() == 0

    # -- inside --------------------------------------------------------------------------

    def _write(self, line: bytes) -> None:
        stdin = self._stdin()
        if stdin is not None:
            stdin.write(line)

    def _stdin(self) -> asyncio.StreamWriter | None:
        process = self._process
        if process is None or process.returncode is not None or process.stdin is None:
            return None
        return None if process.stdin.is_closing() else process.stdin

    async def _spawn(self) -> None:
        self._ready.clear()
        self._process = await asyncio.create_subprocess_exec(
            *self._command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,  # out of reach of a terminal's Ctrl-C to the front's group
        )
        assert self._process.stdout is not None and self._process.stdin is not None
        self._replies = asyncio.create_task(self._read_replies(self._process.stdout))
        log.info("worker started (pid %d)", self._process.pid)

    async def _read_replies(self, stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            try:
                reply = decode(line)
            except ValueError:
                continue  # not the worker's (a library printing to stdout)
            if isinstance(reply, Ready):
                self._ready.set()
            elif isinstance(reply, Counters):
                self._counters = dict(reply.values)

    async def _bury(self) -> int:
        """Account for the worker that exited: its counters; the questions and feedback it
        held go back to the store's queue at once."""
        process = self._process
        assert process is not None and process.returncode is not None
        if self._replies is not None:
            await self._replies  # what it said before it died
        for name in EXPORT_COUNTERS:
            self._earlier_exports[name] += self._counters.get(name, 0)
        self._counters = {}
        if self._store is not None:
            owner = lease_owner(process.pid)
            try:
                released = await self._store.release_questions(owner)
                await Outbox(self._store).release(owner)  # the feedback it was sending
            except StoreUnavailable as error:
                log.error("the questions of the exited worker wait for their leases: %s", error)
            else:
                if released:
                    log.warning("%d question(s) the worker held are taken again", released)
        return process.returncode

    async def _supervise(self) -> None:
        failures = 0
        loop = asyncio.get_running_loop()
        while True:
            assert self._process is not None
            started = loop.time()
            await self._process.wait()
            code = await self._bury()
            failures = 0 if loop.time() - started > STABLE_AFTER_S else failures + 1
            delay = RESTART_DELAYS_S[min(failures, len(RESTART_DELAYS_S)) - 1] if failures else 0.0
            log.error("the worker exited with %s; restarting in %.1f s", code, delay)
            await asyncio.sleep(delay)
            await self._spawn()
            self.restarts += 1


class SeparateWorkers:
    """`python -m bot web`: no worker process of the front's own. Workers run as a process type
    of their own (`python -m bot worker`) on the shared store and find what this front keeps
    by polling it: nothing to start, wake or stop here."""

    restarts = 0

    async def start(self) -> None:
        """Nothing to start."""

    def wake_questions(self) -> None:
        """The workers poll the shared store."""

    def wake_feedback(self) -> None:
        """The workers poll the outbox."""

    def wake_jobs(self) -> None:
        """The workers poll the jobs."""

    def stats(self) -> dict[str, object]:
        return {"worker": "separate"}

    async def stop(self, timeout_s: float) -> bool:
        return True


Workers = WorkerProcess | SeparateWorkers
