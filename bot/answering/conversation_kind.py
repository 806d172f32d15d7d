"""What kind of conversation a channel is (a DM, a group DM, a private or public channel), from
what Slack says: the event's `channel_type` when it has one, else `conversations.info`, asked
once an hour per channel and cached in the process. "unknown" when Slack would not say: never
a guess (a private channel must not pass for a public one).

The assistant panel's threads are DMs to Slack; the answering domain tells them apart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.errors import SLACK_FAILURES, slack_error_reason
from bot.tracing.data_model import DM, GROUP_DM, PRIVATE_CHANNEL, PUBLIC_CHANNEL, UNKNOWN_KIND

log = logging.getLogger(__name__)

# The `channel_type` of message events (Slack's Events API).
EVENT_CHANNEL_TYPES = {
    "im": DM,
    "mpim": GROUP_DM,
    "group": PRIVATE_CHANNEL,
    "channel": PUBLIC_CHANNEL,
}
INFO_TIMEOUT_S = 2.0
CACHE_TTL_S = 3600.0  # a public channel can be made private: asked again after an hour
CACHE_SIZE = 10_000


def kind_from_info(channel: dict[str, Any]) -> str:
    """The kind a `conversations.info` channel object states, or "unknown"."""
    if channel.get("is_im") is True:
        return DM
    if channel.get("is_mpim") is True:
        return GROUP_DM
    private = channel.get("is_private")
    if channel.get("is_group") is True or private is True:
        return PRIVATE_CHANNEL
    if channel.get("is_channel") is True and private is False:
        return PUBLIC_CHANNEL
    return UNKNOWN_KIND


class ConversationKinds:
    """The kind of each channel, from the event or from Slack (cached per process)."""

    def __init__(self, *, ttl_s: float = CACHE_TTL_S, size: int = CACHE_SIZE) -> None:
        self._ttl_s = ttl_s
        self._size = size
        self._known: OrderedDict[str, tuple[float, str]] = OrderedDict()

    async def kind_of(self, client: AsyncWebClient, channel: str, channel_type: str | None) -> str:
        stated = EVENT_CHANNEL_TYPES.get(channel_type or "")
        if stated is not None:
            return stated
        cached = self._known.get(channel)
        if cached is not None and time.monotonic() - cached[0] < self._ttl_s:
            return cached[1]
        kind = await self._ask(client, channel)
        if kind != UNKNOWN_KIND:  # a failure is asked again next time
            self._known[channel] = (time.monotonic(), kind)
            self._known.move_to_end(channel)
            while len(self._known) > self._size:
                self._known.popitem(last=False)
        return kind

    async def _ask(self, client: AsyncWebClient, channel: str) -> str:
        try:
            async with asyncio.timeout(INFO_TIMEOUT_S):
                response = await client.conversations_info(channel=channel)
        except SLACK_FAILURES as error:  # TimeoutError included
            log.warning(
                "the kind of conversation %s is unknown: %s", channel, slack_error_reason(error)
            )
            return UNKNOWN_KIND
        info = response.get("channel")
        kind = kind_from_info(info) if isinstance(info, dict) else UNKNOWN_KIND
        if kind == UNKNOWN_KIND:
            log.warning("the kind of conversation %s is unknown: Slack did not say", channel)
        return kind
