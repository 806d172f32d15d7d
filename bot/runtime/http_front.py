"""The HTTP front: `POST /slack/events`, `GET /healthz`, `GET /readyz`.

Requests are authenticated (Slack signature, 5-minute window) and shape-checked before
Bolt sees them; bodies over 1 MiB are refused with 413.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from handlers.checks.guard import check_body

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# Connections the kernel holds for the front while its event loop is busy (aiohttp's default is
# 128). Past it, a new connection's SYN is dropped and the client tries again after 1 s, then
# 3 s: in a burst, requests the front acks in milliseconds waited seconds (bench/notes.md,
# "past the table"). The kernel caps it at net.core.somaxconn.
LISTEN_BACKLOG = 1024
# Requests handled at once; the others wait their turn in arrival order. Past the front's
# capacity, requests all handled at once share it: each waited for all the others and nearly
# every one missed Slack's 3 s. In turns, the earliest are acked first, at the front's pace.
HANDLED_AT_ONCE = 32
ReadinessProbe = Callable[[], Awaitable[dict[str, object]]]


def listening_site(runner: web.AppRunner, host: str, port: int) -> web.TCPSite:
    """Where the front listens: `host`:`port` with room for a burst of new connections."""
    return web.TCPSite(runner, host, port, backlog=LISTEN_BACKLOG)


class SlackHttpServer:
    def __init__(
        self, app: AsyncApp, signing_secret: str, readiness: ReadinessProbe | None = None
    ) -> None:
        self._app = app
        self._verifier = SignatureVerifier(signing_secret)
        self._readiness = readiness
        self._turns = asyncio.Semaphore(HANDLED_AT_ONCE)  # wakes its waiters first come first
        self.accepting = True

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post("/slack/events", self._events)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        return app

    async def _events(self, request: web.Request) -> web.StreamResponse:
        # The body first: a request whose sender stops waiting meanwhile is still handled
        # (what the user did is kept; Slack's retry of it is recognised).
        body = await request.read()  # raises 413 past client_max_size
        async with self._turns:
            return await self._event(request, body)

    async def _event(self, request: web.Request, body: bytes) -> web.StreamResponse:
        if not self.accepting:
            # Shutting down: Slack retries elsewhere or after the restart.
            return web.Response(status=503, text="shutting down")
        headers = request.headers
        if not self._signed_by_slack(body, headers):
            return web.Response(status=401, text="invalid signature")
        checked = check_body(body, request.content_type or "")
        if checked.reason is not None:
            log.warning("refused a malformed Slack payload: %s", checked.reason)
            return web.Response(status=400, text=f"malformed payload: {checked.reason}")
        bolt_request = bolt_request_of(
            body.decode("utf-8"),
            checked.payload,
            query=request.query_string,
            headers={key.lower(): [value] for key, value in headers.items()},
        )
        bolt_response = await self._app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    def _signed_by_slack(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Slack's signature over this body, made within the last 5 minutes. slack_sdk's
        verifier raises on a missing or non-numeric timestamp and on a body that is not UTF-8
        (Slack sends none): those are refused here, before anyone is trusted."""
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return False
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return bool(signature) and self._verifier.is_valid(
            body=body, timestamp=timestamp, signature=signature
        )

    async def _healthz(self, request: web.Request) -> web.Response:
        status = "ok" if self.accepting else "stopping"
        return web.json_response({"status": status}, status=200 if self.accepting else 503)

    async def _readyz(self, request: web.Request) -> web.Response:
        details: dict[str, object] = {"accepting": self.accepting}
        if self._readiness is not None:
            details.update(await self._readiness())
        ready = self.accepting and details.get("store", "available") == "available"
        return web.Response(
            status=200 if ready else 503,
            text=json.dumps(details),
            content_type="application/json",
        )


def bolt_request_of(
    raw_body: str, payload: dict[str, object] | None, *, query: str, headers: dict
) -> AsyncBoltRequest:
    """Bolt's request for `raw_body`, with the payload the guard already read from it (a JSON
    object, or a form's) instead of Bolt reading it again."""
    if payload is None:
        return AsyncBoltRequest(body=raw_body, query=query, headers=headers)
    request = AsyncBoltRequest(body="", query=query, headers=headers)
    request.raw_body, request.body = raw_body, payload
    request.context = build_async_context(AsyncBoltContext({}), payload)
    return request
