"""Waiting for what the bot does asynchronously."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout_s: float = 30.0, interval_s: float = 0.25
) -> Any:
    """Poll `check` until it returns something truthy (assertions inside may fail meanwhile)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            result = await check()
            if result:
                return result
        except Exception:  # not there yet: an assertion, or the trace not exported yet
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval_s)
