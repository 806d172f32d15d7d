"""The durable store of work in flight: the boundary between the front and the worker.

One schema (bot/storage/schema.py) and one set of queries in SQLAlchemy Core, run on SQLite
(WAL, file `store.sqlite3` in `BOT_DATA_DIR`). Each call runs one whole transaction on a
thread of the store's own (`_run`), never across turns of the event loop: MLflow's span
processor keeps a trace synchronously on the loop's thread (`keep_trace`), and a transaction
left open by the loop while it waits there would deadlock it (bench/notes.md). On SQLite
each transaction first takes the file's writer lock (bot/storage/writer_lock.py): the front's
commit waits for the worker's as long as it lasts, not for SQLite's busy-handler naps. A
PostgreSQL backend is a second engine for the same statements: claims already say `FOR
UPDATE SKIP LOCKED` (which SQLite, with its one writer at a time, does not need and
SQLAlchemy leaves out), upserts go through the dialect's own `insert` (`_insert`), or the
SQL both share (`SEE_EVENT`, …). Why this and not
hand-written SQL per driver: bench/notes.md. Every queue here (questions, traces, and the
feedback outbox and generic jobs beside their domain) is claimed, renewed, retried and kept as
dead by the queue core's statements (bot/storage/queue.py).

Questions: the front commits each question with its event key before it acks Slack
(`add_question`; `StoreUnavailable` if it cannot, so that Slack retries). A worker takes
questions with a lease (`take_questions`), extends it while it answers, notes a stream it
began (`note_reply`), and removes the question once answered (`question_done`). A question
whose worker died is taken again when its lease runs out, or at once when the worker's
leases are released (`release_questions`: the front does it when its worker dies, and at
start for every lease, as the one instance on its SQLite file).

Traces: MLflow's span processor hands each finished trace to `keep_trace` (synchronous: it is
called as the root span ends, and returns once the trace is committed); a deliverer sends
the oldest due ones (`due_traces`) and removes each once the server has it whole
(`traces_sent`), or retries it later (`retry_trace`), or keeps it as dead (`trace_dead`).

Feedback (bot/feedback/outbox.py), the generic jobs (bot/storage/jobs.py) and the assistant
panel's threads (bot/storage/assistant_threads.py) keep their queries beside their domain and
run them here (`run`, `insert`).
The files of earlier versions in `BOT_DATA_DIR` (`OLD_FILES`) are imported once at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    create_engine,
    delete,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from bot.storage.engine import postgres_engine
from bot.storage.errors import StoreUnavailable
from bot.storage.migrations import migrate
from bot.storage.queue import QueueTable, due_in_s
from bot.storage.schema import (
    answers,
    assistant_threads,
    feedback_latest,
    feedback_outbox,
    questions,
    seen_events,
    threads,
    traces,
)
from bot.storage.writer_lock import WriterLock, WriterLockTimeout

log = logging.getLogger(__name__)

FILE_NAME = "store.sqlite3"
# A commit on the ack path waits at most this long for another writer (Slack waits 3 s).
WRITE_WAIT_S = 2.0
SEEN_EVENTS_TTL_S = 3600.0  # Slack retries an event within minutes
FORGET_EVERY_S = 60.0
THREADS = 4
# On the front's SQLite store, transactions that wait while one commits are run together as one
# (at most this many): one fsync for them all. Past ~100 acks/s a commit each was the front's
# ceiling, its fsync 3–9 ms on a busy disk (bench/notes.md, "past the table").
TOGETHER_AT_MOST = 64
# A trace a sender has in hand is not sent by another for this long (a send is bounded well
# below it; a sender that died leaves its claims to run out).
TRACE_CLAIM_S = 30.0
# Questions: held by the worker answering them, renewed while it does; taken again once a
# lease runs out or is released. Tried until answered (no backoff: a retake is at once).
QUESTIONS = QueueTable(questions, questions.c.lease_until, questions.c.lease_owner, tried=False)
# Traces: a claim has no owner (a send is bounded well below it); its outcome lets it go.
TRACES = QueueTable(traces, traces.c.claimed_until)

T = TypeVar("T")

# Files of earlier versions in BOT_DATA_DIR, each imported once into the store, then renamed
# `<name>.imported`: what is read from it, into which table. (Oldest first: the store numbers
# the rows again, as a PostgreSQL sequence must; the old IDs are not kept.)
OLD_FILES: dict[str, tuple[tuple[str, Table], ...]] = {
    "answers.sqlite3": (
        ("SELECT channel, message_ts, thread_ts, trace_id, posted_at FROM answers", answers),
        ("SELECT channel, thread_ts, joined_at FROM threads", threads),
    ),
    "outbox.sqlite3": (
        (
            "SELECT trace_id, user_id, name, value_json, rationale, metadata_json, intent_id,"
            " version, created_at, attempts, next_attempt_at, last_error, dead_reason"
            " FROM pending ORDER BY id",
            feedback_outbox,
        ),
        (
            "SELECT trace_id, user_id, name, value_json, rationale, origin, updated_at FROM latest",
            feedback_latest,
        ),
    ),
    "assistant_threads.sqlite3": (
        (
            "SELECT channel, thread_ts, viewing_channel, viewing_team, viewing_enterprise,"
            " titled, updated_at FROM assistant_threads",
            assistant_threads,
        ),
    ),
}


@dataclass(frozen=True)
class TakenQuestion:
    id: int
    message_json: str
    received_at: float
    attempts: int  # this one included
    reply_ts: str | None  # a stream an earlier attempt began


@dataclass(frozen=True)
class PostedAnswerEntry:
    """An answer posted as message `message_ts` in `channel`: what a vote on it is about."""

    channel: str
    message_ts: str
    thread_ts: str
    trace_id: str


@dataclass(frozen=True)
class WaitingTrace:
    id: int
    trace_id: str
    trace_json: str
    created_at: float
    attempts: int


@dataclass(frozen=True)
class TraceStats:
    waiting: int
    dead: int
    oldest_age_s: float | None
    dead_reasons: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "waiting": self.waiting,
            "dead": self.dead,
            "oldest_age_s": self.oldest_age_s,
            "dead_reasons": self.dead_reasons,
        }


@dataclass(frozen=True)
class QuestionStats:
    pending: int  # waiting for a worker (never taken, or its lease ran out)
    in_progress: int  # a worker holds its lease
    oldest_age_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "in_progress": self.in_progress,
            "oldest_age_s": self.oldest_age_s,
        }


def lease_owner(pid: int | None = None) -> str:
    """Who holds a lease: a worker process, by host and process ID."""
    return f"{socket.gethostname()}:{pid if pid is not None else os.getpid()}"


def sqlite_engine(path: Path, *, durable: bool) -> Engine:
    """SQLite in WAL mode. `durable`: `synchronous=FULL`, a commit survives a power cut (the
    front's, before it acks); otherwise `NORMAL`, it survives a crash of the process (the
    worker's bookkeeping: a lost mark means a question is taken again, a trace sent again)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}", pool_size=THREADS + 1)
    _set_pragmas(engine, durable=durable)
    return engine


def _set_pragmas(engine: Engine, *, durable: bool) -> None:
    synchronous = "FULL" if durable else "NORMAL"

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_S * 1000)}")
        cursor.close()


