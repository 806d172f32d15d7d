"""Corrections: "What should the answer have said?" in both modals, as HUMAN expectations."""

from __future__ import annotations

import asyncio

import pytest
from mlflow.entities import Assessment, Expectation

from devkit.conversation import ask, modal_opened_for, open_rating_modal, trace_id_of
from devkit.ids import new_id
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import follow_up_click, rating_submission, reason_submission, vote_click
from devkit.slack_requests import SlackSender
from devkit.traces import Tracking
from devkit.waiting import eventually
from tests.support.follow_ups import as_posted, follow_up_for
from tests.support.stack import Stack, answers_for, timed

CORRECTION = "expected_response"
WITHDRAWN = "expected_response_withdrawn"
SCORES = {"accuracy": "2", "helpfulness": "2", "relevance": "3"}


def correction_field(view: dict) -> dict:
    (block,) = [b for b in view["blocks"] if b.get("block_id") == "correction"]
    return dict(block)


async def corrections_by(tracking: Tracking, trace_id: str, user: str) -> list[Assessment]:
    """Every correction-related assessment of `user` on the trace, valid or not."""
    return [
        a
        for a in await tracking.assessments(trace_id)
        if a.name in (CORRECTION, WITHDRAWN) and a.source.source_id == user
    ]


async def test_a_correction_lands_once_a_changed_one_overrides_an_emptied_one_withdraws(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack)
    trace_id, rater = trace_id_of(answer), new_id("U")
    view = await open_rating_modal(sender, slack, answer, rater)
    field = correction_field(view)
    assert field["label"]["text"] == "What should the answer have said?"
    assert field["optional"] is True
    assert field["element"]["multiline"] is True
    assert field["element"]["max_length"] == 3000
    assert "initial_value" not in field["element"]

    # Control characters and Slack markup are kept exactly as typed.
    typed = "Use <@U123> and *bold*\x07 &amp; <https://x.example|x>\nsecond line  "
    submission = rating_submission(view, rater, SCORES, None, correction=typed)
    status, body = await sender.interaction(submission)
    assert status == 200 and "errors" not in body
    await sender.interaction(submission)  # the same again changes nothing

    async def logged() -> list[Assessment]:
        found = await corrections_by(tracking, trace_id, rater)
        assert len(found) == 1
        return found

    (first,) = await eventually(logged)
    assert isinstance(first, Expectation)
    assert first.value == typed
    assert first.valid is not False
    assert first.source.source_type == "HUMAN"
    assert first.metadata["slack.channel"] == answer["channel"]
    assert first.metadata["origin"] == "modal"

    # Reopening shows the user's own correction; another user's modal shows none.
    view = await open_rating_modal(sender, slack, answer, rater)
    assert correction_field(view)["element"]["initial_value"] == typed
    other = await open_rating_modal(sender, slack, answer, new_id("U"))
    assert "initial_value" not in correction_field(other)["element"]

    await sender.interaction(rating_submission(view, rater, SCORES, None, correction="Paris."))

    async def overridden() -> list[Assessment]:
        found = await corrections_by(tracking, trace_id, rater)
        assert sorted((a.name, a.value) for a in found if a.valid is not False) == [
            (CORRECTION, "Paris."),
            (WITHDRAWN, typed),  # kept for audit, no longer a correction
        ]
        return found

    found = await eventually(overridden)
    newer = next(a for a in found if a.name == CORRECTION)
    older = next(a for a in found if a.name == WITHDRAWN)
    assert older.assessment_id == first.assessment_id
    assert newer.metadata["replaces"] == first.assessment_id
    assert older.metadata["replaced_by"] == newer.assessment_id
    assert newer.source.source_type == "HUMAN" and newer.source.source_id == rater

    # Emptied: no valid correction of this user remains; both stay for audit.
    await sender.interaction(rating_submission(view, rater, SCORES, None, correction="  "))

    async def withdrawn() -> list[Assessment]:
        found = await corrections_by(tracking, trace_id, rater)
        assert not [a for a in found if a.name == CORRECTION and a.valid is not False]
        assert sorted(a.value for a in found if a.name == WITHDRAWN) == ["Paris.", typed]
        return found

    await eventually(withdrawn)
    view = await open_rating_modal(sender, slack, answer, rater)
    assert "initial_value" not in correction_field(view)["element"]


async def test_a_correction_over_the_limit_is_refused_in_the_modal(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack)
    rater = new_id("U")
    view = await open_rating_modal(sender, slack, answer, rater)
    status, body = await sender.interaction(
        rating_submission(view, rater, SCORES, None, correction="x" * 3001)
    )
    assert status == 200
    assert '"response_action":"errors"' in body.replace(" ", "")
    assert "3000 characters" in body and '"correction"' in body
    await sender.interaction(rating_submission(view, rater, SCORES, None, correction="x" * 3000))
    found = await eventually(lambda: corrections_by(tracking, trace_id_of(answer), rater))
    assert [len(a.value) for a in found] == [3000]


async def test_tell_us_more_takes_a_correction_and_shows_it_again(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack)
    trace_id, voter = trace_id_of(answer), new_id("U")
    await sender.interaction(vote_click(slack, answer, voter, positive=False))
    follow_up = as_posted(await follow_up_for(slack, voter))
    more = follow_up_click(slack, follow_up, voter, "feedback_reason_more")
    await sender.interaction(more)
    view = await modal_opened_for(slack, more)
    assert "initial_value" not in correction_field(view)["element"]
    elapsed, status, _ = await timed(
        sender.interaction(
            reason_submission(view, voter, "outdated", "old", correction="It is 42 now.")
        )
    )
    assert status == 200 and elapsed < 3.0

    found = await eventually(lambda: corrections_by(tracking, trace_id, voter))
    assert [(a.value, a.valid is not False, a.metadata["origin"]) for a in found] == [
        ("It is 42 now.", True, "follow-up modal")
    ]
    more = follow_up_click(slack, follow_up, voter, "feedback_reason_more")
    await sender.interaction(more)
    view = await modal_opened_for(slack, more)
    assert correction_field(view)["element"]["initial_value"] == "It is 42 now."


@pytest.mark.slow
async def test_a_correction_given_while_the_tracking_server_is_down_lands_after_it_returns(
    stack: Stack, slack: SlackEmulator
) -> None:
    _, sender = await stack.start_bot()
    tracking = stack.tracking()
    (answer,) = await answers_for(sender, slack, 1, tracking)
    rater = new_id("U")
    view = await open_rating_modal(sender, slack, answer, rater)
    await asyncio.to_thread(stack.server.stop)
    elapsed, status, body = await timed(
        sender.interaction(rating_submission(view, rater, SCORES, None, correction="Use v2."))
    )
    assert status == 200 and "errors" not in body and elapsed < 3.0
    await asyncio.sleep(1.0)
    await asyncio.to_thread(stack.server.start)

    async def landed() -> list[Assessment]:
        found = await corrections_by(tracking, trace_id_of(answer), rater)
        assert [(a.value, a.valid is not False) for a in found] == [("Use v2.", True)]
        return found

    await eventually(landed, timeout_s=60, interval_s=1.0)
