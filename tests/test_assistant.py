"""Slack's assistant panel: greeting and suggested prompts, the title, the channel in view,
and answers that are the same traced, rateable answers as everywhere."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.answering.assistant import GREETING, thread_title
from config import ConfigError, Settings, load_settings
from devkit.conversation import ask_in_assistant_thread, final_answer, trace_id_of
from devkit.ids import new_id
from devkit.llm_api import LlmEmulator
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import vote_click
from devkit.slack_requests import SlackSender
from devkit.traces import Tracking
from devkit.waiting import eventually

DEFAULT_PROMPTS = [
    {"title": p.title, "message": p.message}
    for p in Settings.model_fields["assistant_prompts"].default
]


def system_prompt_for(llm: LlmEmulator, question: str) -> str:
    """The system message the bot sent the model with `question`."""
    sent = [r["messages"] for r in llm.requests if r["messages"][-1]["content"] == question]
    assert sent, f"the model was never asked {question!r}"
    return str(sent[-1][0]["content"])


async def open_panel(
    sender: SlackSender, slack: SlackEmulator, viewing: str | None
) -> tuple[str, str, dict[str, Any]]:
    """The user opens the panel while viewing `viewing`; the DM, the thread and the event."""
    channel = new_id("D")
    event = slack.start_assistant_thread(channel, new_id("U"), viewing)
    status, _ = await sender.event(event)
    assert status == 200
    return channel, event["assistant_thread"]["thread_ts"], event


def greeted(slack: SlackEmulator, channel: str, thread_ts: str) -> bool:
    thread = slack.assistant_threads[(channel, thread_ts)]
    greetings = [m for m in slack.bot_messages(channel) if m.get("thread_ts") == thread_ts]
    return bool(greetings) and thread["prompts"] is not None


async def test_a_new_thread_gets_a_greeting_and_the_suggested_prompts_within_3_s(
    sender: SlackSender, slack: SlackEmulator
) -> None:
    started = time.monotonic()
    channel, thread_ts, event = await open_panel(sender, slack, new_id("C"))
    await slack.wait_for(lambda: greeted(slack, channel, thread_ts), timeout=3.0)
    assert time.monotonic() - started < 3.0

    [greeting] = slack.bot_messages(channel)
    assert greeting["text"] == GREETING and greeting["thread_ts"] == thread_ts
    assert "metadata" not in greeting  # only answers carry metadata: their trace ID
    prompts = slack.assistant_threads[(channel, thread_ts)]["prompts"]
    assert prompts["prompts"] == DEFAULT_PROMPTS and len(DEFAULT_PROMPTS) <= 4
    assert prompts["title"]

    # Slack retries an event it thinks was not acknowledged: no second greeting.
    await sender.event(event, retry_num=1)
    await asyncio.sleep(0.5)
    assert len(slack.bot_messages(channel)) == 1
    assert (
        len(
            [
                c
                for c in slack.calls_to("assistant.threads.setSuggestedPrompts")
                if c.args["channel_id"] == channel
            ]
        )
        == 1
    )


async def test_a_clicked_prompt_is_answered_with_its_trace_feedback_and_the_threads_title(
    sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator, tracking: Tracking
) -> None:
    viewing = new_id("C")
    channel, thread_ts, _ = await open_panel(sender, slack, viewing)
    await slack.wait_for(lambda: greeted(slack, channel, thread_ts), timeout=3.0)

    prompt = DEFAULT_PROMPTS[0]["message"]
    await ask_in_assistant_thread(sender, slack, channel, thread_ts, prompt)
    answer = await final_answer(slack, channel)
    assert answer["thread_ts"] == thread_ts
    assert answer["text"] == f"Echo: {prompt}"
    trace_id = trace_id_of(answer)
    kinds = [b["type"] for b in answer["blocks"]]
    assert "context_actions" in kinds and "actions" in kinds
    assert slack.assistant_threads[(channel, thread_ts)]["title"] == thread_title(prompt)
    # Streamed into the panel's DM thread (no recipient needed in a DM), "is thinking…" first.
    [stream] = [c for c in slack.calls_to("chat.startStream") if c.args["channel"] == channel]
    assert stream.args["thread_ts"] == thread_ts and answer["ts"] in {
        m["ts"] for m in slack.bot_messages(channel) if "streaming" in m
    }
    [status] = [
        c for c in slack.calls_to("assistant.threads.setStatus") if c.args["channel_id"] == channel
    ]
    assert status.args["thread_ts"] == thread_ts and status.args["status"]
    assert slack.assistant_threads[(channel, thread_ts)]["status"] is None  # cleared by the reply

    # The channel in view reaches the model and the trace.
    assert f"The user is viewing #{viewing.lower()}" in system_prompt_for(llm, prompt)
    trace = await tracking.wait_for_trace(trace_id)
    assert trace.info.tags["slack.viewing_channel"] == viewing
    assert trace.info.tags["slack.conversation_kind"] == "assistant"
    assert trace.info.tags["slack.channel"] == channel
    assert trace.info.trace_metadata["mlflow.trace.session"] == f"{channel}:{thread_ts}"

    # History from the thread; the title stays the first question's.
    await ask_in_assistant_thread(sender, slack, channel, thread_ts, "And what else?")
    await final_answer(slack, channel, count=2)
    sent = [r["messages"] for r in llm.requests if r["messages"][-1]["content"] == "And what else?"]
    assert [m["content"] for m in sent[-1][1:]] == [
        GREETING,
        prompt,
        f"Echo: {prompt}",
        "And what else?",
    ]
    titles = [
        c for c in slack.calls_to("assistant.threads.setTitle") if c.args["channel_id"] == channel
    ]
    assert len(titles) == 1


async def test_a_context_change_updates_what_the_next_answer_knows(
    sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator, tracking: Tracking
) -> None:
    first, second = new_id("C"), new_id("C")
    channel, thread_ts, _ = await open_panel(sender, slack, first)
    await ask_in_assistant_thread(sender, slack, channel, thread_ts, "where am I now?")
    await final_answer(slack, channel)
    assert f"#{first.lower()}" in system_prompt_for(llm, "where am I now?")

    status, _ = await sender.event(slack.change_assistant_context(channel, thread_ts, second))
    assert status == 200
    await ask_in_assistant_thread(sender, slack, channel, thread_ts, "and where now?")
    answer = await final_answer(slack, channel, count=2)
    system = system_prompt_for(llm, "and where now?")
    assert f"#{second.lower()}" in system and first.lower() not in system
    trace = await tracking.wait_for_trace(trace_id_of(answer))
    assert trace.info.tags["slack.viewing_channel"] == second


async def test_the_trace_id_survives_the_thread_context_store(
    sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator
) -> None:
    # The bot missed the thread's start (it was down): its answer is the thread's first reply,
    # the message Bolt's default context store would rewrite on a context change.
    channel = new_id("D")
    missed = slack.start_assistant_thread(channel, new_id("U"), None)
    thread_ts = missed["assistant_thread"]["thread_ts"]
    await ask_in_assistant_thread(sender, slack, channel, thread_ts, "first question")
    answer = await final_answer(slack, channel)
    trace_id = trace_id_of(answer)
    assert "The user is viewing" not in system_prompt_for(llm, "first question")

    viewing = new_id("C")
    status, _ = await sender.event(slack.change_assistant_context(channel, thread_ts, viewing))
    assert status == 200
    await ask_in_assistant_thread(sender, slack, channel, thread_ts, "second question")
    await final_answer(slack, channel, count=2)
    assert trace_id_of(slack.find_message(channel, answer["ts"]) or {}) == trace_id
    assert [c for c in slack.calls_to("chat.update") if c.args["channel"] == channel] == []
    # ...and the context was kept all the same: in the bot's own store.
    assert f"#{viewing.lower()}" in system_prompt_for(llm, "second question")


async def test_a_vote_in_an_assistant_thread_lands_like_any_other(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    channel, thread_ts, _ = await open_panel(sender, slack, new_id("C"))
    await ask_in_assistant_thread(sender, slack, channel, thread_ts, "rate me")
    answer = await final_answer(slack, channel)
    voter = slack.assistant_threads[(channel, thread_ts)]["user"]

    status, _ = await sender.interaction(vote_click(slack, answer, voter, positive=False))
    assert status == 200
    [vote] = await eventually(
        lambda: tracking.valid_assessments(trace_id_of(answer), "user_feedback")
    )
    assert vote.value is False and vote.source.source_id == voter
    assert vote.source.source_type == "HUMAN"
    assert vote.metadata["slack.channel"] == channel


def test_assistant_prompts_are_read_as_json_text_or_title_and_message() -> None:
    base = {
        "slack_bot_token": "xoxb-x",
        "slack_signing_secret": "s",
        "mlflow_tracking_uri": "http://127.0.0.1:5000",
    }
    settings = load_settings(
        **base, assistant_prompts='["Hello?", {"title": "Draft", "message": "Draft a note"}]'
    )
    assert [(p.title, p.message) for p in settings.assistant_prompts] == [
        ("Hello?", "Hello?"),
        ("Draft", "Draft a note"),
    ]
    assert load_settings(**base, assistant_prompts="").assistant_prompts == ()
    for bad in ('["1", "2", "3", "4", "5"]', "not json", '[{"title": "", "message": "m"}]'):
        with pytest.raises(ConfigError, match="ASSISTANT_PROMPTS"):
            load_settings(**base, assistant_prompts=bad)


async def test_the_emulator_holds_the_assistant_methods_to_slacks_limits(
    slack: SlackEmulator,
) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    channel = new_id("D")
    thread_ts = slack.start_assistant_thread(channel, new_id("U"), None)["assistant_thread"][
        "thread_ts"
    ]
    prompt = {"title": "t", "message": "m"}

    async def error_of(method: str, **args: Any) -> str | None:
        try:
            await client.api_call(method, json=args)
        except SlackApiError as error:
            return str(error.response["error"])
        return None

    set_prompts = "assistant.threads.setSuggestedPrompts"
    here = {"channel_id": channel, "thread_ts": thread_ts}
    assert await error_of(set_prompts, **here, prompts=[prompt] * 4, title="Try") is None
    assert await error_of(set_prompts, **here, prompts=[prompt] * 5) == "invalid_arguments"
    assert await error_of(set_prompts, **here, prompts=[]) == "invalid_arguments"
    assert await error_of(set_prompts, **here, prompts=[{"title": "t"}]) == "invalid_arguments"
    elsewhere = {"channel_id": channel, "thread_ts": "1.000001"}
    assert await error_of(set_prompts, **elsewhere, prompts=[prompt]) == "invalid_thread_ts"
    assert await error_of("assistant.threads.setTitle", **here, title="A title") is None
    assert await error_of("assistant.threads.setTitle", **here) == "invalid_arguments"
    set_status = "assistant.threads.setStatus"
    assert await error_of(set_status, **here, status="is thinking…") is None
    assert await error_of(set_status, **here, status="…", loading_messages=["a"] * 11) == (
        "invalid_arguments"
    )
    thread = slack.assistant_threads[(channel, thread_ts)]
    assert (thread["title"], thread["status"]) == ("A title", "is thinking…")
    assert thread["prompts"] == {"title": "Try", "prompts": [prompt] * 4}
