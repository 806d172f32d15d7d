"""What the report asks Slack: a channel's ID by its name, and links to answer messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from slack_sdk.web.async_client import AsyncWebClient

from bot.report.model import LowRatedAnswer
from bot.slack.errors import SLACK_FAILURES, slack_error_reason

log = logging.getLogger(__name__)

CHANNEL_PAGE_SIZE = 200
MAX_CHANNEL_PAGES = 50
PERMALINK_TIMEOUT_S = 10.0


class ChannelLookupFailed(Exception):
    """Slack would not list the channels; the message says why."""


async def find_channel_id(client: AsyncWebClient, name: str) -> str | None:
    """The ID of the channel called `name` (without `#`) that the bot can see, or None."""
    cursor: str | None = None
    for _ in range(MAX_CHANNEL_PAGES):
        try:
            response = await client.conversations_list(
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=CHANNEL_PAGE_SIZE,
                cursor=cursor,
            )
        except SLACK_FAILURES as error:
            raise ChannelLookupFailed(slack_error_reason(error)) from error
        for channel in response.get("channels") or []:
            if isinstance(channel, dict) and channel.get("name") == name:
                return str(channel["id"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None:
            return None
    log.warning("stopped looking for #%s after %d pages of channels", name, MAX_CHANNEL_PAGES)
    return None


async def permalinks(client: AsyncWebClient, answers: Sequence[LowRatedAnswer]) -> dict[str, str]:
    """trace ID → link to the answer's message (or, failing that, to the question's)."""
    found = await asyncio.gather(*(_permalink(client, answer) for answer in answers))
    return {a.trace_id: link for a, link in zip(answers, found, strict=True) if link}


async def _permalink(client: AsyncWebClient, answer: LowRatedAnswer) -> str | None:
    if not answer.channel:
        return None
    for ts in (answer.answer_ts, answer.question_ts):
        if not ts:
            continue
        try:
            async with asyncio.timeout(PERMALINK_TIMEOUT_S):
                response = await client.chat_getPermalink(channel=answer.channel, message_ts=ts)
        except TimeoutError:
            log.info("no permalink for %s/%s: Slack did not answer in time", answer.channel, ts)
            continue
        except SLACK_FAILURES as error:
            log.info("no permalink for %s/%s: %s", answer.channel, ts, slack_error_reason(error))
            continue
        link = response.get("permalink")
        if isinstance(link, str) and link:
            return link
    return None
