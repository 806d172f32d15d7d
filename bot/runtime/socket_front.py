"""The Socket Mode front: Slack's envelopes over a WebSocket, shape-checked before Bolt sees them.

Bolt's handler would pass every envelope's payload straight to Bolt; this one asks the payload
guard first (bot/listeners/guard.py, the same rules as the HTTP front) and acks a malformed
envelope without dispatching it, so Slack does not redeliver it and the connection stays up.
"""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.listeners.guard import malformed_envelope_reason

log = logging.getLogger(__name__)


class GuardedSocketModeHandler(AsyncSocketModeHandler):
    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        reason = malformed_envelope_reason(req.type, req.payload)
        if reason is None:
            await super().handle(client, req)  # type: ignore[arg-type]
            return
        log.warning("refused a malformed Slack payload (envelope %s): %s", req.envelope_id, reason)
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
