"""A frozen worker never slows an ack: the worker is stopped (SIGSTOP) while votes, ratings and
questions keep coming; every one is acked, fast, and once the worker goes on (SIGCONT) every
vote and rating reaches MLflow exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from devkit.conversation import trace_id_of
from devkit.ids import new_id
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import dm, vote_click
from tests.support.stack import Stack, answers_for, assert_exactly, rate, timed

pytestmark = pytest.mark.slow


def state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


async def test_votes_are_acked_while_the_worker_is_stopped(
    stack: Stack, slack: SlackEmulator
) -> None:
    bot, sender = await stack.start_bot()
    tracking = stack.tracking()
    answers = await answers_for(sender, slack, 6, tracking)
    (worker,) = bot.children()
    expected: dict[tuple[str, str, str], object] = {}
    acks: list[float] = []

    async def votes(round_: int) -> None:
        """A vote on each answer by a new user, all at once (the worker delivers them)."""
        clicks = []
        for i, answer in enumerate(answers):
            user, positive = new_id("U"), (i + round_) % 2 == 0
            clicks.append(timed(sender.interaction(vote_click(slack, answer, user, positive))))
            expected[(trace_id_of(answer), user, "user_feedback")] = positive
        for elapsed, status, _ in await asyncio.gather(*clicks):
            assert status == 200
            acks.append(elapsed)

    await votes(0)  # the worker is busy delivering these when it is stopped
    os.kill(worker, signal.SIGSTOP)
    try:
        for round_ in range(1, 6):
            await votes(round_)
            rater = new_id("U")
            acks.append(
                await rate(
                    sender,
                    slack,
                    answers[round_],
                    rater,
                    {"accuracy": "4", "helpfulness": "3", "relevance": "5"},
                )
            )
            for name, score in (("accuracy", 4), ("helpfulness", 3), ("relevance", 5)):
                expected[(trace_id_of(answers[round_]), rater, f"user_{name}")] = score / 5
            elapsed, status, _ = await timed(
                sender.event(dm(new_id("U"), new_id("D"), f"a question while frozen {round_}"))
            )
            assert status == 200
            acks.append(elapsed)
            await asyncio.sleep(0.2)
        assert state(worker) == "T"  # stopped all along (not gone, not running)
    finally:
        os.kill(worker, signal.SIGCONT)
    assert len(acks) == 6 + 5 * (6 + 1 + 1)
    # Far under Slack's 3 s on a loaded machine: the acks do not wait for the worker.
    assert max(acks) < 1.5, f"slowest ack {max(acks):.3f} s"
    await assert_exactly(tracking, expected, timeout_s=90)
