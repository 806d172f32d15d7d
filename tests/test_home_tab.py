"""The App Home tab through the running bot: an admin opens it and gets the last 7 days' report
with its charts (checked by the Slack emulator), picks a channel, refreshes (answered within
3 s; built again at most once a minute); anyone else gets how to use the bot and how many
answers they have rated, and no statistic."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from devkit.conversation import ask
from devkit.ids import new_id
from devkit.mlflow_server import MlflowServer
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import Workspace, action, home_click, home_opened, person, vote_click
from devkit.slack_requests import SlackSender
from tests.support.report_commands import ADMIN
from tests.support.report_seed import FeedbackSeeder


def picker(view: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    block = next(b for b in view["blocks"] if b.get("block_id") == "home_picker")
    return block, {e["action_id"]: e for e in block["elements"]}


async def published(slack: SlackEmulator, user: str, after: int) -> dict[str, Any]:
    """The Home tab published for `user` by the `after`+1-th views.publish call for them."""

    def calls() -> list[Any]:
        return [c for c in slack.calls_to("views.publish") if c.args.get("user_id") == user]

    await slack.wait_for(lambda: len(calls()) > after, timeout=30)
    return slack.home_views[user]


def publishes(slack: SlackEmulator, user: str) -> int:
    return len([c for c in slack.calls_to("views.publish") if c.args.get("user_id") == user])


async def click(
    sender: SlackSender, slack: SlackEmulator, view: dict[str, Any], action_id: str, **how: Any
) -> None:
    workspace = Workspace.of(slack)
    block, elements = picker(view)
    act = action(block, elements[action_id], block_id=block["block_id"], **how)
    payload = home_click(
        workspace, act, user=person(workspace, ADMIN), view=view, trigger_id=slack.new_trigger()
    )
    started = time.monotonic()
    status, _ = await sender.interaction(payload)
    assert status == 200 and time.monotonic() - started < 3.0


async def test_an_admin_sees_the_report_with_charts_picks_a_channel_and_refreshes(
    sender: SlackSender, slack: SlackEmulator, mlflow_server: MlflowServer, experiment_name: str
) -> None:
    channel = new_id("C")
    slack.add_channel(channel, f"home-{channel.lower()}")
    now = datetime.now(UTC)

    def seed() -> None:
        seeder = FeedbackSeeder(mlflow_server.url, experiment_name)
        traces = [
            seeder.answer(
                started=now - timedelta(days=days, minutes=5),
                channel=channel,
                asker="U1",
                question=f"home question {days}",
                answer="an answer",
                question_ts=f"1700000000.{days:06d}",
                kind="public_channel",
            )
            for days in (0, 1, 2)
        ]
        seeder.wait_exported()
        seeder.vote(traces[0], "U1", up=True)
        seeder.vote(traces[1], "U2", up=False)
        seeder.reason(traces[1], "U2", "inaccurate")
        seeder.vote(traces[2], "U3", up=True)

    await asyncio.to_thread(seed)
    before = publishes(slack, ADMIN)
    assert (await sender.event(home_opened(ADMIN, new_id("D"))))[0] == 200
    view = await published(slack, ADMIN, before)
    assert view["private_metadata"] == "7d|"
    types = [b["type"] for b in view["blocks"]]
    assert types[0] == "actions" and "data_visualization" in types

    await click(sender, slack, view, "home_channel", selected=channel)
    view = await published(slack, ADMIN, before + 1)
    assert view["private_metadata"] == f"7d|{channel}"
    text = json.dumps(view["blocks"], ensure_ascii=False)
    assert "*Answers*\\n3" in text and "👍 2 · 👎 1" in text
    charts = {b["title"]: b for b in view["blocks"] if b["type"] == "data_visualization"}
    votes = charts["Positive rate and votes"]["chart"]["series"][1]["data"]
    assert sum(point["value"] for point in votes) == 3
    assert charts["👎 reasons"]["chart"]["axis_config"]["categories"] == ["inaccurate"]
    assert "Public channels: 3 answers" in text
    built = next(b for b in view["blocks"] if b["type"] == "context")["elements"][0]["text"]

    # Refresh within the minute: answered at once, the same report again (not rebuilt).
    await click(sender, slack, view, "home_refresh")
    view = await published(slack, ADMIN, before + 2)
    again = next(b for b in view["blocks"] if b["type"] == "context")["elements"][0]["text"]
    assert again.split(" · ")[0] == built.split(" · ")[0]


async def test_anyone_else_learns_how_to_ask_and_rate_and_sees_no_statistic(
    sender: SlackSender, slack: SlackEmulator
) -> None:
    member = new_id("U")
    answer = await ask(sender, slack, "what can you do?")
    status, _ = await sender.interaction(vote_click(slack, answer, member, positive=True))
    assert status == 200
    before = publishes(slack, member)
    await sender.event(home_opened(member, new_id("D")))
    view = await published(slack, member, before)
    text = json.dumps(view["blocks"], ensure_ascii=False)
    assert "How to ask" in text and "How to rate" in text
    assert "You have rated *1 answer*" in text
    assert "actions" not in {b["type"] for b in view["blocks"]}
    for statistic in ("data_visualization", "data_table", "Positive rate", "%", "Answers*"):
        assert statistic not in text
