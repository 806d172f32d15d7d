"""The queue core (bot/storage/queue.py) through its generic jobs (bot/storage/jobs.py), once,
on both backends (a real SQLite file, a real PostgreSQL): a claim takes the oldest due rows
and no row twice, a renewed lease holds and one that ran out is taken again, a failure waits
its backoff or is kept as dead until revived, a drain runs what waits; and the one
classification of a failed call, as each consumer applies it."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any, cast

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos import databricks_pb2

from bot.common.failures import (
    RETRIED_WITHIN_A_REQUEST,
    Failure,
    failure_of_status,
    retried_within_a_request,
)
from bot.feedback.delivery import MlflowFeedbackWriter, PermanentFailure, TraceNotFound
from bot.feedback.intent import FeedbackIntent
from bot.storage.jobs import Job, JobKind, JobQueue, JobRunner, Refused, RetryLater
from bot.storage.queue import Wakeup, backoff_s
from bot.storage.store import Store
from bot.tracing.rest import MlflowRest, RequestBounds
from bot.tracing.rest_errors import MlflowRestError, ResourceNotFound, ServerUnreachable
from bot.tracing.server_errors import failure_of, trace_not_found
from devkit.waiting import eventually
from tests.support.scripted_http import scripted_server


@pytest.fixture
def queue(backend_store: Store) -> JobQueue:
    return JobQueue(backend_store)


async def test_a_claim_takes_the_oldest_due_jobs_of_its_kinds_and_none_twice(
    queue: JobQueue, tmp_path: Path, backend_url: str | None
) -> None:
    """Runners of two instances claim at once: each job goes to one of them; a job not due
    yet, or of another kind, is not claimed."""
    other_store = await Store.open(tmp_path, database_url=backend_url)
    other = JobQueue(other_store)
    try:
        for n in range(30):
            assert await queue.add("k", f"job-{n}", {"n": n})
        await queue.add("k", "later", {}, delay_s=60)
        await queue.add("another kind", "job-0", {})

        (first,) = await queue.claim("w0", ["k"], 1, lease_s=60)
        assert (first.key, first.payload, first.attempts) == ("job-0", {"n": 0}, 0)
        claims = await asyncio.gather(
            *(
                each.claim(f"w{i}", ["k"], 4, lease_s=60)
                for i in range(6)
                for each in (queue, other)
            )
        )
        ids = [first.id] + [job.id for claim in claims for job in claim]
        assert len(ids) == len(set(ids)) == 30
        assert await other.claim("w9", ["k"], 30, lease_s=60) == []  # all in hand or not due
        (later,) = await other.claim("w9", ["k"], 30, lease_s=60, ignore_backoff=True)
        assert later.key == "later"
        assert (await queue.backlog("k")).waiting == 31
    finally:
        await other_store.close()


async def test_a_renewed_lease_holds_and_one_that_ran_out_is_taken_again(
    queue: JobQueue,
) -> None:
    await queue.add("k", "a", {})
    await queue.add("k", "b", {})
    a, b = await queue.claim("w1", ["k"], 10, lease_s=0.5)
    await queue.renew("w1", [a.id], lease_s=60)
    await queue.renew("w2", [b.id], lease_s=60)  # not w2's: changes nothing
    await asyncio.sleep(0.7)
    assert [job.key for job in await queue.claim("w3", ["k"], 10, lease_s=60)] == ["b"]
    assert await queue.release("w1") == 1  # let go: any runner takes it at once
    assert [job.key for job in await queue.claim("w3", ["k"], 10, lease_s=60)] == ["a"]


async def test_a_failure_waits_its_backoff_or_is_dead_until_revived(queue: JobQueue) -> None:
    await queue.add("k", "a", {})
    await queue.add("k", "b", {})
    a, b = await queue.claim("w1", ["k"], 10, lease_s=60)
    assert await queue.retry_later(a, "w1", "unavailable: " + "x" * 600, delay_s=60)
    assert await queue.dead(b, "w1", "refused: no")
    assert await queue.claim("w2", ["k"], 10, lease_s=60) == []
    assert 55 < (await queue.next_due_in(["k"]) or 0) <= 60
    backlog = await queue.backlog("k")
    assert (backlog.waiting, backlog.dead, backlog.dead_reasons) == (1, 1, {"refused: no": 1})
    assert await queue.state("k", "b") == "dead"

    (retried,) = await queue.claim("w2", ["k"], 10, lease_s=60, ignore_backoff=True)
    assert (retried.key, retried.attempts) == ("a", 1)
    assert await queue.retry_dead() == 1
    (revived,) = await queue.claim("w2", ["k"], 10, lease_s=60)
    assert (revived.key, revived.attempts) == ("b", 0)


async def test_a_job_is_kept_once_per_key_and_a_replaced_one_is_not_done_by_an_older_try(
    queue: JobQueue,
) -> None:
    assert await queue.add("k", "x", {"v": 1})
    assert not await queue.add("k", "x", {"v": 2})  # kept already: unchanged
    (older,) = await queue.claim("w1", ["k"], 10, lease_s=60)
    assert older.payload == {"v": 1}
    assert await queue.add("k", "x", {"v": 3}, replace=True)
    assert not await queue.done(older, "w1")  # the newer payload is due at once
    (newer,) = await queue.claim("w1", ["k"], 10, lease_s=60)
    assert (newer.payload, newer.version) == ({"v": 3}, 2)
    assert await queue.done(newer, "w1")
    assert await queue.state("k", "x") == "done"
    assert not await queue.add("k", "x", {"v": 4})  # done: not done twice
    assert await queue.claim("w1", ["k"], 10, lease_s=60) == []
    assert (await queue.backlog("k")).waiting == 0
    assert await queue.forget_done(older_than_s=0) == 1
    assert await queue.state("k", "x") is None


async def test_the_runner_applies_each_kinds_policy(queue: JobQueue) -> None:
    ran: list[Job] = []

    async def works(job: Job) -> None:
        ran.append(job)

    async def not_yet(job: Job) -> None:
        raise RetryLater("the trace is not on the server yet", delay_s=60)

    async def never(job: Job) -> None:
        raise Refused("no such channel")

    async def bad_request(job: Job) -> None:
        raise ValueError("invalid value")

    async def down(job: Job) -> None:
        raise ConnectionError("connection refused")

    runner = JobRunner(
        queue,
        [
            JobKind("works", works),
            JobKind("not yet", not_yet),
            JobKind("never", never),
            JobKind("bad request", bad_request, classify=lambda error: Failure.REFUSED),
            JobKind("down", down, base_delay_s=30),
            JobKind("down too long", down, give_up_after_s=0),
        ],
        poll_s=0.05,
    )
    for kind in ("works", "not yet", "never", "bad request", "down", "down too long"):
        await queue.add(kind, "1", {"kind": kind})
    runner.start()
    try:

        async def settled() -> bool:
            return (await queue.backlog()).dead == 3 and runner.done == 1

        await eventually(settled, timeout_s=10, interval_s=0.05)
    finally:
        await runner.stop()
    assert [job.payload for job in ran] == [{"kind": "works"}]
    assert await queue.state("works", "1") == "done"
    assert (await queue.backlog()).dead_reasons == {
        "refused: no such channel": 1,
        "refused: invalid value": 1,
        "given up: connection refused": 1,
    }
    assert 55 < (await queue.next_due_in(["not yet"]) or 0) <= 60
    assert 15 <= (await queue.next_due_in(["down"]) or 0) <= 30  # the kind's backoff
    assert await queue.claim("w", ["not yet", "down"], 10, lease_s=60) == []  # released


async def test_a_drain_runs_what_waits_and_stops_at_its_deadline(queue: JobQueue) -> None:
    release = asyncio.Event()

    async def quick(job: Job) -> None:
        pass

    async def stuck(job: Job) -> None:
        await release.wait()

    await queue.add("quick", "1", {}, delay_s=600)  # backoff ignored when draining
    assert await JobRunner(queue, [JobKind("quick", quick)]).drain(5)
    assert await queue.state("quick", "1") == "done"

    await queue.add("stuck", "1", {})
    started = time.monotonic()
    assert not await JobRunner(queue, [JobKind("stuck", stuck)]).drain(0.3)
    assert time.monotonic() - started < 2
    assert [job.key for job in await queue.claim("w", ["stuck"], 10, lease_s=60)] == ["1"]


async def test_a_wakeup_from_another_thread_ends_the_wait() -> None:
    wakeup = Wakeup()
    assert not await wakeup.wait(0.05)  # the poll
    waiting = asyncio.create_task(wakeup.wait(10))
    await asyncio.sleep(0.01)
    threading.Thread(target=wakeup.wake).start()
    assert await asyncio.wait_for(waiting, 2)


def test_backoff_grows_exponentially_to_its_cap_jittered_in_its_upper_half() -> None:
    for attempt in range(10):
        ceiling = min(15.0, 0.5 * 2**attempt)
        delays = [backoff_s(attempt, 0.5, 15.0) for _ in range(200)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert max(delays) - min(delays) > ceiling / 4  # jittered
    assert backoff_s(-1, 0.5, 15.0) <= 0.5  # a first try that failed


@pytest.mark.parametrize(
    ("status", "failure"),
    [
        (None, Failure.TRANSIENT),  # no answer
        (500, Failure.TRANSIENT),
        (502, Failure.TRANSIENT),
        (503, Failure.TRANSIENT),
        (504, Failure.TRANSIENT),
        (408, Failure.TRANSIENT),
        (409, Failure.TRANSIENT),  # MLflow's ABORTED: a concurrent write
        (425, Failure.TRANSIENT),
        (429, Failure.TRANSIENT),
        (401, Failure.CREDENTIALS),
        (403, Failure.CREDENTIALS),
        (400, Failure.REFUSED),
        (404, Failure.REFUSED),
        (422, Failure.REFUSED),
        (501, Failure.REFUSED),
    ],
)
def test_one_classification_of_a_failed_call(status: int | None, failure: Failure) -> None:
    assert failure_of_status(status) is failure
    if status is not None:  # within a request (a report page), only what passes in seconds
        assert retried_within_a_request(status) == (failure is Failure.TRANSIENT)


def test_a_success_is_not_retried() -> None:
    assert not retried_within_a_request(200)


def test_mlflows_exceptions_are_classified_by_their_status() -> None:
    def raised(code: int) -> MlflowException:
        return MlflowException("x", error_code=code)

    assert failure_of(raised(databricks_pb2.PERMISSION_DENIED)) is Failure.CREDENTIALS
    assert failure_of(raised(databricks_pb2.UNAUTHENTICATED)) is Failure.CREDENTIALS
    assert failure_of(raised(databricks_pb2.INVALID_PARAMETER_VALUE)) is Failure.REFUSED
    assert failure_of(raised(databricks_pb2.INTERNAL_ERROR)) is Failure.TRANSIENT  # no answer
    assert failure_of(raised(databricks_pb2.ABORTED)) is Failure.TRANSIENT
    assert failure_of(ConnectionError("refused")) is Failure.TRANSIENT
    assert failure_of(MlflowRestError("no", status=401)) is Failure.CREDENTIALS  # the adapter's
    assert failure_of(MlflowRestError("no", status=400)) is Failure.REFUSED
    assert failure_of(ServerUnreachable("no answer")) is Failure.TRANSIENT
    assert trace_not_found(ResourceNotFound("no", status=404, error_code="RESOURCE_DOES_NOT_EXIST"))
    assert {401, 403, 404}.isdisjoint(RETRIED_WITHIN_A_REQUEST)  # the adapter's retried codes
    assert {408, 409, 429, 500, 503, 504} <= RETRIED_WITHIN_A_REQUEST
    missing = raised(databricks_pb2.RESOURCE_DOES_NOT_EXIST)
    assert failure_of(missing) is Failure.REFUSED and trace_not_found(missing)
    assert not trace_not_found(raised(databricks_pb2.INVALID_PARAMETER_VALUE))


# -- a vote, by what the tracking server answers -------------------------------------------------


class Answering:
    """A tracking client whose every call is answered with MLflow's `error_code`."""

    def __init__(self, error_code: int) -> None:
        self.error_code = error_code

    def get_trace_info(self, trace_id: str) -> None:
        raise MlflowException("no", error_code=self.error_code)


