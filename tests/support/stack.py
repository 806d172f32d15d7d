"""A bot process of a test's own, on a tracking server tests may stop and restart."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from devkit.bot_process import BotProcess
from devkit.conversation import final_answer, modal_opened_for, trace_id_of
from devkit.ids import new_id
from devkit.mlflow_server import MlflowServer
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import dm, rate_click, rating_submission
from devkit.slack_requests import SlackSender
from devkit.traces import Tracking
from devkit.waiting import eventually


class Stack:
    """A bot process of its own (own experiment and data dir) on the outage server."""

    def __init__(self, env: dict[str, str], server: MlflowServer, root: Path) -> None:
        self.experiment = f"durability-{uuid.uuid4().hex[:8]}"
        self.env = {
            **env,
            "MLFLOW_TRACKING_URI": server.url,
            "MLFLOW_EXPERIMENT_NAME": self.experiment,
            "BOT_DATA_DIR": str(root / self.experiment),
            # Bursts on a busy machine: the LLM emulator may take longer than the 3 s the
            # session bot allows for its hang tests.
            "LLM_TIMEOUT_S": "60",
        }
        self.root = root
        self.server = server
        self.bots: list[BotProcess] = []
        self.senders: list[SlackSender] = []

    async def start_bot(self, *args: str) -> tuple[BotProcess, SlackSender]:
        """`python -m bot` and `args` (a process type: `web`, `worker`)."""
        bot = BotProcess(self.env, self.root / f"{self.experiment}-{len(self.bots)}.log", args)
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
    click = rate_click(slack, answer, user)
    elapsed, status, _ = await timed(sender.interaction(click))
    assert status == 200
    view = await modal_opened_for(slack, click)
    elapsed2, status, body = await timed(sender.interaction(rating_submission(view, user, scores)))
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
