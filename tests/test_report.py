"""/feedback-report and `python -m bot report|export`, on answers seeded in a real MLflow server.

The seeded answers are dated in 2021 (the bot's own traces are dated now), in channels made
up for this module, so every number of the report is known exactly.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.report.command import BUILDING, REFUSAL, FeedbackReportCommand, Invocation
from bot.tracing.links import trace_url
from config import Settings
from devkit.bot_process import BotProcess
from devkit.ids import new_id
from devkit.mlflow_server import MlflowServer
from devkit.ports import free_port
from devkit.slack_api import SlackEmulator
from devkit.slack_requests import Sender, SlackSender
from devkit.traces import Tracking
from tests.support.mlflow_client import mlflow_client_restored
from tests.support.report_commands import (
    ADMIN,
    after_a_control_report,
    check_export_line,
    cli_env,
    cli_output,
    report_message,
    run_cli,
    run_command,
    section_texts,
    texts,
)
from tests.support.report_seed import FeedbackSeeder
from tests.support.seed_analysis import analyze_ratings, analyze_user_feedback
from tests.support.suite import BOT_TOKEN, SIGNING_SECRET

WINDOW = "2021-03-01..2021-03-04"
AGREE_WINDOW = "2021-04-01..2021-04-02"


def at(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2021, month, day, hour, tzinfo=UTC)


@dataclass
class Dataset:
    experiment_id: str
    ca: str
    ca_name: str
    cb: str
    dm: str
    agree_channel: str
    traces: dict[str, str] = field(default_factory=dict)
    answer_ts: dict[str, str] = field(default_factory=dict)
    question_ts: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
async def dataset(
    tracking: Tracking, slack: SlackEmulator, mlflow_server: MlflowServer, experiment_name: str
) -> Dataset:
    """Nine answers over three days in three channels (see the expectations below), and four
    simple ones in a fourth channel, in the bot's experiment."""
    ca, cb, dm, cc = new_id("C"), new_id("C"), new_id("D"), new_id("C")
    data = Dataset(tracking.experiment_id, ca, f"report-{ca.lower()}", cb, dm, cc)
    slack.add_channel(ca, data.ca_name)
    slack.add_channel(cb, f"report-{cb.lower()}")
    # key: (channel, started, asker, which of its messages Slack has: both, question, none)
    plan = {
        "t1": (ca, at(1, 9), "U1", "both"),
        "t2": (ca, at(1, 15), "U2", "both"),
        "t3": (ca, at(2, 10), "U2", "question"),
        "t4": (cb, at(2, 11), "U3", "both"),
        "t5": (cb, at(2, 12), "U3", "both"),
        "t6": (cb, at(3, 8), "U1", "both"),
        "t7": (dm, at(3, 9), "U4", "none"),
        "t8": (ca, at(3, 10), "U1", "both"),
        "t9": (ca, at(3, 23), "U1", "both"),
        "before": (ca, at(28, 23, month=2), "U1", "both"),
        "after": (cb, at(5, 0), "U1", "both"),
    }
    for key, (channel, _, asker, in_slack) in plan.items():
        data.question_ts[key] = (
            slack.add_user_message(channel, asker, f"question {key}")["ts"]
            if in_slack != "none"
            else slack.new_ts()
        )
        if in_slack == "both":
            data.answer_ts[key] = slack.add_user_message(channel, "UBOT", f"answer {key}")["ts"]

    def seed() -> None:
        seeder = FeedbackSeeder(mlflow_server.url, experiment_name)
        for key, (channel, started, asker, _) in plan.items():
            data.traces[key] = seeder.answer(
                started=started,
                channel=channel,
                asker=asker,
                question=f"Question {key}: how do I <reset> my VPN & token?",
                answer=f"Answer {key}",
                question_ts=data.question_ts[key],
                answer_ts=data.answer_ts.get(key),
            )
        for number in range(4):
            data.traces[f"agree{number}"] = seeder.answer(
                started=at(1 + number % 2, 12, month=4),
                channel=cc,
                asker="U9",
                question=f"agree {number}",
                answer="yes",
                question_ts=f"1617000000.00000{number}",
            )
        seeder.wait_exported()
        t = data.traces
        seeder.vote(t["t1"], "U1", up=True)
        seeder.vote(t["t1"], "U2", up=True)
        seeder.change_vote(t["t2"], seeder.vote(t["t2"], "U1", up=False), "U1", up=True)
        seeder.rate(t["t2"], "U1", "accuracy", 4, "solid")
        seeder.vote(t["t3"], "U2", up=False)
        seeder.rate(t["t3"], "U2", "accuracy", 2, "wrong version")
        seeder.rate(t["t3"], "U2", "helpfulness", 1, "useless")
        seeder.change_vote(t["t4"], seeder.vote(t["t4"], "U3", up=True), "U3", up=False)
        seeder.change_rating(t["t6"], seeder.rate(t["t6"], "U1", "relevance", 3), "U1", 5)
        seeder.vote(t["t6"], "U2", up=True)
        seeder.vote(t["t7"], "U4", up=False)
        seeder.rate(t["t7"], "U4", "helpfulness", 3, "meh")
        seeder.judge(t["t9"], up=False)
        seeder.vote(t["before"], "U1", up=False)
        seeder.vote(t["after"], "U1", up=False)
        for number, up in enumerate((True, True, False, True)):
            seeder.vote(t[f"agree{number}"], "U9", up=up)
        seeder.rate(t["agree0"], "U9", "accuracy", 4, "fine")
        seeder.rate(t["agree2"], "U9", "accuracy", 2, "poor")

    await asyncio.to_thread(seed)
    return data