# The inserts made for every question and answer, written once in the SQL that SQLite and
# PostgreSQL share: SQLAlchemy compiles a dialect's INSERT … ON CONFLICT anew on every call
# (it does not cache it), which cost the worker ~0.2 ms of CPU each (bench/notes.md).
SEE_EVENT = text(
    'INSERT INTO seen_events ("key", seen_at) VALUES (:key, :seen_at)'
    ' ON CONFLICT ("key") DO NOTHING RETURNING "key"'
)
# Built once: a statement built on every call is compiled from SQLAlchemy's cache, but building
# it and its cache key cost the front more than the insert.
ADD_QUESTION = questions.insert()
KEEP_TRACE = text(
    "INSERT INTO traces (trace_id, trace_json, created_at, attempts, next_attempt_at)"
    " VALUES (:trace_id, :trace_json, :now, 0, :now) ON CONFLICT (trace_id) DO NOTHING"
)
INDEX_ANSWER = text(
    "INSERT INTO answers (channel, message_ts, thread_ts, trace_id, posted_at)"
    " VALUES (:channel, :message_ts, :thread_ts, :trace_id, :posted_at)"
    " ON CONFLICT (channel, message_ts) DO UPDATE SET thread_ts = excluded.thread_ts,"
    " trace_id = excluded.trace_id, posted_at = excluded.posted_at"
)
JOIN_THREAD = text(
    "INSERT INTO threads (channel, thread_ts, joined_at) VALUES (:channel, :thread_ts, :now)"
    " ON CONFLICT (channel, thread_ts) DO NOTHING"
)


