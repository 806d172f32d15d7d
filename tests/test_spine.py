"""The main path: a Slack message in, a traced, streamed answer with feedback controls out.

Tests taking `transport_sender` run twice, over signed HTTP and over Socket Mode: here the DM
answered with a trace; the vote in tests/test_feedback.py; the command in tests/test_report.py."""

from __future__ import annotations

import json
import time

import pytest

from devkit.conversation import ask, final_answer, shown_markdown, trace_id_of
from devkit.ids import new_id
from devkit.llm_api import LlmEmulator
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import Workspace, dm, mention, message_event
from devkit.slack_requests import Sender, SlackSender
from devkit.traces import Tracking
from tests.support.commands import run_bot_command
from tests.support.stack import Stack


async def test_url_verification_answers_the_challenge(sender: SlackSender) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "x"}).encode()
    status, text = await sender.post(body, "application/json")
    assert status == 200
    assert "c-123" in text


async def test_bad_signature_and_stale_timestamp_are_refused(
    sender: SlackSender, slack: SlackEmulator
) -> None:
    user, channel = new_id("U"), new_id("D")
    body = json.dumps({"type": "event_callback", "event": dm(user, channel, "hi")}).encode()
    status, _ = await sender.post(body, "application/json", signature="v0=" + "0" * 64)
    assert status == 401
    status, _ = await sender.post(body, "application/json", timestamp=int(time.time()) - 600)
    assert status == 401
    await ask(sender, slack, "control")  # answered: the refused ones would have been too
    assert slack.bot_messages(channel) == []


async def test_dm_is_answered_in_thread_with_trace_metadata_and_feedback_blocks(
    transport_sender: Sender, slack: SlackEmulator, tracking: Tracking
) -> None:
    user, channel = new_id("U"), new_id("D")
    event = dm(user, channel, "What is our VPN address?")
    status, _ = await transport_sender.event(event)
    assert status == 200

    answer = await final_answer(slack, channel)
    assert answer["thread_ts"] == event["ts"]
    assert answer["text"] == "Echo: What is our VPN address?"
    trace_id = trace_id_of(answer)
    block_types = [b["type"] for b in answer["blocks"]]
    assert "context_actions" in block_types and "actions" in block_types
    buttons = next(b for b in answer["blocks"] if b["type"] == "context_actions")["elements"][0]
    assert buttons["type"] == "feedback_buttons"
    assert buttons["positive_button"]["value"].endswith(trace_id)
    assert buttons["negative_button"]["value"].endswith(trace_id)
    rate = next(b for b in answer["blocks"] if b["type"] == "actions")["elements"][0]
    assert rate["type"] == "button" and rate["value"] == trace_id

    trace = await tracking.wait_for_trace(trace_id)
    metadata = trace.info.trace_metadata
    assert metadata["mlflow.trace.user"] == user
    assert metadata["mlflow.trace.session"] == f"{channel}:{event['ts']}"
    assert trace.info.client_request_id == f"{channel}:{event['ts']}"
    assert trace.info.tags["slack.channel"] == channel
    assert trace.info.tags["slack.channel_type"] == "im"
    assert trace.info.tags["slack.conversation_kind"] == "dm"
    assert trace.info.tags["slack.answer_ts"] == answer["ts"]
    assert trace.info.state.value == "OK"
    spans = {span.span_type: span for span in trace.data.spans}
    root, chat = spans["AGENT"], spans["CHAT_MODEL"]
    assert root.inputs == {"question": "What is our VPN address?"}
    assert root.outputs == {"answer": "Echo: What is our VPN address?"}
    assert chat.inputs["messages"][-1] == {"role": "user", "content": "What is our VPN address?"}
    assert chat.outputs["choices"][0]["message"]["content"] == "Echo: What is our VPN address?"
    usage = chat.get_attribute("mlflow.chat.tokenUsage")
    assert usage["input_tokens"] > 0 and usage["output_tokens"] == 6
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