def expected(data: Dataset, ui_base: str) -> dict[str, Any]:
    """The report on WINDOW, worked out by hand from the plan above.

    Votes: t1 👍👍, t2 👍 (overridden 👎), t3 👎, t4 👎 (overridden 👍), t6 👍, t7 👎; t9's 👎
    is a judge's, not a person's. Scores: t4 1, t3 (1+2+1)/3, t7 (1+3)/2; the rest ≥ 3.
    """
    t = data.traces

    def low(key: str, score: float, up: int, down: int, ratings: int, comment: str | None) -> dict:
        return {
            "trace_id": t[key],
            "score": score,
            "up": up,
            "down": down,
            "ratings": ratings,
            "comment": comment,
            "trace_url": trace_url(ui_base, data.experiment_id, t[key]),
        }

    return {
        "answers": 9,
        "answers_with_feedback": 6,
        "feedback_rate_pct": 66.7,
        "votes": {"up": 4, "down": 3, "positive_rate_pct": 57.1},
        "ratings": {
            "accuracy": {"count": 2, "average": 3.0},
            "helpfulness": {"count": 2, "average": 2.0},
            "relevance": {"count": 1, "average": 5.0},
        },
        "trend": [
            {"start": "2021-03-01", "answers": 2, "up": 3, "down": 0, "positive_rate_pct": 100.0},
            {"start": "2021-03-02", "answers": 3, "up": 0, "down": 2, "positive_rate_pct": 0.0},
            {"start": "2021-03-03", "answers": 4, "up": 1, "down": 1, "positive_rate_pct": 50.0},
            {"start": "2021-03-04", "answers": 0, "up": 0, "down": 0, "positive_rate_pct": None},
        ],
        "lowest_rated": [
            low("t4", 1.0, 0, 1, 0, None),
            low("t3", 1.33, 0, 1, 2, "useless"),
            low("t7", 2.0, 0, 1, 1, "meh"),
        ],
        "most_negative_channels": [
            {"channel": data.dm, "answers": 1, "up": 0, "down": 1},
            {"channel": data.cb, "answers": 3, "up": 1, "down": 1},
            {"channel": data.ca, "answers": 5, "up": 3, "down": 1},
        ],
    }


# -- helpers ----------------------------------------------------------------------------------


_TREND_ROW = re.compile(
    r"^(\d{4}-\d{2}-\d{2})\s+[█▏▎▍▌▋▊▉ ]*?\s*(\d+)(?:\s+(\d+)/(\d+)\s+([\d.]+)%)?$"
)


def trend_rows(block_text: str) -> list[dict[str, Any]]:
    rows = []
    for line in block_text.splitlines():
        match = _TREND_ROW.match(line)
        if match:
            day, answers, up, votes, rate = match.groups()
            rows.append(
                {
                    "start": day,
                    "answers": int(answers),
                    "up": int(up or 0),
                    "down": int(votes or 0) - int(up or 0),
                    "positive_rate_pct": float(rate) if rate else None,
                }
            )
    return rows


def chart_points(chart: dict[str, Any]) -> dict[str, list[float]]:
    """A line or bar chart's series: name → values, checked to follow the categories."""
    categories = chart["chart"]["axis_config"]["categories"]
    series = {}
    for one in chart["chart"]["series"]:
        assert [point["label"] for point in one["data"]] == categories
        series[one["name"]] = [point["value"] for point in one["data"]]
    return series


