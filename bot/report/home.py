"""What the App Home tab shows: to the feedback admins, the report (the last 7 days by default;
a window and channel of their choice), built at most once a minute per user; to everyone else,
what the bot is and how many answers they have rated — never a statistic.

The choice and the last report are kept per user in this process's memory (a restart starts
from the last 7 days again).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from slack_sdk.web.async_client import AsyncWebClient

from bot.report.access import ReportAccess
from bot.report.reports import BuiltReport, Reports
from bot.report.trace_records import CHANNEL_ID, AnswerQuery, tracking_failure
from bot.report.window import DEFAULT_WINDOW, RELATIVE_WINDOWS, parse_window

log = logging.getLogger(__name__)

REBUILD_AFTER_S = 60.0
HOME_WINDOWS = tuple(RELATIVE_WINDOWS)  # 24h, 7d, 30d


@dataclass(frozen=True)
class HomeChoice:
    """The admin's window and channel (None: all channels)."""

    window: str = DEFAULT_WINDOW
    channel: str | None = None

    def __post_init__(self) -> None:
        if self.window not in HOME_WINDOWS:
            raise ValueError(f"{self.window!r} is not one of {HOME_WINDOWS}")
        if self.channel is not None and not CHANNEL_ID.match(self.channel):
            raise ValueError(f"{self.channel!r} is not a channel ID")


@dataclass(frozen=True)
class AdminHome:
    choice: HomeChoice
    built: BuiltReport | None  # None when it could not be built (`error` says why)
    built_at: float  # time.time()
    error: str | None = None
    next_refresh_s: float = 0.0  # how long until Refresh builds it again


@dataclass(frozen=True)
class MemberHome:
    rated: int  # answers the user has voted on or rated


HomeContent = AdminHome | MemberHome


@dataclass
class _Kept:
    home: AdminHome
    at: float  # monotonic


class HomeTab:
    def __init__(
        self,
        access: ReportAccess,
        reports: Reports,
        rated: Callable[[str], Awaitable[int]],
        *,
        rebuild_after_s: float = REBUILD_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._access = access
        self._reports = reports
        self._rated = rated
        self._rebuild_after_s = rebuild_after_s
        self._clock = clock
        self._choices: dict[str, HomeChoice] = {}
        self._kept: dict[str, _Kept] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def content(
        self, user_id: str, client: AsyncWebClient, choice: HomeChoice | None = None
    ) -> HomeContent:
        """What `user_id` sees: a new `choice` is kept for their next visits; the report is
        rebuilt when the choice changed or its last build is a minute old."""
        if not await self._access.allows(client, user_id):
            return MemberHome(await self._rated(user_id))
        if choice is not None:
            self._choices[user_id] = choice
        choice = self._choices.get(user_id, HomeChoice())
        async with self._locks.setdefault(user_id, asyncio.Lock()):
            kept = self._kept.get(user_id)
            if kept is not None and kept.home.choice == choice:
                age = self._clock() - kept.at
                if age < self._rebuild_after_s:
                    return replace(kept.home, next_refresh_s=self._rebuild_after_s - age)
            home = await self._build(choice, client)
            self._kept[user_id] = _Kept(home, self._clock())
            return replace(home, next_refresh_s=self._rebuild_after_s)

    async def _build(self, choice: HomeChoice, client: AsyncWebClient) -> AdminHome:
        query = AnswerQuery(parse_window(choice.window), choice.channel)
        try:
            built = await self._reports.build(query, client)
        except Exception as error:
            log.exception("the Home tab's report failed")
            reason = tracking_failure(error) or f"an unexpected {type(error).__name__}"
            return AdminHome(choice, None, time.time(), error=reason)
        return AdminHome(choice, built, time.time())
