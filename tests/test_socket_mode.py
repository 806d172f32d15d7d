"""Socket Mode: the emulated connection, and the payload guard on envelopes.

The spine's end-to-end tests (tests/test_spine.py, `transport_sender`) run over Socket Mode too;
these cover what only this transport has."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from devkit.bot_process import BotProcess
from devkit.conversation import final_answer
from devkit.ids import new_id
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import Workspace, dm
from devkit.slack_requests import SocketModeSender
from devkit.slack_socket_mode import EnvelopeNotDelivered
from tests.conftest import BOT_TOKEN, TEAM_ID


async def test_only_an_app_level_token_opens_a_connection(slack: SlackEmulator) -> None:
    client = AsyncWebClient(base_url=slack.api_url)
    with pytest.raises(SlackApiError) as refused:
        await client.apps_connections_open(app_token=BOT_TOKEN)
    assert refused.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as unknown:
        await client.apps_connections_open(app_token="xapp-1-unknown")
    assert unknown.value.response["error"] == "invalid_auth"
    app_token = slack.socket_mode.new_app_token()
    opened = await client.apps_connections_open(app_token=app_token)
    assert opened["url"].startswith("ws://")
    with pytest.raises(SlackApiError) as wrong_use:
        await AsyncWebClient(token=app_token, base_url=slack.api_url).auth_test()
    assert wrong_use.value.response["error"] == "not_allowed_token_type"


async def test_malformed_envelopes_are_acked_logged_and_the_connection_stays_up(
    socket_sender: SocketModeSender, socket_bot: tuple[BotProcess, str], slack: SlackEmulator
) -> None:
    process, app_token = socket_bot
    malformed = [
        ("interactive", {"type": "view_submission", "view": "not-an-object"}),
        ("interactive", {"type": "view_submission", "response_urls": [{}, {}]}),
        ("interactive", {"type": "view_submission", "response_urls": None}),
        ("events_api", {"type": "event_callback", "event": None}),
        ("events_api", {"type": "event_callback", "team_id": 7, "event": {"type": "message"}}),
        ("slash_commands", {"command": "/feedback-report", "text": "7d"}),  # no user
        ("slash_commands", {"command": "/feedback-report", "user_id": ["U1"]}),
    ]
    for envelope_type, payload in malformed:
        assert await socket_sender.push(envelope_type, payload) == (200, "")
    # Bolt answers 404 to a command no listener takes; over Socket Mode it is acked all the same
    unknown = {"command": "/no-such-command", "user_id": "U1", "team_id": TEAM_ID, "text": ""}
    assert await socket_sender.push("slash_commands", unknown) == (200, "")
    log = process.log()
    assert log.count("refused a malformed Slack payload (envelope") >= len(malformed)
    assert "Traceback" not in log and " ERROR " not in log
    assert slack.socket_mode.unexpected == []

    user, channel = new_id("U"), new_id("D")
    await socket_sender.event(dm(user, channel, "still there?"))
    assert (await final_answer(slack, channel))["text"] == "Echo: still there?"
    assert slack.socket_mode.connections(app_token) == 1


async def test_a_frame_larger_than_the_client_takes_is_lost_and_the_bot_connects_again(
    socket_sender: SocketModeSender, socket_bot: tuple[BotProcess, str], slack: SlackEmulator
) -> None:
    """A frame over the client's 4 MiB (aiohttp's limit; Slack sends nothing near it): the bot's
    client closes the connection (1009), the envelope is lost (the emulator says so, as a
    failed send), and the bot connects again by itself and takes the next envelope."""
    process, app_token = socket_bot
    value = "x" * (5 * 1024 * 1024)
    too_large = {"type": "block_actions", "actions": [{"action_id": "a", "value": value}]}
    with pytest.raises(EnvelopeNotDelivered, match="connection closed"):
        await slack.socket_mode.push(app_token, "interactive", too_large)
    await slack.socket_mode.wait_for_connection(app_token, timeout_s=30)
    user, channel = new_id("U"), new_id("D")
    await socket_sender.event(dm(user, channel, "after the large frame"))
    assert (await final_answer(slack, channel))["text"] == "Echo: after the large frame"
    assert slack.socket_mode.connections(app_token) == 1
    assert "Traceback" not in process.log()


async def test_sigterm_closes_the_connection_for_good_and_exits_cleanly(
    bot_env: dict[str, str], tmp_root: Path, slack: SlackEmulator
) -> None:
    app_token = slack.socket_mode.new_app_token()
    env = {**bot_env, "SLACK_APP_TOKEN": app_token, "BOT_DATA_DIR": str(tmp_root / "sm-stop")}
    process = BotProcess(env, tmp_root / "bot-socket-stop.log")
    await asyncio.to_thread(process.start)
    try:
        sender = SocketModeSender(slack.socket_mode, app_token, Workspace.of(slack))
        channel = new_id("D")
        await sender.event(dm(new_id("U"), channel, "one before the stop"))
        await final_answer(slack, channel)
        process.signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 40) == 0
    finally:
        await asyncio.to_thread(process.stop)
    assert slack.socket_mode.connections(app_token) == 0
    after_stop = process.log().split("stopping: no new work")[1]
    assert "A new session" not in after_stop  # it did not reconnect on its way out
    assert "Traceback" not in after_stop and " ERROR " not in after_stop
    assert "stopped cleanly" in after_stop