def _insert(engine: Engine, table: Table) -> Any:
    """An INSERT that can say ON CONFLICT, in the engine's dialect: from the module SQLAlchemy
    loaded for the engine, SQLite's or PostgreSQL's. (Not both at the top: PostgreSQL's dialect
    package, ~2 MB of Python objects with its drivers, is not loaded on SQLite.)"""
    return import_module(f"sqlalchemy.dialects.{engine.dialect.name}").insert(table)


class Store:
    def __init__(
        self, engine: Engine, writer_lock: WriterLock | None = None, *, together: bool = False
    ) -> None:
        self._engine = engine
        self._writer_lock = writer_lock
        self._threads = ThreadPoolExecutor(THREADS, thread_name_prefix="store")
        self._forgotten_at = 0.0
        # Group commit (`together`): the transactions waiting for the one being committed.
        self._together = together
        self._waiting: list[tuple[Callable[[Connection], Any], asyncio.Future[Any]]] = []
        self._committer: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, data_dir: Path, *, durable: bool = True, database_url: str | None = None
    ) -> Store:
        """The store on PostgreSQL at `database_url` if given, else in `data_dir` (SQLite);
        its schema migrated (bot/storage/migrations.py)."""
        if database_url:
            engine = postgres_engine(database_url, durable=durable, pool_size=THREADS + 1)
            writer_lock = None
        else:
            engine = sqlite_engine(data_dir / FILE_NAME, durable=durable)
            writer_lock = WriterLock(data_dir / (FILE_NAME + ".lock"))
        # SQLite has one writer and a durable commit is an fsync: commit the front's together.
        store = cls(engine, writer_lock, together=durable and writer_lock is not None)
        try:
            await asyncio.get_running_loop().run_in_executor(store._threads, migrate, engine)
        except (SQLAlchemyError, OSError) as error:
            await store.close()
            raise StoreUnavailable(f"{type(error).__name__}: {_first_line(error)}") from error
        await store._import_old_files(data_dir)
        return store

    async def _import_old_files(self, data_dir: Path) -> None:
        for name, copies in OLD_FILES.items():
            old_file = data_dir / name
            if not old_file.exists():
                continue
            try:
                await self._run(partial(_import_old_file, path=old_file, copies=copies))
            except sqlite3.Error as error:  # not the store's: the next start tries again
                log.error("could not import %s, left in place: %s", old_file, error)
                continue
            old_file.rename(old_file.with_name(name + ".imported"))

    @property
    def shared(self) -> bool:
        """Other instances may use this store (PostgreSQL): a lease is released only by its
        owner, or runs out; never all at once at start."""
        return self._engine.dialect.name != "sqlite"

    async def close(self) -> None:
        self._threads.shutdown(wait=True)
        self._engine.dispose()

    async def _run(self, work: Callable[[Connection], T]) -> T:
        """`work` in one transaction on a store thread; database failures become
        StoreUnavailable. With group commit, in one transaction with those that wait beside
        it: as if each ran alone, one after the other (SQLite runs one writer at a time)."""
        loop = asyncio.get_running_loop()
        if not self._together:
            return await loop.run_in_executor(self._threads, self._transaction, work)
        done: asyncio.Future[T] = loop.create_future()
        self._waiting.append((work, done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_waiting(), name="group commit")
        return await done

    async def _commit_waiting(self) -> None:
        """Commit what waits, a group at a time, until nothing does."""
        loop = asyncio.get_running_loop()
        while self._waiting:
            group = self._waiting[:TOGETHER_AT_MOST]
            del self._waiting[:TOGETHER_AT_MOST]
            works = [work for work, _ in group]
            try:
                outcomes = await loop.run_in_executor(self._threads, self._together_run, works)
            except Exception as error:  # the store closed under it: each waiter is told
                outcomes = [(False, error)] * len(group)
            for (_, done), (ok, value) in zip(group, outcomes, strict=True):
                if done.done():  # its caller stopped waiting
                    continue
                if ok:
                    done.set_result(value)
                else:
                    done.set_exception(value)

    def _together_run(self, works: list[Callable[[Connection], Any]]) -> list[tuple[bool, Any]]:
        """The works in one transaction; if that fails, each in a transaction of its own, so
        that only the failing one fails (and none is half done: the shared one rolled back).
        All under one hold of the writer lock: if the store stays busy for the whole wait
        (another process's transaction), each work is told so at once, not after a wait of
        its own one after the other."""
        try:
            with self._one_at_a_time():
                if len(works) > 1:
                    try:
                        with self._engine.begin() as conn:
                            return [(True, work(conn)) for work in works]
                    except Exception:  # told below, by the work that fails alone
                        log.debug("a group of %d transactions failed; each runs alone", len(works))
                return [self._alone(work) for work in works]
        except (WriterLockTimeout, OSError) as error:  # the writer lock not had
            return [(False, _unavailable(error))] * len(works)

    def _alone(self, work: Callable[[Connection], Any]) -> tuple[bool, Any]:
        """`work` in a transaction of its own (the writer lock held): (True, its result) or
        (False, what it raised, database failures as StoreUnavailable)."""
        try:
            with self._engine.begin() as conn:
                return True, work(conn)
        except (SQLAlchemyError, OSError) as error:
            return False, _unavailable(error)
        except Exception as error:
            return False, error

    async def run(self, work: Callable[[Connection], T]) -> T:
        """`work` in one transaction on a store thread, for the queries kept beside their
        domain (the feedback outbox, bot/feedback/outbox.py; the assistant panel's threads,
        bot/storage/assistant_threads.py). StoreUnavailable if the database fails."""
        return await self._run(work)

    def insert(self, table: Table) -> Any:
        """An INSERT into `table` that can say ON CONFLICT, in this store's dialect. (Whether
        it inserted is told by a row it returns: psycopg reports no INSERT's rowcount.)"""
        return _insert(self._engine, table)

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        try:
            with self._one_at_a_time():
                done, outcome = self._alone(work)
        except (WriterLockTimeout, OSError) as error:  # the writer lock not had
            raise _unavailable(error) from error
        if not done:
            raise outcome
        return cast(T, outcome)

    def _one_at_a_time(self) -> contextlib.AbstractContextManager[None]:
        if self._writer_lock is None:
            return contextlib.nullcontext()
        return self._writer_lock.held(WRITE_WAIT_S)

    # -- questions: the front ------------------------------------------------------------

    async def add_question(self, key: str, message_json: str) -> bool:
        """Commit a question under its event key, before Slack is answered. False if the key
        was seen already (a retry, the other event of the same message): nothing is added."""
        now = time.time()
        forget = now - self._forgotten_at > FORGET_EVERY_S
        if forget:
            self._forgotten_at = now

        def add(conn: Connection) -> bool:
            # Whether it was new by the row it returns: an INSERT's rowcount is not reported
            # by every driver (psycopg's is -1 once SQLAlchemy has closed the cursor).
            seen = conn.execute(SEE_EVENT, {"key": key, "seen_at": now})
            if seen.first() is None:
                return False
            conn.execute(
                ADD_QUESTION,
                {"key": key, "message_json": message_json, "received_at": now, "attempts": 0},
            )
            if forget:
                conn.execute(
                    delete(seen_events).where(seen_events.c.seen_at < now - SEEN_EVENTS_TTL_S)
                )
            return True

        return await self._run(add)

    # -- questions: the worker -----------------------------------------------------------

    async def take_questions(self, owner: str, lease_s: float, limit: int) -> list[TakenQuestion]:
        """Claim up to `limit` questions nobody holds, oldest first, for `lease_s`."""
        if limit <= 0:
            return []
        claim = QUESTIONS.claim(
            limit,
            owner,
            lease_s,
            (
                questions.c.id,
                questions.c.message_json,
                questions.c.received_at,
                questions.c.attempts,
                questions.c.reply_ts,
            ),
            values={"attempts": questions.c.attempts + 1},
        )
        rows = await self._run(lambda conn: conn.execute(claim).all())
        return sorted((TakenQuestion(*row) for row in rows), key=lambda q: q.id)

    async def extend_leases(self, owner: str, ids: Sequence[int], lease_s: float) -> None:
        if not ids:
            return
        statement = QUESTIONS.renew(owner, ids, lease_s)
        await self._run(lambda conn: conn.execute(statement))

    async def note_reply(self, question_id: int, reply_ts: str) -> None:
        """The answer of this question is streaming in message `reply_ts`."""
        statement = update(questions).where(questions.c.id == question_id).values(reply_ts=reply_ts)
        await self._run(lambda conn: conn.execute(statement))

    async def question_done(
        self, question_id: int, answer: PostedAnswerEntry | None = None
    ) -> None:
        """Remove the answered question and, in the same transaction, index the answer that
        was posted for it (`answer_at`): one write for the worker per answer, not two."""
        done = delete(questions).where(questions.c.id == question_id)

        def finish(conn: Connection) -> None:
            if answer is not None:
                _index_answer(conn, answer)
            conn.execute(done)

        await self._run(finish)

    async def release_questions(self, owner: str | None = None) -> int:
        """Let any worker take at once the questions `owner` held (every held one if None);
        how many were released."""
        release = QUESTIONS.release(owner)
        return await self._run(lambda conn: int(conn.execute(release).rowcount))

    # -- traces --------------------------------------------------------------------------

    def keep_trace(self, trace_id: str, trace_json: str) -> None:
        """Commit a finished trace (blocking: called as its root span ends, on the event
        loop's thread). Kept again, the first copy stays."""
        values = {"trace_id": trace_id, "trace_json": trace_json, "now": time.time()}
        self._transaction(lambda conn: conn.execute(KEEP_TRACE, values))

    async def due_traces(self, limit: int, *, ignore_backoff: bool = False) -> list[WaitingTrace]:
        """Claim the oldest traces due for a try (every waiting one if `ignore_backoff`) that
        no other sender holds, for `TRACE_CLAIM_S`: on a shared store, each is sent by one
        instance at a time."""
        claim = TRACES.claim(
            limit,
            None,
            TRACE_CLAIM_S,
            (
                traces.c.id,
                traces.c.trace_id,
                traces.c.trace_json,
                traces.c.created_at,
                traces.c.attempts,
            ),
            ignore_backoff=ignore_backoff,
        )
        rows = await self._run(lambda conn: conn.execute(claim).all())
        return sorted((WaitingTrace(*row) for row in rows), key=lambda t: t.id)

    async def next_trace_due_in(self) -> float | None:
        """Seconds until the next waiting trace is due (0: now), None if none waits."""
        query = TRACES.next_due_at(after_claims=False)
        return due_in_s(await self._run(lambda conn: conn.execute(query).scalar()))

    async def traces_sent(self, trace_row_ids: Sequence[int]) -> None:
        """The tracking server has these traces whole: they leave the store."""
        if not trace_row_ids:
            return
        statement = delete(traces).where(traces.c.id.in_(trace_row_ids))
        await self._run(lambda conn: conn.execute(statement))

    async def retry_trace(self, trace_row_id: int, error: str, delay_s: float) -> None:
        statement = TRACES.retry([traces.c.id == trace_row_id], error, delay_s)
        await self._run(lambda conn: conn.execute(statement))

    async def traces_due_now(self) -> None:
        """Every waiting trace is due at once (the tracking server is back), claims too: a
        sender that held some while the server was away sent only its probe."""
        statement = TRACES.all_due_now()
        await self._run(lambda conn: conn.execute(statement))

    async def trace_dead(self, trace_row_id: int, reason: str) -> None:
        statement = TRACES.dead([traces.c.id == trace_row_id], reason)
        await self._run(lambda conn: conn.execute(statement))

    async def trace_stats(self) -> TraceStats:
        found = await self._run(TRACES.backlog)
        return TraceStats(
            waiting=found.waiting,
            dead=found.dead,
            oldest_age_s=found.oldest_age_s(),
            dead_reasons=found.dead_reasons,
        )

    async def retry_dead_traces(self) -> int:
        """Give every dead trace a fresh start; how many."""
        revive = TRACES.revive_dead()
        return await self._run(lambda conn: int(conn.execute(revive).rowcount))

    # -- the answer index ------------------------------------------------------------------

    async def record_answer(self, answer: PostedAnswerEntry) -> None:
        await self._run(partial(_index_answer, answer=answer))

    async def answer_at(self, channel: str, message_ts: str) -> tuple[str, str] | None:
        """The trace ID and thread of the answer posted as this message, if it is one."""
        query = select(answers.c.trace_id, answers.c.thread_ts).where(
            answers.c.channel == channel, answers.c.message_ts == message_ts
        )

        def first(conn: Connection) -> tuple[str, str] | None:
            row = conn.execute(query).first()
            return (row[0], row[1]) if row else None

        return await self._run(first)

    async def join_thread(self, channel: str, thread_ts: str) -> None:
        """The bot takes part in this thread from now on (recorded before it answers, so a
        quick follow-up is not missed)."""
        values = {"channel": channel, "thread_ts": thread_ts, "now": time.time()}
        await self._run(lambda conn: conn.execute(JOIN_THREAD, values))

    async def in_thread(self, channel: str, thread_ts: str) -> bool:
        query = select(threads.c.joined_at).where(
            threads.c.channel == channel, threads.c.thread_ts == thread_ts
        )
        return await self._run(lambda conn: conn.execute(query).first() is not None)

    # -- operating -------------------------------------------------------------------------

    async def question_stats(self) -> QuestionStats:
        now = time.time()
        held = questions.c.lease_until >= now
        query = select(
            func.count(),
            func.count().filter(held),
            func.min(questions.c.received_at),
        ).select_from(questions)
        total, in_progress, oldest = await self._run(lambda conn: conn.execute(query).one())
        return QuestionStats(
            pending=total - in_progress,
            in_progress=in_progress,
            oldest_age_s=None if oldest is None else round(now - oldest, 1),
        )


def _import_old_file(conn: Connection, path: Path, copies: tuple[tuple[str, Table], ...]) -> None:
    """The rows of a file from before the store (answers and threads the bot took part in,
    feedback not delivered yet, assistant threads), kept beside what the store has: a row
    already there stays as it is."""
    counts = []
    with contextlib.closing(sqlite3.connect(path)) as old:
        for query, table in copies:
            cursor = old.execute(query)
            names = [column[0] for column in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            if rows:
                conn.execute(_insert(conn.engine, table).on_conflict_do_nothing(), rows)
            counts.append(f"{len(rows)} {table.name}")
    log.info("imported %s from %s", ", ".join(counts), path)


def _unavailable(error: BaseException) -> StoreUnavailable:
    """A database failure as the store's callers are told of it."""
    unavailable = StoreUnavailable(f"{type(error).__name__}: {_first_line(error)}")
    unavailable.__cause__ = error
    return unavailable


def _first_line(error: BaseException) -> str:
    return (str(getattr(error, "orig", None) or error).splitlines() or [""])[0]


def _index_answer(conn: Connection, answer: PostedAnswerEntry) -> None:
    conn.execute(INDEX_ANSWER, {**dataclasses.asdict(answer), "posted_at": time.time()})
