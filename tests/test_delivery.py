"""The outbox (in the store, bot/storage/store.py) and its deliverer against a real tracking
server, without Slack in the way."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import mlflow
import pytest
from mlflow.entities import AssessmentSource, TraceInfo, TraceLocation, TraceState
from mlflow.tracing.client import TracingClient

from bot.feedback.delivery import FeedbackDeliverer, MlflowFeedbackWriter, RetryPolicy
from bot.feedback.intent import FeedbackIntent
from bot.feedback.outbox import Outbox
from bot.feedback.recorder import FeedbackRecorder, InvalidFeedback
from bot.storage.store import Store
from bot.tracing.counted_feedback import SUMMARY, SUMMARY_SOURCE_ID, SUMMARY_SOURCE_TYPE
from bot.tracing.data_model import VOTE
from devkit.ids import new_trace_id
from devkit.mlflow_server import MlflowServer
from devkit.waiting import eventually

FAST = RetryPolicy(trace_wait_s=30, base_delay_s=0.05, max_delay_s=0.3)
ME = "test-deliverer"


@pytest.fixture(scope="module")
def experiment_id(mlflow_server: MlflowServer) -> str:
    mlflow.set_tracking_uri(mlflow_server.url)
    return str(mlflow.set_experiment(f"delivery-{uuid.uuid4().hex[:8]}").experiment_id)


def create_trace(server: MlflowServer, experiment_id: str, trace_id: str | None = None) -> str:
    """A trace on the server, with an ID of our choosing (as if its export had been slow)."""
    trace_id = trace_id or new_trace_id()
    info = TraceInfo(
        trace_id=trace_id,
        trace_location=TraceLocation.from_experiment_id(experiment_id),
        request_time=int(time.time() * 1000),
        state=TraceState.OK,
    )
    TracingClient(server.url).start_trace(info)
    return trace_id


def valid_of(server: MlflowServer, trace_id: str) -> list:
    info = TracingClient(server.url).get_trace_info(trace_id)
    return [a for a in info.assessments if a.valid is not False and a.name != SUMMARY]


@pytest.fixture
async def store(tmp_path: Path, backend_url: str | None) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path, database_url=backend_url)
    yield opened
    await opened.close()


@pytest.fixture
async def delivery(
    store: Store, mlflow_server: MlflowServer, experiment_id: str
) -> AsyncIterator[tuple[FeedbackRecorder, Outbox, FeedbackDeliverer]]:
    outbox = Outbox(store)
    deliverer = FeedbackDeliverer(outbox, MlflowFeedbackWriter(mlflow_server.url), FAST)
    deliverer.start()
    yield FeedbackRecorder(outbox, deliverer.wake), outbox, deliverer
    await deliverer.stop()


async def test_feedback_given_before_its_trace_exists_lands_once_it_does(
    delivery: tuple[FeedbackRecorder, Outbox, FeedbackDeliverer],
    mlflow_server: MlflowServer,
    experiment_id: str,
) -> None:
    recorder, outbox, deliverer = delivery
    trace_id = new_trace_id()
    await recorder.vote(trace_id, "UEARLY", False)

    async def tried() -> bool:  # the deliverer tried, and the vote waits for its trace
        if not (await outbox.next_due_in() or 0.0) > 0:
            return False  # due now: the deliverer's turn, not the test's to take it away
        (entry,) = await outbox.claim_due(ME, 60, 10, ignore_backoff=True)  # when not in hand
        await outbox.release(ME)
        # A deliverer that looked while the test held the entry found nothing due and went
        # idle; what a release by another deliverer would not tell it, the test does.
        deliverer.wake()
        return entry.attempts >= 1

    await eventually(tried, timeout_s=30)
    stats = await outbox.stats()
    assert stats.pending == 1 and stats.dead == 0

    await asyncio.to_thread(create_trace, mlflow_server, experiment_id, trace_id)

    async def landed() -> list:
        found = await asyncio.to_thread(valid_of, mlflow_server, trace_id)
        assert [(a.name, a.value, a.source.source_id) for a in found] == [
            ("user_feedback", False, "UEARLY")
        ]
        return found

    await eventually(landed, timeout_s=10)

    async def left_the_outbox() -> bool:  # the vote is on the trace before its entry leaves
        return (await outbox.stats()).pending == 0  # (the trace's summary is written between)

    await eventually(left_the_outbox, timeout_s=10)


async def test_a_trace_that_never_appears_goes_dead_and_holds_back_nothing(
    store: Store, mlflow_server: MlflowServer, experiment_id: str
) -> None:
    outbox = Outbox(store)
    policy = RetryPolicy(trace_wait_s=1.5, base_delay_s=0.05, max_delay_s=0.3)
    deliverer = FeedbackDeliverer(outbox, MlflowFeedbackWriter(mlflow_server.url), policy)
    deliverer.start()
    recorder = FeedbackRecorder(outbox, deliverer.wake)
    try:
        ghost = new_trace_id()
        real = await asyncio.to_thread(create_trace, mlflow_server, experiment_id)
        await recorder.vote(ghost, "UGHOST", True)
        await recorder.vote(real, "UREAL", True)
        await eventually(lambda: asyncio.to_thread(valid_of, mlflow_server, real), timeout_s=5)

        async def dead() -> bool:
            stats = await outbox.stats()
            assert stats.dead == 1 and stats.pending == 0
            assert stats.dead_reasons == {"trace not found": 1}
            return True

        await eventually(dead, timeout_s=10)
        assert await outbox.retry_dead() == 1
        assert (await outbox.stats()).pending == 1
    finally:
        await deliverer.stop()


async def test_a_redelivered_intent_creates_no_duplicate(
    mlflow_server: MlflowServer, experiment_id: str
) -> None:
    """A crash between "sent" and "marked done" means the same intent is sent again."""
    trace_id = await asyncio.to_thread(create_trace, mlflow_server, experiment_id)
    writer = MlflowFeedbackWriter(mlflow_server.url)
    intent = FeedbackIntent(trace_id, "UCRASH", "user_feedback", True)
    assert await asyncio.to_thread(writer.apply, intent) == "logged"
    assert await asyncio.to_thread(writer.apply, intent) == "already delivered"
    same_vote_again = FeedbackIntent(trace_id, "UCRASH", "user_feedback", True)
    assert await asyncio.to_thread(writer.apply, same_vote_again) == "unchanged"
    changed = FeedbackIntent(trace_id, "UCRASH", "user_feedback", False)
    assert await asyncio.to_thread(writer.apply, changed) == "overridden"
    assert await asyncio.to_thread(writer.apply, changed) == "already delivered"
    info = await asyncio.to_thread(TracingClient(mlflow_server.url).get_trace_info, trace_id)
    votes = [a for a in info.assessments if a.name == VOTE]
    assert sorted((a.value, a.valid) for a in votes) == [(False, True), (True, False)]
    overriding = next(a for a in votes if a.valid)
    # The bot's summary, updated in place: one 👎 counts, no channel tag, score 1.
    [summary] = [a for a in info.assessments if a.name == SUMMARY]
    assert (summary.value, summary.valid, summary.source.source_type) == (
        "1 0 1 - - low 1.0 1",
        True,
        "CODE",
    )
    assert overriding.source.source_type == "HUMAN" and overriding.source.source_id == "UCRASH"


async def test_a_newer_intent_is_not_lost_while_an_older_one_is_in_flight(
    store: Store,
) -> None:
    outbox = Outbox(store)
    trace_id = new_trace_id()
    await outbox.submit([FeedbackIntent(trace_id, "U1", "user_feedback", True)])
    (in_flight,) = await outbox.claim_due(ME, 60, 10)
    await outbox.submit([FeedbackIntent(trace_id, "U1", "user_feedback", False)])
    assert await outbox.claim_due("another", 60, 10) == []  # still held: one delivery at a time
    assert not await outbox.delivered(in_flight, ME)  # the newer value stays pending
    (newer,) = await outbox.claim_due("another", 60, 10)  # and is due at once
    assert newer.intent.value is False and newer.id == in_flight.id
    assert await outbox.delivered(newer, "another")
    assert (await outbox.stats()).pending == 0
    assert (await outbox.latest(trace_id, "U1"))["user_feedback"].value is False


async def test_the_recorder_refuses_what_it_cannot_record(store: Store) -> None:
    outbox = Outbox(store)
    recorder = FeedbackRecorder(outbox, lambda: None)
    with pytest.raises(InvalidFeedback):
        await recorder.vote("../etc", "U1", True)
    with pytest.raises(InvalidFeedback):
        await recorder.vote(new_trace_id(), "", True)
    with pytest.raises(InvalidFeedback):
        await recorder.rate(
            new_trace_id(), "U1", {"accuracy": 6, "helpfulness": 1, "relevance": 1}, None
        )
    with pytest.raises(InvalidFeedback):
        await recorder.rate(new_trace_id(), "U1", {"accuracy": 3}, None)
    assert (await outbox.stats()).pending == 0


@pytest.mark.slow  # starts a process
def test_the_outbox_command_shows_and_revives_dead_entries(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.support.suite import ROOT_DIR

    async def one_dead_entry() -> None:
        store = await Store.open(tmp_path)
        outbox = Outbox(store)
        await outbox.submit([FeedbackIntent(new_trace_id(), "U1", "user_feedback", True)])
        (entry,) = await outbox.claim_due(ME, 60, 1)
        await outbox.mark_dead(entry, ME, "trace not found")
        await store.close()

    asyncio.run(one_dead_entry())

    def run(*extra: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "outbox", "--data-dir", str(tmp_path), *extra],
            cwd=ROOT_DIR,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout

    shown = run()
    assert "pending: 0" in shown and "dead:    1" in shown and "trace not found" in shown
    revived = run("--retry-dead")
    assert "1 dead entries will be retried" in revived and "pending: 1" in revived


async def test_identical_clicks_at_once_record_one_vote(store: Store) -> None:
    """A double click (or Slack's retry of it) is one vote: the check for "same as the latest"
    and the commit are one transaction."""
    outbox = Outbox(store)
    wakes: list[None] = []
    recorder = FeedbackRecorder(outbox, lambda: wakes.append(None))
    trace_id = new_trace_id()
    results = await asyncio.gather(*(recorder.vote(trace_id, "U1", True) for _ in range(5)))
    assert sorted(r.changed for r in results) == [False, False, False, False, True]
    assert len(wakes) == 1
    (entry,) = await outbox.claim_due(ME, 60, 10)
    assert entry.intent.value is True and entry.version == 1
    await outbox.release(ME)
    # The same against a vote already there: one of five 👎 at once changes it.
    results = await asyncio.gather(*(recorder.vote(trace_id, "U1", False) for _ in range(5)))
    assert sorted(r.changed for r in results) == [False, False, False, False, True]
    (entry,) = await outbox.claim_due(ME, 60, 10)
    assert entry.intent.value is False and entry.version == 2


async def test_the_summary_stays_one_per_trace(
    mlflow_server: MlflowServer, experiment_id: str
) -> None:
    """Two summaries (two instances delivering to one trace at once) become one again."""
    trace_id = await asyncio.to_thread(create_trace, mlflow_server, experiment_id)
    writer = MlflowFeedbackWriter(mlflow_server.url)
    await asyncio.to_thread(writer.apply, FeedbackIntent(trace_id, "U1", VOTE, True))
    await asyncio.to_thread(
        mlflow.log_feedback,
        trace_id=trace_id,
        name=SUMMARY,
        value="1 1 0 -",
        source=AssessmentSource(SUMMARY_SOURCE_TYPE, SUMMARY_SOURCE_ID),
    )
    await asyncio.to_thread(writer.apply, FeedbackIntent(trace_id, "U2", VOTE, False))
    info = await asyncio.to_thread(TracingClient(mlflow_server.url).get_trace_info, trace_id)
    assert [a.value for a in info.assessments if a.name == SUMMARY] == ["2 1 1 - -"]


async def test_claims_are_disjoint_and_end_with_their_lease_or_outcome(
    tmp_path: Path, backend_url: str | None
) -> None:
    """Two instances on one database: no entry is claimed twice; one given up by its
    deliverer, or whose claim ran out, is any deliverer's at once."""
    first = await Store.open(tmp_path, database_url=backend_url)
    second = await Store.open(tmp_path, database_url=backend_url)
    a, b = Outbox(first), Outbox(second)
    try:
        await a.submit([FeedbackIntent(new_trace_id(), "U1", VOTE, True) for _ in range(30)])
        claims = await asyncio.gather(
            *(
                outbox.claim_due(owner, 60, 4)
                for _ in range(5)
                for owner, outbox in [("a", a), ("b", b)]
            )
        )
        ids = [entry.id for claim in claims for entry in claim]
        assert sorted(ids) == sorted(set(ids)) and len(ids) == 30
        assert await b.claim_due("b", 60, 30, ignore_backoff=True) == []  # every one is held
        assert 55 < (await a.next_due_in() or 0) <= 60  # due when the first claim runs out

        held_by_a = [entry for claim in claims[::2] for entry in claim]
        assert await b.release("a", [held_by_a[0].id]) == 1
        await a.retry_later(held_by_a[1], "a", "unavailable: down", delay_s=60)
        assert await a.delivered(held_by_a[2], "a")  # gone for good
        retaken = await b.claim_due("b", 60, 30)
        assert [entry.id for entry in retaken] == [held_by_a[0].id]  # not the one in backoff
        assert retaken[0].attempts == 0

        assert await a.release("a") == len(held_by_a) - 3
        short = await a.claim_due("a", 0.2, 30)
        assert len(short) == len(held_by_a) - 3
        await asyncio.sleep(0.3)  # a died holding them: its claims run out
        assert {e.id for e in await b.claim_due("b", 60, 30)} == {e.id for e in short}
        assert (await a.stats()).pending == 29
    finally:
        await first.close()
        await second.close()


class CountingWriter(MlflowFeedbackWriter):
    """The real writer, noting each intent it is asked to send."""

    def __init__(self, tracking_uri: str, sent: list[str]) -> None:
        super().__init__(tracking_uri)
        self.sent = sent

    def apply(self, intent: FeedbackIntent) -> str:
        self.sent.append(intent.intent_id)
        return super().apply(intent)


async def test_two_deliverers_on_one_store_send_each_entry_once(
    tmp_path: Path, backend_url: str | None, mlflow_server: MlflowServer, experiment_id: str
) -> None:
    stores = [await Store.open(tmp_path, database_url=backend_url) for _ in range(2)]
    traces = [await asyncio.to_thread(create_trace, mlflow_server, experiment_id) for _ in range(8)]
    intents = [FeedbackIntent(t, f"U{j}", VOTE, j % 2 == 0) for t in traces for j in range(4)]
    await Outbox(stores[0]).submit(intents)
    sent: dict[str, list[str]] = {"a": [], "b": []}
    deliverers = [
        FeedbackDeliverer(
            Outbox(store),
            CountingWriter(mlflow_server.url, sent[owner]),
            FAST,
            concurrency=2,
            batch=4,
            owner=owner,
        )
        for owner, store in zip(sent, stores, strict=True)
    ]
    for deliverer in deliverers:
        deliverer.start()

    async def all_delivered() -> bool:
        stats = await Outbox(stores[1]).stats()
        assert (stats.pending, stats.dead) == (0, 0), stats
        return True

    try:
        await eventually(all_delivered, timeout_s=90, interval_s=0.5)
    finally:
        for deliverer in deliverers:
            await deliverer.stop()
        for store in stores:
            await store.close()
    assert sent["a"] and sent["b"], sent  # both took part
    assert sorted(sent["a"] + sent["b"]) == sorted(i.intent_id for i in intents)  # each once
    for trace_id in traces:
        found = await asyncio.to_thread(valid_of, mlflow_server, trace_id)
        assert sorted((a.source.source_id, a.value) for a in found) == [
            ("U0", True),
            ("U1", False),
            ("U2", True),
            ("U3", False),
        ]
