"""The 👎 reasons in `/feedback-report`, `python -m bot report` and `export`, on answers seeded
in a real MLflow server (dated May 2021, in a channel of this module's own)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from devkit.ids import new_id
from devkit.mlflow_server import MlflowServer
from devkit.slack_api import SlackEmulator
from devkit.slack_requests import SlackSender
from devkit.traces import Tracking
from tests.support.report_commands import (
    ADMIN,
    check_export_line,
    cli_env,
    cli_output,
    report_message,
    run_command,
    section_texts,
)
from tests.support.report_seed import FeedbackSeeder

WINDOW = "2021-05-01..2021-05-02"


@dataclass
class Seeded:
    channel: str
    traces: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
async def seeded(tracking: Tracking, mlflow_server: MlflowServer, experiment_name: str) -> Seeded:
    """r1: two 👎 with reasons (one changed); r2: a 👎 with a reason, and a reason whose vote
    became 👍, and a low rating; r3: a 👍 with a reason (never counted)."""
    data = Seeded(new_id("C"))

    def seed() -> None:
        seeder = FeedbackSeeder(mlflow_server.url, experiment_name)
        for number, hour in ((1, 9), (2, 10), (3, 11)):
            data.traces[f"r{number}"] = seeder.answer(
                started=datetime(2021, 5, 1, hour, tzinfo=UTC),
                channel=data.channel,
                asker="U9",
                question=f"question r{number}",
                answer=f"answer r{number}",
                question_ts=f"1619859600.00000{number}",
            )
        seeder.wait_exported()
        r1, r2, r3 = data.traces["r1"], data.traces["r2"], data.traces["r3"]
        seeder.vote(r1, "U1", up=False)
        seeder.reason(r1, "U1", "inaccurate", "The dates are wrong")
        seeder.vote(r1, "U2", up=False)
        seeder.change_reason(r1, seeder.reason(r1, "U2", "outdated"), "U2", "inaccurate")
        seeder.vote(r2, "U3", up=False)
        seeder.reason(r2, "U3", "incomplete")
        seeder.change_vote(r2, seeder.vote(r2, "U4", up=False), "U4", up=True)
        seeder.reason(r2, "U4", "other", "kept, not counted")
        seeder.rate(r2, "U4", "accuracy", 1)
        seeder.vote(r3, "U5", up=True)
        seeder.reason(r3, "U5", "other")

    await asyncio.to_thread(seed)
    return data


async def counts_in_mlflow(tracking: Tracking, channel: str) -> Counter[str]:
    """The reasons MLflow holds on the window's answers: valid HUMAN reasons whose giver's
    valid vote on the answer is 👎."""
    start = int(datetime(2021, 5, 1, tzinfo=UTC).timestamp() * 1000)
    end = int(datetime(2021, 5, 3, tzinfo=UTC).timestamp() * 1000)
    traces = await tracking.asearch(
        f"trace.timestamp_ms >= {start} AND trace.timestamp_ms < {end}"
        f" AND tags.`slack.channel` = '{channel}'"
    )
    counts: Counter[str] = Counter()
    for trace in traces:
        valid = [
            a
            for a in trace.info.assessments
            if a.valid is not False and a.source.source_type == "HUMAN"
        ]
        down = {a.source.source_id for a in valid if a.name == "user_feedback" and a.value is False}
        counts.update(
            a.value
            for a in valid
            if a.name == "user_feedback_reason" and a.source.source_id in down
        )
    return counts


async def test_the_reason_counts_equal_what_mlflow_holds(
    seeded: Seeded, tracking: Tracking, mlflow_server: MlflowServer, experiment_name: str
) -> None:
    env = cli_env(mlflow_server, experiment_name)
    args = ("report", "--since", WINDOW, "--channel", seeded.channel)
    report = json.loads(await cli_output(env, *args, "--format", "json"))
    reasons = report["down_reasons"]
    assert reasons["counts"] == {"inaccurate": 2, "incomplete": 1}
    assert reasons["counts"] == dict(await counts_in_mlflow(tracking, seeded.channel))
    r1, r2 = seeded.traces["r1"], seeded.traces["r2"]
    assert [a["trace_id"] for a in report["lowest_rated"]] == [r1, r2]
    given = reasons["lowest_rated"]
    assert [(g["user"], g["reason"], g["comment"]) for g in given[r1]] == [
        ("U1", "inaccurate", "The dates are wrong"),
        ("U2", "inaccurate", None),
    ]
    assert [(g["user"], g["reason"]) for g in given[r2]] == [("U3", "incomplete")]

    text = await cli_output(env, *args)
    assert "Down reasons:       3 reasons given" in text
    assert "  inaccurate        2" in text
    assert "     reason:   inaccurate: “The dates are wrong”" in text
    csv_text = await cli_output(env, *args, "--format", "csv")
    assert "down_reason,incomplete,count,1" in csv_text.splitlines()


async def test_export_carries_the_reasons_and_negative_only_selects_them(
    seeded: Seeded, mlflow_server: MlflowServer, experiment_name: str
) -> None:
    env = cli_env(mlflow_server, experiment_name)
    args = ("export", "--since", WINDOW, "--channel", seeded.channel)
    every = [check_export_line(line) for line in (await cli_output(env, *args)).splitlines()]
    by_trace = {record["trace_id"]: record for record in every}
    r1, r2, r3 = (seeded.traces[k] for k in ("r1", "r2", "r3"))
    assert set(by_trace) == {r1, r2, r3}
    assert [(r["user"], r["reason"], r["comment"]) for r in by_trace[r1]["reasons"]] == [
        ("U1", "inaccurate", "The dates are wrong"),
        ("U2", "inaccurate", None),
    ]
    assert [r["reason"] for r in by_trace[r2]["reasons"]] == ["incomplete"]
    assert by_trace[r3]["reasons"] == []  # its giver's vote is 👍
    negative = (await cli_output(env, *args, "--negative-only")).splitlines()
    assert {json.loads(line)["trace_id"] for line in negative} == {r1, r2}


async def test_the_slack_report_shows_the_reasons(
    seeded: Seeded, sender: SlackSender, slack: SlackEmulator
) -> None:
    text = f"{WINDOW} <#{seeded.channel}|reasons>"
    _, key = await run_command(sender, slack, ADMIN, text)
    blocks = (await report_message(slack, key))["blocks"]
    [chart] = [b for b in blocks if b.get("title") == "👎 reasons"]
    assert chart["chart"]["axis_config"]["categories"] == ["inaccurate", "incomplete"]
    assert [p["value"] for p in chart["chart"]["series"][0]["data"]] == [2, 1]
    # The text form, where Slack refuses charts:
    slack.data_blocks_refused_by.add("response_url")
    _, key = await run_command(sender, slack, ADMIN, text, channel_id=new_id("C"))
    sections = section_texts((await report_message(slack, key))["blocks"])
    assert "*👎 reasons* (3 given)\ninaccurate 2 · incomplete 1\n✏️ 0 answers corrected" in sections
    lowest = [s for s in sections if s.startswith("*1.* score")]
    assert "👎 inaccurate: “The dates are wrong”" in lowest[0].splitlines()
