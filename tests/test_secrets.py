"""Secrets stay secret: the bot token, the signing secret and the LLM key appear in no log line
(at DEBUG, libraries included), no trace, no assessment, no error message, no health report,
and no printed form of the settings."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.common.secret_redaction import REDACTED, install_secret_redaction
from config import ConfigError, load_settings
from devkit.bot_process import BotProcess
from devkit.conversation import final_answer, open_rating_modal, trace_id_of
from devkit.ids import new_id
from devkit.llm_api import LlmEmulator
from devkit.mlflow_server import MlflowServer
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import dm, rating_submission, vote_click
from devkit.slack_requests import SlackSender
from devkit.traces import Tracking
from devkit.waiting import eventually
from tests.support.suite import BOT_TOKEN, LLM_KEY, SIGNING_SECRET, TEAM_ID

pytestmark = pytest.mark.slow

APP_TOKEN = "xapp-1-secret-" + uuid.uuid4().hex
SECRETS = {"bot token": BOT_TOKEN, "signing secret": SIGNING_SECRET, "LLM key": LLM_KEY}


def leaks(text: str, secrets: dict[str, str] = SECRETS) -> list[str]:
    return [name for name, value in secrets.items() if value in text]


@dataclass
class DebugBot:
    process: BotProcess
    sender: SlackSender
    tracking: Tracking


@pytest.fixture(scope="module")
async def debug_bot(
    bot_env: dict[str, str], tmp_root: Path, mlflow_server: MlflowServer
) -> AsyncIterator[DebugBot]:
    experiment = f"secrets-{uuid.uuid4().hex[:8]}"
    env = {
        **bot_env,
        "LOG_LEVEL": "DEBUG",
        "MLFLOW_EXPERIMENT_NAME": experiment,
        "BOT_DATA_DIR": str(tmp_root / experiment),
    }
    process = BotProcess(env, tmp_root / f"{experiment}.log")
    await asyncio.to_thread(process.start)
    sender = SlackSender(process.url, SIGNING_SECRET, TEAM_ID, "ABOT")
    try:
        tracking = await asyncio.to_thread(Tracking, mlflow_server.url, experiment)
        yield DebugBot(process, sender, tracking)
    finally:
        await sender.close()
        await asyncio.to_thread(process.stop)


async def test_a_whole_conversation_leaks_no_secret(
    debug_bot: DebugBot, slack: SlackEmulator, llm: LlmEmulator
) -> None:
    sender, tracking = debug_bot.sender, debug_bot.tracking
    seen: list[str] = []  # every response body the bot gave

    # A question, its answer, a vote and a detailed rating.
    user, channel = new_id("U"), new_id("D")
    await sender.event(dm(user, channel, "What is the wifi password?"))
    answer = await final_answer(slack, channel)
    trace_id = trace_id_of(answer)
    seen.append((await sender.interaction(vote_click(slack, answer, user)))[1])
    view = await open_rating_modal(sender, slack, answer, user)
    scores = {"accuracy": "5", "helpfulness": "4", "relevance": "3"}
    submission = rating_submission(view, user, scores, "no secrets here")
    seen.append((await sender.interaction(submission))[1])

    async def all_feedback() -> list:
        valid = await tracking.valid_assessments(trace_id)
        assert len(valid) == 4
        return valid

    await eventually(all_feedback)

    # Errors: a forged signature, a stale one, and an LLM that quotes the key it was given.
    body = json.dumps({"type": "event_callback", "event": dm(user, channel, "hi")}).encode()
    status, text = await sender.post(body, "application/json", signature="v0=" + "0" * 64)
    assert status == 401
    seen.append(text)
    status, text = await sender.post(body, "application/json", timestamp=int(time.time()) - 900)
    assert status == 401
    seen.append(text)
    llm.mode = "unauthorized"
    rejected_channel = new_id("D")
    await sender.event(dm(user, rejected_channel, "and the VPN key?"))
    apology = await slack.wait_for(lambda: slack.bot_messages(rejected_channel), timeout=20)
    assert "Sorry" in apology[0]["text"]
    llm.mode = "ok"

    # What the health endpoints tell anyone who asks.
    async with aiohttp.ClientSession() as http:
        for path in ("/healthz", "/readyz"):
            async with http.get(debug_bot.process.url + path) as response:
                seen.append(await response.text())

    # Everything MLflow holds: traces with their spans, tags, metadata and assessments.
    async def both_traces() -> list:
        found = await tracking.asearch()
        assert len(found) == 2
        return found

    infos = await eventually(both_traces)
    traces = [await tracking.wait_for_trace(t.info.trace_id) for t in infos]
    stored = [trace.to_json() for trace in traces]
    rejected = next(t for t in traces if t.info.state.value == "ERROR")
    assert f"Incorrect API key provided: {REDACTED}" in rejected.to_json()

    await asyncio.sleep(0.5)  # the last log lines are written
    log = debug_bot.process.log()
    assert " DEBUG " in log and "slack_sdk" in log  # libraries did log at DEBUG
    assert f"Incorrect API key provided: {REDACTED}" in log
    assert leaks(log) == []
    assert [leaks(text) for text in stored] == [[] for _ in stored]
    assert [leaks(text) for text in seen] == [[] for _ in seen]
    assert slack.messages[rejected_channel] and not leaks(json.dumps(slack.messages))


def test_the_settings_never_print_a_secret() -> None:
    secrets = {**SECRETS, "app token": APP_TOKEN}
    settings = load_settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_app_token=APP_TOKEN,
        openai_api_key=LLM_KEY,
        mlflow_tracking_uri="http://127.0.0.1:5000",
    )
    printed = [
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        json.dumps(settings.model_dump(), default=str),
        f"{settings}",
    ]
    assert [leaks(text, secrets) for text in printed] == [[] for _ in printed]

    with pytest.raises(ConfigError) as refused:
        load_settings(
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            openai_api_key=LLM_KEY,
            mlflow_tracking_uri="sqlite:///x.db",
            port="not a port",
        )
    assert "PORT is invalid" in str(refused.value)
    assert leaks(str(refused.value), secrets) == []


def test_log_records_are_redacted_whatever_logs_them() -> None:
    """Even a library logger that does not propagate to the root (mlflow's), and tracebacks."""
    output = io.StringIO()
    library_log = logging.getLogger(f"a.library.{uuid.uuid4().hex}")
    library_log.propagate = False
    library_log.addHandler(logging.StreamHandler(output))
    previous = logging.getLogRecordFactory()
    install_secret_redaction(SECRETS.values())
    try:
        library_log.warning("headers: %s", {"Authorization": f"Bearer {BOT_TOKEN}"})
        try:
            raise RuntimeError(f"refused key {LLM_KEY}")
        except RuntimeError:
            library_log.exception("calling the LLM failed")
    finally:
        logging.setLogRecordFactory(previous)
    printed = output.getvalue()
    assert "Bearer [redacted]" in printed and "refused key [redacted]" in printed
    assert leaks(printed) == []
