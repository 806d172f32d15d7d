"""The feedback outbox: every intent is committed to the store before the user is answered.

Two tables of the store (bot/storage/schema.py), the same statements on every backend:
- `feedback_outbox`: what still has to reach MLflow, one row per (trace, user, assessment
  name); a newer intent for the same key replaces the older one's value (the latest intent
  wins) and bumps its `version`, so a delivery of the older value never marks the newer one
  done. A deliverer claims entries with a lease (`claim_due`, the queue core's claim:
  bot/storage/queue.py), so that several deliverers on one database never send one entry at
  once; each outcome (`delivered`, `retry_later`, `mark_dead`, `release`) ends the claim, and
  applies to the version claimed only.
- `feedback_latest`: the latest intent per key, delivered or not (pre-fills the rating modal,
  lets a repeated identical vote change nothing).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)

from bot.feedback.intent import FeedbackIntent, FeedbackValue
from bot.storage.queue import QueueTable, due_in_s
from bot.storage.schema import feedback_latest as latest
from bot.storage.schema import feedback_outbox as pending
from bot.storage.store import Store
from bot.tracing.data_model import RATINGS, VOTE

# The two statements of every vote and rating, on the front's path before its ack: written
# once in the SQL SQLite and PostgreSQL share, because SQLAlchemy compiles a dialect's
# INSERT … ON CONFLICT anew on every call (it does not cache it). Built with the Core
# statements, a rating's commit spent most of the front's CPU compiling them (bench/notes.md:
# "Acks under load").
SUBMIT_PENDING = text(
    "INSERT INTO feedback_outbox (trace_id, user_id, name, value_json, rationale,"
    " metadata_json, intent_id, version, created_at, attempts, next_attempt_at)"
    " VALUES (:trace_id, :user_id, :name, :value_json, :rationale, :metadata_json,"
    " :intent_id, 1, :now, 0, :now)"
    " ON CONFLICT (trace_id, user_id, name) DO UPDATE SET value_json = excluded.value_json,"
    " rationale = excluded.rationale, metadata_json = excluded.metadata_json,"
    " intent_id = excluded.intent_id, next_attempt_at = excluded.next_attempt_at,"
    " version = feedback_outbox.version + 1, dead_reason = NULL"
)
SUBMIT_LATEST = text(
    "INSERT INTO feedback_latest (trace_id, user_id, name, value_json, rationale, origin,"
    " updated_at) VALUES (:trace_id, :user_id, :name, :value_json, :rationale, :origin, :now)"
    " ON CONFLICT (trace_id, user_id, name) DO UPDATE SET value_json = excluded.value_json,"
    " rationale = excluded.rationale, origin = excluded.origin, updated_at = excluded.updated_at"
)

# A first vote's place in `feedback_latest` (its values are written right after), in the same
# shared SQL for the same reason; whether it was placed is told by the row it returns.
PLACE_LATEST = text(
    "INSERT INTO feedback_latest (trace_id, user_id, name, value_json, updated_at)"
    " VALUES (:trace_id, :user_id, :name, 'null', :now)"
    " ON CONFLICT (trace_id, user_id, name) DO NOTHING RETURNING name"
)
# The statements of a vote's check, built once (on every vote they were built again, and
# comparing columns took more of the front's CPU than the check itself): the key's write
# first, then the user's latest intents on the answer. (An UPDATE's parameters may not be
# named after its columns.)
TOUCH_LATEST = (
    update(latest)
    .where(
        latest.c.trace_id == bindparam("key_trace_id"),
        latest.c.user_id == bindparam("key_user_id"),
        latest.c.name == bindparam("key_name"),
    )
    .values(updated_at=latest.c.updated_at)
)
LATEST_OF_USER = select(
    latest.c.name, latest.c.value_json, latest.c.rationale, latest.c.origin
).where(latest.c.trace_id == bindparam("trace_id"), latest.c.user_id == bindparam("user_id"))

OUTBOX = QueueTable(pending, pending.c.lease_until, pending.c.lease_owner)


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
    def __init__(self, store: Store) -> None:
        """The front's store commits each intent synchronously, before the user is answered;
        the worker's commits its delivery bookkeeping without an fsync (a mark lost with the
        power means a redelivery, which MlflowFeedbackWriter recognises by the intent's ID)."""
        self._store = store

    # -- writing intents --------------------------------------------------------------------

    async def submit(self, intents: list[FeedbackIntent]) -> None:
        """Commit the intents (one transaction), coalescing per key."""
        now = time.time()
        await self._store.run(lambda conn: self._write(conn, intents, now))

    async def submit_unless(
        self,
        intent: FeedbackIntent,
        unless: Callable[[LatestIntent | None], bool],
        *,
        also: Sequence[FeedbackIntent] = (),
        always: Sequence[FeedbackIntent] = (),
    ) -> bool:
        """Commit `intent`, and `also` with it, unless `unless(the latest intent of its key)`
        is true; one transaction, so two clicks at once cannot both act on the same old vote,
        and what follows from the intent (a dataset add) is kept if and only if it is. True
        if committed. `always` is committed first in the same transaction whatever `unless`
        says (a rating's scores, with its correction: one commit, not two)."""
        now = time.time()
        key = {
            "key_trace_id": intent.trace_id,
            "key_user_id": intent.user_id,
            "key_name": intent.name,
        }

        def write(conn: Connection) -> bool:
            if always:
                self._write(conn, list(always), now)
            while True:
                # A write first: it takes SQLite's write lock (or, on a server database, the
                # key's row) before the latest intent is read, so the check holds at commit.
                conn.execute(TOUCH_LATEST, key)
                found = _latest(conn, intent.trace_id, intent.user_id).get(intent.name)
                if unless(found):
                    return False
                if found is not None or self._first_latest(conn, intent, now):
                    break
                # Another transaction wrote the key's first intent meanwhile: check again.
            self._write(conn, [intent, *also], now)
            return True

        return await self._store.run(write)

    async def others_waiting(self, entry: OutboxEntry) -> bool:
        """Whether other entries of the entry's trace wait to be delivered (not dead)."""
        query = (
            select(pending.c.id)
            .where(
                pending.c.trace_id == entry.intent.trace_id,
                pending.c.id != entry.id,
                pending.c.dead_reason.is_(None),
            )
            .limit(1)
        )
        return await self._store.run(lambda conn: conn.execute(query).first() is not None)

    async def anyone_gave(self, trace_id: str, name: str) -> bool:
        """Whether anyone's latest intents on the trace include one named `name`."""
        query = (
            select(latest.c.name)
            .where(latest.c.trace_id == trace_id, latest.c.name == name)
            .limit(1)
        )
        return await self._store.run(lambda conn: conn.execute(query).first() is not None)

    async def latest(self, trace_id: str, user_id: str) -> dict[str, LatestIntent]:
        """The user's latest intent per assessment name on this trace."""
        return await self._store.run(lambda conn: _latest(conn, trace_id, user_id))

    async def answers_rated_by(self, user_id: str) -> int:
        """How many answers `user_id` has a vote or rating on now (withdrawn ones not)."""
        counted = (VOTE, *RATINGS)
        query = select(func.count(func.distinct(latest.c.trace_id))).where(
            latest.c.user_id == user_id,
            latest.c.name.in_(counted),
            latest.c.value_json != "null",
        )
        return await self._store.run(lambda conn: int(conn.execute(query).scalar_one()))

    def _write(self, conn: Connection, intents: list[FeedbackIntent], now: float) -> None:
        # A claimed entry stays claimed: its deliverer sees the new version when it is done
        # with the old one, and gives it up at once (no two deliveries of one key at a time,
        # so the latest value is the one that stays).
        rows = [
            {
                "trace_id": intent.trace_id,
                "user_id": intent.user_id,
                "name": intent.name,
                "value_json": json.dumps(intent.value),
                "rationale": intent.rationale,
                "metadata_json": json.dumps(intent.metadata, sort_keys=True),
                "intent_id": intent.intent_id,
                "origin": intent.metadata.get("origin"),
                "now": now,
            }
            for intent in intents
        ]
        conn.execute(SUBMIT_PENDING, rows)
        conn.execute(SUBMIT_LATEST, rows)

    def _first_latest(self, conn: Connection, intent: FeedbackIntent, now: float) -> bool:
        """Take the key's place in `feedback_latest` (the values are written right after);
        False if another transaction has it (it waited for that one to end)."""
        values = {
            "trace_id": intent.trace_id,
            "user_id": intent.user_id,
            "name": intent.name,
            "now": now,
        }
        return conn.execute(PLACE_LATEST, values).first() is not None

    # -- delivering --------------------------------------------------------------------------

    async def claim_due(
        self, owner: str, lease_s: float, limit: int, *, ignore_backoff: bool = False
    ) -> list[OutboxEntry]:
        """Claim for `lease_s` up to `limit` entries due for a try that no deliverer holds,
        oldest first (every waiting one if `ignore_backoff`)."""
        claim = OUTBOX.claim(
            limit,
            owner,
            lease_s,
            (
                pending.c.id,
                pending.c.version,
                pending.c.trace_id,
                pending.c.user_id,
                pending.c.name,
                pending.c.value_json,
                pending.c.rationale,
                pending.c.metadata_json,
                pending.c.intent_id,
                pending.c.created_at,
                pending.c.attempts,
            ),
            ignore_backoff=ignore_backoff,
        )
        rows = await self._store.run(lambda conn: conn.execute(claim).all())
        return sorted((_entry(row) for row in rows), key=lambda entry: entry.id)

    async def extend_claims(self, owner: str, ids: Sequence[int], lease_s: float) -> None:
        """Hold these entries longer (their delivery goes on)."""
        if not ids:
            return
        statement = OUTBOX.renew(owner, ids, lease_s)
        await self._store.run(lambda conn: conn.execute(statement))

    async def release(self, owner: str | None = None, ids: Sequence[int] | None = None) -> int:
        """Let any deliverer take at once the entries `owner` holds (`ids` of them only, if
        given; every claimed entry if `owner` is None); how many were released."""
        if ids is not None and not ids:
            return 0
        statement = OUTBOX.release(owner, ids)
        return await self._store.run(lambda conn: int(conn.execute(statement).rowcount))

    async def next_due_in(self) -> float | None:
        """Seconds until the next entry is due (0 if one is due now), None if none waits.
        (An entry another deliverer holds counts as due when its claim runs out.)"""
        query = OUTBOX.next_due_at()
        return due_in_s(await self._store.run(lambda conn: conn.execute(query).scalar()))

    async def delivered(self, entry: OutboxEntry, owner: str) -> bool:
        """Remove the entry, unless a newer intent replaced its value meanwhile (then it is
        due at once). True if removed."""
        return await self._finish(entry, owner, delete(pending).where(*_this_version(entry)))

    async def retry_later(self, entry: OutboxEntry, owner: str, error: str, delay_s: float) -> None:
        await self._finish(entry, owner, OUTBOX.retry(_this_version(entry), error, delay_s))

    async def mark_dead(self, entry: OutboxEntry, owner: str, reason: str) -> None:
        await self._finish(entry, owner, OUTBOX.dead(_this_version(entry), reason))

    async def _finish(self, entry: OutboxEntry, owner: str, outcome: Any) -> bool:
        """Apply `outcome` (which applies to the entry's version only); if a newer intent
        replaced that version, only end the claim (the newer one is due now)."""
        return await self._store.run(OUTBOX.settle(outcome, owner, entry.id))

    # -- operating ---------------------------------------------------------------------------

    async def stats(self) -> OutboxStats:
        found = await self._store.run(OUTBOX.backlog)
        return OutboxStats(
            pending=found.waiting,
            dead=found.dead,
            oldest_pending_age_s=found.oldest_age_s(),
            dead_reasons=found.dead_reasons,
        )

    async def retry_dead(self) -> int:
        """Give every dead entry a fresh start; the number revived is returned."""
        revive = OUTBOX.revive_dead()
        return await self._store.run(lambda conn: int(conn.execute(revive).rowcount))


def _this_version(entry: OutboxEntry) -> list[ColumnElement[bool]]:
    return [pending.c.id == entry.id, pending.c.version == entry.version]


def _latest(conn: Connection, trace_id: str, user_id: str) -> dict[str, LatestIntent]:
    rows = conn.execute(LATEST_OF_USER, {"trace_id": trace_id, "user_id": user_id})
    return {
        name: LatestIntent(json.loads(value), rationale, origin)
        for name, value, rationale, origin in rows.all()
    }


def _entry(row: Any) -> OutboxEntry:
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
