"""Feedback capture: clicks and ratings become HUMAN assessments on the answer's trace."""

from __future__ import annotations

import asyncio

import pytest
from mlflow.entities import Assessment

from bot.tracing.counted_feedback import SUMMARY
from devkit.conversation import ask, final_answer, open_rating_modal, trace_id_of
from devkit.ids import new_id
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import dm, rating_submission, vote_click
from devkit.slack_requests import Sender, SlackSender
from devkit.traces import Tracking
from devkit.waiting import eventually
from tests.support.seed_analysis import analyze_ratings, analyze_user_feedback


def by(user: str, assessments: list[Assessment]) -> list[Assessment]:
    return [a for a in assessments if a.source.source_id == user]


async def after_a_control_vote(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking, answer: dict
) -> str:
    """Another user's 👎 click on `answer`, sent now, has landed in MLflow: what was sent before
    it had the time to land too. The control user is returned."""
    control = new_id("U")
    await sender.interaction(vote_click(slack, answer, control, positive=False))

    async def landed() -> list[Assessment]:
        return by(control, await tracking.valid_assessments(trace_id_of(answer), "user_feedback"))

    await eventually(landed, timeout_s=30)
    return control


async def test_a_vote_then_a_changed_vote_leaves_one_valid_assessment(
    transport_sender: Sender, slack: SlackEmulator, tracking: Tracking
) -> None:
    """Over both transports (signed HTTP and Socket Mode)."""
    sender = transport_sender
    answer = await ask(sender, slack)
    trace_id, voter = trace_id_of(answer), new_id("U")

    status, _ = await sender.interaction(vote_click(slack, answer, voter, positive=True))
    assert status == 200
    await eventually(lambda: tracking.valid_assessments(trace_id, "user_feedback"))
    await sender.interaction(vote_click(slack, answer, voter, positive=False))

    async def overridden() -> list[Assessment]:
        valid = await tracking.valid_assessments(trace_id, "user_feedback")
        assert [a.value for a in valid] == [False]
        return valid

    valid = await eventually(overridden)
    assert valid[0].source.source_type == "HUMAN"
    assert valid[0].source.source_id == voter
    assert valid[0].metadata["slack.channel"] == answer["channel"]
    assert valid[0].metadata["origin"] == "button"
    everything = by(voter, await tracking.assessments(trace_id))
    assert sorted((a.value, a.valid) for a in everything) == [(False, True), (True, False)]
    # The buttons show the vote themselves: the 👍 said nothing, the 👎 asked what went wrong.
    replies = [e for e in slack.ephemeral if e["user"] == voter]
    assert [e["text"] for e in replies] == ["What went wrong?"]


async def test_each_user_has_their_own_vote_and_a_repeat_adds_nothing(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack)
    trace_id, alice, bob = trace_id_of(answer), new_id("U"), new_id("U")
    await sender.interaction(vote_click(slack, answer, alice, positive=True))
    await sender.interaction(vote_click(slack, answer, bob, positive=False))
    await sender.interaction(vote_click(slack, answer, alice, positive=True))

    async def both() -> bool:
        valid = await tracking.valid_assessments(trace_id, "user_feedback")
        assert sorted((a.source.source_id, a.value) for a in valid) == sorted(
            [(alice, True), (bob, False)]
        )
        return True

    await eventually(both)
    await after_a_control_vote(sender, slack, tracking, answer)  # the repeat had time to land
    assert len(by(alice, await tracking.assessments(trace_id))) == 1
    assert [e for e in slack.ephemeral if e["user"] == alice] == []  # 👍 needs no message


