"""The front's side of the worker process: start it, hand it work, restart it if it dies.

Work goes to `python -m bot.runtime.worker_main` (bot/runtime/worker.py) as lines on its stdin
(bot/runtime/pipe.py); what it has taken and done, and its counters, come back on its
stdout. `submit` and `wake_feedback` never wait: they are called while Slack waits for its
ack. If the worker dies it is restarted: the questions it had not read yet, and those that
arrive meanwhile (up to `MAX_UNREAD`), go to the next one. Only answers a dead worker had
begun are lost, and they are counted (`answers_lost`). Feedback is never at risk here: it
is in the outbox before the front acks.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
from collections.abc import Sequence

from bot.answering.incoming import IncomingMessage
from bot.runtime.pipe import STOP, WAKE_FEEDBACK, parse_line, question_line

log = logging.getLogger(__name__)

WORKER_COMMAND = (sys.executable, "-m", "bot.runtime.worker_main")
MAX_UNREAD = 10_000
RESTART_DELAYS_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
STABLE_AFTER_S = 60.0  # a worker that lived this long is restarted without delay
EXPORT_COUNTERS = ("traces_dropped", "trace_exports_failed")


class WorkerStartFailed(Exception):
    """The worker exited before it was ready (it says why on stderr)."""


class WorkerLink:
    def __init__(self, command: Sequence[str] = WORKER_COMMAND) -> None:
        self._command = tuple(command)
        self._process: asyncio.subprocess.Process | None = None
        self._replies: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._unread: dict[int, bytes] = {}  # handed over or waiting, not yet read by it
        self._answering: set[int] = set()  # read by the worker, not answered yet
        self._counters: dict[str, int] = {}
        self._earlier_exports = dict.fromkeys(EXPORT_COUNTERS, 0)  # of workers that died
        self.restarts = 0
        self.lost_answers = 0  # begun by a worker that died, or refused while it was down

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

    def submit(self, message: IncomingMessage) -> None:
        """Have `message` answered (if it is addressed to the bot)."""
        stdin = self._stdin()
        if stdin is None and len(self._unread) >= MAX_UNREAD:
            self.lost_answers += 1
            log.error("worker down and %d questions waiting: one more refused", MAX_UNREAD)
            return
        question_id = next(self._ids)
        line = question_line(question_id, message)
        self._unread[question_id] = line
        if stdin is not None:
            stdin.write(line)

    def wake_feedback(self) -> None:
        """New feedback is in the outbox. (A worker that is down delivers it when it starts.)"""
        stdin = self._stdin()
        if stdin is not None:
            stdin.write(WAKE_FEEDBACK)

    @property
    def answers_in_flight(self) -> int:
        return len(self._unread) + len(self._answering)

    def stats(self) -> dict[str, object]:
        exports = {
            name: self._earlier_exports[name] + self._counters.get(name, 0)
            for name in EXPORT_COUNTERS
        }
        return {
            "worker": "running" if self._stdin() is not None else "restarting",
            "worker_restarts": self.restarts,
            "questions_unread": len(self._unread),
            "answers_in_flight": self.answers_in_flight,
            "answers_lost": self.lost_answers,
            **exports,
        }

    async def stop(self, timeout_s: float) -> bool:
        """An orderly stop: the worker finishes its answers, flushes their traces, drains the
        outbox and exits. False if a question went unanswered or it had to be killed."""
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if self._stdin() is None:
            if self._process is not None and self._process.returncode is not None:
                await self._bury()
            if self._unread:  # it died with questions Slack has been told are taken
                await self._spawn()
        stdin = self._stdin()
        process = self._process
        if stdin is None or process is None:
            return self.lost_answers == 0
        stdin.write(STOP)
        stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout_s)
        except TimeoutError:
            log.error("the worker did not stop within %.0f s: killed", timeout_s)
            process.kill()
            await process.wait()
        code = await self._bury()
        if self._unread:
            log.error("%d question(s) never read by the worker", len(self._unread))
        return code == 0 and not self._unread and self.lost_answers == 0

    # -- inside --------------------------------------------------------------------------

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
        for line in self._unread.values():  # in the order they came
            self._process.stdin.write(line)
        self._process.stdin.write(WAKE_FEEDBACK)  # what came while no worker was there
        log.info("worker started (pid %d)", self._process.pid)

    async def _read_replies(self, stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            try:
                reply = parse_line(line)
            except ValueError:
                continue  # not the worker's (a library printing to stdout)
            if reply.get("ready") is True:
                self._ready.set()
            if isinstance(read := reply.get("read"), int):
                self._unread.pop(read, None)
                self._answering.add(read)
            if isinstance(done := reply.get("done"), int):
                self._answering.discard(done)
            if isinstance(counters := reply.get("counters"), dict):
                self._counters = {k: v for k, v in counters.items() if isinstance(v, int)}

    async def _bury(self) -> int:
        """Account for the worker that exited: its counters, the answers it had begun."""
        assert self._process is not None and self._process.returncode is not None
        if self._replies is not None:
            await self._replies  # what it said before it died
        for name in EXPORT_COUNTERS:
            self._earlier_exports[name] += self._counters.get(name, 0)
        self._counters = {}
        if self._answering:
            log.error("%d answer(s) begun by the worker were lost", len(self._answering))
            self.lost_answers += len(self._answering)
            self._answering.clear()
        return self._process.returncode

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
            log.error(
                "the worker exited with %s; restarting in %.1f s for %d question(s)",
                code,
                delay,
                len(self._unread),
            )
            await asyncio.sleep(delay)
            await self._spawn()
            self.restarts += 1