@pytest.mark.parametrize(
    ("error_code", "outcome"),
    [
        (databricks_pb2.UNAUTHENTICATED, MlflowException),  # retried: an operator fixes it
        (databricks_pb2.PERMISSION_DENIED, MlflowException),  # retried: an operator grants it
        (databricks_pb2.INVALID_PARAMETER_VALUE, PermanentFailure),  # dead
        (databricks_pb2.RESOURCE_DOES_NOT_EXIST, TraceNotFound),  # waits for its trace
    ],
)
def test_a_vote_refused_for_the_bots_credentials_is_retried_not_dead(
    error_code: int, outcome: type[Exception]
) -> None:
    writer = MlflowFeedbackWriter("http://127.0.0.1:9")
    writer._client = cast(Any, Answering(error_code))
    with pytest.raises(outcome) as raised:
        writer.apply(FeedbackIntent("tr-" + "a" * 32, "U1", "user_feedback", True))
    if outcome is MlflowException:
        assert not isinstance(raised.value, (PermanentFailure, TraceNotFound))


# -- a call of the MLflow adapter, by what the tracking server answers -------------------------


@pytest.mark.parametrize(
    ("first", "retried"),
    [
        ((409, b'{"error_code": "ABORTED", "message": "a concurrent write"}'), True),
        ((503, b"busy"), True),
        ((401, b'{"error_code": "UNAUTHENTICATED", "message": "no"}'), False),  # at once
        ((403, b'{"error_code": "PERMISSION_DENIED", "message": "no"}'), False),
    ],
)
def test_the_adapter_retries_within_a_call_only_what_may_pass_in_seconds(
    first: tuple[int, bytes], retried: bool
) -> None:
    with scripted_server() as script:
        script.answers = [first, (200, b'{"experiment": {"experiment_id": "7"}}')]
        rest = MlflowRest(script.url, RequestBounds(timeout_s=5, retries=1, backoff_s=0))
        if retried:
            assert rest.experiment_id("x") == "7"
        else:
            with pytest.raises(MlflowRestError) as raised:
                rest.experiment_id("x")
            assert failure_of(raised.value) is Failure.CREDENTIALS
        assert len(script.requests) == (2 if retried else 1)
