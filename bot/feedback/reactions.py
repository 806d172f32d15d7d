"""👍/👎 emoji reactions on the bot's answers are votes, like the feedback buttons."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.feedback.intent import is_trace_id
from bot.feedback.recorder import FeedbackRecorder, VoteResult
from bot.slack.answer_message import BotIdentity, answer_trace
from bot.slack.errors import SLACK_FAILURES, slack_error_reason
from bot.storage.store import PostedAnswerEntry, Store

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
class ReactionOutcome:
    what: str  # for logs and tests: "voted", "withdrawn", "ignored", …
    trace_id: str | None = None
    thread_ts: str | None = None  # the answer's thread
    vote: VoteResult | None = None  # when a vote was cast


class ReactionVotes:
    def __init__(self, recorder: FeedbackRecorder, answers: Store) -> None:
        self._recorder = recorder
        self._answers = answers

    async def handle(
        self, reaction: Reaction, bot: BotIdentity, client: AsyncWebClient
    ) -> ReactionOutcome:
        """Record or withdraw the vote; what happened is returned."""
        positive = vote_of_reaction(reaction.emoji)
        if positive is None or reaction.user_id == bot.user_id:
            return ReactionOutcome("ignored")
        answer = await self._answer_of(reaction, bot, client)
        if answer is None:
            return ReactionOutcome("not an answer")
        trace_id, thread_ts = answer
        if reaction.added:
            vote = await self._recorder.vote(
                trace_id, reaction.user_id, positive, channel=reaction.channel, origin="reaction"
            )
            return ReactionOutcome("voted", trace_id, thread_ts, vote)
        withdrawn = await self._recorder.withdraw_reaction(
            trace_id, reaction.user_id, positive, channel=reaction.channel
        )
        return ReactionOutcome("withdrawn" if withdrawn else "superseded", trace_id, thread_ts)

    async def _answer_of(
        self, reaction: Reaction, bot: BotIdentity, client: AsyncWebClient
    ) -> tuple[str, str] | None:
        """The answer's trace ID and thread: from what the bot remembers posting, else from
        Slack."""
        known = await self._answers.answer_at(reaction.channel, reaction.message_ts)
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
        except SLACK_FAILURES as error:
            log.warning(
                "no message %s:%s (%s)",
                reaction.channel,
                reaction.message_ts,
                slack_error_reason(error),
            )
            return None
        message = next(
            (m for m in response.get("messages") or [] if m.get("ts") == reaction.message_ts),
            None,
        )
        if message is None:
            return None
        trace_id = answer_trace(message, bot).trace_id
        if trace_id is None or not is_trace_id(trace_id):
            return None
        thread_ts = str(message.get("thread_ts") or reaction.message_ts)
        await self._answers.record_answer(
            PostedAnswerEntry(reaction.channel, reaction.message_ts, thread_ts, trace_id)
        )
        return trace_id, thread_ts
