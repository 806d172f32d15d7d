"""Requests to the bot shaped like Slack's (events, interactions, commands): Slack-signed HTTP
(`SlackSender`), or envelopes over the emulator's Socket Mode (`SocketModeSender`). Both answer
`(status, body)`: a Socket Mode ack counts as 200 with its payload as the body."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from devkit.slack_payloads import Workspace, event_envelope
from devkit.slack_socket_mode import SocketModeHub

_ids = itertools.count(1)


class SlackSender:
    def __init__(
        self,
        bot_url: str,
        signing_secret: str,
        team_id: str,
        app_id: str,
        bot_user_id: str = "UBOT",
    ) -> None:
        self.url = bot_url + "/slack/events"
        self.verifier = SignatureVerifier(signing_secret)
        self.team_id = team_id
        self.app_id = app_id
        self.bot_user_id = bot_user_id
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        sig = signature or self.verifier.generate_signature(timestamp=ts, body=body) or ""
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig,
            **(headers or {}),
        }
        async with self._http().post(self.url, data=body, headers=all_headers) as response:
            return response.status, await response.text()

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        api_app_id: str | None = None,
    ) -> tuple[int, str]:
        workspace = Workspace(
            team_id=self.team_id, app_id=api_app_id or self.app_id, bot_user_id=self.bot_user_id
        )
        envelope = event_envelope(workspace, event, event_id or f"Ev{next(_ids):010d}")
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(json.dumps(envelope).encode(), "application/json", headers=headers)

    async def interaction(self, payload: dict[str, Any]) -> tuple[int, str]:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.post(body, "application/x-www-form-urlencoded")

    async def command(self, fields: dict[str, str]) -> tuple[int, str]:
        body = urlencode(fields).encode()
        return await self.post(body, "application/x-www-form-urlencoded")


class SocketModeSender:
    """The same requests, pushed as envelopes to the bot connected with `app_token`."""

    def __init__(self, hub: SocketModeHub, app_token: str, workspace: Workspace) -> None:
        self.hub = hub
        self.app_token = app_token
        self.workspace = workspace

    async def close(self) -> None:
        """Nothing to close: the emulator owns the connection."""

    async def push(self, envelope_type: str, payload: Any, **options: Any) -> tuple[int, str]:
        """Send one envelope and wait for its ack (Slack gives up after 3 s; tests wait 10)."""
        envelope_id = await self.hub.push(self.app_token, envelope_type, payload, **options)
        # As long as an HTTP request may take (the session's timeout above).
        ack = await self.hub.wait_for_ack(envelope_id, timeout_s=30.0)
        return 200, json.dumps(ack.payload) if ack.payload is not None else ""

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> tuple[int, str]:
        envelope = event_envelope(self.workspace, event, event_id)
        return await self.push("events_api", envelope, retry_attempt=retry_num)

    async def interaction(self, payload: dict[str, Any]) -> tuple[int, str]:
        return await self.push("interactive", payload)

    async def command(self, fields: dict[str, str]) -> tuple[int, str]:
        return await self.push("slash_commands", fields)


Sender = SlackSender | SocketModeSender
