"""👍/👎 emoji reactions on the bot's answers are votes; removing one withdraws it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from devkit.conversation import ask, trace_id_of
from devkit.ids import new_id
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import reaction_event, vote_click
from devkit.slack_requests import SlackSender
from devkit.traces import Tracking
from devkit.waiting import eventually
from tests.support.stack import Stack, answers_for, assert_exactly


async def votes_by(tracking: Tracking, trace_id: str, user: str) -> list[tuple[str, object]]:
    return [
        (a.name, a.value)
        for a in await tracking.valid_assessments(trace_id)
        if a.source.source_id == user
    ]


async def test_a_thumbs_up_reaction_is_a_vote_and_a_later_click_replaces_it(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack)
    trace_id, user = trace_id_of(answer), new_id("U")
    await sender.event(reaction_event(user, "+1", answer))

    async def up() -> bool:
        valid = [
            a for a in await tracking.valid_assessments(trace_id) if a.source.source_id == user
        ]
        assert [(a.name, a.value, a.source.source_type) for a in valid] == [
            ("user_feedback", True, "HUMAN")
        ]
        assert valid[0].metadata["slack.channel"] == answer["channel"]
        assert valid[0].metadata["origin"] == "reaction"
        return True

    await eventually(up)
    await sender.interaction(vote_click(slack, answer, user, positive=False))
    await eventually(
        lambda: _equals(votes_by(tracking, trace_id, user), [("user_feedback", False)])
    )

    # Removing the reaction now changes nothing: the click came later and replaced it.
    await sender.event(reaction_event(user, "+1", answer, added=False))
    await after_a_control_vote(sender, tracking, answer)
    assert await votes_by(tracking, trace_id, user) == [("user_feedback", False)]


async def after_a_control_vote(sender: SlackSender, tracking: Tracking, answer: dict) -> str:
    """Another user's 👍 reaction on `answer`, sent now, has landed in MLflow: what was sent
    before it had the time to land too. The control user is returned."""
    control = new_id("U")
    await sender.event(reaction_event(control, "+1", answer))
    await eventually(
        lambda: _equals(votes_by(tracking, trace_id_of(answer), control), [("user_feedback", True)])
    )
    return control


async def _equals(actual_coro, expected) -> bool:  # type: ignore[no-untyped-def]
    actual = await actual_coro
    assert actual == expected, actual
    return True


async def test_removing_the_reaction_withdraws_the_vote_and_keeps_it_for_audit(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack)
    trace_id, user = trace_id_of(answer), new_id("U")
    await sender.event(reaction_event(user, "thumbsdown::skin-tone-6", answer))
    await eventually(
        lambda: _equals(votes_by(tracking, trace_id, user), [("user_feedback", False)])
    )
    await sender.event(reaction_event(user, "thumbsdown::skin-tone-6", answer, added=False))
    await eventually(
        lambda: _equals(votes_by(tracking, trace_id, user), [("user_feedback_withdrawn", False)])
    )
    everything = [a for a in await tracking.assessments(trace_id) if a.source.source_id == user]
    assert not any(a.name == "user_feedback" and a.valid is not False for a in everything)

    # Voting again after a withdrawal is a fresh vote.
    await sender.event(reaction_event(user, "+1::skin-tone-3", answer))
    await eventually(
        lambda: _equals(
            votes_by(tracking, trace_id, user),
            [("user_feedback_withdrawn", False), ("user_feedback", True)],
        )
    )


async def test_other_emoji_and_other_messages_are_ignored(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack)
    trace_id, user = trace_id_of(answer), new_id("U")
    channel = answer["channel"]
    users_message = slack.add_user_message(
        channel, user, "my own words", thread_ts=answer["thread_ts"]
    )
    foreign = slack.add_foreign_bot_message(channel, "another app", thread_ts=answer["thread_ts"])
    foreign["metadata"] = {"event_type": "genai_response", "event_payload": {"trace_id": trace_id}}
    await sender.event(reaction_event(user, "tada", answer))
    await sender.event(reaction_event(user, "+1", users_message))
    await sender.event(reaction_event(user, "+1", foreign))
    await sender.event(reaction_event("UBOT", "+1", answer))
    control = await after_a_control_vote(sender, tracking, answer)
    assert [a.source.source_id for a in await tracking.assessments(trace_id)] == [control]


async def test_a_reaction_finds_its_answer_through_slack_when_the_bot_has_no_record(
    stack: Stack,
    slack: SlackEmulator,
    tmp_root: Path,
) -> None:
    """After a restart on a new disk (or on another instance) the answer is looked up with
    conversations.replies and its metadata."""
    first_bot, first_sender = await stack.start_bot()
    tracking = stack.tracking()
    (answer,) = await answers_for(first_sender, slack, 1, tracking)
    await asyncio.to_thread(first_bot.stop)

    stack.env["BOT_DATA_DIR"] = str(tmp_root / f"{stack.experiment}-new-disk")
    _, sender = await stack.start_bot()
    user = new_id("U")
    lookups = len(slack.calls_to("conversations.replies"))
    await sender.event(reaction_event(user, "thumbsup", answer))
    await assert_exactly(tracking, {(trace_id_of(answer), user, "user_feedback"): True})
    replies = slack.calls_to("conversations.replies")[lookups:]
    assert replies and replies[-1].args["include_all_metadata"] in (True, "true", "1")

    # The answer is remembered now: the next reaction needs no Slack call.
    second = new_id("U")
    await sender.event(reaction_event(second, "-1", answer))
    await assert_exactly(
        tracking,
        {
            (trace_id_of(answer), user, "user_feedback"): True,
            (trace_id_of(answer), second, "user_feedback"): False,
        },
    )
    assert len(slack.calls_to("conversations.replies")) == lookups + 1
