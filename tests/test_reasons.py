"""A reason after every 👎: the follow-up, its buttons and modal, and what lands in MLflow."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from mlflow.entities import Assessment

from config import ConfigError, load_settings
from config.settings import reason_key
from devkit.conversation import ask, trace_id_of
from devkit.ids import new_id
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import follow_up_click, reason_submission, vote_click
from devkit.slack_payloads import reaction_event as reaction
from devkit.slack_requests import SlackSender
from devkit.traces import Tracking
from devkit.waiting import eventually
from handlers.views.reason_prompt import ReasonSigner, ReasonTarget
from tests.support.follow_ups import as_posted, follow_up_for, follow_ups
from tests.support.stack import Stack, answers_for, timed

REASON = "user_feedback_reason"
MORE = "feedback_reason_more"


async def replacement(slack: SlackEmulator, click: dict[str, Any]) -> dict[str, Any]:
    """What the bot posted last through the click's `response_url`; it replaces the original."""
    key = click["response_url"].rsplit("/", 1)[1]
    posts = await slack.wait_for(lambda: slack.response_url_posts.get(key))
    assert posts[-1]["replace_original"] is True
    return dict(posts[-1])


async def reasons_of(tracking: Tracking, trace_id: str, user: str) -> list[Assessment]:
    return [
        a for a in await tracking.valid_assessments(trace_id, REASON) if a.source.source_id == user
    ]


async def thumbs_down(sender: SlackSender, slack: SlackEmulator) -> tuple[dict, str, dict]:
    """A new answer, a new voter's 👎 on it, and the follow-up the voter got."""
    answer = await ask(sender, slack)
    voter = new_id("U")
    await sender.interaction(vote_click(slack, answer, voter, positive=False))
    return answer, voter, as_posted(await follow_up_for(slack, voter))


async def test_a_thumbs_down_click_asks_why_and_a_reason_lands_once(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack)
    trace_id, voter = trace_id_of(answer), new_id("U")

    await sender.interaction(vote_click(slack, answer, voter, positive=True))
    await sender.interaction(vote_click(slack, answer, voter, positive=False))
    follow_up = as_posted(await follow_up_for(slack, voter))
    await sender.interaction(vote_click(slack, answer, voter, positive=False))  # a repeat
    await asyncio.sleep(1.0)
    # A 👍 says nothing, the 👎 asked once; the follow-up sits in the answer's thread.
    assert [e for e in slack.ephemeral if e["user"] == voter] == [
        next(e for e in slack.ephemeral if e["user"] == voter)
    ]
    assert follow_up["channel"] == answer["channel"]
    assert follow_up["thread_ts"] == answer["thread_ts"]
    actions = next(b for b in follow_up["blocks"] if b["type"] == "actions")
    assert [e["text"]["text"] for e in actions["elements"]] == [
        "Inaccurate",
        "Incomplete",
        "Not what I asked",
        "Outdated",
        "Inappropriate",
        "Other",
        "Tell us more…",
    ]

    click = follow_up_click(slack, follow_up, voter, "feedback_reason:not_what_i_asked")
    elapsed, status, _ = await timed(sender.interaction(click))
    assert status == 200 and elapsed < 3.0
    valid = await eventually(lambda: reasons_of(tracking, trace_id, voter))
    assert [(a.value, a.rationale, a.source.source_type) for a in valid] == [
        ("not_what_i_asked", None, "HUMAN")
    ]
    assert valid[0].metadata["slack.channel"] == answer["channel"]
    assert valid[0].metadata["origin"] == "follow-up"
    thanks = await replacement(slack, click)
    assert "Not what I asked" in thanks["text"] and not thanks.get("blocks")