def assert_trend_chart(chart: dict[str, Any], trend: list[dict[str, Any]]) -> None:
    """The chart draws each day of `trend` (JSON rows) that has votes: rate and votes."""
    voted = [row for row in trend if row["up"] + row["down"]]
    labels = [f"{datetime.fromisoformat(row['start']):%b %d}" for row in voted]
    assert chart["chart"]["type"] == "line"
    assert chart["chart"]["axis_config"]["categories"] == labels
    assert chart_points(chart) == {
        "Positive rate (%)": [row["positive_rate_pct"] for row in voted],
        "Votes": [row["up"] + row["down"] for row in voted],
    }


def assert_channels_table(table: dict[str, Any], channels: list[dict[str, Any]]) -> None:
    header, *rows = table["rows"]
    assert [cell["text"] for cell in header] == ["Channel", "👎", "👍", "Answers"]
    assert len(rows) == len(channels)
    for row, channel in zip(rows, channels, strict=True):
        shown = row[0].get("text") or row[0]["elements"][0]["elements"][0]["channel_id"]
        assert channel["channel"] in shown
        values = [cell["value"] for cell in row[1:]]
        assert values == [channel["down"], channel["up"], channel["answers"]]


def assert_slack_report(message: dict[str, Any], want: dict[str, Any]) -> None:
    """Every number of `want` (as in the JSON report) is in the Slack message, in its charts
    and table or, where Slack refused those, in its text form."""
    blocks = message["blocks"]
    assert len(blocks) <= 50
    all_text = texts(blocks)
    joined = "\n".join(all_text)
    assert f"*Answers*\n{want['answers']}" in all_text
    assert (
        f"*With feedback*\n{want['answers_with_feedback']} ({want['feedback_rate_pct']:g}%)"
        in all_text
    )
    votes = want["votes"]
    assert f"*Votes*\n👍 {votes['up']} · 👎 {votes['down']}" in all_text
    assert f"*Positive rate*\n{votes['positive_rate_pct']:g}%" in all_text
    for dimension, rating in want["ratings"].items():
        plural = "" if rating["count"] == 1 else "s"
        average = "–" if rating["average"] is None else f"{rating['average']:.2f}"
        assert (
            f"*{dimension.capitalize()}* (1–5)\n{average} · {rating['count']} rating{plural}"
            in all_text
        )
    charts = {b["title"]: b for b in blocks if b["type"] == "data_visualization"}
    tables = [b for b in blocks if b["type"] == "data_table"]
    if charts:
        assert_trend_chart(charts["Positive rate and votes"], want["trend"])
        assert not any(text.startswith("*Trend per day*") for text in all_text)
    else:
        trend_text = next(text for text in all_text if text.startswith("*Trend per day*"))
        assert trend_rows(trend_text) == want["trend"]
    sections = section_texts(blocks)
    lowest = [s for s in sections if re.match(r"^\*\d\.\* score", s)]
    assert len(lowest) == len(want["lowest_rated"])
    for section, answer in zip(lowest, want["lowest_rated"], strict=True):
        assert f"score *{answer['score']:.2f}*" in section
        assert f"👎 {answer['down']}" in section
        assert f"<{answer['trace_url']}|trace in MLflow>" in section
        if answer["comment"]:
            assert f"“{answer['comment']}”" in section
        # User text is made inert: no raw `<reset>`, no `&` breaking the markup.
        assert "&lt;reset&gt;" in section and "&amp; token" in section
    if tables:
        [table] = tables
        assert_channels_table(table, want["most_negative_channels"])
        assert "Building" not in joined
        return
    channels = next(s for s in sections if s.startswith("*Most 👎 by channel*")).splitlines()[1:]
    assert len(channels) == len(want["most_negative_channels"])
    for line, channel in zip(channels, want["most_negative_channels"], strict=True):
        assert channel["channel"] in line
        answers = f"{channel['answers']} answer{'' if channel['answers'] == 1 else 's'}"
        assert f"👎 {channel['down']} · 👍 {channel['up']} · {answers}" in line
    assert "Building" not in joined


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """The JSON report reduced to what `expected` holds."""
    keys = ("trace_id", "score", "up", "down", "ratings", "comment", "trace_url")
    return {
        "answers": report["answers"],
        "answers_with_feedback": report["answers_with_feedback"],
        "feedback_rate_pct": report["feedback_rate_pct"],
        "votes": report["votes"],
        "ratings": report["ratings"],
        "trend": report["trend"]["rows"],
        "lowest_rated": [{k: a[k] for k in keys} for a in report["lowest_rated"]],
        "most_negative_channels": report["most_negative_channels"],
    }


