"""Users talking to the bot: events shaped like Slack's, and waiting for the answer."""

from __future__ import annotations

import time

from devkit.ids import new_id
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import rate_click
from devkit.slack_requests import SlackSender


def dm(user: str, channel: str, text: str, **extra: str) -> dict:
    return {
        "type": "message",
        "channel_type": "im",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": f"{time.time():.6f}",
        "event_ts": f"{time.time():.6f}",
        **extra,
    }


def mention(user: str, channel: str, text: str, **extra: str) -> dict:
    return {
        "type": "app_mention",
        "channel": channel,
        "user": user,
        "text": f"<@UBOT> {text}",
        "ts": f"{time.time():.6f}",
        "team": "T0TEAM",
        **extra,
    }


def reaction(user: str, emoji: str, message: dict, added: bool = True) -> dict:
    """`user` adding (or removing) the `emoji` reaction on `message`."""
    return {
        "type": "reaction_added" if added else "reaction_removed",
        "user": user,
        "reaction": emoji,
        "item": {"type": "message", "channel": message["channel"], "ts": message["ts"]},
        "item_user": message.get("user", "UBOT"),
        "event_ts": f"{time.time():.6f}",
    }


async def final_answer(slack: SlackEmulator, channel: str, count: int = 1) -> dict:
    """The bot's `count`-th answer in `channel`, once its metadata (set at the end) is there."""

    def done() -> dict | None:
        answers = [m for m in slack.bot_messages(channel) if m.get("metadata")]
        return answers[count - 1] if len(answers) >= count else None

    return await slack.wait_for(done, timeout=15)


def trace_id_of(message: dict) -> str:
    assert message["metadata"]["event_type"] == "genai_response"
    return str(message["metadata"]["event_payload"]["trace_id"])


async def ask(sender: SlackSender, slack: SlackEmulator, text: str = "a question") -> dict:
    user, channel = new_id("U"), new_id("C")
    await sender.event(mention(user, channel, text))
    return await final_answer(slack, channel)


async def open_rating_modal(
    sender: SlackSender, slack: SlackEmulator, answer: dict, user: str
) -> dict:
    """Click "Rate in detail" on the answer; the view the bot opened for this click."""
    click = rate_click(slack, answer, user)
    status, _ = await sender.interaction(click)
    assert status == 200
    return await modal_opened_for(slack, click)


async def modal_opened_for(slack: SlackEmulator, click: dict) -> dict:
    """The view the bot opened with this click's trigger_id."""
    calls = await slack.wait_for(
        lambda: [
            c for c in slack.calls_to("views.open") if c.args["trigger_id"] == click["trigger_id"]
        ]
    )
    return dict(calls[0].args["view"])


def shown_markdown(message: dict) -> str:
    """What a person sees of a message: its markdown blocks, or its streamed text."""
    markdown = [b["text"] for b in message.get("blocks", []) if b["type"] == "markdown"]
    return "".join(markdown) if markdown else str(message["text"])
