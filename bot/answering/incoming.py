"""A user's message, as plain values parsed from a Slack event (the front hands it to the
worker, which decides whether and how to answer it: bot/answering/conversation.py)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from bot.slack.answer_message import BotIdentity


@dataclass(frozen=True)
class IncomingMessage:
    """A user's message, as plain values parsed from a Slack event."""

    text: str
    user_id: str
    team_id: str | None
    channel_id: str
    channel_type: str
    ts: str
    thread_ts: str | None
    bot_user_id: str | None
    is_mention_event: bool = False
    # This bot in Slack beside its user ID (questions stored by earlier versions have neither).
    bot_id: str | None = None
    app_id: str | None = None

    @property
    def key(self) -> str:
        """The same for every delivery of this message (a retry; its message and app_mention
        events): what a question is stored under, once."""
        return f"{self.channel_id}:{self.ts}"

    def to_json(self) -> str:
        """ASCII JSON: a lone surrogate (valid JSON from Slack, not valid UTF-8) is stored
        escaped, as it came."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> IncomingMessage:
        """ValueError if `text` is not one."""
        try:
            return cls(**json.loads(text))
        except TypeError as error:
            raise ValueError(f"not a stored message: {error}") from error

    @property
    def bot(self) -> BotIdentity:
        """The bot the question was asked of: whose messages in its thread are its own."""
        return BotIdentity(self.bot_user_id, self.bot_id, self.app_id)

    @property
    def is_dm(self) -> bool:
        return self.channel_type == "im"

    @property
    def mentions_bot(self) -> bool:
        return self.is_mention_event or (
            self.bot_user_id is not None and f"<@{self.bot_user_id}" in self.text
        )

    @property
    def reply_thread_ts(self) -> str:
        return self.thread_ts or self.ts
