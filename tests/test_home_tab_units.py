"""The App Home tab's domain (bot/report/home.py) and views (handlers/views/home_tab.py), with
stand-ins for the report and the clock: admins get the report, rebuilt at most once a minute,
everyone else no statistic; the views pass the Slack emulator's checks, with and without charts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import inspect

from bot.feedback.intent import FeedbackIntent
from bot.feedback.outbox import Outbox
from bot.report.access import ReportAccess
from bot.report.home import AdminHome, HomeChoice, HomeTab, MemberHome
from bot.report.reports import BuiltReport, Reports
from bot.report.trace_records import AnswerQuery
from bot.report.window import parse_window
from bot.slack.surfaces import HOME, DataBlockSurfaces, Delivery
from bot.storage.store import Store
from devkit.ids import new_id
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import Workspace, action, home_click, person
from handlers.listeners.home import parse_click
from handlers.views.home_tab import PICKER_BLOCK_ID, home_view, publish_home
from tests.support.report_figures import REASONS, report_over

ADMIN, MEMBER = "UADMIN", "UMEMBER"


class FakeReports:
    def __init__(self) -> None:
        self.queries: list[AnswerQuery] = []
        self.fail = False

    async def build(self, query: AnswerQuery, client: Any) -> BuiltReport:
        self.queries.append(query)
        if self.fail:
            raise RuntimeError("boom")
        report = report_over(parse_window("7d", datetime(2026, 3, 31, tzinfo=UTC)))
        return BuiltReport(report, REASONS, {})


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


async def rated(user: str) -> int:
    return {MEMBER: 3}.get(user, 0)


def home_tab(reports: FakeReports, clock: Clock) -> HomeTab:
    access = ReportAccess([ADMIN], allow_workspace_admins=False)
    return HomeTab(access, cast(Reports, reports), rated, clock=clock)


NO_CLIENT = cast(AsyncWebClient, None)


async def test_an_admins_report_is_built_at_most_once_a_minute_per_choice() -> None:
    reports, clock = FakeReports(), Clock()
    home = home_tab(reports, clock)
    first = await home.content(ADMIN, NO_CLIENT)
    assert isinstance(first, AdminHome) and first.choice == HomeChoice("7d")
    assert reports.queries[0].window.spec == "7d" and reports.queries[0].channel is None
    clock.now += 59
    again = await home.content(ADMIN, NO_CLIENT)  # Refresh within the minute: kept
    assert isinstance(again, AdminHome) and again.built is first.built
    assert round(again.next_refresh_s) == 1 and len(reports.queries) == 1
    clock.now += 1
    await home.content(ADMIN, NO_CLIENT)
    assert len(reports.queries) == 2
    changed = await home.content(ADMIN, NO_CLIENT, HomeChoice("24h", "C0123"))
    assert isinstance(changed, AdminHome) and len(reports.queries) == 3
    assert (reports.queries[-1].window.spec, reports.queries[-1].channel) == ("24h", "C0123")
    # The choice is kept for the next visit.
    assert (await home.content(ADMIN, NO_CLIENT)).choice == HomeChoice("24h", "C0123")  # type: ignore[union-attr]
    assert len(reports.queries) == 3


async def test_anyone_else_gets_no_statistic_and_nothing_is_computed() -> None:
    reports = FakeReports()
    home = home_tab(reports, Clock())
    content = await home.content(MEMBER, NO_CLIENT, HomeChoice("30d"))
    assert content == MemberHome(rated=3) and reports.queries == []
    view = json.dumps(home_view(content, charts=True), ensure_ascii=False)
    assert "You have rated *3 answers*" in view
    for statistic in ("Positive rate", "👎 reasons", "Answers*", "data_visualization", "%"):
        assert statistic not in view
    assert "not rated an answer yet" in json.dumps(home_view(MemberHome(0), charts=False))


async def test_a_failed_build_says_why_and_is_not_retried_within_the_minute() -> None:
    reports, clock = FakeReports(), Clock()
    reports.fail = True
    home = home_tab(reports, clock)
    content = await home.content(ADMIN, NO_CLIENT)
    assert isinstance(content, AdminHome) and content.built is None
    assert content.error == "an unexpected RuntimeError"
    assert "could not be built" in json.dumps(home_view(content, charts=True))
    await home.content(ADMIN, NO_CLIENT)
    assert len(reports.queries) == 1


def test_choices_are_only_what_the_picker_offers() -> None:
    with pytest.raises(ValueError):
        HomeChoice("3d")
    with pytest.raises(ValueError):
        HomeChoice("7d", "#general")


def admin_home() -> AdminHome:
    built = BuiltReport(
        report_over(parse_window("7d", datetime(2026, 3, 31, tzinfo=UTC))), REASONS, {}
    )
    return AdminHome(HomeChoice("7d", "C0123"), built, 1_774_000_000.0, next_refresh_s=60)


async def test_the_admin_view_passes_the_emulator_with_charts_and_without(
    slack: SlackEmulator,
) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    surfaces, user = DataBlockSurfaces(), new_id("U")
    assert await publish_home(client, user, admin_home(), surfaces) is Delivery.SENT
    published = slack.home_views[user]
    types = [b["type"] for b in published["blocks"]]
    assert types.count("data_visualization") == 2 and "data_table" in types
    assert published["private_metadata"] == "7d|C0123"
    picker = next(b for b in published["blocks"] if b.get("block_id") == PICKER_BLOCK_ID)
    assert [e["action_id"] for e in picker["elements"]] == [
        "home_window",
        "home_channel",
        "home_all_channels",
        "home_refresh",
    ]
    # Where the Home tab refuses charts: the text form, remembered.
    slack.data_blocks_refused_by.add("views.publish")
    refusals = len(slack.data_blocks_refusals)
    for _ in range(2):
        assert await publish_home(client, user, admin_home(), surfaces) is Delivery.SENT
        types = [b["type"] for b in slack.home_views[user]["blocks"]]
        assert "data_visualization" not in types and "data_table" not in types
        assert any(
            "*Trend per day*" in json.dumps(b, ensure_ascii=False)
            for b in slack.home_views[user]["blocks"]
        )
    assert len(slack.data_blocks_refusals) == refusals + 1
    assert not surfaces.takes(HOME)


def test_a_click_changes_only_what_it_is_about(slack: SlackEmulator) -> None:
    workspace = Workspace.of(slack)
    view = {"id": "V1", "type": "home", **home_view(admin_home(), charts=False)}
    picker = next(b for b in view["blocks"] if b.get("block_id") == PICKER_BLOCK_ID)
    window, channel, everywhere, refresh = picker["elements"]

    def click(element: dict[str, Any], selected: Any = None) -> tuple[str | None, HomeChoice]:
        act = action(picker, element, block_id=PICKER_BLOCK_ID, selected=selected)
        body = home_click(
            workspace, act, user=person(workspace, ADMIN), view=view, trigger_id="1.2.t"
        )
        return parse_click(body)

    assert click(window, "30d") == (ADMIN, HomeChoice("30d", "C0123"))
    assert click(channel, "C0999") == (ADMIN, HomeChoice("7d", "C0999"))
    assert click(everywhere) == (ADMIN, HomeChoice("7d", None))
    assert click(refresh) == (ADMIN, HomeChoice("7d", "C0123"))
    assert click(window, "forever") == (ADMIN, HomeChoice("7d", "C0123"))  # not offered


def test_segments_and_channels_show_in_the_admin_view() -> None:
    text = json.dumps(home_view(admin_home(), charts=True), ensure_ascii=False)
    assert "Where asked" in text and "Public channels" in text


async def test_answers_rated_count_votes_and_ratings_not_withdrawn_ones(
    sqlite_store: Store,
) -> None:
    outbox = Outbox(sqlite_store)
    t1, t2, t3 = (f"tr-{n:032x}" for n in range(1, 4))
    await outbox.submit(
        [
            FeedbackIntent(t1, MEMBER, "user_feedback", True),
            FeedbackIntent(t1, MEMBER, "user_accuracy", 0.8),  # the same answer: once
            FeedbackIntent(t2, MEMBER, "user_helpfulness", 0.4),
            FeedbackIntent(t3, MEMBER, "user_feedback", False),
            FeedbackIntent(t3, ADMIN, "user_feedback", True),  # someone else's
            FeedbackIntent(t2, MEMBER, "user_feedback_reason", "inaccurate"),  # not a rating
        ]
    )
    assert await outbox.answers_rated_by(MEMBER) == 3
    await outbox.submit([FeedbackIntent(t3, MEMBER, "user_feedback", None)])  # withdrawn
    assert await outbox.answers_rated_by(MEMBER) == 2
    assert await outbox.answers_rated_by("UNOBODY") == 0

    def indexes(conn: Any) -> set[str]:
        return {index["name"] for index in inspect(conn).get_indexes("feedback_latest")}

    assert "feedback_latest_by_user" in await sqlite_store.run(indexes)
