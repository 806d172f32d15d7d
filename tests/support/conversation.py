"""Users talking to the bot: events shaped like Slack's, and waiting for the answer."""

from __future__ import annotations

import time

from tests.emulators.slack_api import SlackEmulator
from tests.support.slack_payloads import rate_click
from tests.support.slack_requests import SlackSender


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


async def final_answer(slack: SlackEmulator, channel: str, count: int = 1) -> dict:
    """The bot's `count`-th answer in `channel`, once its metadata (set at the end) is there."""

    def done() -> dict | None:
        answers = [m for m in slack.bot_messages(channel) if m.get("metadata")]
        return answers[count - 1] if len(answers) >= count else None

    return await slack.wait_for(done, timeout=15)


def trace_id_of(message: dict) -> str:
    assert message["metadata"]["event_type"] == "genai_response"
    return str(message["metadata"]["event_payload"]["trace_id"])


def shown_markdown(message: dict) -> str:
    """What a person sees of a message: its markdown blocks, or its streamed text."""
    markdown = [b["text"] for b in message.get("blocks", []) if b["type"] == "markdown"]
    return "".join(markdown) if markdown else str(message["text"])


async def open_rating_modal(
    sender: SlackSender, slack: SlackEmulator, answer: dict, rater: str
) -> dict:
    """Click "Rate in detail" on `answer` as `rater`: the modal view the bot opened."""
    opened = len(slack.calls_to("views.open"))
    await sender.interaction(rate_click(slack, answer, rater))
    calls = await slack.wait_for(
        lambda: len(slack.calls_to("views.open")) > opened and slack.calls_to("views.open")
    )
    return dict(calls[-1].args["view"])