async def test_the_rating_modal_opens_and_a_submission_logs_three_ratings(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack)
    trace_id, rater = trace_id_of(answer), new_id("U")

    view = await open_rating_modal(sender, slack, answer, rater)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert set(inputs) == {"accuracy", "helpfulness", "relevance", "comment", "correction"}
    for dimension in ("accuracy", "helpfulness", "relevance"):
        assert not inputs[dimension].get("optional", False)
        options = inputs[dimension]["element"]["options"]
        assert [o["value"] for o in options] == ["1", "2", "3", "4", "5"]
        assert "initial_option" not in inputs[dimension]["element"]
    assert inputs["comment"]["optional"] is True
    assert inputs["comment"]["element"]["type"] == "plain_text_input"
    assert len(view["private_metadata"]) <= 3000

    submission = rating_submission(
        view, rater, {"accuracy": "4", "helpfulness": "5", "relevance": "3"}, "Clear, thanks"
    )
    status, body = await sender.interaction(submission)
    assert status == 200 and "errors" not in body

    async def rated() -> dict[str, Assessment]:
        valid = await tracking.valid_assessments(trace_id)
        ratings = {a.name: a for a in valid if a.source.source_id == rater}
        assert set(ratings) == {"user_accuracy", "user_helpfulness", "user_relevance"}
        return ratings

    ratings = await eventually(rated)
    assert ratings["user_accuracy"].value == pytest.approx(0.8)
    assert ratings["user_helpfulness"].value == pytest.approx(1.0)
    assert ratings["user_relevance"].value == pytest.approx(0.6)
    assert all(a.rationale == "Clear, thanks" for a in ratings.values())
    assert all(a.source.source_type == "HUMAN" for a in ratings.values())
    assert all(a.metadata["origin"] == "modal" for a in ratings.values())

    # Opening it again shows the current ratings; a second submission replaces them.
    view = await open_rating_modal(sender, slack, answer, rater)
    prefilled = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert prefilled["accuracy"]["initial_option"]["value"] == "4"
    assert prefilled["helpfulness"]["initial_option"]["value"] == "5"
    assert prefilled["relevance"]["initial_option"]["value"] == "3"
    assert prefilled["comment"]["initial_value"] == "Clear, thanks"

    await sender.interaction(
        rating_submission(
            view, rater, {"accuracy": "2", "helpfulness": "5", "relevance": "3"}, "Hmm"
        )
    )

    async def rerated() -> bool:
        valid = by(rater, await tracking.valid_assessments(trace_id))
        assert sorted((a.name, round(a.value, 2), a.rationale) for a in valid) == [
            ("user_accuracy", 0.4, "Hmm"),
            ("user_helpfulness", 1.0, "Hmm"),
            ("user_relevance", 0.6, "Hmm"),
        ]
        return True

    await eventually(rerated)


async def test_the_same_rating_submitted_again_changes_nothing(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack)
    trace_id, rater = trace_id_of(answer), new_id("U")
    scores = {"accuracy": "3", "helpfulness": "4", "relevance": "5"}
    for _ in range(2):
        view = await open_rating_modal(sender, slack, answer, rater)
        status, body = await sender.interaction(rating_submission(view, rater, scores, "same"))
        assert status == 200 and "errors" not in body
        await after_a_control_vote(sender, slack, tracking, answer)  # this submission landed

    mine = by(rater, await tracking.assessments(trace_id))
    assert sorted((a.name, round(a.value, 2), a.valid is not False) for a in mine) == [
        ("user_accuracy", 0.6, True),
        ("user_helpfulness", 0.8, True),
        ("user_relevance", 1.0, True),
    ]  # three assessments, none overridden by an identical copy


async def test_an_invalid_submission_returns_errors_and_logs_nothing(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack)
    trace_id, rater = trace_id_of(answer), new_id("U")
    view = await open_rating_modal(sender, slack, answer, rater)

    missing = rating_submission(
        view, rater, {"accuracy": "4", "helpfulness": None, "relevance": "3"}
    )
    status, body = await sender.interaction(missing)
    assert status == 200
    assert '"response_action": "errors"' in body.replace('":"', '": "')
    assert "helpfulness" in body and "accuracy" not in body

    out_of_range = rating_submission(
        view, rater, {"accuracy": "9", "helpfulness": "1", "relevance": "0"}
    )
    status, body = await sender.interaction(out_of_range)
    assert "accuracy" in body and "relevance" in body and "helpfulness" not in body

    tampered = rating_submission(
        {**view, "private_metadata": view["private_metadata"].replace(trace_id[3:9], "ffffff")},
        rater,
        {"accuracy": "4", "helpfulness": "4", "relevance": "4"},
    )
    status, body = await sender.interaction(tampered)
    assert "errors" in body

    await after_a_control_vote(sender, slack, tracking, answer)
    assert by(rater, await tracking.assessments(trace_id)) == []


