"""👍/👎 emoji reactions on the bot's answers are votes, like the feedback buttons."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.feedback.intent import is_trace_id
from bot.feedback.recorder import FeedbackRecorder
from bot.slack.answer_message import ANSWER_EVENT_TYPE
from bot.storage.store import Store

log = logging.getLogger(__name__)

POSITIVE = frozenset({"+1", "thumbsup"})
NEGATIVE = frozenset({"-1", "thumbsdown"})


def vote_of_reaction(reaction: str) -> bool | None:
    """True for 👍, False for 👎 (any skin tone), None for any other emoji."""
    base = reaction.split("::", 1)[0]
    if base in POSITIVE:
        return True
    if base in NEGATIVE:
        return False
    return None


@dataclass(frozen=True)
class Reaction:
    user_id: str
    emoji: str
    channel: str
    message_ts: str
    added: bool  # False: removed


@dataclass(frozen=True)
class BotIdentity:
    user_id: str | None
    bot_id: str | None
    app_id: str | None


class ReactionVotes:
    def __init__(self, recorder: FeedbackRecorder, answers: Store) -> None:
        self._recorder = recorder
        self._answers = answers

    async def handle(self, reaction: Reaction, bot: BotIdentity, client: AsyncWebClient) -> str:
        """Record or withdraw the vote; what happened is returned (for logs and tests)."""
        positive = vote_of_reaction(reaction.emoji)
        if positive is None or reaction.user_id == bot.user_id:
            return "ignored"
        trace_id = await self._trace_of(reaction, bot, client)
        if trace_id is None:
            return "not an answer"
        if reaction.added:
            await self._recorder.vote(
                trace_id, reaction.user_id, positive, channel=reaction.channel, origin="reaction"
            )
            return "voted"
        withdrawn = await self._recorder.withdraw_reaction(
            trace_id, reaction.user_id, positive, channel=reaction.channel
        )
        return "withdrawn" if withdrawn else "superseded"

    async def _trace_of(
        self, reaction: Reaction, bot: BotIdentity, client: AsyncWebClient
    ) -> str | None:
        """The answer's trace ID: from what the bot remembers posting, else from Slack."""
        known = await self._answers.trace_for_message(reaction.channel, reaction.message_ts)
        if known is not None:
            return known
        try:
            response = await client.conversations_replies(
                channel=reaction.channel,
                ts=reaction.message_ts,
                oldest=reaction.message_ts,
                latest=reaction.message_ts,
                inclusive=True,
                include_all_metadata=True,
                limit=2,
            )
        except SlackApiError as error:
            log.warning(
                "no message %s:%s (%s)",
                reaction.channel,
                reaction.message_ts,
                error.response.get("error"),
            )
            return None
        message = next(
            (m for m in response.get("messages") or [] if m.get("ts") == reaction.message_ts),
            None,
        )
        if message is None or not _posted_by(message, bot):
            return None
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") != ANSWER_EVENT_TYPE:
            return None
        trace_id = (metadata.get("event_payload") or {}).get("trace_id")
        if not isinstance(trace_id, str) or not is_trace_id(trace_id):
            return None
        await self._answers.record_answer(
            reaction.channel,
            reaction.message_ts,
            str(message.get("thread_ts") or reaction.message_ts),
            trace_id,
        )
        return trace_id


def _posted_by(message: dict, bot: BotIdentity) -> bool:
    return bool(
        (bot.bot_id and message.get("bot_id") == bot.bot_id)
        or (bot.app_id and message.get("app_id") == bot.app_id)
    )
