"""Nothing lost: tracking-server outages, SIGTERM, kill -9, bursts (fault injection, real parts)."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from pathlib import Path

import pytest
from mlflow.entities import Trace, TraceData, TraceInfo, TraceLocation, TraceState

from bot.answering.trace_delivery import TraceDeliverer
from bot.storage.store import Store
from bot.tracing.durable_export import TraceSender
from bot.tracing.server_watch import TrackingServerWatch
from devkit.bot_process import readiness
from devkit.conversation import trace_id_of
from devkit.ids import new_id
from devkit.mlflow_server import MlflowServer
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import vote_click
from devkit.waiting import eventually
from tests.support.stack import Stack, answers_for, assert_exactly, rate, timed

pytestmark = pytest.mark.slow


async def test_an_outage_loses_no_click_and_duplicates_none(
    stack: Stack, slack: SlackEmulator
) -> None:
    _, sender = await stack.start_bot()
    tracking = stack.tracking()
    answers = await answers_for(sender, slack, 10, tracking)
    await asyncio.to_thread(stack.server.stop)

    expected: dict[tuple[str, str, str], object] = {}
    ack_times: list[float] = []
    users = [new_id("U") for _ in range(5)]
    for i, answer in enumerate(answers):
        for j, user in enumerate(users):
            positive = (i + j) % 3 != 0
            elapsed, status, _ = await timed(
                sender.interaction(vote_click(slack, answer, user, positive))
            )
            assert status == 200
            ack_times.append(elapsed)
            expected[(trace_id_of(answer), user, "user_feedback")] = positive
    for i, answer in enumerate(answers):
        rater = new_id("U")
        scores = {"accuracy": str(1 + i % 5), "helpfulness": "4", "relevance": "2"}
        ack_times.append(await rate(sender, slack, answer, rater, scores))
        for name, score in scores.items():
            expected[(trace_id_of(answer), rater, f"user_{name}")] = int(score) / 5
    assert len(ack_times) == 60
    assert max(ack_times) < 1.0, f"slowest ack {max(ack_times):.3f} s"

    await asyncio.to_thread(stack.server.start)
    await assert_exactly(tracking, expected, timeout_s=60)
    for answer in answers:  # nothing extra: no overridden or duplicate assessment at all
        everything = await tracking.assessments(trace_id_of(answer))
        assert all(a.valid is not False for a in everything)
        assert len(everything) == 5 + 3


async def test_rapid_up_down_up_leaves_one_valid_up_vote(
    stack: Stack, slack: SlackEmulator
) -> None:
    _, sender = await stack.start_bot()
    tracking = stack.tracking()
    (answer,) = await answers_for(sender, slack, 1)
    user = new_id("U")
    for positive in (True, False, True):
        await sender.interaction(vote_click(slack, answer, user, positive))
    await assert_exactly(tracking, {(trace_id_of(answer), user, "user_feedback"): True})


async def test_sigterm_sends_what_it_can_and_the_next_start_sends_the_rest(
    stack: Stack, slack: SlackEmulator
) -> None:
    bot, sender = await stack.start_bot()
    answers = await answers_for(sender, slack, 200)
    expected: dict[tuple[str, str, str], object] = {}
    for answer in answers[:50]:
        user = new_id("U")
        await sender.interaction(vote_click(slack, answer, user, False))
        expected[(trace_id_of(answer), user, "user_feedback")] = False
    tracking = stack.tracking()
    exported_before = len(await tracking.asearch())
    bot.signal(signal.SIGTERM)
    code = await asyncio.to_thread(bot.wait, 60)
    assert code == 0, bot.log()[-2000:]
    # The signal came with traces still to send, and stopping sent some of them.
    assert exported_before < 200, "every trace was on the server before the signal"
    sent_at_stop = len(await tracking.asearch())
    assert sent_at_stop > exported_before, bot.log()[-2000:]

    # What the grace period could not send waits in the store: the next start sends it.
    await stack.start_bot()

    async def all_traces() -> list:
        traces = await tracking.asearch()
        assert len(traces) == 200
        return traces

    traces = await eventually(all_traces, timeout_s=90, interval_s=1.0)
    assert {t.info.trace_id for t in traces} == {trace_id_of(a) for a in answers}
    await assert_exactly(tracking, expected, timeout_s=30)


async def test_kill_9_keeps_pending_feedback_for_the_next_start(
    stack: Stack, slack: SlackEmulator
) -> None:
    bot, sender = await stack.start_bot()
    tracking = stack.tracking()
    answers = await answers_for(sender, slack, 5, tracking)
    await asyncio.to_thread(stack.server.stop)
    expected: dict[tuple[str, str, str], object] = {}
    for answer in answers:
        for positive in (True, False):
            user = new_id("U")
            await sender.interaction(vote_click(slack, answer, user, positive))
            expected[(trace_id_of(answer), user, "user_feedback")] = positive
    rater = new_id("U")
    await rate(
        sender, slack, answers[0], rater, {"accuracy": "5", "helpfulness": "5", "relevance": "5"}
    )
    for name in ("accuracy", "helpfulness", "relevance"):
        expected[(trace_id_of(answers[0]), rater, f"user_{name}")] = 1.0
    bot.signal(signal.SIGKILL)
    await asyncio.to_thread(bot.wait, 10)

    await asyncio.to_thread(stack.server.start)
    await stack.start_bot()
    await assert_exactly(tracking, expected, timeout_s=60)
    total = [len(await tracking.assessments(trace_id_of(a))) for a in answers]
    assert sum(total) == len(expected)


async def test_a_burst_of_1000_answers_gives_1000_traces(
    stack: Stack, slack: SlackEmulator
) -> None:
    _, sender = await stack.start_bot()
    answers = await answers_for(sender, slack, 1000)
    tracking = stack.tracking()

    async def all_traces() -> bool:
        found = await tracking.asearch()
        assert len(found) == 1000, len(found)
        return True

    await eventually(all_traces, timeout_s=120, interval_s=2.0)
    assert {trace_id_of(a) for a in answers} == {t.info.trace_id for t in await tracking.asearch()}


async def test_traces_and_votes_of_an_outage_reach_the_server_once_it_is_back(
    stack: Stack, slack: SlackEmulator
) -> None:
    bot, sender = await stack.start_bot()
    tracking = stack.tracking()
    await answers_for(sender, slack, 1, tracking)  # the experiment exists; the server is warm
    await asyncio.to_thread(stack.server.stop)

    answers = await answers_for(sender, slack, 20)  # answered while the server is down
    expected: dict[tuple[str, str, str], object] = {}
    for i, answer in enumerate(answers[:10]):
        user = new_id("U")
        assert (await sender.interaction(vote_click(slack, answer, user, i % 2 == 0)))[0] == 200
        expected[(trace_id_of(answer), user, "user_feedback")] = i % 2 == 0

    async def all_waiting() -> dict:
        ready = await readiness(bot.url)
        assert ready["traces"]["waiting"] == 20, ready["traces"]
        assert ready["trace_exports_failed"] >= 1  # counted by the deliverer itself
        return ready

    await eventually(all_waiting, timeout_s=30)
    await asyncio.to_thread(stack.server.start)

    for answer in answers:  # whole (its spans), with its user and session, within a minute
        trace = await tracking.wait_for_trace(trace_id_of(answer), timeout_s=60)
        assert len(trace.data.spans) == 2
        session = f"{answer['channel']}:{answer['thread_ts']}"
        assert trace.info.trace_metadata["mlflow.trace.session"] == session
    await assert_exactly(tracking, expected, timeout_s=60)
    assert len(await tracking.asearch()) == 21  # nothing sent twice
    for answer in answers[:10]:
        assert len(await tracking.assessments(trace_id_of(answer))) == 1

    async def drained() -> bool:
        ready = await readiness(bot.url)
        assert ready["traces"]["waiting"] == 0 and ready["traces"]["dead"] == 0, ready
        return True

    await eventually(drained, timeout_s=10)
    log = bot.log()
    assert log.count("tracking server unreachable") == 1, log[-3000:]
    assert log.count("tracking server back after") == 1
    assert "Retrying (Retry(" not in log  # no urllib3 warning per retried request
    assert "tracking server unavailable for trace" not in log  # nor one per vote


async def test_a_trace_the_server_refuses_is_kept_as_dead_with_its_reason(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    store = await Store.open(tmp_path)
    info = TraceInfo(
        trace_id="tr-" + uuid.uuid4().hex,
        trace_location=TraceLocation.from_experiment_id("987654321"),  # no such experiment
        request_time=int(time.time() * 1000),
        state=TraceState.OK,
        execution_duration=1,
    )
    store.keep_trace(info.trace_id, Trace(info, TraceData([])).to_json())
    watch = TrackingServerWatch(lambda: _nothing())
    deliverer = TraceDeliverer(store, TraceSender(mlflow_server.url), watch)
    try:
        assert await deliverer.drain(30)
        stats = await store.trace_stats()
        assert (stats.waiting, stats.dead) == (0, 1)
        (reason,) = stats.dead_reasons
        assert reason.startswith("refused: ") and "987654321" in reason
        assert deliverer.counters() == {"traces_sent": 0, "trace_exports_failed": 1}
        assert not watch.down  # a refusal is not an outage
    finally:
        await store.close()


async def _nothing() -> str:
    return "nothing"


async def test_a_trace_leaves_for_the_server_as_soon_as_it_is_kept(
    stack: Stack, slack: SlackEmulator
) -> None:
    """The deliverer is woken by each kept trace: it does not wait for its next idle look
    (30 s) while the server is up."""
    _, sender = await stack.start_bot()
    tracking = stack.tracking()
    await answers_for(sender, slack, 1, tracking)  # the deliverer has just gone idle
    started = time.monotonic()
    (answer,) = await answers_for(sender, slack, 1)
    await tracking.wait_for_trace(trace_id_of(answer), timeout_s=30)
    assert time.monotonic() - started < 10
