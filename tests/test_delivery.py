"""The outbox and its deliverer against a real tracking server, without Slack in the way."""

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
from bot.tracing.counted_feedback import SUMMARY, SUMMARY_SOURCE_ID, SUMMARY_SOURCE_TYPE
from bot.tracing.data_model import VOTE
from devkit.ids import new_trace_id
from devkit.mlflow_server import MlflowServer
from devkit.waiting import eventually

FAST = RetryPolicy(trace_wait_s=30, base_delay_s=0.05, max_delay_s=0.3)


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
async def delivery(
    tmp_path: Path, mlflow_server: MlflowServer, experiment_id: str
) -> AsyncIterator[tuple[FeedbackRecorder, Outbox, FeedbackDeliverer]]:
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    deliverer = FeedbackDeliverer(outbox, MlflowFeedbackWriter(mlflow_server.url), FAST)
    deliverer.start()
    yield FeedbackRecorder(outbox, deliverer.wake), outbox, deliverer
    await deliverer.stop()
    outbox.close()


async def test_feedback_given_before_its_trace_exists_lands_once_it_does(
    delivery: tuple[FeedbackRecorder, Outbox, FeedbackDeliverer],
    mlflow_server: MlflowServer,
    experiment_id: str,
) -> None:
    recorder, outbox, _ = delivery
    trace_id = new_trace_id()
    await recorder.vote(trace_id, "UEARLY", False)

    async def tried() -> bool:  # the deliverer tried, and the vote waits for its trace
        (entry,) = await outbox.due(10, ignore_backoff=True)
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
    assert (await outbox.stats()).pending == 0


async def test_a_trace_that_never_appears_goes_dead_and_holds_back_nothing(
    tmp_path: Path, mlflow_server: MlflowServer, experiment_id: str
) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite3")
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
        assert outbox.retry_dead_now() == 1
        assert (await outbox.stats()).pending == 1
    finally:
        await deliverer.stop()
        outbox.close()


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
        "1 0 1 - low 1.0 1",
        True,
        "CODE",
    )
    assert overriding.source.source_type == "HUMAN" and overriding.source.source_id == "UCRASH"


async def test_a_newer_intent_is_not_lost_while_an_older_one_is_in_flight(
    tmp_path: Path,
) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    try:
        trace_id = new_trace_id()
        await outbox.submit([FeedbackIntent(trace_id, "U1", "user_feedback", True)])
        (in_flight,) = await outbox.due(10)
        await outbox.submit([FeedbackIntent(trace_id, "U1", "user_feedback", False)])
        assert not await outbox.delivered(in_flight)  # the newer value stays pending
        (newer,) = await outbox.due(10)
        assert newer.intent.value is False and newer.id == in_flight.id
        assert await outbox.delivered(newer)
        assert (await outbox.stats()).pending == 0
        assert (await outbox.latest(trace_id, "U1"))["user_feedback"].value is False
    finally:
        outbox.close()


async def test_the_recorder_refuses_what_it_cannot_record(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    recorder = FeedbackRecorder(outbox, lambda: None)
    try:
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
    finally:
        outbox.close()


@pytest.mark.slow  # starts a process
def test_the_outbox_command_shows_and_revives_dead_entries(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.support.suite import ROOT_DIR

    outbox = Outbox(tmp_path / "outbox.sqlite3")
    trace_id = new_trace_id()
    asyncio.run(outbox.submit([FeedbackIntent(trace_id, "U1", "user_feedback", True)]))
    (entry,) = asyncio.run(outbox.due(1))
    asyncio.run(outbox.mark_dead(entry, "trace not found"))
    outbox.close()

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


async def test_identical_clicks_at_once_record_one_vote(tmp_path: Path) -> None:
    """A double click (or Slack's retry of it) is one vote: the check for "same as the latest"
    and the commit are one transaction."""
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    wakes: list[None] = []
    recorder = FeedbackRecorder(outbox, lambda: wakes.append(None))
    try:
        trace_id = new_trace_id()
        results = await asyncio.gather(*(recorder.vote(trace_id, "U1", True) for _ in range(5)))
        assert sorted(r.changed for r in results) == [False, False, False, False, True]
        assert len(wakes) == 1
        (entry,) = await outbox.due(10)
        assert entry.intent.value is True and entry.version == 1
    finally:
        outbox.close()


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
    assert [a.value for a in info.assessments if a.name == SUMMARY] == ["2 1 1 -"]
