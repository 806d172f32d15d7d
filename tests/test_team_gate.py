"""Only our organisation is served: payloads of other teams get an ack and nothing else.

End to end over signed HTTP (the session bot's allow-list defaults to the emulator's `auth.test`
team; a bot of this module's own lists a partner team explicitly), over Socket Mode once, and
the rule itself (handlers/checks/team_gate.py) on payload shapes Slack documents."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devkit.bot_process import BotProcess
from devkit.conversation import ask, final_answer, open_rating_modal, trace_id_of
from devkit.ids import new_id
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import (
    Workspace,
    dm,
    mention,
    person,
    rate_click,
    rating_submission,
    slash_command,
    vote_click,
)
from devkit.slack_requests import SlackSender, SocketModeSender
from devkit.traces import Tracking
from handlers.checks.team_gate import is_ours
from tests.conftest import SIGNING_SECRET, TEAM_ID

FOREIGN, PARTNER = "TFOREIGN1", "TPARTNER1"
IGNORED = "from outside the allowed teams"


def foreign_user(payload: dict, team: str = FOREIGN) -> dict:
    """The same click or submission, made by a person of another organisation."""
    return {**payload, "user": {**payload["user"], "team_id": team}}


async def test_other_teams_get_no_answer_no_vote_no_modal_and_no_report(
    sender: SlackSender, slack: SlackEmulator, tracking: Tracking, bot: BotProcess
) -> None:
    answer = await ask(sender, slack)
    trace_id = trace_id_of(answer)
    view = await open_rating_modal(sender, slack, answer, new_id("U"))
    scores = {"accuracy": "5", "helpfulness": "5", "relevance": "5"}
    log_before = bot.log().count(IGNORED)
    other_workspace = SlackSender(bot.url, SIGNING_SECRET, FOREIGN, "ABOT")
    quiet = [new_id("C") for _ in range(3)]
    voter = new_id("U")
    click = foreign_user(rate_click(slack, answer, voter))
    report_key = new_id("R")
    try:
        sent = [
            # an event for a workspace the bot is not installed in
            await other_workspace.event(mention(new_id("U"), quiet[0], "hello?", team=FOREIGN)),
            # Slack Connect: people of another organisation in a shared channel
            await sender.event(mention(new_id("U"), quiet[1], "hi", user_team=FOREIGN)),
            await sender.event(
                {**dm(new_id("U"), quiet[2], "hi"), "channel_type": "channel", "team": FOREIGN}
            ),
            await sender.interaction(foreign_user(vote_click(slack, answer, voter))),
            await sender.interaction(click),
            await sender.interaction(
                rating_submission(view, voter, scores, "ok", Workspace(team_id=FOREIGN))
            ),
            await sender.command(
                slash_command(
                    Workspace(team_id=FOREIGN),
                    person(Workspace(team_id=FOREIGN), "UADMIN1"),
                    "/feedback-report",
                    "7d",
                    channel="C0ADMINS",
                    channel_name="admins",
                    response_url=f"{slack.base_url}/response/{report_key}",
                    trigger_id=slack.new_trigger(),
                )
            ),
        ]
    finally:
        await other_workspace.close()
    assert sent == [(200, "")] * len(sent)
    await asyncio.sleep(1.5)  # whatever the bot would do had time to happen
    assert all(slack.bot_messages(channel) == [] for channel in quiet)
    assert await tracking.assessments(trace_id) == []
    assert not [e for e in slack.ephemeral if e["user"] == voter]
    assert not [
        c for c in slack.calls_to("views.open") if c.args["trigger_id"] == click["trigger_id"]
    ]
    assert slack.response_url_posts.get(report_key) in (None, [])
    log = bot.log()
    assert log.count(IGNORED) - log_before == len(sent)
    assert "hello?" not in log and "'hi'" not in log


async def test_our_own_people_are_still_served_in_a_shared_channel(
    sender: SlackSender, slack: SlackEmulator
) -> None:
    user, channel = new_id("U"), new_id("C")
    await sender.event(mention(user, channel, "from home", user_team=TEAM_ID))
    assert (await final_answer(slack, channel))["text"] == "Echo: from home"


async def test_other_teams_get_no_answer_over_socket_mode(
    socket_sender: SocketModeSender, slack: SlackEmulator
) -> None:
    channel = new_id("C")
    status, body = await socket_sender.event(
        mention(new_id("U"), channel, "over the socket", user_team=FOREIGN)
    )
    assert (status, body) == (200, "")
    await asyncio.sleep(1.0)
    assert slack.bot_messages(channel) == []


@pytest.fixture(scope="module")
async def partner_bot(
    bot: BotProcess, bot_env: dict[str, str], tmp_root: Path
) -> AsyncIterator[BotProcess]:
    env = {
        **bot_env,
        "SLACK_ALLOWED_TEAM_IDS": f"{TEAM_ID}, {PARTNER}",
        "BOT_DATA_DIR": str(tmp_root / "partner-data"),
    }
    process = BotProcess(env, tmp_root / "bot-partner.log")
    await asyncio.to_thread(process.start)
    yield process
    await asyncio.to_thread(process.stop)


async def test_an_explicit_allow_list_serves_the_listed_teams_only(
    partner_bot: BotProcess, slack: SlackEmulator
) -> None:
    partner, foreign = new_id("C"), new_id("C")
    sender = SlackSender(partner_bot.url, SIGNING_SECRET, TEAM_ID, "ABOT")
    try:
        await sender.event(mention(new_id("U"), partner, "from a partner", user_team=PARTNER))
        await sender.event(mention(new_id("U"), foreign, "from elsewhere", user_team=FOREIGN))
        assert (await final_answer(slack, partner))["text"] == "Echo: from a partner"
        await asyncio.sleep(0.5)
        assert slack.bot_messages(foreign) == []
    finally:
        await sender.close()


# -- the rule ---------------------------------------------------------------------------------

OURS = frozenset({"T0TEAM"})
ORG = frozenset({"E0ORG"})


def event(team: str | None = "T0TEAM", org: str | None = None, **fields: object) -> dict:
    envelope: dict = {"type": "event_callback", "event": {"type": "message", **fields}}
    if team is not None:
        envelope["team_id"] = team
        envelope["authorizations"] = [{"team_id": team, "user_id": "UBOT", "is_bot": True}]
    if org is not None:
        envelope["enterprise_id"] = envelope["authorizations"][0]["enterprise_id"] = org
    return envelope


def click(team: dict | None, user_team: str) -> dict:
    return {"type": "block_actions", "team": team, "user": {"id": "U1", "team_id": user_team}}


@pytest.mark.parametrize(
    ("body", "allowed", "ours"),
    [
        (event(), OURS, True),
        (event(user_team="T0TEAM", team="T0TEAM"), OURS, True),
        (event(user_team=FOREIGN), OURS, False),  # Slack Connect guest
        (event(source_team=FOREIGN), OURS, False),
        (event(team=FOREIGN), OURS, False),
        (event("TOTHER"), OURS, False),  # not installed there
        (event(None), OURS, False),  # names no workspace
        (event(user_team=7), OURS, False),
        (event(user_team={"id": "T0TEAM"}), OURS, False),  # not an ID at all
        (click({"id": ["T0TEAM"]}, "T0TEAM"), OURS, False),
        (event(), frozenset(), False),  # nothing known: nobody is served
        # Enterprise Grid: the org listed serves its workspaces and their own people
        (event("TSIBLING", "E0ORG", user_team="TSIBLING"), ORG, True),
        (event("TSIBLING", "E0ORG", user_team="E0ORG"), ORG, True),
        (event("TSIBLING", "E0ORG", user_team=FOREIGN), ORG, False),
        (event("TSIBLING", "EOTHER"), ORG, False),
        # interactions and commands
        (click({"id": "T0TEAM"}, "T0TEAM"), OURS, True),
        (click({"id": "T0TEAM"}, FOREIGN), OURS, False),
        (click(None, "T0TEAM"), OURS, False),  # an org-wide install's click names no workspace
        ({**click(None, "T0TEAM"), "enterprise": {"id": "E0ORG"}}, ORG, False),
        ({**click(None, "E0ORG"), "enterprise": {"id": "E0ORG"}}, ORG, True),
        ({"type": "view_submission", "team": {"id": FOREIGN}, "user": {"id": "U1"}}, OURS, False),
        ({"command": "/x", "team_id": "T0TEAM", "user_id": "U1"}, OURS, True),
        ({"command": "/x", "team_id": FOREIGN, "user_id": "U1"}, OURS, False),
        ({"command": "/x", "team_id": "TSIBLING", "enterprise_id": "E0ORG"}, ORG, True),
    ],
)
def test_the_rule(body: dict, allowed: frozenset[str], ours: bool) -> None:
    assert is_ours(body, allowed) is ours
