"""The feedback outbox: every intent is committed to local SQLite before the user is answered.

Two tables:
- `pending`: what still has to reach MLflow, one row per (trace, user, assessment name); a
  newer intent for the same key replaces the older one's value (the latest intent wins) and
  bumps its `version`, so a delivery of the older value never marks the newer one done.
- `latest`: the latest intent per key, delivered or not (pre-fills the rating modal, lets a
  repeated identical vote change nothing).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.feedback.intent import FeedbackIntent, FeedbackValue
from bot.storage.sqlite_db import SerialDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_id        TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    name            TEXT NOT NULL,
    value_json      TEXT NOT NULL,
    rationale       TEXT,
    metadata_json   TEXT NOT NULL,
    intent_id       TEXT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      REAL NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error      TEXT,
    dead_reason     TEXT,
    UNIQUE (trace_id, user_id, name)
);
CREATE INDEX IF NOT EXISTS pending_due ON pending (dead_reason, next_attempt_at);
CREATE TABLE IF NOT EXISTS latest (
    trace_id   TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    name       TEXT NOT NULL,
    value_json TEXT NOT NULL,
    rationale  TEXT,
    origin     TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (trace_id, user_id, name)
);
"""


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    version: int
    intent: FeedbackIntent
    created_at: float
    attempts: int


@dataclass(frozen=True)
class OutboxStats:
    pending: int
    dead: int
    oldest_pending_age_s: float | None
    dead_reasons: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "dead": self.dead,
            "oldest_pending_age_s": self.oldest_pending_age_s,
            "dead_reasons": self.dead_reasons,
        }


@dataclass(frozen=True)
class LatestIntent:
    value: FeedbackValue
    rationale: str | None
    origin: str | None  # "button", "reaction", "modal"


class Outbox:
    def __init__(
        self, path: Path, *, durable_writes: bool = True, checkpoints: bool = True
    ) -> None:
        """The defaults suit one process doing everything. The front, which must commit each
        click before it acks, leaves WAL checkpoints to the worker (`checkpoints=False`); the
        worker's writes are delivery bookkeeping (`durable_writes=False`: no fsync, so it never
        holds the lock a click waits for through one; a mark lost with the power means a
        redelivery, which MlflowFeedbackWriter recognises by the intent's ID)."""
        self._db = SerialDatabase(path, _SCHEMA, durable=durable_writes, checkpoints=checkpoints)

    def close(self) -> None:
        self._db.close()

    # -- writing intents --------------------------------------------------------------------

    async def submit(self, intents: list[FeedbackIntent]) -> None:
        """Commit the intents durably (one transaction), coalescing per key."""

        def write(conn: sqlite3.Connection) -> None:
            with conn:  # committed (synchronous=FULL) before we return
                conn.execute("BEGIN IMMEDIATE")
                _write(conn, intents, time.time())

        await self._db.run(write)

    async def submit_unless(
        self, intent: FeedbackIntent, unless: Callable[[LatestIntent | None], bool]
    ) -> bool:
        """Commit `intent` unless `unless(the latest intent of its key)` is true; one
        transaction, so two clicks at once cannot both act on the same old vote. True if
        committed."""

        def write(conn: sqlite3.Connection) -> bool:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                if unless(_latest(conn, intent.trace_id, intent.user_id).get(intent.name)):
                    return False
                _write(conn, [intent], time.time())
                return True

        return await self._db.run(write)

    async def latest(self, trace_id: str, user_id: str) -> dict[str, LatestIntent]:
        """The user's latest intent per assessment name on this trace."""
        return await self._db.run(lambda conn: _latest(conn, trace_id, user_id))

    # -- delivering --------------------------------------------------------------------------

    async def due(self, limit: int, *, ignore_backoff: bool = False) -> list[OutboxEntry]:
        now = float("inf") if ignore_backoff else time.time()

        def select(conn: sqlite3.Connection) -> list[OutboxEntry]:
            rows = conn.execute(
                "SELECT id, version, trace_id, user_id, name, value_json, rationale, "
                "metadata_json, intent_id, created_at, attempts FROM pending "
                "WHERE dead_reason IS NULL AND next_attempt_at <= ? ORDER BY id LIMIT ?",
                (now, limit),
            ).fetchall()
            return [_entry(row) for row in rows]

        return await self._db.run(select)

    async def next_due_in(self) -> float | None:
        """Seconds until the next pending entry is due (0 if one is due now), None if none."""

        def select(conn: sqlite3.Connection) -> float | None:
            row = conn.execute(
                "SELECT MIN(next_attempt_at) FROM pending WHERE dead_reason IS NULL"
            ).fetchone()
            return None if row[0] is None else max(0.0, row[0] - time.time())

        return await self._db.run(select)

    async def delivered(self, entry: OutboxEntry) -> bool:
        """Remove the entry, unless a newer intent replaced its value meanwhile."""

        def delete(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "DELETE FROM pending WHERE id = ? AND version = ?", (entry.id, entry.version)
            )
            return cursor.rowcount == 1

        return await self._db.run(delete)

    async def retry_later(self, entry: OutboxEntry, error: str, delay_s: float) -> None:
        def update(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE pending SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
                "WHERE id = ?",
                (error[:500], time.time() + delay_s, entry.id),
            )

        await self._db.run(update)

    async def mark_dead(self, entry: OutboxEntry, reason: str) -> None:
        def update(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE pending SET dead_reason = ?, attempts = attempts + 1 "
                "WHERE id = ? AND version = ?",
                (reason[:500], entry.id, entry.version),
            )

        await self._db.run(update)

    # -- operating ---------------------------------------------------------------------------

    async def stats(self) -> OutboxStats:
        return await self._db.run(_stats)

    def stats_now(self) -> OutboxStats:
        return self._db.run_sync(_stats)

    def retry_dead_now(self) -> int:
        """Give every dead entry a fresh start; the number revived is returned."""

        def update(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "UPDATE pending SET dead_reason = NULL, attempts = 0, next_attempt_at = ?, "
                "created_at = ? WHERE dead_reason IS NOT NULL",
                (time.time(), time.time()),
            ).rowcount

        return self._db.run_sync(update)


