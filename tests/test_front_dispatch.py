"""The listeners dispatched in-process through Bolt (fast layer): Slack-signed requests to the
real front, asserting on what the Slack emulator recorded and what reached the outbox and the
worker stand-in (tests/support/front.py)."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from bot.report.command import BUILDING, REFUSAL
from bot.tracing.data_model import RATING_DIMENSIONS, VOTE, rating_value
from devkit.conversation import open_rating_modal, trace_id_of
from devkit.ids import new_id, new_trace_id
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import dm, mention, rating_submission, reaction_event, vote_click
from handlers.listeners.feedback import FORM_EXPIRED, NO_TRACE, NOT_OUR_ANSWER
from handlers.views.reason_prompt import QUESTION
from tests.support.front import Front, front_settings, running_front
from tests.support.views import initial_scores

# -- questions -----------------------------------------------------------------------------


async def test_url_verification_answers_the_challenge(front: Front) -> None:
    status, text = await front.sender.post(
        json.dumps({"type": "url_verification", "challenge": "c-42", "token": "t"}).encode(),
        "application/json",
    )
    assert status == 200 and "c-42" in text


async def test_a_dm_reaches_the_worker_as_the_users_words(front: Front) -> None:
    user, channel = new_id("U"), new_id("D")
    status, _ = await front.sender.event(dm(user, channel, "What is MLflow?"))
    assert status == 200
    [question] = await front.questions()
    assert (question.user_id, question.channel_id, question.text) == (
        user,
        channel,
        "What is MLflow?",
    )
    assert question.channel_type == "im" and not question.is_mention_event
    assert question.team_id == front.slack.team_id and question.bot_user_id == "UBOT"


async def test_a_mention_reaches_the_worker_as_a_mention_with_its_thread(front: Front) -> None:
    user, channel = new_id("U"), new_id("C")
    status, _ = await front.sender.event(
        mention(user, channel, "hi", thread_ts="1700000000.000100")
    )
    assert status == 200
    [question] = await front.questions()
    assert question.is_mention_event and question.thread_ts == "1700000000.000100"
    assert question.text == "<@UBOT> hi"


@pytest.mark.parametrize(
    "extra",
    [
        {"subtype": "message_changed"},
        {"subtype": "channel_join"},
        {"bot_id": "BOTHER"},
        {"user": "UBOT"},  # the bot's own message
        {"text": "   "},
        {"thread_ts": "not-a-ts"},
    ],
    ids=["edit", "join", "another bot", "own message", "blank", "odd thread"],
)
async def test_what_is_not_a_persons_new_words_never_reaches_the_worker(
    front: Front, extra: dict[str, str]
) -> None:
    event = {**dm(new_id("U"), new_id("D"), "words"), **extra}
    control = dm(new_id("U"), new_id("D"), "control")
    assert (await front.sender.event(event))[0] == 200
    assert (await front.sender.event(control))[0] == 200
    assert [q.text for q in await front.questions()] == ["control"]


async def test_events_no_listener_takes_are_acknowledged_and_ignored(front: Front) -> None:
    status, _ = await front.sender.event({"type": "app_home_opened", "user": new_id("U")})
    assert status == 200
    assert await front.questions() == [] and front.worker.question_wakes == front.worker.wakes == 0


async def test_a_bad_signature_or_a_malformed_payload_never_reaches_a_listener(
    front: Front,
) -> None:
    body = json.dumps({"type": "event_callback", "event": dm("U1", "D1", "x")}).encode()
    assert (await front.sender.post(body, "application/json", signature="v0=bad"))[0] == 401
    stale = await front.sender.post(body, "application/json", timestamp=1_000_000)
    assert stale[0] == 401
    assert (await front.sender.interaction({"type": "block_actions", "actions": 1}))[0] == 400
    assert await front.questions() == []


# -- 👍/👎 ----------------------------------------------------------------------------------


async def test_a_thumbs_up_is_committed_to_the_outbox_and_wakes_the_worker(front: Front) -> None:
    answer = await front.answer()
    user = new_id("U")
    trace_id = trace_id_of(answer)
    status, _ = await front.sender.interaction(vote_click(front.slack, answer, user))
    assert status == 200
    latest = await front.latest(trace_id, user)
    assert latest[VOTE].value is True and latest[VOTE].origin == "button"
    assert front.worker.wakes == 1
    await front.settled()
    assert front.ephemeral_to(user) == []  # a 👍 is confirmed by the button's own state


async def test_the_same_vote_again_changes_nothing_and_another_replaces_it(front: Front) -> None:
    answer = await front.answer()
    user = new_id("U")
    trace_id = trace_id_of(answer)
    await front.sender.interaction(vote_click(front.slack, answer, user, positive=False))
    await front.sender.interaction(vote_click(front.slack, answer, user, positive=False))
    assert front.worker.wakes == 1
    await front.sender.interaction(vote_click(front.slack, answer, user, positive=True))
    assert front.worker.wakes == 2
    assert (await front.latest(trace_id, user))[VOTE].value is True
    await front.settled()
    # The new 👎 asked what went wrong, once; the repeat and the 👍 said nothing.
    [asked] = front.ephemeral_to(user)
    assert QUESTION in asked


async def test_a_click_on_another_apps_message_records_nothing(front: Front) -> None:
    answer = await front.answer()
    user = new_id("U")
    click = vote_click(front.slack, answer, user)
    click["message"]["bot_id"] = "BOTHER"
    assert (await front.sender.interaction(click))[0] == 200
    await front.settled()
    trace_id = trace_id_of(answer)
    assert await front.latest(trace_id, user) == {} and front.worker.wakes == 0
    assert front.ephemeral_to(user) == [NOT_OUR_ANSWER]


async def test_a_click_whose_answer_carries_no_trace_records_nothing(front: Front) -> None:
    answer = await front.answer()
    user = new_id("U")
    click = vote_click(front.slack, answer, user)
    del click["message"]["metadata"]
    click["actions"][0]["value"] = "positive:not-a-trace"
    assert (await front.sender.interaction(click))[0] == 200
    await front.settled()
    assert front.worker.wakes == 0 and front.ephemeral_to(user) == [NO_TRACE]


# -- the rating modal ---------------------------------------------------------------------


async def _open_modal(front: Front, answer: dict, user: str) -> dict:
    view = await open_rating_modal(front.sender, front.slack, answer, user)
    await front.settled()
    return view


async def test_a_submitted_rating_is_committed_and_prefills_the_next_modal(front: Front) -> None:
    answer = await front.answer()
    user = new_id("U")
    trace_id = trace_id_of(answer)
    view = await _open_modal(front, answer, user)
    assert initial_scores(view) == dict.fromkeys(RATING_DIMENSIONS)
    scores = {"accuracy": "5", "helpfulness": "2", "relevance": "4"}
    status, body = await front.sender.interaction(
        rating_submission(view, user, scores, comment="  missing a link  ")
    )
    assert status == 200 and body == ""
    latest = await front.latest(trace_id, user)
    for dimension, score in scores.items():
        intent = latest[f"user_{dimension}"]
        assert intent.value == pytest.approx(rating_value(int(score)))
        assert intent.rationale == "missing a link" and intent.origin == "modal"
    assert front.worker.wakes == 1
    again = await _open_modal(front, answer, user)
    assert initial_scores(again) == scores
    await front.settled()
    assert front.ephemeral_to(user) == ["Thanks — your rating is recorded."]


async def test_a_submission_missing_a_score_is_answered_with_errors_and_records_nothing(
    front: Front,
) -> None:
    answer = await front.answer()
    user = new_id("U")
    view = await _open_modal(front, answer, user)
    status, body = await front.sender.interaction(
        rating_submission(view, user, {"accuracy": "5", "helpfulness": None, "relevance": "9"})
    )
    answered = json.loads(body)
    assert status == 200 and answered["response_action"] == "errors"
    assert set(answered["errors"]) == {"helpfulness", "relevance"}
    trace_id = trace_id_of(answer)
    assert await front.latest(trace_id, user) == {} and front.worker.wakes == 0


async def test_a_modal_redirected_to_another_answer_records_nothing(front: Front) -> None:
    answer = await front.answer()
    user = new_id("U")
    view = await _open_modal(front, answer, user)
    trace_id = trace_id_of(answer)
    other = new_trace_id()
    # Whatever its layout, a form that names another trace than the one it was opened for.
    view["private_metadata"] = view["private_metadata"].replace(trace_id, other)
    assert other in view["private_metadata"]
    scores = dict.fromkeys(RATING_DIMENSIONS, "1")
    status, body = await front.sender.interaction(rating_submission(view, user, scores))
    assert status == 200 and FORM_EXPIRED in json.loads(body)["errors"].values()
    assert await front.latest(other, user) == {} and await front.latest(trace_id, user) == {}
    assert front.worker.wakes == 0


# -- reactions -----------------------------------------------------------------------------


async def test_a_thumbs_down_reaction_votes_and_removing_it_withdraws_the_vote(
    front: Front,
) -> None:
    answer = await front.answer()
    user = new_id("U")
    trace_id = trace_id_of(answer)
    assert (await front.sender.event(reaction_event(user, "-1::skin-tone-3", answer)))[0] == 200
    await front.settled()
    latest = await front.latest(trace_id, user)
    assert latest[VOTE].value is False and latest[VOTE].origin == "reaction"
    await front.sender.event(reaction_event(user, "-1", answer, added=False))
    await front.settled()
    assert (await front.latest(trace_id, user))[VOTE].value is None
    assert front.worker.wakes == 2


async def test_a_click_after_a_reaction_replaces_it_and_removing_the_reaction_then_keeps_it(
    front: Front,
) -> None:
    answer = await front.answer()
    user = new_id("U")
    trace_id = trace_id_of(answer)
    await front.sender.event(reaction_event(user, "+1", answer))
    await front.settled()
    await front.sender.interaction(vote_click(front.slack, answer, user, positive=False))
    latest = await front.latest(trace_id, user)
    assert latest[VOTE].value is False and latest[VOTE].origin == "button"
    await front.sender.event(reaction_event(user, "+1", answer, added=False))
    await front.settled()
    assert (await front.latest(trace_id, user))[VOTE].value is False
    assert front.worker.wakes == 2


async def test_reactions_on_messages_that_are_not_answers_record_nothing(front: Front) -> None:
    user = new_id("U")
    channel = new_id("C")
    person = front.slack.add_user_message(channel, new_id("U"), "hello")
    answer = await front.answer(channel=channel)
    await front.sender.event(reaction_event(user, "+1", person))
    await front.sender.event(reaction_event(user, "tada", answer))
    await front.settled()
    trace_id = trace_id_of(answer)
    assert await front.latest(trace_id, user) == {} and front.worker.wakes == 0


# -- /feedback-report ------------------------------------------------------------------------


def _report(user: str, text: str = "") -> dict[str, str]:
    return {
        "command": "/feedback-report",
        "text": text,
        "user_id": user,
        "team_id": "T0TEAM",
        "channel_id": new_id("C"),
        "response_url": "",
        "trigger_id": "t",
    }


async def test_the_report_is_refused_to_whoever_is_not_a_listed_admin(front: Front) -> None:
    status, body = await front.sender.command(_report(new_id("U")))
    assert status == 200 and json.loads(body)["text"] == REFUSAL


async def test_workspace_admins_are_refused_unless_allowed(front: Front) -> None:
    admin = new_id("U")
    front.slack.users[admin] = {"id": admin, "is_admin": True, "deleted": False}
    status, body = await front.sender.command(_report(admin))
    assert status == 200 and json.loads(body)["text"] == REFUSAL
    assert [c for c in front.slack.calls_to("users.info") if c.args.get("user") == admin] == []


async def test_a_listed_admin_gets_the_building_line_usage_or_help(front: Front) -> None:
    _, body = await front.sender.command(_report("UADMIN1", "7d"))
    assert json.loads(body)["text"] == BUILDING
    _, body = await front.sender.command(_report("UADMIN1", "13d"))
    assert "Usage:" in json.loads(body)["text"]
    _, body = await front.sender.command(_report("UADMIN1", "help"))
    answered = json.loads(body)
    assert answered["response_type"] == "ephemeral" and answered["blocks"]


async def test_workspace_admins_and_owners_are_allowed_when_the_setting_says_so(
    slack: SlackEmulator, tmp_path: Path
) -> None:
    admin, owner, member = new_id("U"), new_id("U"), new_id("U")
    slack.users[admin] = {"id": admin, "is_admin": True}
    slack.users[owner] = {"id": owner, "is_owner": True}
    slack.users[member] = {"id": member, "is_admin": False}
    gone = new_id("U")
    slack.users[gone] = {"id": gone, "is_admin": True, "deleted": True}
    settings = front_settings(slack, tmp_path, feedback_report_allow_workspace_admins=True)
    async with running_front(settings, slack) as front:
        for user, answer in (
            (admin, BUILDING),
            (owner, BUILDING),
            (member, REFUSAL),
            (gone, REFUSAL),
        ):
            _, body = await front.sender.command(_report(user, "7d"))
            assert json.loads(body)["text"] == answer, user
        await front.settled()


# -- health and readiness ------------------------------------------------------------------


async def test_health_is_503_while_stopping_and_new_events_are_refused(front: Front) -> None:
    async with aiohttp.ClientSession(front.sender.url.removesuffix("/slack/events")) as http:
        async with http.get("/healthz") as response:
            assert response.status == 200 and (await response.json())["status"] == "ok"
        front.http.accepting = False
        async with http.get("/healthz") as response:
            assert response.status == 503 and (await response.json())["status"] == "stopping"
        async with http.get("/readyz") as response:
            assert response.status == 503 and (await response.json())["accepting"] is False
    status, _ = await front.sender.event(dm(new_id("U"), new_id("D"), "too late"))
    assert status == 503 and await front.questions() == []


async def test_readiness_stays_200_with_the_tracking_server_unreachable_and_counts_what_waits(
    front: Front,
) -> None:
    """What the tracking server cannot take yet waits in the store: an outage of it must not
    take every instance out of a load balancer's rotation."""
    answer = await front.answer()
    await front.sender.interaction(vote_click(front.slack, answer, new_id("U")))
    assert (await front.sender.event(dm(new_id("U"), new_id("D"), "waits")))[0] == 200
    async with (
        aiohttp.ClientSession(front.sender.url.removesuffix("/slack/events")) as http,
        http.get("/readyz") as response,
    ):
        details = await response.json()
    assert response.status == 200 and details["tracking_server"] == "unreachable"
    assert details["accepting"] is True and details["store"] == "available"
    assert details["questions"]["pending"] == 1 and details["questions"]["in_progress"] == 0
    assert details["outbox"]["pending"] == 1 and details["outbox"]["dead"] == 0