# -- the slash command ------------------------------------------------------------------------


async def test_admin_gets_the_full_report_with_every_number(
    sender: SlackSender, slack: SlackEmulator, dataset: Dataset, mlflow_server: MlflowServer
) -> None:
    ack, key = await run_command(sender, slack, ADMIN, WINDOW)
    assert ack["text"] == BUILDING
    message = await report_message(slack, key)
    want = expected(dataset, mlflow_server.url)
    assert {b["type"] for b in message["blocks"]} >= {"data_visualization", "data_table"}
    assert_slack_report(message, want)
    assert "no answers" not in message["text"].lower()
    assert "9 answers" in message["text"]

    # Links: t4's answer message; t3 has no answer ts, so its question; the DM answer none.
    sections = section_texts(message["blocks"])
    lowest = [s for s in sections if re.match(r"^\*\d\.\* score", s)]
    t4_link = f"/archives/{dataset.cb}/p{dataset.answer_ts['t4'].replace('.', '')}|"
    t3_link = f"/archives/{dataset.ca}/p{dataset.question_ts['t3'].replace('.', '')}|"
    assert t4_link in lowest[0] and "message in Slack" in lowest[0]
    assert t3_link in lowest[1]
    assert "message in Slack" not in lowest[2] and "a DM" in lowest[2]


async def test_where_slack_refuses_charts_the_same_report_comes_as_text_from_then_on(
    sender: SlackSender, slack: SlackEmulator, dataset: Dataset, mlflow_server: MlflowServer
) -> None:
    slack.data_blocks_refused_by.add("response_url")
    refusals = len(slack.data_blocks_refusals)
    channel = new_id("C")
    _, key = await run_command(sender, slack, ADMIN, WINDOW, channel_id=channel)
    message = await report_message(slack, key)
    assert not {"data_visualization", "data_table"} & {b["type"] for b in message["blocks"]}
    assert_slack_report(message, expected(dataset, mlflow_server.url))
    assert "9 answers" in message["text"]
    assert len(slack.data_blocks_refusals) == refusals + 1
    # Remembered for that surface: the next report there is not tried with charts again.
    _, key = await run_command(sender, slack, ADMIN, WINDOW, channel_id=channel)
    assert_slack_report(await report_message(slack, key), expected(dataset, mlflow_server.url))
    assert len(slack.data_blocks_refusals) == refusals + 1


async def test_a_channel_given_by_name_or_link_scopes_the_report(
    sender: SlackSender, slack: SlackEmulator, dataset: Dataset
) -> None:
    # By name, the first channel: t1, t2, t3, t8, t9; feedback on t1-t3; 👍 t1 ×2, t2; 👎 t3.
    # By link, the second: t4, t5, t6; 👎 t4 (changed from 👍), 👍 t6; relevance 5 (was 3).
    cases = {
        f"#{dataset.ca_name} {WINDOW}": (dataset.ca, 5, "3 (60%)", "👍 3 · 👎 1", "75%"),
        f"{WINDOW} <#{dataset.cb}|whatever>": (dataset.cb, 3, "2 (66.7%)", "👍 1 · 👎 1", "50%"),
    }
    for text, (channel, answers, with_feedback, votes, positive) in cases.items():
        _, key = await run_command(sender, slack, ADMIN, text)
        all_text = texts((await report_message(slack, key))["blocks"])
        assert f"*Answers*\n{answers}" in all_text
        assert f"*With feedback*\n{with_feedback}" in all_text
        assert f"*Votes*\n{votes}" in all_text
        assert f"*Positive rate*\n{positive}" in all_text
        assert any(f"· <#{channel}>" in text for text in all_text)
    assert "*Relevance* (1–5)\n5.00 · 1 rating" in all_text


async def test_an_unknown_channel_name_is_said_plainly(
    sender: SlackSender, slack: SlackEmulator, dataset: Dataset
) -> None:
    ack, key = await run_command(sender, slack, ADMIN, "#no-such-channel-here 7d")
    assert ack["text"] == BUILDING
    message = await report_message(slack, key)
    assert message["text"] == (
        "I could not find a channel named #no-such-channel-here that I can see."
    )
    assert not message.get("blocks")


