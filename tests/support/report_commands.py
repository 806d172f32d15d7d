"""Running /feedback-report and the report CLI as a person would, and reading what they give
back: shared by the report's test modules."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from datetime import datetime
from typing import Any

from bot.report.args import COMMAND
from devkit.ids import new_id
from devkit.mlflow_server import MlflowServer
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import Workspace, person, slash_command
from devkit.slack_requests import Sender
from tests.support.commands import run_bot_command

ADMIN = "UADMIN1"  # FEEDBACK_REPORT_ADMINS of the suite's bot (tests/conftest.py)


def command(slack: SlackEmulator, user: str, text: str, key: str, **extra: str) -> dict[str, str]:
    workspace = Workspace.of(slack)
    fields = slash_command(
        workspace,
        person(workspace, user, extra.pop("user_name", "someone")),
        COMMAND,
        text,
        channel="C0ADMINS",
        channel_name="admins",
        response_url=f"{slack.base_url}/response/{key}",
        trigger_id=slack.new_trigger(),
    )
    return {**fields, **extra}


async def run_command(
    sender: Sender, slack: SlackEmulator, user: str, text: str, **extra: str
) -> tuple[dict[str, Any], str]:
    """Send the command; its acknowledgement (checked to come within 3 s) and response key."""
    key = new_id("R")
    started = time.monotonic()
    status, body = await sender.command(command(slack, user, text, key, **extra))
    assert time.monotonic() - started < 3.0
    assert status == 200, body
    ack = json.loads(body)
    assert ack.get("response_type") == "ephemeral"
    return ack, key


async def report_message(slack: SlackEmulator, key: str) -> dict[str, Any]:
    posts = await slack.wait_for(lambda: slack.response_url_posts.get(key), timeout=30)
    assert len(posts) == 1
    message = posts[0]
    assert message["replace_original"] is True
    assert message["response_type"] == "ephemeral"
    return dict(message)


async def after_a_control_report(sender: Sender, slack: SlackEmulator) -> None:
    """An admin's report sent now has been computed and posted: a report the command before
    it had started would have been posted by now too."""
    _, key = await run_command(sender, slack, ADMIN, "24h")
    await report_message(slack, key)


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text in the blocks, in order."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                if name == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return found


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


def run_cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return run_bot_command(*args, env=env, timeout_s=timeout)


async def cli_output(env: dict[str, str], *args: str) -> str:
    """What a successful `python -m bot ...` printed."""
    result = await asyncio.to_thread(run_cli, env, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def cli_env(mlflow_server: MlflowServer, experiment_name: str) -> dict[str, str]:
    return {"MLFLOW_TRACKING_URI": mlflow_server.url, "MLFLOW_EXPERIMENT_NAME": experiment_name}


def check_export_line(line: str) -> dict[str, Any]:
    record = json.loads(line)
    assert set(record) == {
        "trace_id",
        "question",
        "answer",
        "asker",
        "channel",
        "session",
        "question_ts",
        "answer_ts",
        "answered_at",
        "votes",
        "ratings",
        "reasons",
    }
    assert record["trace_id"].startswith("tr-")
    assert isinstance(record["question"], str) and record["question"]
    assert isinstance(record["answer"], str) and record["answer"]
    datetime.fromisoformat(record["answered_at"])
    assert record["votes"] or record["ratings"]
    for vote in record["votes"]:
        assert set(vote) == {"user", "value", "at"} and isinstance(vote["value"], bool)
        datetime.fromisoformat(vote["at"])
    for reason in record["reasons"]:
        assert set(reason) == {"user", "reason", "comment", "at"}
        datetime.fromisoformat(reason["at"])
    for rating in record["ratings"]:
        assert set(rating) == {"user", "dimension", "score", "comment", "at"}
        assert rating["dimension"] in ("accuracy", "helpfulness", "relevance")
        assert rating["score"] in (1, 2, 3, 4, 5)
        datetime.fromisoformat(rating["at"])
    return dict(record)
