"""Posting to an interaction's or a command's `response_url` (valid 30 minutes, 5 posts)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.surfaces import Delivery

log = logging.getLogger(__name__)

RESPONSE_URL_TIMEOUT_S = 15


async def replace_original(
    response_url: str,
    text: str,
    blocks: Sequence[Block | dict[str, Any]] | None = None,
    *,
    what: str,
    failure_level: int = logging.ERROR,
) -> bool:
    """Replace the message the `response_url` belongs to, privately; False (logged at
    `failure_level`) if Slack did not take it. `what` names the message in the log."""
    delivery = await deliver_to_response_url(
        response_url, text, blocks, what=what, failure_level=failure_level
    )
    if delivery is Delivery.REFUSED:
        log.log(failure_level, "the response_url refused %s: invalid_blocks", what)
    return delivery is Delivery.SENT


async def deliver_to_response_url(
    response_url: str,
    text: str,
    blocks: Sequence[Block | dict[str, Any]] | None = None,
    *,
    what: str,
    failure_level: int = logging.ERROR,
) -> Delivery:
    """`replace_original`, telling a refusal of the blocks (HTTP 400 `invalid_blocks`, not
    logged: the caller sends text instead) from any other failure."""
    webhook = AsyncWebhookClient(response_url, timeout=RESPONSE_URL_TIMEOUT_S)
    try:
        response = await webhook.send(
            text=text, blocks=blocks or [], response_type="ephemeral", replace_original=True
        )
    except Exception as error:
        log.log(failure_level, "could not post %s: %r", what, error)
        return Delivery.FAILED
    if response.status_code == 400 and "invalid_blocks" in (response.body or ""):
        return Delivery.REFUSED
    if response.status_code != 200:
        log.log(
            failure_level,
            "the response_url refused %s: %s %s",
            what,
            response.status_code,
            response.body,
        )
        return Delivery.FAILED
    return Delivery.SENT