async def test_an_empty_window_says_so(sender: SlackSender, slack: SlackEmulator) -> None:
    _, key = await run_command(sender, slack, ADMIN, "2019-01-01..2019-01-31")
    message = await report_message(slack, key)
    assert "no answers in this window" in message["text"].lower()
    all_text = texts(message["blocks"])
    assert "*No answers in this window.*" in all_text
    assert not any("*Answers*" in text for text in all_text)


@pytest.mark.parametrize(
    "text",
    ["yesterday", "7d 30d", "2021-03-05..2021-03-01", "2020-01-01..2021-12-31", "#a #b", "7"],
)
async def test_bad_arguments_get_the_usage_and_nothing_is_computed(
    sender: SlackSender, slack: SlackEmulator, text: str
) -> None:
    ack, key = await run_command(sender, slack, ADMIN, text)
    assert "Usage" in ack["text"] and "/feedback-report [window] [channel]" in ack["text"]
    await after_a_control_report(sender, slack)
    assert slack.response_url_posts.get(key) in (None, [])


async def test_help_explains_the_definitions(
    transport_sender: Sender, slack: SlackEmulator
) -> None:
    """Over both transports (signed HTTP and Socket Mode)."""
    ack, key = await run_command(transport_sender, slack, ADMIN, "help")
    all_text = "\n".join(texts(ack["blocks"]))
    for words in ("Feedback rate", "Positive rate", "👍 = 5, 👎 = 1", "below 3", "24h, 7d"):
        assert words in all_text
    await after_a_control_report(transport_sender, slack)
    assert slack.response_url_posts.get(key) in (None, [])


@pytest.mark.parametrize(
    ("user", "user_name", "text"),
    [
        ("UNOBODY1", "someone", "7d"),
        ("UNOBODY2", "UADMIN1", WINDOW),  # a name that looks like an admin's ID
        ("UNOBODY3", "admin", "7d&user_id=UADMIN1"),  # text trying to smuggle a field
        ("UPLAINUSER", "plain", WINDOW),  # a known user who is no workspace admin
        ("UUNKNOWN9", "ghost", WINDOW),  # users.info does not know them
    ],
)
async def test_anyone_but_an_admin_is_refused_without_numbers(
    sender: SlackSender, slack: SlackEmulator, bot: BotProcess, user: str, user_name: str, text: str
) -> None:
    slack.users["UPLAINUSER"] = {"id": "UPLAINUSER", "is_admin": False, "is_owner": False}
    ack, key = await run_command(sender, slack, user, text, user_name=user_name)
    assert ack["text"] == REFUSAL
    assert not re.search(r"\d", ack["text"]) and "blocks" not in ack
    await after_a_control_report(sender, slack)
    assert slack.response_url_posts.get(key) in (None, [])
    assert f"refused /feedback-report to {user}" in bot.log()


async def test_a_workspace_admin_may_run_it_when_allowed(
    sender: SlackSender, slack: SlackEmulator, dataset: Dataset, mlflow_server: MlflowServer
) -> None:
    slack.users["UWSOWNER"] = {"id": "UWSOWNER", "is_admin": False, "is_owner": True}
    ack, key = await run_command(sender, slack, "UWSOWNER", WINDOW)
    assert ack["text"] == BUILDING
    message = await report_message(slack, key)
    assert_slack_report(message, expected(dataset, mlflow_server.url))


async def test_only_listed_admins_when_workspace_admins_are_not_allowed(
    slack: SlackEmulator, mlflow_server: MlflowServer
) -> None:
    slack.users["UWSADMIN"] = {"id": "UWSADMIN", "is_admin": True}
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    reports = FeedbackReportCommand(settings(mlflow_server.url, allow_workspace_admins=False))
    answer = await reports.acknowledge(Invocation("UWSADMIN", "7d", "unused"), client)
    assert answer.message.text == REFUSAL and answer.report is None
    answer = await reports.acknowledge(Invocation(ADMIN, "7d", "unused"), client)
    assert answer.message.text == BUILDING and answer.report is not None


def settings(
    tracking_uri: str, *, allow_workspace_admins: bool = True, **tracking: int
) -> Settings:
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        mlflow_tracking_uri=tracking_uri,
        feedback_report_admins=ADMIN,
        feedback_report_allow_workspace_admins=allow_workspace_admins,
        **tracking,
    )


