"""The time window of a feedback report: `24h`, `7d`, `30d` or `YYYY-MM-DD..YYYY-MM-DD` (UTC).

A window selects answers by their trace's start time: `start <= time < end`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

DEFAULT_WINDOW = "7d"
RELATIVE_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
MAX_RANGE_DAYS = 366
# Longer windows are charted per week, so that the trend stays a screenful.
MAX_DAILY_BUCKETS = 31
# The timeline (what the charts draw): per 2 hours in a window of a day or less, else per day.
SHORT_STEP = timedelta(hours=2)
DAY = timedelta(days=1)

_MS = timedelta(milliseconds=1)
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


class WindowError(ValueError):
    """The text is not a window; the message says why, for the person who typed it."""


@dataclass(frozen=True)
class ReportWindow:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    spec: str  # as typed, normalised: "7d", "2026-11-01..2026-11-07"

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp() * 1000)

    @property
    def label(self) -> str:
        if self.spec == "24h":
            return "the last 24 hours"
        if self.spec in RELATIVE_WINDOWS:
            return f"the last {self.spec[:-1]} days"
        first, last = self.spec.split("..")
        return first if first == last else f"{first} to {last}"

    @cached_property
    def bucket(self) -> str:
        """The trend's granularity: "day", or "week" (weeks start on Monday) for long windows."""
        return "day" if len(self.days()) <= MAX_DAILY_BUCKETS else "week"

    def days(self) -> list[date]:
        """Every UTC date the window touches, in order."""
        first, last = self.start.date(), (self.end - timedelta(microseconds=1)).date()
        return list(_dates(first, last))

    def bucket_of(self, timestamp_ms: int) -> date:
        """The trend bucket (a day, or a week's Monday) of a time inside the window."""
        day = datetime.fromtimestamp(timestamp_ms / 1000, UTC).date()
        return day if self.bucket == "day" else day - timedelta(days=day.weekday())

    @cached_property
    def step(self) -> timedelta:
        """The timeline's step: 2 hours for a window of a day or less, else a day (UTC; both
        divide a UTC day, as the tracking server's time buckets do)."""
        return SHORT_STEP if self.end - self.start <= DAY else DAY

    @cached_property
    def step_ms(self) -> int:
        return int(self.step / _MS)

    def step_of(self, timestamp_ms: int) -> int:
        """The start (ms since the epoch) of the timeline step that holds a time."""
        return timestamp_ms // self.step_ms * self.step_ms

    def steps(self) -> list[datetime]:
        """Every timeline step the window touches, in order."""
        first = self.step_of(self.start_ms)
        count = -(-(self.end_ms - first) // self.step_ms)
        start = datetime.fromtimestamp(first / 1000, UTC)
        return [start + self.step * n for n in range(count)]

    def buckets(self) -> list[date]:
        seen: dict[date, None] = {}
        for day in self.days():
            seen[day if self.bucket == "day" else day - timedelta(days=day.weekday())] = None
        return list(seen)


def utc_iso(timestamp_ms: int) -> str:
    """A time in milliseconds since the epoch, as ISO 8601 in UTC."""
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat()


def _dates(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def parse_window(text: str, now: datetime | None = None) -> ReportWindow:
    """The window `text` names, relative to `now` (UTC) for `24h`/`7d`/`30d`."""
    spec = text.strip().lower()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    if spec in RELATIVE_WINDOWS:
        return ReportWindow(start=now - RELATIVE_WINDOWS[spec], end=now, spec=spec)
    match = _RANGE.match(spec)
    if match is None:
        raise WindowError(
            f"{text.strip()!r} is not a window: use 24h, 7d, 30d or YYYY-MM-DD..YYYY-MM-DD"
        )
    try:
        first, last = (date.fromisoformat(part) for part in match.groups())
    except ValueError:
        raise WindowError(f"{text.strip()!r} holds a date that does not exist") from None
    if last < first:
        raise WindowError(f"{text.strip()!r} ends before it starts")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise WindowError(f"{text.strip()!r} is longer than {MAX_RANGE_DAYS} days")
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    return ReportWindow(start=start, end=end, spec=f"{first}..{last}")
