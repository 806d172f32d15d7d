"""Whether a bot process answered every question once, and how a test kills one (shared by
tests/test_questions.py and tests/test_instances.py)."""

from __future__ import annotations

import os
import signal

from devkit.bot_process import BotProcess, readiness
from devkit.slack_api import SlackEmulator
from devkit.waiting import eventually

LONG_ANSWER = "a slowly streamed answer " * 20  # 13 pieces from the LLM emulator


async def all_answered(bot: BotProcess) -> None:
    """The store holds no question any more (every one answered and marked done)."""

    async def empty() -> bool:
        questions = (await readiness(bot.url))["questions"]
        assert questions["pending"] == questions["in_progress"] == 0, questions
        return True

    await eventually(empty, timeout_s=90, interval_s=0.5)


def assert_answered_once(slack: SlackEmulator, channels: list[str]) -> list[dict]:
    """Each channel has exactly one final answer and no message still streaming."""
    answers = []
    for channel in channels:
        messages = slack.bot_messages(channel)
        final = [m for m in messages if m.get("metadata")]
        assert len(final) == 1, f"{channel}: {len(final)} answers"
        assert not [m for m in messages if m.get("streaming")], f"{channel} left streaming"
        answers.append(final[0])
    return answers


def kill_9(bot: BotProcess) -> None:
    """The whole bot, as an OOM kill or a lost host would: the front and its worker."""
    workers = bot.children()
    bot.signal(signal.SIGKILL)
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    bot.wait(10)
