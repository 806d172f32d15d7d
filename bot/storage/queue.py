"""The queue core: durable work claimed with a lease, renewed, retried with backoff or kept
as dead, woken, drained. Every queue of the store uses it: questions, traces, the feedback
outbox (each a table of its own columns) and the generic `jobs` (bot/storage/jobs.py: the
way to add a new kind of durable work). A consumer keeps only its policy: what a batch is,
how long to retry, what a failure means for it.

Statements (SQLAlchemy Core, the same on SQLite and PostgreSQL; run them with `Store.run`):

    QUEUE = QueueTable(table, lease_until=table.c.lease_until, lease_owner=table.c.lease_owner)
    QUEUE.claim(limit, owner, lease_s, returning=(...))  # the oldest free rows, now yours
    QUEUE.renew(owner, ids, lease_s)     # hold them longer (a `renew_leases` task does it)
    QUEUE.release(owner, ids)            # let any consumer take them at once
    QUEUE.retry(where, error, delay_s)   # tried once more: due again after `delay_s`
    QUEUE.dead(where, reason)            # given up on, kept with its reason (`revive_dead`)
    QUEUE.settle(outcome, owner, id)     # one row's outcome if its version still stands
    QUEUE.all_due_now()                  # everything waiting is due (the server is back)
    QUEUE.next_due_at()                  # when the next row is due: min over waiting rows
    QUEUE.backlog(conn)                  # waiting rows, the oldest's age, dead ones by reason

A claim takes rows nobody holds (never claimed, or the claim ran out) and, for a queue whose
rows are tried until done (`tried`: `created_at`, `attempts`, `next_attempt_at`,
`last_error`, `dead_reason`: schema.py's `_tried_until_done`), only rows not dead and due.
Rows another transaction is claiming are skipped, not waited for (`FOR UPDATE SKIP LOCKED`
on PostgreSQL; SQLite's one writer at a time needs nothing): instances claiming at once each
get rows of their own. Whoever holds a claim renews it every third of its lease while it
works (`renew_leases`); a consumer that died leaves its claims to run out. Every outcome
(`retry`, `dead`, or the consumer's own "done", usually a delete) ends the claim.

Around the statements (async):
- `backoff_s(attempt, base_s, max_s)`: the one backoff: exponential, jittered;
- `renew_leases(renew, in_hand, lease_s, what)`: a task renewing what is in hand;
- `holding(in_hand, lease_s, renew, release, what)`: a batch's leases renewed while it is
  worked on, and what is left in hand released at its end;
- `Wakeup`: a consumer's doorbell (`wake()` from any thread; `wait(timeout_s)` polls);
- `drain(claim, handle, timeout_s)`: everything waiting now, backoff ignored (a stop);
- `stop_consuming(loop, release, what)`: a consumer's loop cancelled, its claims released;
- `Failure` and `failure_of_status(status)`: the one classification of a failed HTTP call
  (the tracking server's, Slack's): `TRANSIENT` (retry soon), `CREDENTIALS` (retry, but not
  in a loop within a request: an operator must act), `REFUSED` (dead: retrying cannot help).
  It lives in bot/common/failures.py (re-exported here), below every layer that calls out:
  bot/tracing/server_errors.py applies it to MLflow's exceptions, the report's page reader
  to its statuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Executable,
    Select,
    Table,
    Update,
    and_,
    case,
    func,
    or_,
    select,
    true,
    update,
)

from bot.common.failures import Failure, failure_of_status, retried_within_a_request
from bot.storage.errors import StoreUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = [
    "Backlog",
    "Failure",
    "QueueTable",
    "Wakeup",
    "backoff_s",
    "drain",
    "due_in_s",
    "failure_of_status",
    "holding",
    "renew_leases",
    "retried_within_a_request",
    "stop_consuming",
]

ERROR_CHARS = 500  # a last error or dead reason is cut to this


def backoff_s(attempt: int, base_s: float, max_s: float) -> float:
    """The delay before try `attempt + 1` (attempt 0: the first retry): exponential from
    `base_s`, capped at `max_s`, jittered over the upper half of that ceiling, so that retries
    of many rows that failed together spread out and none comes sooner than half its due."""
    ceiling = min(max_s, base_s * 2 ** max(0, attempt))
    return random.uniform(ceiling / 2, ceiling)


def cut(text: str) -> str:
    return text[:ERROR_CHARS]


@dataclass(frozen=True)
class Backlog:
    """What a queue holds: rows waiting (not dead), and rows given up on (dead) by reason."""

    waiting: int
    oldest_created_at: float | None
    dead_reasons: dict[str, int]

    @property
    def dead(self) -> int:
        return sum(self.dead_reasons.values())

    def oldest_age_s(self) -> float | None:
        if self.oldest_created_at is None:
            return None
        return round(time.time() - self.oldest_created_at, 1)


@dataclass(frozen=True)
class QueueTable:
    """A table used as a queue: `id` (oldest first), the claim's columns (`lease_until`; with
    `lease_owner`, claims are renewed and released by their owner; without, a claim only runs
    out or is let go by its outcome), and, if `tried`, schema.py's `tried_until_done` columns.
    `done_at`: a table that keeps its done rows (jobs) marks them so."""

    table: Table
    lease_until: Column[Any]
    lease_owner: Column[Any] | None = None
    tried: bool = True
    done_at: Column[Any] | None = None

    # -- which rows ----------------------------------------------------------------------

    def unheld(self, now: float) -> ColumnElement[bool]:
        """Rows nobody holds: never claimed, or their claim ran out."""
        return or_(self.lease_until.is_(None), self.lease_until < now)

    def waiting(self) -> ColumnElement[bool]:
        """Rows still to be done: not dead (nor done, where done rows are kept)."""
        if not self.tried:
            return true()
        alive = self.table.c.dead_reason.is_(None)
        return alive if self.done_at is None else and_(alive, self.done_at.is_(None))

    def free(self, now: float, *, ignore_backoff: bool = False) -> ColumnElement[bool]:
        """Rows to try now: waiting, their backoff over (or ignored), nobody holding them."""
        if not self.tried:
            return self.unheld(now)
        due_by = float("inf") if ignore_backoff else now
        return and_(self.waiting(), self.table.c.next_attempt_at <= due_by, self.unheld(now))

    # -- statements ----------------------------------------------------------------------

    def claim(
        self,
        limit: int,
        owner: str | None,
        lease_s: float,
        returning: Sequence[Any],
        *,
        ignore_backoff: bool = False,
        where: Sequence[ColumnElement[bool]] = (),
        values: dict[str, Any] | None = None,
    ) -> Update:
        """Up to `limit` of the oldest free rows (and `where`), held by `owner` for `lease_s`
        (with `values` set too), `returning` their columns."""
        now = time.time()
        held: dict[str, Any] = {self.lease_until.name: now + lease_s, **(values or {})}
        if self.lease_owner is not None:
            held[self.lease_owner.name] = owner
        oldest = (
            select(self.table.c.id)
            .where(self.free(now, ignore_backoff=ignore_backoff), *where)
            .order_by(self.table.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (
            update(self.table)
            .where(self.table.c.id.in_(oldest))
            .values(**held)
            .returning(*returning)
        )

    def renew(self, owner: str, ids: Sequence[int], lease_s: float) -> Update:
        """`owner` holds these rows (those it still holds) `lease_s` longer."""
        assert self.lease_owner is not None, f"{self.table.name}: claims have no owner"
        return (
            update(self.table)
            .where(self.table.c.id.in_(list(ids)), self.lease_owner == owner)
            .values({self.lease_until: time.time() + lease_s})
        )

    def release(self, owner: str | None, ids: Sequence[int] | None = None) -> Update:
        """Any consumer may take at once the rows `owner` holds (only `ids` of them, if given;
        every held row if `owner` is None)."""
        held: ColumnElement[bool] = self.lease_until.is_not(None)
        if self.lease_owner is not None:
            held = self.lease_owner.is_not(None) if owner is None else self.lease_owner == owner
        if ids is not None:
            held = and_(held, self.table.c.id.in_(list(ids)))
        return update(self.table).where(held).values(self.unclaimed())

    def retry(self, where: Sequence[ColumnElement[bool]], error: str, delay_s: float) -> Update:
        """The rows `where` were tried once more and failed with `error`: due again after
        `delay_s`, no longer claimed."""
        return self._tried(where, last_error=cut(error), next_attempt_at=time.time() + delay_s)

    def dead(self, where: Sequence[ColumnElement[bool]], reason: str) -> Update:
        """The rows `where` were tried once more and are given up on: kept with `reason`."""
        return self._tried(where, dead_reason=cut(reason))

    def _tried(self, where: Sequence[ColumnElement[bool]], **outcome: Any) -> Update:
        c = self.table.c
        return (
            update(self.table)
            .where(*where)
            .values({c.attempts: c.attempts + 1, **self.unclaimed(), **outcome})
        )

    def unclaimed(self) -> dict[Any, None]:
        """The values that end a claim."""
        columns = [self.lease_until] + ([self.lease_owner] if self.lease_owner is not None else [])
        return dict.fromkeys(columns)

    def settle(
        self, outcome: Executable, owner: str | None, row_id: int
    ) -> Callable[[Connection], bool]:
        """A transaction (for `Store.run`) applying `outcome` (its where names the row and
        the version claimed) to one claimed row; if a newer version replaced it meanwhile,
        only the claim ends (the newer one is due at once). True if applied."""
        unclaim = self.release(owner, [row_id])

        def settle(conn: Connection) -> bool:
            if conn.execute(outcome).rowcount == 1:
                return True
            conn.execute(unclaim)
            return False

        return settle

    def all_due_now(self) -> Update:
        """Every waiting row due at once, its claim let go (the server they wait for is back:
        a consumer that held some while it was away has tried only one of them)."""
        return (
            update(self.table)
            .where(self.waiting())
            .values({self.table.c.next_attempt_at: time.time(), **self.unclaimed()})
        )

    def revive_dead(self) -> Update:
        """Every dead row given a fresh start, as if just made."""
        now = time.time()
        return (
            update(self.table)
            .where(self.table.c.dead_reason.is_not(None))
            .values(dead_reason=None, attempts=0, next_attempt_at=now, created_at=now)
        )

    def next_due_at(self, *, after_claims: bool = True) -> Select[tuple[Any]]:
        """When the next waiting row is due (NULL if none waits): its next attempt, or, if
        `after_claims`, when its claim runs out if a consumer holds it longer."""
        c = self.table.c
        if not after_claims:
            return select(func.min(c.next_attempt_at)).where(self.waiting())
        due_at = case(
            (self.lease_until > c.next_attempt_at, self.lease_until), else_=c.next_attempt_at
        )
        return select(func.min(due_at)).where(self.waiting())

    def backlog(self, conn: Connection, where: Sequence[ColumnElement[bool]] = ()) -> Backlog:
        """What the queue holds (its rows `where`, if given)."""
        c = self.table.c
        count, oldest = conn.execute(
            select(func.count(), func.min(c.created_at)).where(self.waiting(), *where)
        ).one()
        dead = conn.execute(
            select(c.dead_reason, func.count())
            .where(c.dead_reason.is_not(None), *where)
            .group_by(c.dead_reason)
        )
        return Backlog(count, oldest, {str(reason): int(n) for reason, n in dead.all()})


def due_in_s(due_at: float | None) -> float | None:
    """Seconds until `due_at` (0 if past), None if nothing is due at all."""
    return None if due_at is None else max(0.0, due_at - time.time())


async def renew_leases(
    renew: Callable[[list[int]], Awaitable[None]],
    in_hand: Collection[int],
    lease_s: float,
    what: str,
) -> None:
    """Renew the leases of what is in hand (`in_hand`, read at each turn) every third of
    `lease_s`, until cancelled: two renewals may fail before another consumer can take a
    row. Run it as a task beside the work."""
    while True:
        await asyncio.sleep(lease_s / 3)
        ids = list(in_hand)
        if not ids:
            continue
        try:
            await renew(ids)
        except StoreUnavailable as error:
            log.error("could not renew the leases on the %s in hand: %s", what, error)


@contextlib.asynccontextmanager
async def holding(
    in_hand: set[int],
    lease_s: float,
    renew: Callable[[list[int]], Awaitable[None]],
    release: Callable[[list[int]], Awaitable[object]],
    what: str,
) -> AsyncIterator[set[int]]:
    """Work on claimed rows `in_hand`: their leases are renewed while the block runs; the
    block discards each row once the store took its outcome, and those still in hand at its
    end (an outcome the store did not take, a failure) are released: any consumer may try
    them again at once."""
    renewing = asyncio.create_task(renew_leases(renew, in_hand, lease_s, what))
    try:
        yield in_hand
    finally:
        renewing.cancel()
        if in_hand:
            with contextlib.suppress(StoreUnavailable):
                await release(list(in_hand))


async def stop_consuming(
    loop: asyncio.Task[None] | None, release: Callable[[], Awaitable[object]], what: str
) -> None:
    """Stop a consumer: its `loop` cancelled, then every claim it still holds released
    (`release`), for any consumer to take at once."""
    if loop is not None:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    try:
        await release()
    except StoreUnavailable as error:
        log.error("the %s in hand wait for their claims to run out: %s", what, error)


class Wakeup:
    """A consumer's doorbell: `wake()` (from the event loop or any other thread) ends its
    current or next `wait`, which otherwise returns after its timeout (the poll: a lease that
    ran out, a backoff over, work another instance added)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        loop = self._loop
        if loop is None:
            self._event.set()
            return
        try:
            same_thread = asyncio.get_running_loop() is loop
        except RuntimeError:
            same_thread = False
        if same_thread:
            self._event.set()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._event.set)

    def clear(self) -> None:
        """Forget earlier wake-ups: call it before looking for work, so that work kept from
        then on ends the next wait."""
        self._loop = asyncio.get_running_loop()
        self._event.clear()

    async def wait(self, timeout_s: float) -> bool:
        """True if woken, False after `timeout_s`."""
        self._loop = asyncio.get_running_loop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout_s)
            return True
        return False


async def drain(
    claim: Callable[[], Awaitable[Sequence[T]]],
    handle: Callable[[Sequence[T]], Awaitable[bool]],
    timeout_s: float,
    *,
    in_flight: asyncio.Task[None] | None = None,
) -> bool:
    """Everything waiting now, backoff ignored (an orderly stop): claim a batch, `handle` it
    in what is left of `timeout_s`, until none is left (True), `handle` says to stop (False:
    the server is unreachable, no point hammering it) or time runs out (False). What is left
    stays for the next start. `in_flight`: the consumer's own loop, told to take nothing
    more, is waited for first (within `timeout_s`) to finish the batch it holds."""
    deadline = time.monotonic() + timeout_s
    if in_flight is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(in_flight), timeout_s)
    while time.monotonic() < deadline:
        batch = await claim()
        if not batch:
            return True
        try:
            go_on = await asyncio.wait_for(handle(batch), max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            return False
        if not go_on:
            return False
    return False
