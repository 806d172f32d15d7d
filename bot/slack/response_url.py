"""Posting to an interaction's or a command's `response_url` (valid 30 minutes, 5 posts)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.models.blocks import Block
from slack_sdk.webhook.async_client import AsyncWebhookClient

log = logging.getLogger(__name__)

RESPONSE_URL_TIMEOUT_S = 15


async def replace_original(
    response_url: str,
    text: str,
    blocks: Sequence[Block] | None = None,
    *,
    what: str,
    failure_level: int = logging.ERROR,
) -> bool:
    """Replace the message the `response_url` belongs to, privately; False (logged at
    `failure_level`) if Slack did not take it. `what` names the message in the log."""
    webhook = AsyncWebhookClient(response_url, timeout=RESPONSE_URL_TIMEOUT_S)
    try:
        response = await webhook.send(
            text=text, blocks=blocks or [], response_type="ephemeral", replace_original=True
        )
    except Exception as error:
        log.log(failure_level, "could not post %s: %r", what, error)
        return False
    if response.status_code != 200:
        log.log(
            failure_level,
            "the response_url refused %s: %s %s",
            what,
            response.status_code,
            response.body,
        )
        return False
    return True
