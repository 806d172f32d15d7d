"""reaction_added / reaction_removed → `ReactionVotes.handle`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.common.background import BackgroundTasks
from bot.feedback.reactions import Reaction, ReactionVotes, vote_of_reaction
from bot.slack.answer_message import BotIdentity
from bot.slack.ephemeral import tell
from handlers.listeners.reasons import ReasonFollowUp
from handlers.listeners.safety import logged_not_raised
from handlers.payload_values import slack_id, slack_text, slack_ts

log = logging.getLogger(__name__)


def parse_reaction(event: dict[str, Any]) -> Reaction | None:
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message":
        return None
    user, channel = slack_id(event.get("user")), slack_id(item.get("channel"))
    ts, emoji = slack_ts(item.get("ts")), slack_text(event.get("reaction"))
    if user is None or channel is None or ts is None or not emoji:
        return None
    return Reaction(user, emoji, channel, ts, added=event.get("type") == "reaction_added")


NOTE = "Thanks — your 👍 reaction counts as a vote on this answer."


def register(
    app: AsyncApp,
    votes: ReactionVotes,
    follow_up: ReasonFollowUp,
    background: BackgroundTasks,
) -> None:
    async def record(reaction: Reaction, identity: BotIdentity, client: AsyncWebClient) -> None:
        outcome = await votes.handle(reaction, identity, client)
        log.info(
            "reaction :%s: by %s on %s:%s: %s",
            reaction.emoji,
            reaction.user_id,
            reaction.channel,
            reaction.message_ts,
            outcome.what,
        )
        if outcome.vote is None or not outcome.vote.changed or outcome.trace_id is None:
            return
        if outcome.vote.wants_reason:
            await follow_up.ask(
                client, outcome.trace_id, reaction.user_id, reaction.channel, outcome.thread_ts
            )
        elif vote_of_reaction(reaction.emoji):  # a reaction shows nothing by itself
            thread_ts = outcome.thread_ts
            await tell(client, reaction.channel, reaction.user_id, NOTE, thread_ts=thread_ts)

    async def on_reaction(
        event: dict, body: dict, context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        reaction = parse_reaction(event)
        if reaction is not None:
            identity = BotIdentity(
                context.bot_user_id, context.bot_id, slack_id(body.get("api_app_id"))
            )
            background.spawn(record(reaction, identity, client), f"reaction {reaction.message_ts}")

    app.event("reaction_added")(logged_not_raised(on_reaction))
    app.event("reaction_removed")(logged_not_raised(on_reaction))
