"""Durable jobs of any kind: the cheap way to add work that must happen once its cause is
committed, through tracking-server or Slack outages, crashes and deploys (a dataset add, a
digest post, an alert check). One table (`jobs`, bot/storage/schema.py), the queue core's
claim, renewal, backoff and dead rows (bot/storage/queue.py); a kind brings only its handler
and its policy.

Adding a kind, say issue 23's dataset adds:

1. Where the cause is committed (front or worker), keep the job under a key that names the
   work, so that the same work is kept once:

       jobs = JobQueue(store)
       await jobs.add("dataset_add", trace_id, {"trace_id": trace_id, "by": user_id})

   `add` is idempotent per (kind, key): a key already kept (waiting, in hand, dead, or done
   and not yet forgotten) is left as it is and False returned; `replace=True` puts the new
   payload in its place and makes it due again (a try of the older payload then marks
   nothing done). `delay_s` makes it due later. To keep a job in the same transaction as other
   writes: `store.run(lambda conn: conn.execute(jobs.adding(...)))` beside them. Then wake
   the worker: the front's `worker.wake_jobs()` (the pipe's `Wake("jobs")`); a standalone
   worker (`python -m bot worker`) finds it by polling.

2. In the worker (bot/runtime/worker.py, `job_kinds`), register the kind:

       JobKind("dataset_add", add_to_dataset, classify=failure_of)  # bot.tracing.server_errors

   with `async def add_to_dataset(job: Job) -> None` doing the work. Handlers run at least
   once: a crash between the work and its mark runs it again, so make them idempotent by the
   key (MLflow's dataset deduplicates by inputs; a Slack post can carry the key in its
   metadata). Returning marks the job done. Raising:
   - `RetryLater(reason, delay_s=None)`: not yet (the trace is not on the server yet): tried
     again after `delay_s`, or the kind's backoff;
   - `Refused(reason)`: never: kept as dead with the reason (`python -m bot store` shows it;
     `JobQueue.retry_dead` revives it);
   - anything else: `classify(error)` says what it means (`Failure`, bot/storage/queue.py;
     default: transient): REFUSED is kept as dead, TRANSIENT and CREDENTIALS are retried with
     the kind's backoff. A job still failing `give_up_after_s` after it was kept is dead.

`JobRunner` is the consumer: claims due jobs of its kinds (`batch` at a time, `concurrency`
handlers at once), renews their leases, polls every `poll_s` unless woken, drains at an
orderly stop, forgets done jobs after `KEEP_DONE_S`. Read the backlog with
`JobQueue.backlog(kind)`; whether a key is done with `JobQueue.state(kind, key)`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypedDict, Unpack

from sqlalchemy import ColumnElement, Executable, delete, select, update

from bot.storage.queue import (
    Backlog,
    Failure,
    QueueTable,
    Wakeup,
    backoff_s,
    drain,
    due_in_s,
    holding,
    stop_consuming,
)
from bot.storage.schema import jobs
from bot.storage.store import Store, lease_owner

log = logging.getLogger(__name__)

JOBS = QueueTable(jobs, jobs.c.lease_until, jobs.c.lease_owner, done_at=jobs.c.done_at)
KEEP_DONE_S = 30 * 24 * 3600.0  # a done job's key is kept this long (not done twice)
FORGET_EVERY_S = 3600.0
POLL_S = 5.0
ERROR_PAUSE_S = 5.0


class When(TypedDict, total=False):
    """How a job is kept (`JobQueue.add`)."""

    delay_s: float  # due after this long (default: at once)
    replace: bool  # a key kept already gets the new payload and is due again (default: no)


class RetryLater(Exception):
    """Raised by a handler: the job cannot be done yet; tried again after `delay_s` (None:
    the kind's backoff)."""

    def __init__(self, reason: str, delay_s: float | None = None) -> None:
        super().__init__(reason)
        self.delay_s = delay_s


class Refused(Exception):
    """Raised by a handler: the job can never be done; kept as dead with the reason."""


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    key: str
    payload: Any  # as added (JSON)
    version: int  # bumped by each `add(replace=True)`
    created_at: float
    attempts: int  # tries that failed before this one


def _always_transient(_error: BaseException) -> Failure:
    return Failure.TRANSIENT


@dataclass(frozen=True)
class JobKind:
    """A kind of job and its policy."""

    name: str
    handle: Callable[[Job], Awaitable[None]]
    classify: Callable[[BaseException], Failure] = _always_transient
    give_up_after_s: float = 24 * 3600.0
    base_delay_s: float = 1.0
    max_delay_s: float = 300.0


_RETURNING = (
    jobs.c.id,
    jobs.c.kind,
    jobs.c.key,
    jobs.c.payload_json,
    jobs.c.version,
    jobs.c.created_at,
    jobs.c.attempts,
)


class JobQueue:
    """The `jobs` table's statements, run on `store`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- keeping jobs ----------------------------------------------------------------------

    def adding(self, kind: str, key: str, payload: Any, **when: Unpack[When]) -> Executable:
        """The statement that keeps a job (see `add`), for a transaction of the caller's; it
        returns a row if it kept or replaced one."""
        delay_s, replace = when.get("delay_s", 0.0), when.get("replace", False)
        now = time.time()
        fresh = {
            "payload_json": json.dumps(payload, sort_keys=True),
            "created_at": now,
            "next_attempt_at": now + delay_s,
            "attempts": 0,
        }
        insert = self._store.insert(jobs).values(kind=kind, key=key, version=1, **fresh)
        if replace:
            insert = insert.on_conflict_do_update(
                index_elements=[jobs.c.kind, jobs.c.key],
                set_={
                    **fresh,
                    "version": jobs.c.version + 1,
                    "dead_reason": None,
                    "last_error": None,
                    "done_at": None,
                },
            )
        else:
            insert = insert.on_conflict_do_nothing(index_elements=[jobs.c.kind, jobs.c.key])
        return insert.returning(jobs.c.id)

    async def add(self, kind: str, key: str, payload: Any, **when: Unpack[When]) -> bool:
        """Keep a job of `kind` under `key` with its JSON `payload`, due after `delay_s`.
        False if the key was kept already (nothing changed), unless `replace`: then the
        payload is replaced and the job is due again, whatever its state."""
        statement = self.adding(kind, key, payload, **when)
        return await self._store.run(lambda conn: conn.execute(statement).first() is not None)

    async def state(self, kind: str, key: str) -> str | None:
        """ "waiting", "done" or "dead", or None if no such job is kept."""
        query = select(jobs.c.done_at, jobs.c.dead_reason).where(
            jobs.c.kind == kind, jobs.c.key == key
        )
        row = await self._store.run(lambda conn: conn.execute(query).first())
        if row is None:
            return None
        return "done" if row[0] is not None else "dead" if row[1] is not None else "waiting"

    # -- the worker's side -------------------------------------------------------------------

    async def claim(
        self,
        owner: str,
        kinds: Sequence[str],
        limit: int,
        lease_s: float,
        *,
        ignore_backoff: bool = False,
    ) -> list[Job]:
        """Claim for `lease_s` up to `limit` of the oldest due jobs of `kinds` nobody holds."""
        claim = JOBS.claim(
            limit,
            owner,
            lease_s,
            _RETURNING,
            ignore_backoff=ignore_backoff,
            where=[jobs.c.kind.in_(list(kinds))],
        )
        rows = await self._store.run(lambda conn: conn.execute(claim).all())
        return sorted((_job(row) for row in rows), key=lambda job: job.id)

    async def renew(self, owner: str, ids: Sequence[int], lease_s: float) -> None:
        statement = JOBS.renew(owner, ids, lease_s)
        await self._store.run(lambda conn: conn.execute(statement))

    async def release(self, owner: str | None, ids: Sequence[int] | None = None) -> int:
        """Let any runner take at once the jobs `owner` holds (`ids` of them only, if
        given); how many."""
        statement = JOBS.release(owner, ids)
        return await self._store.run(lambda conn: int(conn.execute(statement).rowcount))

    async def done(self, job: Job, owner: str) -> bool:
        """Mark this version of the job done; False if it was replaced meanwhile (the newer
        payload is due at once)."""
        mark = (
            update(jobs)
            .where(*_this_version(job))
            .values({**JOBS.unclaimed(), jobs.c.done_at: time.time()})
        )
        return await self._finish(job, owner, mark)

    async def retry_later(self, job: Job, owner: str, error: str, delay_s: float) -> bool:
        return await self._finish(job, owner, JOBS.retry(_this_version(job), error, delay_s))

    async def dead(self, job: Job, owner: str, reason: str) -> bool:
        return await self._finish(job, owner, JOBS.dead(_this_version(job), reason))

    async def _finish(self, job: Job, owner: str, outcome: Executable) -> bool:
        return await self._store.run(JOBS.settle(outcome, owner, job.id))

    async def next_due_in(self, kinds: Sequence[str]) -> float | None:
        """Seconds until the next job of `kinds` is due (0: now), None if none waits."""
        query = JOBS.next_due_at().where(jobs.c.kind.in_(list(kinds)))
        return due_in_s(await self._store.run(lambda conn: conn.execute(query).scalar()))

    async def forget_done(self, older_than_s: float = KEEP_DONE_S) -> int:
        """Remove the jobs done more than `older_than_s` ago; how many."""
        forget = delete(jobs).where(jobs.c.done_at < time.time() - older_than_s)
        return await self._store.run(lambda conn: int(conn.execute(forget).rowcount))

    # -- operating ---------------------------------------------------------------------------

    async def backlog(self, kind: str | None = None) -> Backlog:
        """Jobs waiting (not done, not dead), of `kind` or of all kinds, and the dead ones by
        reason."""
        where = [] if kind is None else [jobs.c.kind == kind]
        return await self._store.run(partial(JOBS.backlog, where=where))

    async def retry_dead(self) -> int:
        """Give every dead job a fresh start; how many."""
        revive = JOBS.revive_dead()
        return await self._store.run(lambda conn: int(conn.execute(revive).rowcount))


def _this_version(job: Job) -> list[ColumnElement[bool]]:
    return [jobs.c.id == job.id, jobs.c.version == job.version]


def _job(row: Any) -> Job:
    id_, kind, key, payload_json, version, created_at, attempts = row
    return Job(id_, kind, key, json.loads(payload_json), version, created_at, attempts)


@dataclass
class JobRunner:
    """Runs the jobs of `kinds` in the background until stopped (one per worker)."""

    queue: JobQueue
    kinds: Sequence[JobKind]
    owner: str = field(default_factory=lease_owner)
    poll_s: float = POLL_S
    lease_s: float = 60.0
    batch: int = 32
    concurrency: int = 4
    done: int = 0
    failed_attempts: int = 0
    _wakeup: Wakeup = field(default_factory=Wakeup, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _draining: bool = field(default=False, init=False)
    _forgotten_at: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._by_name = {kind.name: kind for kind in self.kinds}
        if len(self._by_name) != len(self.kinds):
            raise ValueError("two job kinds share a name")
        self._slots = asyncio.Semaphore(self.concurrency)

    def start(self) -> None:
        """Start running jobs (nothing runs without kinds: no query is made)."""
        if self._by_name:
            self._task = asyncio.create_task(self._run(), name="job-runner")

    def wake(self) -> None:
        """A job was kept: look now. Safe from any thread."""
        self._wakeup.wake()

    async def stop(self) -> None:
        """Run nothing more; the jobs still held are released for any runner to take."""
        if self._task is not None:
            await stop_consuming(self._task, lambda: self.queue.release(self.owner), "jobs")
            self._task = None

    async def drain(self, timeout_s: float) -> bool:
        """Run every waiting job now, backoff ignored (an orderly stop); True if none is left
        of these kinds. What is left waits for the next start."""
        if not self._by_name:
            return True
        self._draining = True  # the background loop ends after the batch in hand
        self.wake()
        return await drain(
            lambda: self._claim(ignore_backoff=True),
            self._run_batch,
            timeout_s,
            in_flight=self._task,
        )

    async def _claim(self, *, ignore_backoff: bool = False) -> list[Job]:
        names = list(self._by_name)
        return await self.queue.claim(
            self.owner, names, self.batch, self.lease_s, ignore_backoff=ignore_backoff
        )

    async def _run(self) -> None:
        while not self._draining:
            self._wakeup.clear()
            try:
                await self._forget_now_and_then()
                claimed = await self._claim()
                if claimed:
                    await self._run_batch(claimed)
                    continue
                due_in = await self.queue.next_due_in(list(self._by_name))
                wait_s = self.poll_s if due_in is None else min(due_in, self.poll_s)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the job runner failed; looking again in %.0f s", ERROR_PAUSE_S)
                wait_s = ERROR_PAUSE_S
            await self._wakeup.wait(wait_s)

    async def _forget_now_and_then(self) -> None:
        if time.monotonic() - self._forgotten_at < FORGET_EVERY_S:
            return
        self._forgotten_at = time.monotonic()
        if forgotten := await self.queue.forget_done():
            log.info("forgot %d jobs done long ago", forgotten)

    async def _run_batch(self, claimed: Sequence[Job]) -> bool:
        ids = {job.id for job in claimed}
        async with holding(ids, self.lease_s, self._renew, self._release, "jobs") as in_hand:
            outcomes = await asyncio.gather(
                *(self._run_one(job, in_hand) for job in claimed),
                return_exceptions=True,  # the others run on, their leases renewed, till they end
            )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return True

    async def _renew(self, ids: list[int]) -> None:
        await self.queue.renew(self.owner, ids, self.lease_s)

    async def _release(self, ids: list[int]) -> None:
        await self.queue.release(self.owner, ids)

    async def _run_one(self, job: Job, in_hand: set[int]) -> None:
        kind = self._by_name[job.kind]
        async with self._slots:
            try:
                await kind.handle(job)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.failed_attempts += 1
                await self._failed(kind, job, error)
            else:
                self.done += 1
                await self.queue.done(job, self.owner)
            in_hand.discard(job.id)

    async def _failed(self, kind: JobKind, job: Job, error: Exception) -> None:
        reason = (str(error).splitlines() or [""])[0] or type(error).__name__
        if isinstance(error, Refused):
            failure = Failure.REFUSED
        elif isinstance(error, RetryLater):
            failure = Failure.TRANSIENT
        else:
            failure = kind.classify(error)
        age_s = time.time() - job.created_at
        if failure is Failure.REFUSED:
            log.error("%s job %s refused: %s", job.kind, job.key, reason)
            await self.queue.dead(job, self.owner, f"refused: {reason}")
        elif age_s > kind.give_up_after_s:
            log.error("%s job %s given up after %.0f s: %s", job.kind, job.key, age_s, reason)
            await self.queue.dead(job, self.owner, f"given up: {reason}")
        else:
            delay_s = error.delay_s if isinstance(error, RetryLater) else None
            if delay_s is None:
                delay_s = backoff_s(job.attempts, kind.base_delay_s, kind.max_delay_s)
            log.warning(
                "%s job %s: %s (%s); again in %.1f s",
                job.kind,
                job.key,
                reason,
                failure.value,
                delay_s,
            )
            await self.queue.retry_later(job, self.owner, f"{failure.value}: {reason}", delay_s)
