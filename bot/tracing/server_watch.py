"""One log line when the tracking server goes away, one when it is back, with what waited.

The trace and feedback deliverers report each attempt here instead of logging every failed
retry (urllib3's own retry warnings are silenced in bot/tracing/setup.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class TrackingServerWatch:
    def __init__(self, describe_waiting: Callable[[], Awaitable[str]]) -> None:
        self._describe_waiting = describe_waiting
        self._down_since: float | None = None
        self._on_back: list[Callable[[], Awaitable[None]]] = []

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def when_back(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._on_back.append(callback)

    async def unreachable(self, error: Exception | str) -> None:
        if self._down_since is not None:
            return
        self._down_since = time.monotonic()
        log.warning(
            "tracking server unreachable (%s): %s wait in the store; retrying with backoff",
            str(error).splitlines()[0][:200] if str(error) else type(error).__name__,
            await self._describe_waiting(),
        )

    async def reachable(self) -> None:
        if self._down_since is None:
            return
        down_s = time.monotonic() - self._down_since
        self._down_since = None
        log.warning(
            "tracking server back after %.0f s: sending what waited (%s)",
            down_s,
            await self._describe_waiting(),
        )
        for callback in self._on_back:
            await callback()
