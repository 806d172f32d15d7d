"""Slack rate limits and errors: retried by Slack's rules, the answer still arrives; a final
failure is logged with the answer's trace ID, the trace is marked ERROR, and the bot goes on."""

from __future__ import annotations

import pytest
from mlflow.entities import Trace

from devkit.bot_process import BotProcess
from devkit.conversation import final_answer
from devkit.ids import new_id
from devkit.llm_api import LlmEmulator
from devkit.slack_api import Call, SlackEmulator
from devkit.slack_payloads import dm, mention
from devkit.slack_requests import SlackSender
from devkit.traces import Tracking
from devkit.waiting import eventually

pytestmark = pytest.mark.slow

# Long enough that the streamed answer is appended to (the bot appends every 512 characters).
LONG_ANSWER = "A sentence of a streamed answer. " * 60


def calls_in(slack: SlackEmulator, method: str, channel: str) -> list[Call]:
    return [c for c in slack.calls_to(method) if c.args.get("channel") == channel]


@pytest.mark.parametrize(
    "method", ["chat.startStream", "chat.appendStream", "chat.stopStream", "chat.postMessage"]
)
async def test_a_rate_limited_call_waits_retry_after_and_the_answer_arrives(
    method: str, sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator
) -> None:
    slack.streaming_enabled = method != "chat.postMessage"
    llm.fixed_answer = LONG_ANSWER
    slack.fail(method, status=429, retry_after=1, times=1)
    user, channel = new_id("U"), new_id("C")
    await sender.event(mention(user, channel, "am I rate limited?"))

    answer = await final_answer(slack, channel)
    assert len(slack.bot_messages(channel)) == 1
    assert answer["text"] == LONG_ANSWER
    limited, retried = calls_in(slack, method, channel)[:2]
    assert retried.at - limited.at >= 1.0  # Retry-After was honoured


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_retried_and_the_answer_arrives(
    status: int, sender: SlackSender, slack: SlackEmulator
) -> None:
    slack.streaming_enabled = False
    slack.fail("chat.postMessage", status=status, times=2)
    user, channel = new_id("U"), new_id("D")
    await sender.event(dm(user, channel, f"through {status}s?"))

    answer = await final_answer(slack, channel)
    assert answer["text"] == f"Echo: through {status}s?"
    assert len(calls_in(slack, "chat.postMessage", channel)) == 3


async def test_a_server_error_on_starting_the_stream_is_retried(
    sender: SlackSender, slack: SlackEmulator
) -> None:
    slack.fail("chat.startStream", status=503, times=1)
    user, channel = new_id("U"), new_id("D")
    await sender.event(dm(user, channel, "stream through a 503?"))

    answer = await final_answer(slack, channel)
    assert answer["text"] == "Echo: stream through a 503?"
    assert len(calls_in(slack, "chat.startStream", channel)) == 2
    assert calls_in(slack, "chat.postMessage", channel) == []  # streamed, not posted


async def error_traces_of(tracking: Tracking, user: str) -> list[Trace]:
    return await tracking.asearch(
        f"metadata.`mlflow.trace.user` = '{user}' AND trace.status = 'ERROR'"
    )


@pytest.mark.parametrize("streaming", [False, True], ids=["posted", "streamed"])
async def test_a_final_failure_is_logged_with_the_trace_id_and_the_bot_keeps_serving(
    streaming: bool,
    bot: BotProcess,
    sender: SlackSender,
    slack: SlackEmulator,
    tracking: Tracking,
) -> None:
    slack.streaming_enabled = streaming
    slack.fail("chat.stopStream", status=500, times=1000)
    slack.fail("chat.postMessage", status=500, times=1000)
    user, channel = new_id("U"), new_id("D")
    await sender.event(dm(user, channel, "will this ever arrive?"))

    failed = await eventually(lambda: error_traces_of(tracking, user))
    trace_id = failed[0].info.trace_id

    async def logged() -> list[str]:
        return [line for line in bot.log().splitlines() if trace_id in line and " ERROR " in line]

    lines = await eventually(logged, timeout_s=10)
    assert "was not delivered" in lines[0] and "chat.postMessage" in lines[0]
    assert len(calls_in(slack, "chat.postMessage", channel)) == 3  # retried, then given up

    slack.clear_faults()
    user, channel = new_id("U"), new_id("D")
    await sender.event(dm(user, channel, "and now?"))
    assert (await final_answer(slack, channel))["text"] == "Echo: and now?"
