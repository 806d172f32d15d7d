"""The values of the digest's and the alerts' settings: durations (`5m`, `24h`, `7d`), 5-field
cron expressions (read by cronsim), IANA time zones, Slack channel IDs and percentages. Each
parser raises ValueError with words for the person who typed the value; config/settings.py
names the variable."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

DURATION_UNITS_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
# A channel the bot posts in: a public or private channel (C…, G…), or a DM (D…).
CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{2,}$")
CRON_FIELDS = 5


def duration_s(text: object) -> object:
    """`30s`, `5m`, `24h`, `7d`, `2w` → seconds (a number is taken as seconds); anything
    else is left to pydantic."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    if not isinstance(text, str):
        return text
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise ValueError(f"{text.strip()!r} is not a duration like 30s, 5m, 24h or 7d")
    seconds = float(match.group(1)) * DURATION_UNITS_S[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"{text.strip()!r} is not longer than zero")
    return seconds


def duration_text(seconds: float) -> str:
    """Seconds as the shortest duration text that says them exactly (`86400` → `1d`)."""
    for unit in ("w", "d", "h", "m"):
        size = DURATION_UNITS_S[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def cron_expression(text: object) -> object:
    """A 5-field cron expression, normalised to single spaces; ValueError if cronsim refuses
    it or it has another number of fields."""
    if not isinstance(text, str):
        return text
    fields = text.split()
    if len(fields) != CRON_FIELDS:
        raise ValueError(
            f"{text.strip()!r} has {len(fields)} fields; a cron expression has 5: "
            "minute hour day-of-month month day-of-week"
        )
    normalised = " ".join(fields)
    try:
        CronSim(normalised, datetime.now(UTC))
    except CronSimError as error:
        raise ValueError(f"{normalised!r} is not a cron expression ({error})") from None
    return normalised


def time_zone(text: object) -> object:
    """An IANA time zone name (`Europe/Warsaw`, `UTC`) the system knows."""
    if not isinstance(text, str):
        return text
    name = text.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone name like Europe/Warsaw") from None
    return name


def channel_id(text: object) -> object:
    """A Slack channel ID (C…, G…, D…); empty is unset."""
    if not isinstance(text, str):
        return text
    value = text.strip()
    if not value:
        return None
    if not CHANNEL_ID.match(value):
        hint = " (a channel's ID, not its name)" if value.startswith("#") else ""
        raise ValueError(f"{value!r} is not a Slack channel ID like C0123ABCD{hint}")
    return value


def percentage(text: object) -> object:
    """`50`, `50%` or `12.5` → a number of percent (points)."""
    if isinstance(text, str):
        return text.strip().removesuffix("%").strip()
    return text