def _latest(conn: sqlite3.Connection, trace_id: str, user_id: str) -> dict[str, LatestIntent]:
    rows = conn.execute(
        "SELECT name, value_json, rationale, origin FROM latest WHERE trace_id = ? AND user_id = ?",
        (trace_id, user_id),
    ).fetchall()
    return {
        name: LatestIntent(json.loads(value), rationale, origin)
        for name, value, rationale, origin in rows
    }


def _write(conn: sqlite3.Connection, intents: list[FeedbackIntent], now: float) -> None:
    """(Inside the caller's transaction.)"""
    for intent in intents:
        value = json.dumps(intent.value)
        metadata = json.dumps(intent.metadata, sort_keys=True)
        conn.execute(
            "INSERT INTO pending (trace_id, user_id, name, value_json, rationale, "
            "metadata_json, intent_id, created_at, next_attempt_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (trace_id, user_id, name) DO UPDATE SET "
            "value_json = excluded.value_json, rationale = excluded.rationale, "
            "metadata_json = excluded.metadata_json, intent_id = excluded.intent_id, "
            "version = version + 1, next_attempt_at = excluded.next_attempt_at, "
            "dead_reason = NULL",
            (
                intent.trace_id,
                intent.user_id,
                intent.name,
                value,
                intent.rationale,
                metadata,
                intent.intent_id,
                now,
                now,
            ),
        )
        conn.execute(
            "INSERT OR REPLACE INTO latest VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                intent.trace_id,
                intent.user_id,
                intent.name,
                value,
                intent.rationale,
                intent.metadata.get("origin"),
                now,
            ),
        )


def _entry(row: tuple) -> OutboxEntry:
    (id_, version, trace_id, user_id, name, value, rationale, metadata, intent_id, created, n) = row
    intent = FeedbackIntent(
        trace_id=trace_id,
        user_id=user_id,
        name=name,
        value=json.loads(value),
        rationale=rationale,
        metadata=json.loads(metadata),
        intent_id=intent_id,
    )
    return OutboxEntry(id_, version, intent, created, n)


def _stats(conn: sqlite3.Connection) -> OutboxStats:
    pending, oldest = conn.execute(
        "SELECT COUNT(*), MIN(created_at) FROM pending WHERE dead_reason IS NULL"
    ).fetchone()
    reasons = dict(
        conn.execute(
            "SELECT dead_reason, COUNT(*) FROM pending WHERE dead_reason IS NOT NULL "
            "GROUP BY dead_reason"
        ).fetchall()
    )
    return OutboxStats(
        pending=pending,
        dead=sum(reasons.values()),
        oldest_pending_age_s=None if oldest is None else round(time.time() - oldest, 1),
        dead_reasons=reasons,
    )
