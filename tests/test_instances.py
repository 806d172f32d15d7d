"""Several instances on one PostgreSQL act as one bot: an event and its retry sent to two
instances are answered once; the question of an instance killed mid-answer is answered by
another once its lease runs out (real processes, a real PostgreSQL, emulators, faults
injected, counts asserted)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bot.answering.slack_reply import INTERRUPTED_NOTE
from devkit.bot_process import BotProcess
from devkit.conversation import dm
from devkit.ids import new_id
from devkit.llm_api import LlmEmulator
from devkit.slack_api import SlackEmulator
from devkit.slack_requests import SlackSender
from tests.support.stack import Stack
from tests.test_questions import LONG_ANSWER, all_answered, assert_answered_once, kill_9

pytestmark = pytest.mark.slow

LEASE_S = 5  # the least QUESTION_LEASE_S allows: a dead instance's questions wait this long


@pytest.fixture
def shared(stack: Stack, database_url: str) -> Stack:
    """The stack's instances keep their store in one PostgreSQL database."""
    stack.env["DATABASE_URL"] = database_url
    stack.env["QUESTION_LEASE_S"] = str(LEASE_S)
    return stack


async def start_instance(stack: Stack) -> tuple[BotProcess, SlackSender]:
    """One more instance on the shared database, with a `BOT_DATA_DIR` of its own (as on a
    platform where each instance has a disk of its own)."""
    stack.env["BOT_DATA_DIR"] = str(stack.root / f"{stack.experiment}-{len(stack.bots)}-data")
    return await stack.start_bot()


async def test_an_event_to_one_instance_and_its_retry_to_another_are_answered_once(
    shared: Stack, slack: SlackEmulator
) -> None:
    a, to_a = await start_instance(shared)
    b, to_b = await start_instance(shared)
    channels = [new_id("D") for _ in range(5)]
    for channel in channels:
        event, event_id = dm(new_id("U"), channel, "asked once"), f"Ev{uuid.uuid4().hex[:10]}"
        assert (await to_a.event(event, event_id=event_id))[0] == 200
        assert (await to_b.event(event, event_id=event_id, retry_num=1))[0] == 200
    await all_answered(a)
    await all_answered(b)
    assert_answered_once(slack, channels)


async def test_a_question_of_an_instance_killed_mid_answer_is_answered_once_by_another(
    shared: Stack, slack: SlackEmulator, llm: LlmEmulator
) -> None:
    llm.fixed_answer, llm.chunk_delay_s = LONG_ANSWER, 0.5  # ~6 s per answer
    a, to_a = await start_instance(shared)
    channels = [new_id("D") for _ in range(3)]
    for channel in channels:
        assert (await to_a.event(dm(new_id("U"), channel, "asked of A")))[0] == 200

    def streaming_everywhere() -> bool:
        appended = {call.args["ts"] for call in slack.calls_to("chat.appendStream")}
        return all(
            any(m.get("streaming") and m["ts"] in appended for m in slack.bot_messages(c))
            for c in channels
        )

    await slack.wait_for(streaming_everywhere, timeout=30)
    b, _ = await start_instance(shared)  # running before A dies: it takes A's questions
    await asyncio.to_thread(kill_9, a)
    llm.chunk_delay_s = 0.0

    await all_answered(b)
    assert_answered_once(slack, channels)
    for channel in channels:  # A's stream: closed by B, saying the answer follows
        (interrupted,) = [m for m in slack.bot_messages(channel) if not m.get("metadata")]
        assert interrupted["text"].endswith(INTERRUPTED_NOTE)
    assert b.log().count("taken again (attempt 2)") == len(channels)
