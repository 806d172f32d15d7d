"""Block Kit for the bot's messages, built with `slack_sdk.models` (which validates)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextActionsBlock,
    FeedbackButtonObject,
    FeedbackButtonsElement,
    MarkdownBlock,
)
from slack_sdk.models.metadata import Metadata

ANSWER_EVENT_TYPE = "genai_response"
FEEDBACK_BLOCK_ID = "answer_feedback"
FEEDBACK_ACTION_ID = "answer_feedback"
RATE_BLOCK_ID = "answer_rating"
RATE_ACTION_ID = "rate_in_detail"
POSITIVE_PREFIX = "positive:"
NEGATIVE_PREFIX = "negative:"

# Slack's limit on the markdown of one message (all markdown blocks together).
MARKDOWN_LIMIT = 12_000
# Plain `text` of chat.postMessage is the notification fallback; keep it short.
FALLBACK_TEXT_LIMIT = 3_000


def answer_metadata(trace_id: str, question_ts: str | None = None) -> Metadata:
    """The message metadata that ties an answer to its MLflow trace (and to the question it
    answers: a second attempt at it finds the first one's answer by it)."""
    payload = {"trace_id": trace_id}
    if question_ts is not None:
        payload["question_ts"] = question_ts
    return Metadata(event_type=ANSWER_EVENT_TYPE, event_payload=payload)


def answers_question(message: dict, question_ts: str) -> bool:
    """Whether `message` (as Slack returns it, with its metadata) is the answer to the
    question posted at `question_ts`."""
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") if isinstance(metadata, dict) else None
    return (
        isinstance(metadata, dict)
        and metadata.get("event_type") == ANSWER_EVENT_TYPE
        and isinstance(payload, dict)
        and payload.get("question_ts") == question_ts
    )


@dataclass(frozen=True)
class BotIdentity:
    """This bot in Slack: its user and bot IDs (from `auth.test`) and its app's ID (the
    `api_app_id` Slack puts on every request it signs for the app)."""

    user_id: str | None
    bot_id: str | None
    app_id: str | None


@dataclass(frozen=True)
class AnswerTrace:
    """Whether a message is one of this bot's answers, and the trace ID it names (None if it
    names none; not yet checked to be a well-formed trace ID)."""

    ours: bool
    trace_id: str | None


def is_ours(message: Mapping[str, Any], bot: BotIdentity) -> bool:
    """Whether this bot posted `message`: the one rule for votes, the rating modal, reactions,
    a thread's history and an earlier attempt's leftovers.

    Ours: Slack set the message's `bot_id` to this bot's, and its `app_id`, when present, to
    this app's (another app's bot, a person, our bot user's ID on another app's message, or
    our app ID without our bot are not ours)."""
    app_id = message.get("app_id")
    return bool(bot.bot_id) and (
        message.get("bot_id") == bot.bot_id and (app_id is None or app_id == bot.app_id)
    )


def is_another_apps(message: Mapping[str, Any], bot: BotIdentity) -> bool:
    """Whether `message` was posted by an app (a bot) that is not this one."""
    return bool(message.get("bot_id")) and not is_ours(message, bot)


def answer_trace(
    message: Mapping[str, Any], bot: BotIdentity, button_value: object = None
) -> AnswerTrace:
    """Is `message` this bot's answer (`is_ours`), and which trace is it? The trace ID comes
    from the answer's metadata, else from the clicked button's value."""
    if not is_ours(message, bot):
        return AnswerTrace(ours=False, trace_id=None)
    metadata = message.get("metadata")
    if isinstance(metadata, Mapping) and metadata.get("event_type") == ANSWER_EVENT_TYPE:
        payload = metadata.get("event_payload")
        trace_id = payload.get("trace_id") if isinstance(payload, Mapping) else None
        if trace_id:
            return AnswerTrace(ours=True, trace_id=trace_id if isinstance(trace_id, str) else None)
    value = str(button_value or "").removeprefix(POSITIVE_PREFIX).removeprefix(NEGATIVE_PREFIX)
    return AnswerTrace(ours=True, trace_id=value or None)


def feedback_blocks(trace_id: str) -> list[Block]:
    """👍/👎 and "Rate in detail", each carrying the trace ID in its value."""
    return [
        ContextActionsBlock(
            block_id=FEEDBACK_BLOCK_ID,
            elements=[
                FeedbackButtonsElement(
                    action_id=FEEDBACK_ACTION_ID,
                    positive_button=FeedbackButtonObject(
                        text="👍",
                        accessibility_label="This answer was helpful",
                        value=POSITIVE_PREFIX + trace_id,
                    ),
                    negative_button=FeedbackButtonObject(
                        text="👎",
                        accessibility_label="This answer was not helpful",
                        value=NEGATIVE_PREFIX + trace_id,
                    ),
                )
            ],
        ),
        ActionsBlock(
            block_id=RATE_BLOCK_ID,
            elements=[
                ButtonElement(text="Rate in detail", action_id=RATE_ACTION_ID, value=trace_id)
            ],
        ),
    ]


def answer_blocks(markdown: str, trace_id: str) -> list[Block]:
    """A posted (not streamed) answer: its markdown, then the feedback controls."""
    blocks: list[Block] = [MarkdownBlock(text=markdown)] if markdown.strip() else []
    return blocks + feedback_blocks(trace_id)


def markdown_blocks(markdown: str) -> list[Block]:
    return [MarkdownBlock(text=markdown)]


def split_markdown(text: str, limit: int = MARKDOWN_LIMIT) -> list[str]:
    """Split text into parts of at most `limit` characters, preferring paragraph and line ends."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = max(rest.rfind("\n\n", 0, limit), rest.rfind("\n", 0, limit))
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    parts.append(rest)
    return [part for part in parts if part] or [""]


def fallback_text(markdown: str) -> str:
    """The notification text of a message (what Slack shows where blocks are not rendered)."""
    if len(markdown) <= FALLBACK_TEXT_LIMIT:
        return markdown
    return markdown[: FALLBACK_TEXT_LIMIT - 1] + "…"