async def test_forged_foreign_and_missing_trace_ids_log_nothing(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack)
    trace_id, voter = trace_id_of(answer), new_id("U")

    foreign = vote_click(slack, answer, voter)
    foreign["message"] = {**foreign["message"], "bot_id": "BOTHER", "app_id": "AOTHER"}
    no_trace = vote_click(slack, answer, voter)
    no_trace["message"] = {k: v for k, v in no_trace["message"].items() if k != "metadata"}
    no_trace["actions"][0]["value"] = "positive:"
    garbage = vote_click(slack, answer, voter)
    garbage["message"]["metadata"] = {
        "event_type": "genai_response",
        "event_payload": {"trace_id": "../x"},
    }
    garbage["actions"][0]["value"] = "positive:../x"
    no_user = vote_click(slack, answer, voter)
    del no_user["user"]

    for payload in (foreign, no_trace, garbage, no_user):
        status, _ = await sender.interaction(payload)
        assert status == 200  # taken (no retry from Slack), and refused in the listener

    control = await after_a_control_vote(sender, slack, tracking, answer)
    assert [a.source.source_id for a in await tracking.assessments(trace_id)] == [control]
    told = [e["text"] for e in slack.ephemeral if e["user"] == voter]
    assert any("my own answers" in text for text in told)
    assert any("can't tell which answer" in text for text in told)

    # The bot keeps answering, and a genuine vote still lands.
    user, channel = new_id("U"), new_id("D")
    await sender.event(dm(user, channel, "still fine?"))
    assert (await final_answer(slack, channel))["text"] == "Echo: still fine?"
    await sender.interaction(vote_click(slack, answer, voter, positive=True))

    async def voted() -> list[Assessment]:
        return by(voter, await tracking.valid_assessments(trace_id, "user_feedback"))

    await eventually(voted, timeout_s=30)


async def test_the_trace_id_falls_back_to_the_button_value(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    """Slack does not document whether `message.metadata` is in the payload."""
    answer = await ask(sender, slack)
    trace_id, voter = trace_id_of(answer), new_id("U")
    click = vote_click(slack, answer, voter, positive=False)
    del click["message"]["metadata"]
    await sender.interaction(click)
    valid = await eventually(lambda: tracking.valid_assessments(trace_id, "user_feedback"))
    assert [(a.source.source_id, a.value) for a in valid] == [(voter, False)]


async def test_the_seed_analysis_reads_the_logged_feedback(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answers = [await ask(sender, slack, f"question {i}") for i in range(4)]
    trace_ids = [trace_id_of(a) for a in answers]
    votes = [True, True, False]  # the fourth answer gets no feedback
    for answer, positive in zip(answers, votes, strict=False):
        await sender.interaction(vote_click(slack, answer, new_id("U"), positive=positive))
    rater = new_id("U")
    view = await open_rating_modal(sender, slack, answers[0], rater)
    await sender.interaction(
        rating_submission(view, rater, {"accuracy": "5", "helpfulness": "4", "relevance": "3"})
    )

    async def all_landed() -> list:
        traces = [await tracking.wait_for_trace(t) for t in trace_ids]
        people = [a for t in traces for a in t.info.assessments if a.name != SUMMARY]
        assert len(people) == 6
        return traces

    traces = await eventually(all_landed)
    feedback = await asyncio.to_thread(analyze_user_feedback, tracking.client, traces)
    assert feedback["total_traces"] == 4
    assert feedback["traces_with_feedback"] == 3
    assert feedback["feedback_rate"] == pytest.approx(75.0)
    assert feedback["positive_count"] == 2 and feedback["negative_count"] == 1
    assert feedback["positive_rate"] == pytest.approx(200 / 3)
    ratings = await asyncio.to_thread(analyze_ratings, tracking.client, traces)
    assert ratings == pytest.approx({"accuracy": 1.0, "helpfulness": 0.8, "relevance": 0.6})
