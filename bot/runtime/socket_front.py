"""The Socket Mode front: Slack's envelopes over a WebSocket, shape-checked before Bolt sees them.

Bolt's handler passes every envelope's payload straight to Bolt and acks only what Bolt answers
with a 200. This one asks the payload guard first (handlers/checks/guard.py, the same rules as the
HTTP front) and acks a malformed envelope without dispatching it; and it acks what Bolt could not
take (an unknown command: the HTTP front's 404), so no envelope is left for Slack to redeliver.
"""

from __future__ import annotations

import logging
import time

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from handlers.checks.guard import malformed_envelope_reason

log = logging.getLogger(__name__)


class GuardedSocketModeHandler(AsyncSocketModeHandler):
    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        started = time.time()
        reason = malformed_envelope_reason(req.type, req.payload)
        if reason is not None:
            log.warning(
                "refused a malformed Slack payload (envelope %s): %s", req.envelope_id, reason
            )
        else:
            response = await run_async_bolt_app(self.app, req)
            if response.status == 200:
                await send_async_response(client, req, response, started)
                return
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
