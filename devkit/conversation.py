"""Users talking to the bot (events from `devkit.slack_payloads`), and waiting for the answer."""

from __future__ import annotations

from devkit.ids import new_id
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import dm, mention, rate_click
from devkit.slack_requests import Sender


async def final_answer(slack: SlackEmulator, channel: str, count: int = 1) -> dict:
    """The bot's `count`-th answer in `channel`, once its metadata (set at the end) is there."""

    def done() -> dict | None:
        answers = [m for m in slack.bot_messages(channel) if m.get("metadata")]
        return answers[count - 1] if len(answers) >= count else None

    return await slack.wait_for(done, timeout=15)


def trace_id_of(message: dict) -> str:
    assert message["metadata"]["event_type"] == "genai_response"
    return str(message["metadata"]["event_payload"]["trace_id"])


async def ask(sender: Sender, slack: SlackEmulator, text: str = "a question") -> dict:
    user, channel = new_id("U"), new_id("C")
    await sender.event(mention(user, channel, text))
    return await final_answer(slack, channel)


async def open_rating_modal(sender: Sender, slack: SlackEmulator, answer: dict, user: str) -> dict:
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


async def ask_in_assistant_thread(
    sender: Sender, slack: SlackEmulator, channel: str, thread_ts: str, text: str
) -> dict:
    """The user types (or clicks a suggested prompt) in an assistant thread: the message is in
    the thread, and Slack sends it as a DM `message` event. The event is returned."""
    user = slack.assistant_threads[(channel, thread_ts)]["user"]
    message = slack.add_user_message(channel, user, text, thread_ts=thread_ts)
    event = dm(user, channel, text, thread_ts=thread_ts, ts=message["ts"], event_ts=message["ts"])
    status, _ = await sender.event(event)
    assert status == 200
    return event