async def report_in_process(slack: SlackEmulator, reports: FeedbackReportCommand) -> str:
    """The report's text as posted to the response_url, built in this process."""
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    key = new_id("R")
    response_url = f"{slack.base_url}/response/{key}"
    with mlflow_client_restored():
        answer = await reports.acknowledge(Invocation(ADMIN, "7d", response_url), client)
        assert answer.message.text == BUILDING and answer.report is not None
        await reports.build_and_post(answer.report, response_url, client)
    message = await report_message(slack, key)
    assert not message.get("blocks")
    return str(message["text"])


async def test_a_tracking_server_that_is_down_is_reported_plainly(slack: SlackEmulator) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    reports = FeedbackReportCommand(settings(dead, mlflow_request_retries=0))
    text = await report_in_process(slack, reports)
    assert text.startswith("Sorry, the feedback report could not be built:")
    assert "MLflow tracking server did not answer" in text


class SilentServer:
    """Accepts connections and never answers (a tracking server that hangs)."""

    def __init__(self) -> None:
        self.connections = 0
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        self._server.close()
        await self._server.wait_closed()


@pytest.mark.parametrize("retries", [0, 1])
async def test_a_hanging_tracking_server_costs_the_timeout_per_try(
    slack: SlackEmulator, retries: int
) -> None:
    """MLFLOW_REQUEST_TIMEOUT_S bounds each request, MLFLOW_REQUEST_RETRIES counts the tries."""
    silent = SilentServer()
    url = await silent.start()
    reports = FeedbackReportCommand(
        settings(url, mlflow_request_timeout_s=1, mlflow_request_retries=retries)
    )
    started = time.monotonic()
    text = await report_in_process(slack, reports)
    elapsed = time.monotonic() - started
    await silent.stop()
    assert "MLflow tracking server did not answer" in text
    assert silent.connections == retries + 1
    assert retries + 1 <= elapsed < 2 * (retries + 1) + 1


# -- the command line -------------------------------------------------------------------------


async def test_cli_json_has_the_same_numbers_as_slack(
    dataset: Dataset, mlflow_server: MlflowServer, experiment_name: str
) -> None:
    env = cli_env(mlflow_server, experiment_name)
    report = json.loads(await cli_output(env, "report", "--since", WINDOW, "--format", "json"))
    assert comparable(report) == expected(dataset, mlflow_server.url)
    assert report["window"]["start"] == "2021-03-01T00:00:00+00:00"
    assert report["window"]["end"] == "2021-03-05T00:00:00+00:00"
    assert report["channel"] is None
    assert report["experiment_id"] == dataset.experiment_id
    assert report["lowest_rated"][1]["question"] == (
        "Question t3: how do I <reset> my VPN & token?"
    )


async def test_cli_csv_and_text_carry_the_same_numbers(
    dataset: Dataset, mlflow_server: MlflowServer, experiment_name: str
) -> None:
    env = cli_env(mlflow_server, experiment_name)
    output = await cli_output(env, "report", "--since", WINDOW, "--format", "csv")
    rows = {
        (row["section"], row["key"], row["metric"]): row["value"]
        for row in csv.DictReader(io.StringIO(output))
    }
    assert rows[("summary", "", "answers")] == "9"
    assert rows[("summary", "", "feedback_rate_pct")] == "66.7"
    assert rows[("votes", "", "positive_rate_pct")] == "57.1"
    assert rows[("rating", "helpfulness", "average")] == "2.0"
    assert rows[("trend", "2021-03-02", "down")] == "2"
    assert rows[("trend", "2021-03-04", "positive_rate_pct")] == ""
    assert rows[("lowest_rated", dataset.traces["t3"], "score")] == "1.33"
    assert rows[("negative_channel", dataset.dm, "down")] == "1"

    text = await cli_output(env, "report", "--since", WINDOW)
    assert "Answers:            9" in text
    assert "With feedback:      6 (66.7% feedback rate)" in text
    assert "Votes:              4 up, 3 down (57.1% positive)" in text


async def test_cli_channel_scope(
    dataset: Dataset, mlflow_server: MlflowServer, experiment_name: str
) -> None:
    env = cli_env(mlflow_server, experiment_name)
    args = ("report", "--since", WINDOW, "--channel", dataset.cb, "--format", "json")
    report = json.loads(await cli_output(env, *args))
    assert report["channel"] == dataset.cb
    assert (report["answers"], report["answers_with_feedback"]) == (3, 2)
    assert report["votes"] == {"up": 1, "down": 1, "positive_rate_pct": 50.0}


