"""Which Slack surfaces take the data blocks (charts and tables): each is tried with them
until it refuses (`invalid_blocks`), then sent the text form; the refusal is remembered in
memory, per process (a restart tries the surface again, once).

A surface is where the message shows: "ephemeral:C…" (a command's response_url, in that
channel), "home" (the App Home tab), "channel:C…" (a post in that channel).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from bot.slack.data_blocks import has_data_blocks

log = logging.getLogger(__name__)

HOME = "home"


def channel_surface(channel: str) -> str:
    return f"channel:{channel}"


def ephemeral_surface(channel: str) -> str:
    return f"ephemeral:{channel}"


class Delivery(enum.Enum):
    SENT = "sent"
    REFUSED = "invalid_blocks"  # Slack would not take the blocks
    FAILED = "failed"  # anything else (logged where it happened)


Blocks = Sequence[Mapping[str, Any]]


class DataBlockSurfaces:
    def __init__(self) -> None:
        self._refused: set[str] = set()

    def takes(self, surface: str) -> bool:
        return surface not in self._refused

    def refused(self, surface: str) -> None:
        if surface not in self._refused:
            log.warning(
                "%s refused charts and tables (invalid_blocks): sending text there", surface
            )
        self._refused.add(surface)

    async def send(
        self,
        surface: str,
        rich: Blocks,
        plain: Blocks,
        post: Callable[[Blocks], Awaitable[Delivery]],
    ) -> Delivery:
        """`rich` where the surface takes it, else (or when it refuses it now) `plain`."""
        if has_data_blocks(rich) and self.takes(surface):
            delivery = await post(rich)
            if delivery is not Delivery.REFUSED:
                return delivery
            self.refused(surface)
        return await post(plain)
