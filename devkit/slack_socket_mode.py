"""Slack's Socket Mode, emulated: `apps.connections.open` and the WebSocket it hands out.

As Slack does: only an app-level token (`xapp-…`) may open a connection (a bot token gets
`not_allowed_token_type`); each URL is good for one connection; the connection starts with a
`hello`; then envelopes (`events_api`, `interactive`, `slash_commands`) arrive, each with an
`envelope_id`, a `payload` and `accepts_response_payload`, and the app acks each one with
`{"envelope_id", "payload"?}`. Tests push envelopes to the app that holds a given token and wait
for their acks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

ENVELOPE_TYPES = ("events_api", "interactive", "slash_commands")


class EnvelopeNotDelivered(ConnectionError):
    """The app's connection closed while its envelope was sent (as when the frame is larger than
    the app's WebSocket client takes: it closes with 1009 and connects again). Slack's envelope
    is then lost for that connection, as here."""


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    at: float


class SocketModeHub:
    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.app_tokens: set[str] = set()
        self.acks: dict[str, Ack] = {}
        self.unexpected: list[str] = []  # frames from apps that are neither acks nor JSON
        self._tickets: dict[str, str] = {}  # ticket -> the app token that asked for it
        self._sockets: dict[str, list[web.WebSocketResponse]] = defaultdict(list)
        self._changed = asyncio.Event()
        self.base_url = ""

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/socket-mode", self._connect)

    def new_app_token(self) -> str:
        """An app-level token this emulator accepts (one per app process, so tests can push to
        the process they mean)."""
        token = "xapp-1-" + secrets.token_hex(12)
        self.app_tokens.add(token)
        return token

    def open_connection(self, token: str) -> dict[str, Any]:
        """`apps.connections.open` for a token already known to be an app token."""
        ticket = uuid.uuid4().hex
        self._tickets[ticket] = token
        ws_url = self.base_url.replace("http://", "ws://", 1)
        return {"url": f"{ws_url}/socket-mode?ticket={ticket}"}

    def connections(self, token: str) -> int:
        return len(self._open(token))

    def _open(self, token: str) -> list[web.WebSocketResponse]:
        return [socket for socket in self._sockets[token] if not socket.closed]

    async def wait_for_connection(self, token: str, timeout_s: float = 10.0) -> None:
        """Until an app holding `token` is connected (again)."""
        await self._wait(lambda: self._open(token), timeout_s)

    async def push(
        self,
        token: str,
        envelope_type: str,
        payload: Any,
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int | None = None,
        timeout_s: float = 10.0,
    ) -> str:
        """Send an envelope to an app connected with `token` (waiting for it to connect);
        return its `envelope_id`."""
        assert envelope_type in ENVELOPE_TYPES, envelope_type
        socket = (await self._wait(lambda: self._open(token), timeout_s))[-1]
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": (
                envelope_type != "events_api"
                if accepts_response_payload is None
                else accepts_response_payload
            ),
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = "timeout" if retry_attempt else ""
        frame = json.dumps(envelope)
        try:
            await socket.send_str(frame)
        except ConnectionError as error:
            raise EnvelopeNotDelivered(
                f"the app's connection closed while a {len(frame)}-byte envelope was sent: {error}"
            ) from error
        return envelope_id

    async def wait_for_ack(self, envelope_id: str, timeout_s: float = 10.0) -> Ack:
        return await self._wait(lambda: self.acks.get(envelope_id), timeout_s)

    async def _wait(self, found: Any, timeout_s: float) -> Any:
        deadline = time.monotonic() + timeout_s
        while not (result := found()):
            if time.monotonic() > deadline:
                raise TimeoutError("the Socket Mode emulator did not see what the test waited for")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.05)
        return result

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        token = self._tickets.pop(request.query.get("ticket", ""), None)
        if token is None:
            return web.Response(status=401, text="invalid or used ticket")
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": self.connections(token) + 1,
                "debug_info": {"host": "emulated", "approximate_connection_time": 3600},
                "connection_info": {"app_id": self.app_id},
            }
        )
        self._sockets[token].append(socket)
        self._changed.set()
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    self._record(message.data)
        finally:
            self._sockets[token].remove(socket)
            self._changed.set()
        return socket

    def _record(self, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
        if not isinstance(frame, dict) or not isinstance(frame.get("envelope_id"), str):
            self.unexpected.append(text)
        else:
            envelope_id = frame["envelope_id"]
            self.acks[envelope_id] = Ack(envelope_id, frame.get("payload"), time.monotonic())
        self._changed.set()
