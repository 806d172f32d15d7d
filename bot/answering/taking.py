"""The worker's side of questions: take them from the store with a lease, answer, mark done.

A question stays in the store until its answer (or apology) is posted. While it is answered
its lease is renewed (the queue core's `renew_leases`, bot/storage/queue.py); if the worker
dies, the lease is released by the front (or runs out) and another worker takes it: a stream
the dead worker began is closed first (bot/answering/conversation.py), so the user sees one
final answer. A question older than
`max_age_s` when taken gets a short apology instead of a late answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from slack_sdk.web.async_client import AsyncWebClient

from bot.answering.conversation import Conversation
from bot.answering.incoming import IncomingMessage
from bot.storage.queue import Wakeup, renew_leases
from bot.storage.store import PostedAnswerEntry, Store, StoreUnavailable, TakenQuestion

log = logging.getLogger(__name__)

POLL_S = 5.0  # also look without a wake-up (a lease that ran out, a missed wake-up)
# On a shared store (PostgreSQL) other instances' fronts add questions without waking this
# worker: it looks often (one indexed claim query; bench/notes.md).
SHARED_POLL_S = 1.0
MAX_IN_HAND = 64
MAX_ATTEMPTS = 5  # a question that failed this often (a bug, not a crash) is given up
# A stream open this long is noted on its question, for a retake to close it first.
NOTE_STREAM_AFTER_S = 2.0


@dataclass
class QuestionTaker:
    store: Store
    conversation: Conversation
    client: AsyncWebClient
    owner: str
    lease_s: float
    max_age_s: float
    max_in_hand: int = MAX_IN_HAND
    poll_s: float = POLL_S
    _in_hand: dict[int, asyncio.Task[None]] = field(default_factory=dict, init=False)
    _idle_since: float = field(default_factory=time.monotonic, init=False)
    _wakeup: Wakeup = field(default_factory=Wakeup, init=False)
    _stopping: bool = field(default=False, init=False)

    def wake(self) -> None:
        self._wakeup.wake()

    @property
    def in_hand(self) -> int:
        return len(self._in_hand)

    async def quiet(self, quiet_s: float, at_most_s: float) -> None:
        """Return once no question has been in hand for `quiet_s` (none is being answered, nor
        was a moment ago), or after `at_most_s`: background work waits for the gaps between
        answers, not longer."""
        deadline = time.monotonic() + at_most_s
        while True:
            now = time.monotonic()
            if now >= deadline or (not self._in_hand and now - self._idle_since >= quiet_s):
                return
            await asyncio.sleep(min(quiet_s, deadline - now))

    async def run(self) -> None:
        """Take and answer questions until `stop()`."""
        renewing = asyncio.create_task(
            renew_leases(self._renew, self._in_hand.keys(), self.lease_s, "questions")
        )
        try:
            while True:
                # Stopping on a store of its own, the worker takes one last look: the questions
                # its front acked before it stopped are answered now, not at the next start. On
                # a shared store other instances take them.
                last_look = self._stopping
                if last_look and self.store.shared:
                    break
                self._wakeup.clear()
                room = self.max_in_hand - len(self._in_hand)
                try:
                    taken = await self.store.take_questions(self.owner, self.lease_s, room)
                except StoreUnavailable as error:
                    log.error("could not take questions from the store: %s", error)
                    taken = []
                for question in taken:
                    task = asyncio.create_task(self._answer(question), name=f"q{question.id}")
                    self._in_hand[question.id] = task
                if last_look:
                    break
                if taken and len(taken) == room:
                    continue  # more may be waiting
                await self._wakeup.wait(self.poll_s)
        finally:
            renewing.cancel()

    def stop(self) -> None:
        """Take nothing more (what is in hand goes on)."""
        self._stopping = True
        self._wakeup.wake()

    async def finish(self, grace_s: float) -> bool:
        """Wait up to `grace_s` for the answers in hand; those still running are released for
        the next start. True if all finished."""
        tasks = list(self._in_hand.values())
        if tasks:
            _, running = await asyncio.wait(tasks, timeout=grace_s)
        else:
            running = set()
        if not running:
            return True
        log.warning("%d answer(s) still running at shutdown: left for the next start", len(running))
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        try:
            await self.store.release_questions(self.owner)
        except StoreUnavailable as error:
            log.error("could not release the questions in hand: %s", error)
        return False

    async def _answer(self, question: TakenQuestion) -> None:
        try:
            message = IncomingMessage.from_json(question.message_json)
        except ValueError as error:
            log.error("question %d cannot be read, dropped: %s", question.id, error)
            await self._done(question)
            return
        if question.attempts > MAX_ATTEMPTS:
            log.error("question %s given up after %d attempts", message.key, MAX_ATTEMPTS)
            await self._done(question)
            return
        try:
            late = time.time() - question.received_at > self.max_age_s
            if question.attempts > 1:
                log.info("question %s taken again (attempt %d)", message.key, question.attempts)

            noting: asyncio.Task[None] | None = None

            async def note_stream(reply_ts: str) -> None:
                # Only a stream still open after NOTE_STREAM_AFTER_S is noted (most answers end
                # before: no write on their path); a retake that finds no note still finds the
                # stream in the thread (bot/answering/conversation.py).
                nonlocal noting
                noting = asyncio.create_task(self._note_later(question.id, reply_ts))

            try:
                posted = await self.conversation.handle(
                    message,
                    self.client,
                    late=late,
                    retake=question.attempts > 1,
                    leftover_stream=question.reply_ts,
                    on_stream=note_stream,
                )
            finally:
                if noting is not None:
                    noting.cancel()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("answering %s failed; it is taken again later", message.key)
            self._let_go(question)
            return
        await self._done(question, posted)

    async def _note_later(self, question_id: int, reply_ts: str) -> None:
        await asyncio.sleep(NOTE_STREAM_AFTER_S)
        try:
            await self.store.note_reply(question_id, reply_ts)
        except StoreUnavailable as error:
            log.warning("stream %s of question %d not noted: %s", reply_ts, question_id, error)

    async def _done(self, question: TakenQuestion, posted: PostedAnswerEntry | None = None) -> None:
        full = len(self._in_hand) >= self.max_in_hand
        self._let_go(question)
        if full:
            self._wakeup.wake()  # room again for what waited (otherwise a new one wakes us)
        try:
            await self.store.question_done(question.id, posted)
        except StoreUnavailable as error:
            log.error("question %d answered but not marked done: %s", question.id, error)

    def _let_go(self, question: TakenQuestion) -> None:
        self._in_hand.pop(question.id, None)
        if not self._in_hand:
            self._idle_since = time.monotonic()

    async def _renew(self, ids: list[int]) -> None:
        await self.store.extend_leases(self.owner, ids, self.lease_s)
