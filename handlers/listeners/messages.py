"""Messages and @mentions → the store, for the worker process that answers them
(`QuestionIntake.accept`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.answering.incoming import IncomingMessage
from bot.answering.intake import QuestionIntake
from handlers.payload_values import slack_id, slack_text, slack_ts

log = logging.getLogger(__name__)

# Subtypes that still carry a person's new words; everything else (edits, deletions,
# joins, bot messages, …) is ignored.
ANSWERABLE_SUBTYPES = {None, "thread_broadcast", "file_share"}


def parse_message(
    event: dict[str, Any],
    body: dict[str, Any],
    bot_user_id: str | None,
    *,
    mention: bool,
    bot_id: str | None = None,
) -> IncomingMessage | None:
    """The user's message in `event`, or None when it is not one the bot should consider.
    `bot_user_id` and `bot_id` (with the body's `api_app_id`): this bot, whose messages in the
    thread are its own (bot/slack/answer_message.py `is_ours`)."""
    subtype = event.get("subtype")
    if not (subtype is None or (isinstance(subtype, str) and subtype in ANSWERABLE_SUBTYPES)):
        return None
    if event.get("bot_id"):
        return None
    user, channel = slack_id(event.get("user")), slack_id(event.get("channel"))
    ts, text = slack_ts(event.get("ts")), slack_text(event.get("text"))
    if user is None or channel is None or ts is None or text is None:
        return None
    if user == bot_user_id or not text.strip():
        return None
    thread_ts = event.get("thread_ts")
    if thread_ts in (None, ""):
        thread_ts = None
    elif slack_ts(thread_ts) is None:
        return None  # in a thread Slack would not know
    channel_type = event.get("channel_type")
    if not isinstance(channel_type, str) or not channel_type:
        # (app_mention has none: a channel's kind is then asked of Slack, never guessed.)
        channel_type = "im" if channel.startswith("D") else ""
    return IncomingMessage(
        text=text,
        user_id=user,
        team_id=slack_id(event.get("team")) or slack_id(body.get("team_id")),
        channel_id=channel,
        channel_type=channel_type,
        ts=ts,
        thread_ts=thread_ts,
        bot_user_id=bot_user_id,
        is_mention_event=mention,
        bot_id=bot_id,
        app_id=slack_id(body.get("api_app_id")),
    )


def register(app: AsyncApp, intake: QuestionIntake) -> None:
    """A question is committed before its event is acked: if it cannot be (QuestionNotKept),
    the listener raises and Bolt answers 500, so that Slack sends the event again."""

    @app.event("message")
    async def on_message(event: dict, body: dict, context: AsyncBoltContext) -> None:
        message = _parsed(event, body, context, mention=False)
        if message is not None:
            await intake.accept(message)

    @app.event("app_mention")
    async def on_mention(event: dict, body: dict, context: AsyncBoltContext) -> None:
        message = _parsed(event, body, context, mention=True)
        if message is not None:
            await intake.accept(message)


def _parsed(
    event: dict, body: dict, context: AsyncBoltContext, *, mention: bool
) -> IncomingMessage | None:
    """The message, or None (an event that cannot be read is logged and acked: a retry of
    it would fail the same way)."""
    try:
        return parse_message(
            event, body, context.bot_user_id, mention=mention, bot_id=context.bot_id
        )
    except Exception:
        log.exception("a %s event could not be read", "app_mention" if mention else "message")
        return None