async def test_cli_relative_windows(mlflow_server: MlflowServer) -> None:
    """24h, 7d (the default) and 30d end now; a separate experiment holds these answers."""
    name = f"report-cli-{new_id('X').lower()}"
    now = datetime.now(UTC)
    cx, cy = new_id("C"), new_id("C")

    def seed() -> None:
        seeder = FeedbackSeeder(mlflow_server.url, name)
        ids = [
            seeder.answer(
                started=now - age,
                channel=channel,
                asker="U1",
                question="q",
                answer="a",
                question_ts=f"{now.timestamp() - age.total_seconds():.6f}",
            )
            for age, channel in (
                (timedelta(hours=1), cx),
                (timedelta(days=3), cx),
                (timedelta(days=10), cy),
                (timedelta(days=45), cx),
            )
        ]
        seeder.wait_exported()
        seeder.vote(ids[0], "U1", up=False)
        seeder.vote(ids[1], "U1", up=True)
        seeder.vote(ids[2], "U2", up=True)
        seeder.rate(ids[2], "U2", "accuracy", 5)
        seeder.vote(ids[3], "U1", up=False)

    await asyncio.to_thread(seed)
    env = {"MLFLOW_TRACKING_URI": mlflow_server.url, "MLFLOW_EXPERIMENT_NAME": name}

    async def report(*args: str) -> dict[str, Any]:
        return dict(json.loads(await cli_output(env, "report", "--format", "json", *args)))

    day = await report("--since", "24h")
    assert (day["answers"], day["votes"]["down"], day["votes"]["up"]) == (1, 1, 0)
    assert len(day["trend"]["rows"]) == 2  # 24 hours touch two UTC days
    week = await report()
    assert week["window"]["spec"] == "7d" and len(week["trend"]["rows"]) == 8
    assert (week["answers"], week["votes"]["positive_rate_pct"]) == (2, 50.0)
    month = await report("--since", "30d")
    assert (month["answers"], month["answers_with_feedback"]) == (3, 3)
    assert month["votes"] == {"up": 2, "down": 1, "positive_rate_pct": 66.7}
    assert month["ratings"]["accuracy"] == {"count": 1, "average": 5.0}
    only_cy = await report("--since", "30d", "--channel", cy)
    assert only_cy["answers"] == 1 and only_cy["most_negative_channels"] == []


@pytest.mark.slow  # starts a process
def test_cli_needs_no_slack_settings_and_says_what_is_missing() -> None:
    result = run_cli({}, "report")
    assert result.returncode == 2
    assert "MLFLOW_TRACKING_URI is not set" in result.stderr
    assert "SLACK" not in result.stderr
    result = run_cli({"MLFLOW_TRACKING_URI": "http://127.0.0.1:1"}, "report", "--since", "3d")
    assert result.returncode == 2
    assert "'3d' is not a window" in result.stderr
    result = run_cli({"MLFLOW_TRACKING_URI": "http://127.0.0.1:1"}, "export", "--channel", "x")
    assert result.returncode == 2 and "not a channel ID" in result.stderr


@pytest.mark.slow  # starts a process
def test_cli_with_the_tracking_server_down_says_so_and_exits_1() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    for command in ("report", "export"):
        result = run_cli({"MLFLOW_TRACKING_URI": dead}, command)
        assert result.returncode == 1
        assert "error: the MLflow tracking server did not answer" in result.stderr
        assert dead in result.stderr
        assert result.stdout == ""


# -- export -----------------------------------------------------------------------------------


