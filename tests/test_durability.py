"""Nothing lost: tracking-server outages, SIGTERM, kill -9, bursts (fault injection, real parts)."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import new_id
from tests.emulators.llm_api import LlmEmulator
from tests.emulators.slack_api import SlackEmulator
from tests.support.bot_process import BotProcess
from tests.support.conversation import dm, final_answer, trace_id_of
from tests.support.mlflow_server import MlflowServer
from tests.support.slack_payloads import rate_click, view_submission, vote_click
from tests.support.slack_requests import SlackSender
from tests.support.traces import Tracking
from tests.test_feedback import eventually

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outage_server(tmp_root: Path) -> Iterator[MlflowServer]:
    """A tracking server of this module's own, so tests can stop and restart it."""
    server = MlflowServer(tmp_root / "mlflow-outage")
    server.start()
    yield server
    server.stop()


class Stack:
    """A bot process of its own (own experiment and data dir) on the outage server."""

    def __init__(self, env: dict[str, str], server: MlflowServer, root: Path) -> None:
        self.experiment = f"durability-{uuid.uuid4().hex[:8]}"
        self.env = {
            **env,
            "MLFLOW_TRACKING_URI": server.url,
            "MLFLOW_EXPERIMENT_NAME": self.experiment,
            "BOT_DATA_DIR": str(root / self.experiment),
        }
        self.root = root
        self.server = server
        self.bots: list[BotProcess] = []
        self.senders: list[SlackSender] = []

    async def start_bot(self) -> tuple[BotProcess, SlackSender]:
        bot = BotProcess(self.env, self.root / f"{self.experiment}-{len(self.bots)}.log")
        await asyncio.to_thread(bot.start)
        sender = SlackSender(bot.url, self.env["SLACK_SIGNING_SECRET"], "T0TEAM", "ABOT")
        self.bots.append(bot)
        self.senders.append(sender)
        return bot, sender

    def tracking(self) -> Tracking:
        return Tracking(self.server.url, self.experiment)

    async def close(self) -> None:
        for sender in self.senders:
            await sender.close()
        for bot in self.bots:
            await asyncio.to_thread(bot.stop)


@pytest.fixture
async def stack(
    bot_env: dict[str, str],
    outage_server: MlflowServer,
    tmp_root: Path,
    slack: SlackEmulator,
    llm: LlmEmulator,
) -> AsyncIterator[Stack]:
    if not outage_server.healthy():
        await asyncio.to_thread(outage_server.start)
    created = Stack(bot_env, outage_server, tmp_root)
    yield created
    await created.close()


async def answers_for(
    sender: SlackSender, slack: SlackEmulator, count: int, tracking: Tracking | None = None
) -> list[dict[str, Any]]:
    """Ask `count` questions in DMs of their own; wait for the answers (and their traces)."""
    channels = [new_id("D") for _ in range(count)]
    for start in range(0, count, 50):
        await asyncio.gather(
            *(
                sender.event(dm(new_id("U"), c, f"question {c}"))
                for c in channels[start : start + 50]
            )
        )
    answers = [await final_answer(slack, channel) for channel in channels]
    if tracking is not None:
        for answer in answers:
            await tracking.wait_for_trace(trace_id_of(answer))
    return answers


async def timed(call: Any) -> tuple[float, int, str]:
    started = time.perf_counter()
    status, body = await call
    return time.perf_counter() - started, status, body


async def rate(
    sender: SlackSender, slack: SlackEmulator, answer: dict, user: str, scores: dict[str, str]
) -> float:
    opened = len(slack.calls_to("views.open"))
    elapsed, status, _ = await timed(sender.interaction(rate_click(slack, answer, user)))
    assert status == 200
    calls = await slack.wait_for(
        lambda: len(slack.calls_to("views.open")) > opened and slack.calls_to("views.open")
    )
    view = calls[-1].args["view"]
    elapsed2, status, body = await timed(sender.interaction(view_submission(view, user, scores)))
    assert status == 200 and "errors" not in body
    return max(elapsed, elapsed2)


async def assert_exactly(
    tracking: Tracking, expected: dict[tuple[str, str, str], object], timeout_s: float = 60.0
) -> None:
    """Every (trace, user, name) has exactly one valid assessment with the expected value, and
    no assessment exists beyond what the intents explain."""
    traces = sorted({trace_id for trace_id, _, _ in expected})

    async def check() -> bool:
        seen: dict[tuple[str, str, str], list[object]] = {}
        for trace_id in traces:
            for a in await tracking.valid_assessments(trace_id):
                seen.setdefault((trace_id, a.source.source_id, a.name), []).append(a.value)
        assert set(seen) == set(expected), f"{len(set(expected) - set(seen))} missing"
        for key, values in seen.items():
            assert len(values) == 1, f"{key} has {values}"
            assert values[0] == pytest.approx(expected[key]), key
        return True

    await eventually(check, timeout_s=timeout_s, interval_s=1.0)


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


async def test_sigterm_flushes_pending_traces_and_feedback(
    stack: Stack, slack: SlackEmulator
) -> None:
    stack.env["MLFLOW_ASYNC_TRACE_LOGGING_MAX_WORKERS"] = "1"  # keep traces pending longer
    bot, sender = await stack.start_bot()
    answers = await answers_for(sender, slack, 200)
    expected: dict[tuple[str, str, str], object] = {}
    for answer in answers[:50]:
        user = new_id("U")
        await sender.interaction(vote_click(slack, answer, user, False))
        expected[(trace_id_of(answer), user, "user_feedback")] = False
    bot.signal(signal.SIGTERM)
    code = await asyncio.to_thread(bot.wait, 60)
    assert code == 0, bot.log()[-2000:]

    tracking = stack.tracking()
    traces = await tracking.asearch()
    assert len(traces) == 200
    assert {t.info.trace_id for t in traces} == {trace_id_of(a) for a in answers}
    await assert_exactly(tracking, expected, timeout_s=5)


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
