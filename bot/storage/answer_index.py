"""Which Slack messages are this bot's answers, and which trace each carries.

Lets the bot follow up in threads it takes part in and map a message to its trace without
asking Slack, across restarts.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bot.storage.sqlite_db import SerialDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    channel    TEXT NOT NULL,
    message_ts TEXT NOT NULL,
    thread_ts  TEXT NOT NULL,
    trace_id   TEXT NOT NULL,
    posted_at  REAL NOT NULL,
    PRIMARY KEY (channel, message_ts)
);
CREATE TABLE IF NOT EXISTS threads (
    channel   TEXT NOT NULL,
    thread_ts TEXT NOT NULL,
    joined_at REAL NOT NULL,
    PRIMARY KEY (channel, thread_ts)
);
"""


class AnswerStore:
    def __init__(self, path: Path) -> None:
        # An index, not the record: every answer also carries its trace ID in its Slack
        # metadata. Losing the last few rows to a power cut is acceptable; an fsync per
        # answer is not.
        self._db = SerialDatabase(path, _SCHEMA, durable=False)

    async def record(self, channel: str, message_ts: str, thread_ts: str, trace_id: str) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)",
                (channel, message_ts, thread_ts, trace_id, time.time()),
            )

        await self._db.run(insert)

    async def answer_at(self, channel: str, message_ts: str) -> tuple[str, str] | None:
        """The trace ID and thread of the answer posted as this message, if it is one."""

        def select(conn: sqlite3.Connection) -> tuple[str, str] | None:
            row = conn.execute(
                "SELECT trace_id, thread_ts FROM answers WHERE channel = ? AND message_ts = ?",
                (channel, message_ts),
            ).fetchone()
            return (row[0], row[1]) if row else None

        return await self._db.run(select)

    async def join_thread(self, channel: str, thread_ts: str) -> None:
        """The bot takes part in this thread from now on (recorded before it answers, so a
        quick follow-up is not missed)."""

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR IGNORE INTO threads VALUES (?, ?, ?)", (channel, thread_ts, time.time())
            )

        await self._db.run(insert)

    async def in_thread(self, channel: str, thread_ts: str) -> bool:
        def select(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT 1 FROM threads WHERE channel = ? AND thread_ts = ?", (channel, thread_ts)
            ).fetchone()
            return row is not None

        return await self._db.run(select)

    def close(self) -> None:
        self._db.close()
