"""The assistant panel's threads: the channel each user is viewing, and whether the thread has
its title yet.

The front writes what Slack's `assistant_thread_*` events say; the worker reads it when it
answers in the thread (both processes open the same file in `BOT_DATA_DIR`). Kept here, not
in Slack: Bolt's default store writes it into the metadata of the bot's first reply, which may
be an answer whose metadata carries its trace ID.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from bot.storage.sqlite_db import SerialDatabase

# In BOT_DATA_DIR, opened by the front and by the worker.
ASSISTANT_THREADS_FILE = "assistant_threads.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS assistant_threads (
    channel            TEXT NOT NULL,
    thread_ts          TEXT NOT NULL,
    viewing_channel    TEXT,
    viewing_team       TEXT,
    viewing_enterprise TEXT,
    titled             INTEGER NOT NULL DEFAULT 0,
    updated_at         REAL NOT NULL,
    PRIMARY KEY (channel, thread_ts)
);
"""


@dataclass(frozen=True)
class ThreadContext:
    """Where the user is while talking in the panel (Slack's thread context)."""

    channel_id: str | None
    team_id: str | None = None
    enterprise_id: str | None = None


@dataclass(frozen=True)
class AssistantThread:
    context: ThreadContext
    titled: bool


class AssistantThreadStore:
    def __init__(self, path: Path) -> None:
        # Losing the last context change to a power cut costs one answer its channel hint.
        self._db = SerialDatabase(path, _SCHEMA, durable=False)

    async def start(self, channel: str, thread_ts: str, context: ThreadContext) -> bool:
        """Record a new thread; False if it was known already (Slack retried the event)."""

        def insert(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO assistant_threads VALUES (?, ?, ?, ?, ?, 0, ?)",
                (channel, thread_ts, *_columns(context), time.time()),
            )
            return cursor.rowcount == 1

        return await self._db.run(insert)

    async def save_context(self, channel: str, thread_ts: str, context: ThreadContext) -> None:
        def upsert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO assistant_threads VALUES (?, ?, ?, ?, ?, 0, ?) "
                "ON CONFLICT (channel, thread_ts) DO UPDATE SET "
                "viewing_channel = excluded.viewing_channel, "
                "viewing_team = excluded.viewing_team, "
                "viewing_enterprise = excluded.viewing_enterprise, "
                "updated_at = excluded.updated_at",
                (channel, thread_ts, *_columns(context), time.time()),
            )

        await self._db.run(upsert)

    async def find(self, channel: str, thread_ts: str) -> AssistantThread | None:
        def select(conn: sqlite3.Connection) -> AssistantThread | None:
            row = conn.execute(
                "SELECT viewing_channel, viewing_team, viewing_enterprise, titled "
                "FROM assistant_threads WHERE channel = ? AND thread_ts = ?",
                (channel, thread_ts),
            ).fetchone()
            if row is None:
                return None
            return AssistantThread(ThreadContext(row[0], row[1], row[2]), bool(row[3]))

        return await self._db.run(select)

    async def claim_title(self, channel: str, thread_ts: str) -> bool:
        """True once per thread: the caller sets its title."""

        def update(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE assistant_threads SET titled = 1 "
                "WHERE channel = ? AND thread_ts = ? AND titled = 0",
                (channel, thread_ts),
            )
            return cursor.rowcount == 1

        return await self._db.run(update)

    def close(self) -> None:
        self._db.close()


def _columns(context: ThreadContext) -> tuple[str | None, str | None, str | None]:
    return context.channel_id, context.team_id, context.enterprise_id
