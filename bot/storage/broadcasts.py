"""The store's side of what the bot posts in channels on its own (tables `broadcasts` and
`alert_incidents`, bot/storage/schema.py): claims that make each post (or check) happen once
whatever the number of instances, and the alerts' incidents.

A claim is taken by the first instance to insert its key; another takes it over only once
the holder's `claimed_until` has passed (the holder died, or failed and set when to try
again), and then first looks in Slack for a post carrying the key (a holder that died after
posting, before recording it). Every time is passed in (`now`, seconds since the epoch), so
tests move the clock instead of sleeping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, or_, select, update

from bot.storage.schema import alert_incidents, broadcasts
from bot.storage.store import Store

CLAIMED = "claimed"
POSTED = "posted"
SKIPPED = "skipped"
FAILED = "failed"
OPEN = "open"
CLOSED = "closed"


@dataclass(frozen=True)
class Claim:
    key: str
    attempts: int  # this one included: > 1 means an earlier attempt may have posted
    created_at: float


@dataclass(frozen=True)
class Incident:
    scope: str
    incident_key: str
    state: str  # OPEN or CLOSED
    channel: str
    message_ts: str | None
    figures: dict[str, Any]
    opened_at: float
    updated_at: float
    closed_at: float | None = None


class Broadcasts:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- posts made once -------------------------------------------------------------------

    async def claim(
        self, key: str, kind: str, channel: str | None, owner: str, lease_s: float, now: float
    ) -> Claim | None:
        """Hold the post `key` for `lease_s`: the first claim, or a claim nobody holds any
        more that is not finished; None if another instance holds it or it is finished."""
        insert = (
            self._store.insert(broadcasts)
            .values(
                key=key,
                kind=kind,
                state=CLAIMED,
                channel=channel,
                owner=owner,
                claimed_until=now + lease_s,
                attempts=1,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[broadcasts.c.key])
            .returning(broadcasts.c.attempts, broadcasts.c.created_at)
        )
        take_over = (
            update(broadcasts)
            .where(
                broadcasts.c.key == key,
                broadcasts.c.state == CLAIMED,
                or_(broadcasts.c.claimed_until.is_(None), broadcasts.c.claimed_until <= now),
            )
            .values(owner=owner, claimed_until=now + lease_s, attempts=broadcasts.c.attempts + 1)
            .returning(broadcasts.c.attempts, broadcasts.c.created_at)
        )

        def claim(conn: Connection) -> Claim | None:
            row = conn.execute(insert).first() or conn.execute(take_over).first()
            return None if row is None else Claim(key, int(row[0]), float(row[1]))

        return await self._store.run(claim)

    async def finish(
        self,
        key: str,
        owner: str,
        state: str,
        now: float,
        *,
        message_ts: str | None = None,
        error: str | None = None,
    ) -> None:
        """The post is made (POSTED, with its ts), or will not be (SKIPPED, FAILED)."""
        statement = (
            update(broadcasts)
            .where(broadcasts.c.key == key, broadcasts.c.owner == owner)
            .values(
                state=state,
                message_ts=message_ts,
                last_error=None if error is None else error[:500],
                claimed_until=None,
                finished_at=now,
            )
        )
        await self._store.run(lambda conn: conn.execute(statement))

    async def try_again_at(self, key: str, owner: str, error: str, at: float) -> None:
        """The attempt failed: any instance may try again from `at` on."""
        statement = (
            update(broadcasts)
            .where(broadcasts.c.key == key, broadcasts.c.owner == owner)
            .values(claimed_until=at, last_error=error[:500])
        )
        await self._store.run(lambda conn: conn.execute(statement))

    async def state(self, key: str) -> tuple[str, str | None] | None:
        """(state, message_ts) of the post `key`, None if it was never claimed."""
        query = select(broadcasts.c.state, broadcasts.c.message_ts).where(broadcasts.c.key == key)

        def first(conn: Connection) -> tuple[str, str | None] | None:
            row = conn.execute(query).first()
            return None if row is None else (str(row[0]), row[1])

        return await self._store.run(first)

    async def latest_key(self, kind: str, state: str = POSTED) -> str | None:
        """The key of the latest post of `kind` in `state`."""
        query = (
            select(broadcasts.c.key)
            .where(broadcasts.c.kind == kind, broadcasts.c.state == state)
            .order_by(broadcasts.c.finished_at.desc())
            .limit(1)
        )
        return await self._store.run(lambda conn: conn.execute(query).scalar())

    # -- a check run by one instance at a time, at most once an interval -------------------

    async def claim_turn(self, key: str, owner: str, every_s: float, now: float) -> bool:
        """Whether this instance runs the check `key` now: nobody runs it, and the last run
        ended at least `every_s` ago (it holds it for `every_s` or until `turn_done`)."""
        lease_s = max(every_s, 60.0)
        insert = (
            self._store.insert(broadcasts)
            .values(
                key=key,
                kind="turn",
                state=CLAIMED,
                owner=owner,
                claimed_until=now + lease_s,
                attempts=1,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[broadcasts.c.key])
            .returning(broadcasts.c.key)
        )
        take = (
            update(broadcasts)
            .where(
                broadcasts.c.key == key,
                or_(broadcasts.c.claimed_until.is_(None), broadcasts.c.claimed_until <= now),
                or_(
                    broadcasts.c.finished_at.is_(None),
                    broadcasts.c.finished_at <= now - every_s,
                ),
            )
            .values(owner=owner, claimed_until=now + lease_s, attempts=broadcasts.c.attempts + 1)
            .returning(broadcasts.c.key)
        )

        def claim(conn: Connection) -> bool:
            return (conn.execute(insert).first() or conn.execute(take).first()) is not None

        return await self._store.run(claim)

    async def turn_done(self, key: str, owner: str, now: float) -> None:
        statement = (
            update(broadcasts)
            .where(broadcasts.c.key == key, broadcasts.c.owner == owner)
            .values(claimed_until=None, finished_at=now)
        )
        await self._store.run(lambda conn: conn.execute(statement))

    # -- incidents -------------------------------------------------------------------------

    async def open_incidents(self) -> dict[str, Incident]:
        """The open incidents by scope."""
        query = select(alert_incidents).where(alert_incidents.c.state == OPEN)
        rows = await self._store.run(lambda conn: conn.execute(query).mappings().all())
        return {row["scope"]: _incident(row) for row in rows}

    async def save_incident(self, incident: Incident) -> None:
        values = {
            "incident_key": incident.incident_key,
            "state": incident.state,
            "channel": incident.channel,
            "message_ts": incident.message_ts,
            "figures_json": json.dumps(incident.figures, sort_keys=True),
            "opened_at": incident.opened_at,
            "updated_at": incident.updated_at,
            "closed_at": incident.closed_at,
        }
        upsert = (
            self._store.insert(alert_incidents)
            .values(scope=incident.scope, **values)
            .on_conflict_do_update(index_elements=[alert_incidents.c.scope], set_=values)
        )
        await self._store.run(lambda conn: conn.execute(upsert))

    async def incident(self, scope: str) -> Incident | None:
        query = select(alert_incidents).where(alert_incidents.c.scope == scope)
        row = await self._store.run(lambda conn: conn.execute(query).mappings().first())
        return None if row is None else _incident(row)


def _incident(row: Any) -> Incident:
    return Incident(
        scope=row["scope"],
        incident_key=row["incident_key"],
        state=row["state"],
        channel=row["channel"],
        message_ts=row["message_ts"],
        figures=json.loads(row["figures_json"]),
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
        closed_at=row["closed_at"],
    )


__all__ = ["CLAIMED", "CLOSED", "FAILED", "OPEN", "POSTED", "SKIPPED", "Broadcasts"]
