"""Size limits: request bodies, the LLM's context, Slack's message limits, the modal's comment."""

from __future__ import annotations

import json

import pytest

from bot.answering.prompt import TRIM_MARK
from bot.feedback.recorder import COMMENT_MAX_CHARS
from bot.slack.answer_message import FALLBACK_TEXT_LIMIT, MARKDOWN_LIMIT
from devkit.conversation import ask, final_answer, open_rating_modal, shown_markdown, trace_id_of
from devkit.ids import new_id
from devkit.llm_api import LlmEmulator
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import dm, rating_submission
from devkit.slack_requests import SlackSender
from devkit.traces import Tracking
from devkit.waiting import eventually

MAX_BODY_BYTES = 1024 * 1024
CONTEXT_CHARS = 24_000  # the bot's default LLM_CONTEXT_CHARS


def event_body(text: str) -> bytes:
    user, channel = new_id("U"), new_id("D")
    return json.dumps({"type": "event_callback", "event": dm(user, channel, text)}).encode()


async def test_a_body_over_1_mib_is_refused_with_413(sender: SlackSender) -> None:
    status, _ = await sender.post(event_body("x" * MAX_BODY_BYTES), "application/json")
    assert status == 413
    just_under = event_body("x" * (MAX_BODY_BYTES - 400))
    assert len(just_under) <= MAX_BODY_BYTES
    status, _ = await sender.post(just_under, "application/json")
    assert status == 200  # read, verified, and handed to Bolt
    status, _ = await sender.post(b"", "application/json")
    assert status in (400, 401)


def chars_sent(request: dict) -> int:
    return sum(len(m["content"]) for m in request["messages"])


async def ask_in_thread(
    sender: SlackSender, slack: SlackEmulator, history: list[str], question: str
) -> tuple[str, dict]:
    """A DM thread with `history`, then `question` in it: the channel and the final answer."""
    user, channel = new_id("U"), new_id("D")
    root = slack.add_user_message(channel, user, history[0])
    for text in history[1:]:
        slack.add_user_message(channel, user, text, thread_ts=root["ts"])
    await sender.event(dm(user, channel, question, thread_ts=root["ts"]))
    return channel, await final_answer(slack, channel)


async def test_the_oldest_thread_history_is_dropped_first_and_the_trace_says_so(
    sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator, tracking: Tracking
) -> None:
    history = [f"earlier message {i}: " + "words " * 1000 for i in range(8)]  # ~6k chars each
    _, answer = await ask_in_thread(sender, slack, history, "and so?")

    request = next(r for r in llm.requests if r["messages"][-1]["content"] == "and so?")
    assert chars_sent(request) <= CONTEXT_CHARS
    kept = [m["content"] for m in request["messages"][1:-1]]
    newest = [text.strip() for text in history][-len(kept) :]
    assert kept == newest and 0 < len(kept) < len(history)

    trace = await tracking.wait_for_trace(trace_id_of(answer))
    root = next(s for s in trace.data.spans if s.span_type == "AGENT")
    assert root.get_attribute("prompt.trimmed") == {
        "dropped_history_messages": len(history) - len(kept),
        "question_trimmed": False,
    }


async def test_a_question_longer_than_the_context_is_trimmed_and_the_trace_says_so(
    sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator, tracking: Tracking
) -> None:
    question = "Please read all of this: " + "lorem ipsum " * 6000  # ~72k chars
    _, answer = await ask_in_thread(sender, slack, ["a short start", "a reply"], question)

    request = next(r for r in llm.requests if r["messages"][-1]["content"].startswith("Please"))
    assert chars_sent(request) <= CONTEXT_CHARS
    sent_question = request["messages"][-1]["content"]
    assert sent_question.endswith(TRIM_MARK) and question.startswith(sent_question[:-100])
    assert [m["role"] for m in request["messages"]] == ["system", "user"]  # history went first

    trace = await tracking.wait_for_trace(trace_id_of(answer))
    root = next(s for s in trace.data.spans if s.span_type == "AGENT")
    assert root.get_attribute("prompt.trimmed") == {
        "dropped_history_messages": 2,
        "question_trimmed": True,
    }
    chat = next(s for s in trace.data.spans if s.span_type == "CHAT_MODEL")
    assert chat.inputs["messages"][-1]["content"] == sent_question


