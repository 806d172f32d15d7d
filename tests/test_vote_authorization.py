"""A vote's trace ID is taken only from this bot's own messages: a click on, or a 👍/👎
reaction to, another app's message that carries our trace ID (in its metadata and button
values) records nothing. Buttons, the rating modal and reactions share one rule
(`bot.slack.answer_message.answer_trace`)."""

from __future__ import annotations

from typing import Any

from devkit.conversation import ask, trace_id_of
from devkit.ids import new_id
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import rate_click, reaction_event, vote_click
from devkit.slack_requests import SlackSender
from devkit.traces import Tracking
from devkit.waiting import eventually

DROP = object()
# Who posted the clicked message, as the payload says: (bot_id, app_id, api_app_id).
SPOOFS: dict[str, tuple[Any, Any, Any]] = {
    "another app's bot": ("BOTHER", "AOTHER", "ABOT"),
    "another bot, no app": ("BOTHER", DROP, "ABOT"),
    "no bot, another app": (DROP, "AOTHER", "ABOT"),
    "a person": (DROP, DROP, "ABOT"),
    "our app ID without our bot": (DROP, "ABOT", "ABOT"),
    "another bot claiming our app": ("BOTHER", "ABOT", "ABOT"),
    "our bot ID from another app": ("BBOT", "AOTHER", "ABOT"),
    "another app, naming itself the receiver": ("BOTHER", "AOTHER", "AOTHER"),
}
NOT_OURS = "I can only record feedback on my own answers."


def spoofed(payload: dict[str, Any], bot_id: Any, app_id: Any, api_app_id: Any) -> dict:
    message = dict(payload["message"])
    for key, value in (("bot_id", bot_id), ("app_id", app_id)):
        message.pop(key, None)
        if value is not DROP:
            message[key] = value
    if bot_id is DROP:
        message["user"] = new_id("U")  # a person's message
    return {**payload, "message": message, "api_app_id": api_app_id}


async def test_clicks_on_messages_this_bot_did_not_post_record_nothing(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack, "whose answer is this?")
    trace_id = trace_id_of(answer)
    opened = len(slack.calls_to("views.open"))
    for name, (bot_id, app_id, api_app_id) in SPOOFS.items():
        voter = new_id("U")
        for positive in (True, False):
            click = spoofed(vote_click(slack, answer, voter, positive), bot_id, app_id, api_app_id)
            status, _ = await sender.interaction(click)
            assert status == 200, name
        rate = spoofed(rate_click(slack, answer, voter), bot_id, app_id, api_app_id)
        status, _ = await sender.interaction(rate)
        assert status == 200, name

        def told(voter: str = voter) -> list[str]:
            return [e["text"] for e in slack.ephemeral if e["user"] == voter]

        assert await slack.wait_for(lambda: len(told()) == 3 and told()), name
        assert told() == [NOT_OURS] * 3, name

    # The genuine click on the same message, sent after them all, is recorded; none of them was.
    voter = new_id("U")
    await sender.interaction(vote_click(slack, answer, voter, positive=True))
    valid = await eventually(lambda: tracking.valid_assessments(trace_id, "user_feedback"))
    assert [(a.source.source_id, a.value) for a in valid] == [(voter, True)]
    assert [a.source.source_id for a in await tracking.assessments(trace_id)] == [voter]
    assert len(slack.calls_to("views.open")) == opened  # no modal for another app's message


def posted_as(answer: dict[str, Any], bot_id: Any, app_id: Any) -> dict[str, Any]:
    """The fields of a message carrying the answer's metadata, posted as `bot_id`/`app_id`."""
    fields = {"text": answer["text"], "metadata": answer["metadata"]}
    for key, value in (("bot_id", bot_id), ("app_id", app_id)):
        if value is not DROP:
            fields[key] = value
    if bot_id is DROP:
        fields["user"] = new_id("U")  # a person's message
    return fields


async def test_reactions_on_messages_this_bot_did_not_post_record_nothing(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack, "whose answer is this, by reaction?")
    trace_id, channel = trace_id_of(answer), answer["channel"]
    looked_up = len(slack.calls_to("conversations.replies"))
    for name, (bot_id, app_id, api_app_id) in SPOOFS.items():
        copy = slack.add_message(channel, posted_as(answer, bot_id, app_id))
        for emoji in ("+1", "-1"):
            event = reaction_event(new_id("U"), emoji, {**copy, "channel": channel})
            status, _ = await sender.event(event, api_app_id=api_app_id)
            assert status == 200, name
    # The bot does not know these messages: it asked Slack about each reaction's message.
    spoofed_reactions = 2 * len(SPOOFS)
    assert await slack.wait_for(
        lambda: len(slack.calls_to("conversations.replies")) >= looked_up + spoofed_reactions
    )

    # The same metadata on a message Slack says this bot posted is a vote; sent after them
    # all, it landed, and none of them did.
    ours = slack.add_message(channel, posted_as(answer, slack.bot_id, slack.app_id))
    voter = new_id("U")
    await sender.event(reaction_event(voter, "+1", {**ours, "channel": channel}))
    valid = await eventually(lambda: tracking.valid_assessments(trace_id, "user_feedback"))
    assert [(a.source.source_id, a.value) for a in valid] == [(voter, True)]
    assert [a.source.source_id for a in await tracking.assessments(trace_id)] == [voter]
