"""Telling one person something in a channel (an ephemeral message only they see)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.errors import SLACK_FAILURES, slack_error_reason

log = logging.getLogger(__name__)


async def tell(
    client: AsyncWebClient,
    channel: str | None,
    user_id: str | None,
    text: str,
    *,
    thread_ts: str | None = None,
    blocks: Sequence[Block] | None = None,
) -> None:
    """Post it, or log why not (a message nobody needs to wait for)."""
    if not channel or not user_id:
        return
    try:
        await client.chat_postEphemeral(
            channel=channel, user=user_id, text=text, thread_ts=thread_ts, blocks=blocks
        )
    except SLACK_FAILURES as error:
        log.warning("could not tell %s: %s", user_id, slack_error_reason(error))
