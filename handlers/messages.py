"""Messages and @mentions → `Conversation.handle`."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.background import BackgroundTasks
from bot.conversation import Conversation, IncomingMessage
from handlers.safety import logged_not_raised

# Subtypes that still carry a person's new words; everything else (edits, deletions,
# joins, bot messages, …) is ignored.
ANSWERABLE_SUBTYPES = {None, "thread_broadcast", "file_share"}


def parse_message(
    event: dict[str, Any], body: dict[str, Any], bot_user_id: str | None, *, mention: bool
) -> IncomingMessage | None:
    """The user's message in `event`, or None when it is not one the bot should consider."""
    if event.get("subtype") not in ANSWERABLE_SUBTYPES or event.get("bot_id"):
        return None
    user, channel, ts, text = (event.get(k) for k in ("user", "channel", "ts", "text"))
    if not all(isinstance(v, str) and v for v in (user, channel, ts)) or not isinstance(text, str):
        return None
    if user == bot_user_id or not text.strip():
        return None
    thread_ts = event.get("thread_ts")
    team = event.get("team") or body.get("team_id")
    channel_type = event.get("channel_type") or (
        "im" if str(channel).startswith("D") else "channel"
    )
    return IncomingMessage(
        text=text,
        user_id=str(user),
        team_id=team if isinstance(team, str) else None,
        channel_id=str(channel),
        channel_type=str(channel_type),
        ts=str(ts),
        thread_ts=thread_ts if isinstance(thread_ts, str) and thread_ts else None,
        bot_user_id=bot_user_id,
        is_mention_event=mention,
    )


def register(app: AsyncApp, conversation: Conversation, background: BackgroundTasks) -> None:
    """Events are acked at once; the answer is worked out in the background."""

    @app.event("message")
    @logged_not_raised
    async def on_message(
        event: dict, body: dict, context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        message = parse_message(event, body, context.bot_user_id, mention=False)
        if message is not None:
            background.spawn(conversation.handle(message, client), f"answer {message.ts}")

    @app.event("app_mention")
    @logged_not_raised
    async def on_mention(
        event: dict, body: dict, context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        message = parse_message(event, body, context.bot_user_id, mention=True)
        if message is not None:
            background.spawn(conversation.handle(message, client), f"answer {message.ts}")