async def test_tell_us_more_changes_the_reason_with_a_comment(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer, voter, follow_up = await thumbs_down(sender, slack)
    trace_id = trace_id_of(answer)
    await sender.interaction(follow_up_click(slack, follow_up, voter, "feedback_reason:outdated"))
    await eventually(lambda: reasons_of(tracking, trace_id, voter))

    more = follow_up_click(slack, follow_up, voter, MORE)
    await sender.interaction(more)
    calls = await slack.wait_for(
        lambda: [
            c for c in slack.calls_to("views.open") if c.args["trigger_id"] == more["trigger_id"]
        ]
    )
    view = dict(calls[0].args["view"])
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert not inputs["reason"].get("optional", False)
    assert [o["value"] for o in inputs["reason"]["element"]["options"]][:3] == [
        "inaccurate",
        "incomplete",
        "not_what_i_asked",
    ]
    assert inputs["comment"]["optional"] is True
    assert inputs["comment"]["element"]["max_length"] == 2000

    status, body = await sender.interaction(reason_submission(view, voter, None, "no reason"))
    assert status == 200 and "reason" in body and "errors" in body
    status, body = await sender.interaction(reason_submission(view, voter, "zzz"))
    assert "errors" in body
    status, body = await sender.interaction(
        reason_submission(view, voter, "inaccurate", "The dates are wrong")
    )
    assert status == 200 and "errors" not in body

    async def overridden() -> list[Assessment]:
        valid = await reasons_of(tracking, trace_id, voter)
        assert [(a.value, a.rationale) for a in valid] == [("inaccurate", "The dates are wrong")]
        return valid

    valid = await eventually(overridden)
    assert valid[0].metadata["origin"] == "follow-up modal"
    everything = [
        a
        for a in await tracking.assessments(trace_id)
        if a.name == REASON and a.source.source_id == voter
    ]
    assert sorted((a.value, a.valid) for a in everything) == [
        ("inaccurate", True),
        ("outdated", False),
    ]
    assert "Inaccurate" in (await replacement(slack, more))["text"]


async def test_a_reason_after_a_later_thumbs_up_is_kept(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    """The report does not count it (tests/test_report_reasons.py); MLflow keeps it."""
    answer, voter, follow_up = await thumbs_down(sender, slack)
    await sender.interaction(vote_click(slack, answer, voter, positive=True))
    await sender.interaction(follow_up_click(slack, follow_up, voter, "feedback_reason:other"))

    async def both() -> bool:
        valid = await tracking.valid_assessments(trace_id_of(answer))
        assert sorted((a.name, a.value) for a in valid if a.source.source_id == voter) == [
            ("user_feedback", True),
            (REASON, "other"),
        ]
        return True

    await eventually(both)


async def test_a_thumbs_down_reaction_asks_why_and_a_thumbs_up_gets_a_note(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking
) -> None:
    answer = await ask(sender, slack)
    trace_id, down, up = trace_id_of(answer), new_id("U"), new_id("U")
    await sender.event(reaction(down, "-1", answer))
    follow_up = as_posted(await follow_up_for(slack, down))
    assert follow_up["thread_ts"] == answer["thread_ts"]
    await sender.interaction(follow_up_click(slack, follow_up, down, "feedback_reason:incomplete"))
    valid = await eventually(lambda: reasons_of(tracking, trace_id, down))
    assert [a.value for a in valid] == ["incomplete"]

    await sender.event(reaction(up, "+1", answer))
    notes = await slack.wait_for(lambda: [e for e in slack.ephemeral if e["user"] == up])
    assert "👍" in notes[0]["text"] and not follow_ups(slack, up)


async def test_forged_and_stale_follow_ups_log_nothing_and_answer_at_once(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking, bot_env: dict[str, str]
) -> None:
    answer, voter, follow_up = await thumbs_down(sender, slack)
    trace_id, other = trace_id_of(answer), new_id("U")
    genuine = follow_up_click(slack, follow_up, voter, "feedback_reason:inaccurate")
    value = genuine["actions"][0]["value"]

    someone_elses = follow_up_click(slack, follow_up, other, "feedback_reason:inaccurate")
    not_ours = json.loads(value)
    not_ours["p"]["t"] = "tr-" + "f" * 32
    signer = ReasonSigner(bot_env["SLACK_SIGNING_SECRET"])
    asked_long_ago = int(time.time()) - 3 * 24 * 3600
    stale = signer.dump(
        ReasonTarget(trace_id, voter, answer["channel"], None, asked_long_ago), r="inaccurate"
    )
    unknown_reason = signer.dump(
        ReasonTarget(trace_id, voter, answer["channel"], None, int(time.time())), r="zzz"
    )
    forged = []
    for junk in (json.dumps(not_ours), stale, unknown_reason, "junk", "", "{}", "[1]"):
        payload = json.loads(json.dumps(genuine))
        payload["actions"][0]["value"] = junk
        forged.append(payload)
    more_for_other = follow_up_click(slack, follow_up, other, MORE)
    for payload in (someone_elses, *forged, more_for_other):
        elapsed, status, _ = await timed(sender.interaction(payload))
        assert status == 200 and elapsed < 3.0

    await asyncio.sleep(1.5)
    assert [a for a in await tracking.assessments(trace_id) if a.name == REASON] == []
    opened = [c.args["trigger_id"] for c in slack.calls_to("views.open")]
    assert more_for_other["trigger_id"] not in opened
    # The genuine click still counts.
    await sender.interaction(genuine)
    await eventually(lambda: reasons_of(tracking, trace_id, voter))


@pytest.mark.slow
async def test_a_reason_given_while_the_tracking_server_is_down_lands_after_it_returns(
    stack: Stack, slack: SlackEmulator
) -> None:
    _, sender = await stack.start_bot()
    tracking = stack.tracking()
    (answer,) = await answers_for(sender, slack, 1, tracking)
    voter = new_id("U")
    await asyncio.to_thread(stack.server.stop)
    await sender.interaction(vote_click(slack, answer, voter, positive=False))
    follow_up = as_posted(await follow_up_for(slack, voter))
    click = follow_up_click(slack, follow_up, voter, "feedback_reason:outdated")
    elapsed, status, _ = await timed(sender.interaction(click))
    assert status == 200 and elapsed < 3.0
    await asyncio.to_thread(stack.server.start)

    async def landed() -> bool:
        trace_id = trace_id_of(answer)
        valid = await tracking.valid_assessments(trace_id)
        assert sorted((a.name, a.value) for a in valid if a.source.source_id == voter) == [
            ("user_feedback", False),
            (REASON, "outdated"),
        ]
        return True

    await eventually(landed, timeout_s=60, interval_s=1.0)


@pytest.mark.slow
async def test_with_feedback_ask_reason_false_a_thumbs_down_says_nothing(
    stack: Stack, slack: SlackEmulator
) -> None:
    stack.env["FEEDBACK_ASK_REASON"] = "false"
    _, sender = await stack.start_bot()
    tracking = stack.tracking()
    (answer,) = await answers_for(sender, slack, 1)
    voter = new_id("U")
    await sender.interaction(vote_click(slack, answer, voter, positive=False))
    await sender.event(reaction(voter, "-1", answer))
    votes = await eventually(lambda: tracking.valid_assessments(trace_id_of(answer)))
    assert [(a.name, a.value) for a in votes] == [("user_feedback", False)]
    await asyncio.sleep(1.0)  # the reaction had every chance to prompt
    assert [e for e in slack.ephemeral if e["user"] == voter] == []


def test_reasons_are_configurable_and_checked() -> None:
    base = {
        "slack_bot_token": "xoxb-test",
        "slack_signing_secret": "secret",
        "mlflow_tracking_uri": "http://127.0.0.1:1",
    }
    settings = load_settings(**base)
    assert list(settings.feedback_reason_labels) == [
        "inaccurate",
        "incomplete",
        "not_what_i_asked",
        "outdated",
        "inappropriate",
        "other",
    ]
    assert settings.feedback_ask_reason is True
    custom = load_settings(**base, feedback_reasons=" Wrong team , Too long,Other ")
    assert custom.feedback_reason_labels == {
        "wrong_team": "Wrong team",
        "too_long": "Too long",
        "other": "Other",
    }
    assert reason_key("Not what I asked!") == "not_what_i_asked"
    for bad in ("", "A,a", "x" * 76, ",".join(str(n) for n in range(11)), "!!"):
        with pytest.raises(ConfigError, match="FEEDBACK_REASONS"):
            load_settings(**base, feedback_reasons=bad)
