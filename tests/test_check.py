"""`python -m bot check`: one PASS/FAIL line per part, non-zero when any fails."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from devkit.bot_process import clean_environment
from devkit.ids import new_id
from devkit.mlflow_server import MlflowServer
from devkit.ports import free_port
from devkit.slack_api import SlackEmulator
from tests.support.suite import BOT_TOKEN, LLM_KEY, ROOT_DIR, SIGNING_SECRET


async def run_check(env: dict[str, str]) -> tuple[int, str]:
    """Run the check as a person would (the emulators answer from this event loop)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "check",
        cwd=ROOT_DIR,
        env=clean_environment(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, output.decode()


def line(output: str, part: str) -> str:
    found = [row for row in output.splitlines() if row[6:].startswith(part + " ")]
    assert len(found) == 1, f"no single {part!r} line in:\n{output}"
    return found[0]


def no_secrets(output: str) -> None:
    for secret in (BOT_TOKEN, SIGNING_SECRET, LLM_KEY):
        assert secret not in output


async def test_against_working_parts_every_line_passes(bot_env: dict[str, str]) -> None:
    code, output = await run_check(bot_env)
    assert code == 0, output
    assert line(output, "config").startswith("PASS")
    assert line(output, "slack").startswith("PASS") and "T0TEAM" in line(output, "slack")
    tracking = line(output, "tracking")
    assert tracking.startswith("PASS") and bot_env["MLFLOW_TRACKING_URI"] in tracking
    assert bot_env["MLFLOW_EXPERIMENT_NAME"] in tracking
    llm = line(output, "llm")
    assert llm.startswith("PASS") and "emulated-model" in llm
    assert line(output, "dataset").startswith("PASS")  # created on first use, or named
    no_secrets(output)


async def test_a_dead_tracking_server_fails_its_line_with_the_reason(
    bot_env: dict[str, str],
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    code, output = await run_check({**bot_env, "MLFLOW_TRACKING_URI": dead})
    assert code == 1, output
    tracking = line(output, "tracking")
    assert tracking.startswith("FAIL")
    assert dead in tracking and "unreachable" in tracking and "onnect" in tracking
    assert line(output, "slack").startswith("PASS")
    assert line(output, "llm").startswith("PASS")


async def test_a_wrong_slack_token_or_llm_key_fails_those_lines(bot_env: dict[str, str]) -> None:
    wrong = {"SLACK_BOT_TOKEN": "xoxb-wrong-token", "OPENAI_API_KEY": "sk-wrong-key"}
    code, output = await run_check({**bot_env, **wrong})
    assert code == 1, output
    assert line(output, "slack").startswith("FAIL") and "invalid_auth" in line(output, "slack")
    assert line(output, "llm").startswith("FAIL") and "HTTP 401" in line(output, "llm")
    assert line(output, "tracking").startswith("PASS")
    assert "xoxb-wrong-token" not in output and "sk-wrong-key" not in output


async def test_a_missing_setting_fails_the_config_line_naming_it(bot_env: dict[str, str]) -> None:
    env = {k: v for k, v in bot_env.items() if k != "SLACK_SIGNING_SECRET"}
    code, output = await run_check(env)
    assert code == 1
    assert line(output, "config").startswith("FAIL")
    assert "SLACK_SIGNING_SECRET is not set" in output


async def test_a_server_without_a_sql_backend_fails_the_dataset_line(
    bot_env: dict[str, str], tmp_path: Path
) -> None:
    server = MlflowServer(tmp_path / "file-store", file_store=True)
    await asyncio.to_thread(server.start)
    try:
        code, output = await run_check({**bot_env, "MLFLOW_TRACKING_URI": server.url})
    finally:
        await asyncio.to_thread(server.stop)
    assert code == 1, output
    dataset = line(output, "dataset")
    assert dataset.startswith("FAIL") and "SQL backend" in dataset, dataset
    assert line(output, "tracking").startswith("PASS")


async def test_the_digest_and_alert_channels_are_checked(
    bot_env: dict[str, str], slack: SlackEmulator
) -> None:
    digest, alerts = new_id("C"), new_id("C")
    slack.add_channel(digest, "feedback-digest")
    slack.add_channel(alerts, "feedback-alerts", member=False)
    channels = {"FEEDBACK_DIGEST_CHANNEL": digest, "FEEDBACK_ALERT_CHANNEL": alerts}
    code, output = await run_check({**bot_env, **channels})
    assert code == 1, output
    assert line(output, "digest").startswith("PASS") and "#feedback-digest" in output
    refused = line(output, "alerts")
    assert refused.startswith("FAIL") and "not_in_channel" in refused
    assert "invite" in refused and "#feedback-alerts" in refused
    slack.add_channel(alerts, "feedback-alerts")
    code, output = await run_check({**bot_env, **channels})
    assert code == 0, output
    assert line(output, "alerts").startswith("PASS")