async def test_export_writes_one_line_per_answer_with_feedback(
    dataset: Dataset, mlflow_server: MlflowServer, experiment_name: str, tmp_path: Path
) -> None:
    env = cli_env(mlflow_server, experiment_name)
    lines = (await cli_output(env, "export", "--since", WINDOW)).splitlines()
    records = {r["trace_id"]: r for r in map(check_export_line, lines)}
    t = dataset.traces
    assert set(records) == {t[k] for k in ("t1", "t2", "t3", "t4", "t6", "t7")}
    t2 = records[t["t2"]]
    assert [(v["user"], v["value"]) for v in t2["votes"]] == [("U1", True)]  # the changed vote
    assert t2["ratings"][0] | {"at": None} == {
        "user": "U1",
        "dimension": "accuracy",
        "score": 4,
        "comment": "solid",
        "at": None,
    }
    assert t2["question"] == "Question t2: how do I <reset> my VPN & token?"
    assert t2["answer"] == "Answer t2"
    assert (t2["asker"], t2["channel"]) == ("U2", dataset.ca)
    assert t2["question_ts"] == dataset.question_ts["t2"]
    assert t2["answer_ts"] == dataset.answer_ts["t2"]
    assert t2["session"] == f"{dataset.ca}:{dataset.question_ts['t2']}"
    assert t2["answered_at"] == "2021-03-01T15:00:00+00:00"
    assert [r["score"] for r in records[t["t6"]]["ratings"]] == [5]  # the changed rating

    out = tmp_path / "negative.jsonl"
    args = ("export", "--since", WINDOW, "--negative-only", "--output", str(out))
    assert await cli_output(env, *args) == ""
    negative = [check_export_line(line) for line in out.read_text().splitlines()]
    assert {r["trace_id"] for r in negative} == {t["t3"], t["t4"], t["t7"]}
    assert not await asyncio.to_thread(lambda: list(tmp_path.glob("*.partial")))


# -- the seed's analysis, on the same data ------------------------------------------------------


async def seed_analysis(
    tracking: Tracking, window: str, channel: str | None = None
) -> tuple[dict[str, float], dict[str, float]]:
    first, last = window.split("..")
    start = int(datetime.fromisoformat(first).replace(tzinfo=UTC).timestamp() * 1000)
    end = datetime.fromisoformat(last).replace(tzinfo=UTC) + timedelta(days=1)
    query = f"trace.timestamp_ms >= {start} AND trace.timestamp_ms < {int(end.timestamp()) * 1000}"
    if channel:
        query += f" AND tags.`slack.channel` = '{channel}'"
    traces = await tracking.asearch(query)
    return await asyncio.gather(
        asyncio.to_thread(analyze_user_feedback, tracking.client, traces),
        asyncio.to_thread(analyze_ratings, tracking.client, traces),
    )


async def test_the_seed_analysis_counts_differently_on_changed_votes(
    dataset: Dataset, tracking: Tracking, mlflow_server: MlflowServer, experiment_name: str
) -> None:
    feedback, ratings = await seed_analysis(tracking, WINDOW)
    # 7 traces with any assessment (t9's judge vote too) of 9; 👍 5 and 👎 5 counting the
    # overridden votes and the judge; 5 👍 / 7 traces.
    assert feedback["total_traces"] == 9
    assert feedback["traces_with_feedback"] == 7
    assert (feedback["positive_count"], feedback["negative_count"]) == (5, 5)
    assert round(feedback["feedback_rate"], 1) == 77.8
    assert round(feedback["positive_rate"], 1) == 71.4
    # The overridden relevance 3 still counts: (0.6 + 1.0) / 2 instead of 1.0.
    assert {d: round(v * 5, 2) for d, v in ratings.items()} == {
        "accuracy": 3.0,
        "helpfulness": 2.0,
        "relevance": 4.0,
    }
    # The bot's report of the same traces counts valid human votes only.
    env = cli_env(mlflow_server, experiment_name)
    ours = json.loads(await cli_output(env, "report", "--since", WINDOW, "--format", "json"))
    assert (ours["feedback_rate_pct"], ours["votes"]["positive_rate_pct"]) == (66.7, 57.1)
    assert (ours["votes"]["up"], ours["votes"]["down"]) != (5, 5)


async def test_the_seed_analysis_agrees_when_every_answer_has_one_vote(
    dataset: Dataset, tracking: Tracking, mlflow_server: MlflowServer, experiment_name: str
) -> None:
    feedback, ratings = await seed_analysis(tracking, AGREE_WINDOW, dataset.agree_channel)
    env = cli_env(mlflow_server, experiment_name)
    args = ("report", "--since", AGREE_WINDOW, "--channel", dataset.agree_channel)
    ours = json.loads(await cli_output(env, *args, "--format", "json"))
    assert ours["answers"] == feedback["total_traces"] == 4
    assert ours["answers_with_feedback"] == feedback["traces_with_feedback"] == 4
    assert ours["feedback_rate_pct"] == round(feedback["feedback_rate"], 1) == 100.0
    assert ours["votes"]["positive_rate_pct"] == round(feedback["positive_rate"], 1) == 75.0
    assert ours["ratings"]["accuracy"]["average"] == round(ratings["accuracy"] * 5, 2) == 3.0
