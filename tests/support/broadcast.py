"""For the digest's and the alerts' tests: a clock the test moves, answers seeded in every kind
of conversation with text that must never reach a channel post, and every post the Slack
emulator recorded, as text, to search for it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import ClientSession
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.retries import slack_retry_handlers
from devkit.ids import new_id
from devkit.slack_api import SlackEmulator
from tests.support.report_seed import FeedbackSeeder

# Where a question can be asked, as `slack.conversation_kind` says (None: an older trace).
PRIVATE_KINDS = ("dm", "group_dm", "private_channel", "assistant", "unknown", None)


@dataclass
class Clock:
    now: float

    def __call__(self) -> float:
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when.timestamp()


@dataclass
class Seeded:
    public_channel: str
    public_questions: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # questions, comments, reasons
    private_channels: list[str] = field(default_factory=list)


def seed_every_kind(
    seeder: FeedbackSeeder, started: datetime, seeded: Seeded | None = None
) -> Seeded:
    """A 👎 answer, rated with a comment and given a reason with a comment, in a public
    channel and in each private kind of conversation."""
    seeded = seeded or Seeded(public_channel=new_id("C"))
    places = [(seeded.public_channel, "public_channel")] + [
        (new_id("D" if kind in ("dm", "assistant") else "G" if kind == "group_dm" else "C"), kind)
        for kind in PRIVATE_KINDS
    ]
    for channel, kind in places:
        tag = new_id("x").lower()
        question = f"question-{kind}-{tag}"
        trace_id = seeder.answer(
            started=started,
            channel=channel,
            asker="UASKER",
            question=question,
            answer=f"answer-{kind}-{tag}",
            question_ts=f"{started.timestamp():.6f}",
            kind=kind,
        )
        seeder.wait_exported()
        seeder.vote(trace_id, "UVOTER", up=False)
        seeder.rate(trace_id, "UVOTER", "accuracy", 1, comment=f"rating-comment-{kind}-{tag}")
        seeder.reason(trace_id, "UVOTER", "inaccurate", comment=f"reason-comment-{kind}-{tag}")
        if kind == "public_channel":
            seeder.vote(trace_id, "UVOTER2", up=False)  # the lowest-rated: always shown
            seeded.public_questions.append(question)
        else:
            seeded.private_channels.append(channel)
            seeded.secrets += [
                question,
                f"answer-{kind}-{tag}",
                f"rating-comment-{kind}-{tag}",
                f"reason-comment-{kind}-{tag}",
            ]
    return seeded


def everything_posted(slack: SlackEmulator) -> str:
    """Every message the bot posted or updated in any channel, and every call that posted or
    updated one, as one text."""
    messages = [m for channel in list(slack.messages) for m in slack.bot_messages(channel)]
    calls = [c.args for m in ("chat.postMessage", "chat.update") for c in slack.calls_to(m)]
    return json.dumps([messages, calls], ensure_ascii=False)


def slack_client(slack: SlackEmulator, session: ClientSession | None = None) -> AsyncWebClient:
    return AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        session=session,
        timeout=15,
        retry_handlers=slack_retry_handlers(),
    )