async def test_mention_in_channel_is_streamed_with_recipients(
    sender: SlackSender, slack: SlackEmulator
) -> None:
    user, channel = new_id("U"), new_id("C")
    event = mention(user, channel, "where is the wiki?")
    await sender.event(event)
    answer = await final_answer(slack, channel)
    assert answer["thread_ts"] == event["ts"]
    assert answer["text"] == "Echo: where is the wiki?"
    starts = [c for c in slack.calls_to("chat.startStream") if c.args["channel"] == channel]
    assert len(starts) == 1
    assert starts[0].args["recipient_user_id"] == user
    assert starts[0].args["recipient_team_id"] == "T0TEAM"


async def test_each_answer_says_where_its_question_was_asked(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    """app_mention carries no channel_type: the kind comes from conversations.info, and is
    "unknown" (never "public_channel") when Slack does not say."""
    private, public, unlisted = new_id("C"), new_id("C"), new_id("C")
    slack.add_channel(private, "kind-private", private=True)
    slack.add_channel(public, "kind-public")
    kinds = {}
    for channel in (private, public, unlisted):
        await sender.event(mention(new_id("U"), channel, "where am I?"))
        trace = await tracking.wait_for_trace(trace_id_of(await final_answer(slack, channel)))
        kinds[channel] = trace.info.tags["slack.conversation_kind"]
    group = new_id("G")
    await sender.event(
        {**mention(new_id("U"), group, "and here?"), "type": "message", "channel_type": "mpim"}
    )
    trace = await tracking.wait_for_trace(trace_id_of(await final_answer(slack, group)))
    assert kinds == {private: "private_channel", public: "public_channel", unlisted: "unknown"}
    assert trace.info.tags["slack.conversation_kind"] == "group_dm"


async def test_a_dm_reply_inside_a_thread_stays_in_that_thread(
    sender: SlackSender, slack: SlackEmulator
) -> None:
    user, channel = new_id("U"), new_id("D")
    root = slack.add_user_message(channel, user, "first question")
    event = dm(user, channel, "second question", thread_ts=root["ts"])
    await sender.event(event)
    answer = await final_answer(slack, channel)
    assert answer["thread_ts"] == root["ts"]


async def test_a_retried_event_is_answered_once(
    sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator
) -> None:
    llm.delay_s = 0.5
    user, channel = new_id("U"), new_id("D")
    event = dm(user, channel, "answer me once")
    await sender.event(event, event_id="EvRETRIED1")
    await sender.event(event, event_id="EvRETRIED1", retry_num=1)
    await sender.event(event, event_id="EvRETRIED1", retry_num=2)
    await final_answer(slack, channel)
    await ask(sender, slack, "control")  # asked after the retries, answered after them
    assert len(slack.bot_messages(channel)) == 1


async def test_a_mention_delivered_as_message_and_app_mention_is_answered_once(
    sender: SlackSender, slack: SlackEmulator
) -> None:
    user, channel = new_id("U"), new_id("C")
    event = mention(user, channel, "one answer please")
    await sender.event({**event, "type": "message", "channel_type": "channel"})
    await sender.event(event)
    await final_answer(slack, channel)
    await ask(sender, slack, "control")
    assert len(slack.bot_messages(channel)) == 1


async def test_bot_messages_edits_and_joins_are_ignored(
    sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator
) -> None:
    channel = new_id("D")
    ignored = [
        dm("UBOT", channel, "my own words"),
        {**dm(new_id("U"), channel, "from a bot"), "bot_id": "BOTHER"},
        {**dm(new_id("U"), channel, "edited"), "subtype": "message_changed"},
        {**dm(new_id("U"), channel, "deleted"), "subtype": "message_deleted"},
        {**dm(new_id("U"), channel, "joined"), "subtype": "channel_join"},
        {**dm(new_id("U"), channel, "bot says"), "subtype": "bot_message"},
    ]
    for event in ignored:
        status, _ = await sender.event(event)
        assert status == 200
    await ask(sender, slack, "control")
    assert slack.bot_messages(channel) == []
    assert not any(r["messages"][-1]["content"] == "my own words" for r in llm.requests)


async def test_a_thread_follow_up_sends_the_history_to_the_llm(
    sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator
) -> None:
    user, channel = new_id("U"), new_id("C")
    first = mention(user, channel, "What is the capital of France?")
    slack.add_user_message(channel, user, first["text"])
    slack.messages[channel][-1]["ts"] = first["ts"]
    await sender.event(first)
    await final_answer(slack, channel)
    # No waiting: the bot joined the thread before answering, so an immediate follow-up counts.

    # A follow-up in the thread, without a mention: the bot answered there, so it answers.
    follow_up = slack.add_user_message(channel, user, "And of Spain?", thread_ts=first["ts"])
    await sender.event(message_event(Workspace.of(slack), follow_up, channel, "channel", user))
    await final_answer(slack, channel, count=2)
    sent = llm.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == "What is the capital of France?"
    assert sent[2]["content"] == "Echo: What is the capital of France?"
    assert sent[3]["content"] == "And of Spain?"


async def test_a_thread_message_where_the_bot_never_answered_is_ignored(
    sender: SlackSender, slack: SlackEmulator
) -> None:
    user, channel = new_id("U"), new_id("C")
    root = slack.add_user_message(channel, user, "people talking")
    reply = slack.add_user_message(channel, new_id("U"), "among themselves", thread_ts=root["ts"])
    await sender.event(message_event(Workspace.of(slack), reply, channel, "channel", root["user"]))
    await ask(sender, slack, "control")  # answered: the thread message would have been too
    assert slack.bot_messages(channel) == []


async def _assert_apology_then_recovery(
    sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator, tracking: Tracking, mode: str
) -> tuple[float, int]:
    """The apology, its error trace, then an answer; the seconds until the apology and the
    requests the LLM had by then."""
    user, channel = new_id("U"), new_id("D")
    llm.mode = mode
    started = time.monotonic()
    await sender.event(dm(user, channel, "are you there?"))
    apology = await slack.wait_for(lambda: slack.bot_messages(channel), timeout=20)
    waited = time.monotonic() - started
    asked = len(llm.requests)
    assert "Sorry" in apology[0]["text"]
    assert not any(b["type"] == "context_actions" for b in apology[0].get("blocks", []))

    error_trace = await slack.wait_for(lambda: _traces_of(tracking, user, "ERROR"), timeout=30)
    assert error_trace

    llm.mode = "ok"
    await sender.event(dm(user, channel, "and now?"))
    answer = await final_answer(slack, channel)
    assert answer["text"] == "Echo: and now?"
    return waited, asked


def _traces_of(tracking: Tracking, user: str, state: str) -> list:
    return tracking.search(f"metadata.`mlflow.trace.user` = '{user}' AND trace.status = '{state}'")


async def test_llm_500_gives_an_apology_an_error_trace_and_the_bot_recovers(
    sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator, tracking: Tracking
) -> None:
    await _assert_apology_then_recovery(sender, slack, llm, tracking, "error")


async def test_llm_hang_gives_an_apology_within_the_timeout(
    sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator, tracking: Tracking
) -> None:
    waited, asked = await _assert_apology_then_recovery(sender, slack, llm, tracking, "hang")
    # LLM_TIMEOUT_S is 3 (conftest): the whole wait, not each attempt's (3 attempts: ≥ 9 s).
    assert 3.0 <= waited < 6.0 and asked == 1


async def test_a_rate_limited_llm_is_retried_then_apologised_for(
    sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator, tracking: Tracking
) -> None:
    waited, asked = await _assert_apology_then_recovery(sender, slack, llm, tracking, "rate_limit")
    assert asked == 3 and waited < 3.0 + 1.0  # three attempts, within LLM_TIMEOUT_S


async def test_garbage_from_the_llm_gives_an_apology(
    sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator, tracking: Tracking
) -> None:
    await _assert_apology_then_recovery(sender, slack, llm, tracking, "garbage")


async def test_streaming_refused_falls_back_to_post_message(
    sender: SlackSender, slack: SlackEmulator
) -> None:
    slack.streaming_enabled = False
    user, channel = new_id("U"), new_id("C")
    await sender.event(mention(user, channel, "no streams here"))
    answer = await final_answer(slack, channel)
    assert answer["text"] == "Echo: no streams here"
    assert answer["blocks"][0] == {"type": "markdown", "text": "Echo: no streams here"}


async def test_a_very_long_answer_is_split_within_slack_limits(
    sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator
) -> None:
    llm.fixed_answer = ("A long paragraph of the answer. " * 40 + "\n\n") * 40  # ~51k chars
    user, channel = new_id("U"), new_id("D")
    await sender.event(dm(user, channel, "tell me everything"))
    answer = await final_answer(slack, channel)
    parts = slack.bot_messages(channel)
    assert len(parts) >= 5
    assert parts[-1] is answer
    joined = "".join(shown_markdown(p) for p in parts)
    assert joined.replace("\n", "").replace(" ", "") == llm.fixed_answer.replace("\n", "").replace(
        " ", ""
    )


async def test_a_malformed_interaction_is_refused_and_the_bot_stays_up(
    sender: SlackSender, slack: SlackEmulator
) -> None:
    status, _ = await sender.interaction({"type": "view_submission", "view": "not-an-object"})
    assert status == 400
    status, _ = await sender.interaction({"type": "view_submission", "response_urls": [{}, {}]})
    assert status == 400
    status, _ = await sender.interaction({"type": "view_submission", "response_urls": None})
    assert status == 400
    status, _ = await sender.post(b"[1, 2]", "application/json")
    assert status == 400
    user, channel = new_id("U"), new_id("D")
    await sender.event(dm(user, channel, "still there?"))
    assert (await final_answer(slack, channel))["text"] == "Echo: still there?"


async def test_slacks_ssl_check_of_the_command_url_gets_a_200(sender: SlackSender) -> None:
    status, body = await sender.command({"token": "legacy-unused", "ssl_check": "1"})
    assert (status, body) == (200, "")


@pytest.mark.slow  # starts a process
def test_missing_configuration_exits_2_naming_the_variable() -> None:
    result = run_bot_command(env={"SLACK_BOT_TOKEN": "xoxb-secret-value"})
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET is not set" in result.stderr
    assert "MLFLOW_TRACKING_URI is not set" in result.stderr
    assert "xoxb-secret-value" not in result.stderr + result.stdout


@pytest.mark.slow  # starts a process
def test_a_file_tracking_uri_is_refused_clearly() -> None:
    result = run_bot_command(
        env={
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s",
            "MLFLOW_TRACKING_URI": "sqlite:///x.db",
        }
    )
    assert result.returncode == 2
    assert "MLFLOW_TRACKING_URI is invalid" in result.stderr
    assert "HTTP tracking server" in result.stderr


async def test_readyz_reports_the_tracking_server_and_the_outbox(sender: SlackSender) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession() as http,
        http.get(sender.url.replace("/slack/events", "/readyz")) as response,
    ):
        assert response.status == 200
        ready = await response.json()
    assert ready["tracking_server"] == "reachable"
    assert ready["outbox"]["dead"] == 0
    assert ready["traces_dropped"] == 0


async def test_with_slack_streaming_false_answers_are_posted_without_a_stream(
    stack: Stack, slack: SlackEmulator
) -> None:
    stack.env["SLACK_STREAMING"] = "false"
    _, sender = await stack.start_bot()
    channel = new_id("C")
    await sender.event(mention(new_id("U"), channel, "no stream please"))
    answer = await final_answer(slack, channel)
    assert "no stream please" in shown_markdown(answer)
    assert [c for c in slack.calls_to("chat.startStream") if c.args["channel"] == channel] == []
    posted = [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == channel]
    assert len(posted) == 1


async def test_llm_system_prompt_is_what_the_model_is_told_first(
    stack: Stack, slack: SlackEmulator, llm: LlmEmulator
) -> None:
    prompt = "You answer the tests of this bot, and only them."
    stack.env["LLM_SYSTEM_PROMPT"] = prompt
    _, sender = await stack.start_bot()
    channel = new_id("D")
    await sender.event(dm(new_id("U"), channel, "who are you?"))
    await final_answer(slack, channel)
    [request] = [r for r in llm.requests if r["messages"][-1]["content"] == "who are you?"]
    assert request["messages"][0] == {"role": "system", "content": prompt}