def assert_within_slack_limits(parts: list[dict]) -> None:
    for part in parts:
        assert len(shown_markdown(part)) <= MARKDOWN_LIMIT
        assert len(part["text"]) <= MARKDOWN_LIMIT
        if not part.get("streaming", False) and part.get("blocks"):
            assert len(part["text"]) <= FALLBACK_TEXT_LIMIT or part["blocks"] == []


def without_spacing(text: str) -> str:
    return "".join(text.split())


# An answer Slack cannot take in one message: one 20k-character word (no place to break it
# nicely), emoji and paragraphs.
HUGE_ANSWER = (
    "x" * 20_000 + " 🙂🇫🇷👩‍👩‍👧 " * 500 + ("Another paragraph of the answer. " * 30 + "\n\n") * 20
)


@pytest.mark.parametrize("streaming", [False, True], ids=["posted", "streamed"])
async def test_a_huge_answer_is_split_within_slack_limits(
    streaming: bool, sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator
) -> None:
    slack.streaming_enabled = streaming
    llm.fixed_answer = HUGE_ANSWER
    user, channel = new_id("U"), new_id("D")
    await sender.event(dm(user, channel, "tell me everything"))

    answer = await final_answer(slack, channel)
    parts = slack.bot_messages(channel)
    assert len(parts) >= 4 and parts[-1] is answer
    assert_within_slack_limits(parts)
    shown = "".join(shown_markdown(p) for p in parts)
    assert without_spacing(shown) == without_spacing(HUGE_ANSWER)
    # No API error on the way: each call for this answer made its part (a refused one none).
    posted = [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == channel]
    streams = [c for c in slack.calls_to("chat.startStream") if c.args.get("channel") == channel]
    assert len(posted) == len([p for p in parts if "streaming" not in p])
    streamed = [p for p in parts if "streaming" in p]  # (refused while streaming is off)
    assert len(streamed) == (len(streams) if streaming else 0) and bool(streamed) is streaming


async def test_a_long_answer_goes_on_in_new_messages_when_the_stream_breaks(
    sender: SlackSender, slack: SlackEmulator, llm: LlmEmulator
) -> None:
    llm.fixed_answer = ("A paragraph of a long streamed answer. " * 40 + "\n\n") * 12  # ~19k
    slack.fail("chat.appendStream", error="message_not_in_streaming_state", times=1)
    user, channel = new_id("U"), new_id("D")
    await sender.event(dm(user, channel, "stream, then break"))

    answer = await final_answer(slack, channel)
    parts = slack.bot_messages(channel)
    assert parts[0].get("streaming") is False  # the broken stream was closed
    assert len(parts) >= 2 and parts[-1] is answer
    assert_within_slack_limits(parts)
    shown = "".join(shown_markdown(p) for p in parts)
    assert without_spacing(shown) == without_spacing(llm.fixed_answer)


async def test_the_modal_limits_the_comment_and_a_longer_one_is_refused(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack)
    trace_id, rater = trace_id_of(answer), new_id("U")
    view = await open_rating_modal(sender, slack, answer, rater)
    comment_input = next(b for b in view["blocks"] if b.get("block_id") == "comment")
    assert comment_input["element"]["max_length"] == COMMENT_MAX_CHARS

    scores = {"accuracy": "4", "helpfulness": "4", "relevance": "4"}
    too_long = rating_submission(view, rater, scores, "x" * (COMMENT_MAX_CHARS + 1))
    status, body = await sender.interaction(too_long)
    assert status == 200
    refused = json.loads(body)
    assert refused["response_action"] == "errors" and set(refused["errors"]) == {"comment"}

    longest = "y" * COMMENT_MAX_CHARS
    status, body = await sender.interaction(rating_submission(view, rater, scores, longest))
    assert status == 200 and "errors" not in body

    async def rated() -> list:
        # Everything on the trace: the refused submission, sent first, left nothing.
        found = await tracking.assessments(trace_id)
        assert len(found) == 3 and all(a.rationale == longest for a in found)
        return found

    await eventually(rated)
