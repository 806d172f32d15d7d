"""Reading single values out of Slack payloads: IDs, timestamps and text, or None.

A signed payload is Slack's, but its fields may still be missing, of another type or odd (new
shapes, bugs, fuzzing); only values of the shape Slack documents reach the domain, so nothing
strange ends up in a trace, an assessment or an API call.
"""

from __future__ import annotations

import re

from bot.common.unicode_text import valid_unicode

# U…, W…, C…, D…, G…, T…, E…, B…, A… IDs (tests use a little more; Slack only upper case).
_SLACK_ID = re.compile(r"[A-Za-z0-9_-]{2,64}")
_SLACK_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,9}")


def slack_id(value: object) -> str | None:
    """A user, channel, team, bot or app ID."""
    return value if isinstance(value, str) and _SLACK_ID.fullmatch(value) else None


def slack_ts(value: object) -> str | None:
    """A message timestamp such as "1712345678.123456"."""
    return value if isinstance(value, str) and _SLACK_TS.fullmatch(value) else None


def slack_text(value: object) -> str | None:
    """Text, as valid Unicode."""
    return valid_unicode(value) if isinstance(value, str) else None
