"""The durable store of work in flight: the boundary between the front and the worker.

One schema (bot/storage/schema.py) and one set of queries in SQLAlchemy Core, run on SQLite
(WAL, file `store.sqlite3` in `BOT_DATA_DIR`) through aiosqlite. A PostgreSQL backend is a
second engine for the same statements: claims already say `FOR UPDATE SKIP LOCKED` (which
SQLite, with its one writer at a time, does not need and SQLAlchemy leaves out), upserts go
through the dialect's own `insert` (`_insert`). Why this and not hand-written SQL per driver:
bench/notes.md.

Questions: the front commits each question with its event key before it acks Slack
(`add_question`; `StoreUnavailable` if it cannot, so that Slack retries). A worker takes
questions with a lease (`take_questions`), extends it while it answers, notes a stream it
began (`note_reply`), and removes the question once answered (`question_done`). A question
whose worker died is taken again when its lease runs out, or at once when the worker's
leases are released (`release_questions`: the front does it when its worker dies, and at
start for every lease, as the one instance on its SQLite file).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, event, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.storage.schema import metadata, questions, seen_events

log = logging.getLogger(__name__)

FILE_NAME = "store.sqlite3"
# A commit on the ack path waits at most this long for another writer (Slack waits 3 s).
WRITE_WAIT_S = 2.0
SEEN_EVENTS_TTL_S = 3600.0  # Slack retries an event within minutes
FORGET_EVERY_S = 60.0


class StoreUnavailable(Exception):
    """The store could not be read or written (locked, disk full, unwritable, gone)."""


@dataclass(frozen=True)
class TakenQuestion:
    id: int
    message_json: str
    received_at: float
    attempts: int  # this one included
    reply_ts: str | None  # a stream an earlier attempt began


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


def sqlite_engine(path: Path, *, durable: bool) -> AsyncEngine:
    """SQLite in WAL mode. `durable`: `synchronous=FULL`, a commit survives a power cut (the
    front's, before it acks); otherwise `NORMAL`, it survives a crash of the process (the
    worker's bookkeeping: a lost mark means a question is taken again)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    synchronous = "FULL" if durable else "NORMAL"

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_S * 1000)}")
        cursor.close()

    return engine


def _insert(engine: AsyncEngine, table: Table) -> Any:
    """An INSERT that can say ON CONFLICT, in the engine's dialect."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._forgotten_at = 0.0

    @classmethod
    async def open(cls, data_dir: Path, *, durable: bool = True) -> Store:
        """The store in `data_dir`, its tables created if missing."""
        store = cls(sqlite_engine(data_dir / FILE_NAME, durable=durable))
        async with store._writing() as conn:
            await conn.run_sync(metadata.create_all)
        return store

    async def close(self) -> None:
        await self._engine.dispose()

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        """One transaction; any database failure becomes StoreUnavailable."""
        try:
            async with self._engine.begin() as conn:
                yield conn
        except (SQLAlchemyError, OSError) as error:
            raise StoreUnavailable(f"{type(error).__name__}: {_first_line(error)}") from error

    # -- questions: the front ------------------------------------------------------------

    async def add_question(self, key: str, message_json: str) -> bool:
        """Commit a question under its event key, before Slack is answered. False if the key
        was seen already (a retry, the other event of the same message): nothing is added."""
        now = time.time()
        async with self._writing() as conn:
            seen = await conn.execute(
                _insert(self._engine, seen_events)
                .values(key=key, seen_at=now)
                .on_conflict_do_nothing(index_elements=[seen_events.c.key])
            )
            if seen.rowcount != 1:
                return False
            await conn.execute(
                questions.insert().values(
                    key=key, message_json=message_json, received_at=now, attempts=0
                )
            )
            if now - self._forgotten_at > FORGET_EVERY_S:
                self._forgotten_at = now
                await conn.execute(
                    delete(seen_events).where(seen_events.c.seen_at < now - SEEN_EVENTS_TTL_S)
                )
        return True

    # -- questions: the worker -----------------------------------------------------------

    async def take_questions(self, owner: str, lease_s: float, limit: int) -> list[TakenQuestion]:
        """Claim up to `limit` questions nobody holds, oldest first, for `lease_s`."""
        if limit <= 0:
            return []
        now = time.time()
        free = (
            select(questions.c.id)
            .where(or_(questions.c.lease_until.is_(None), questions.c.lease_until < now))
            .order_by(questions.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(questions)
            .where(questions.c.id.in_(free))
            .values(
                lease_owner=owner,
                lease_until=now + lease_s,
                attempts=questions.c.attempts + 1,
            )
            .returning(
                questions.c.id,
                questions.c.message_json,
                questions.c.received_at,
                questions.c.attempts,
                questions.c.reply_ts,
            )
        )
        async with self._writing() as conn:
            rows = (await conn.execute(claim)).all()
        return sorted((TakenQuestion(*row) for row in rows), key=lambda q: q.id)

    async def extend_leases(self, owner: str, ids: Sequence[int], lease_s: float) -> None:
        if not ids:
            return
        async with self._writing() as conn:
            await conn.execute(
                update(questions)
                .where(questions.c.id.in_(list(ids)), questions.c.lease_owner == owner)
                .values(lease_until=time.time() + lease_s)
            )

    async def note_reply(self, question_id: int, reply_ts: str) -> None:
        """The answer of this question is streaming in message `reply_ts`."""
        async with self._writing() as conn:
            await conn.execute(
                update(questions).where(questions.c.id == question_id).values(reply_ts=reply_ts)
            )

    async def question_done(self, question_id: int) -> None:
        async with self._writing() as conn:
            await conn.execute(delete(questions).where(questions.c.id == question_id))

    async def release_questions(self, owner: str | None = None) -> int:
        """Let any worker take at once the questions `owner` held (every held one if None);
        how many were released."""
        held: ColumnElement[bool] = questions.c.lease_owner.is_not(None)
        if owner is not None:
            held = questions.c.lease_owner == owner
        async with self._writing() as conn:
            result = await conn.execute(
                update(questions).where(held).values(lease_owner=None, lease_until=None)
            )
        return int(result.rowcount)

    # -- operating -------------------------------------------------------------------------

    async def question_stats(self) -> QuestionStats:
        now = time.time()
        held = questions.c.lease_until >= now
        query = select(
            func.count(),
            func.count().filter(held),
            func.min(questions.c.received_at),
        ).select_from(questions)
        async with self._writing() as conn:
            total, in_progress, oldest = (await conn.execute(query)).one()
        return QuestionStats(
            pending=total - in_progress,
            in_progress=in_progress,
            oldest_age_s=None if oldest is None else round(now - oldest, 1),
        )


def _first_line(error: BaseException) -> str:
    return (str(getattr(error, "orig", None) or error).splitlines() or [""])[0]
