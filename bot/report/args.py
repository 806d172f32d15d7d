"""The text after `/feedback-report`: `[window] [#channel]`, or `help`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.report.trace_records import CHANNEL_ID
from bot.report.window import DEFAULT_WINDOW, ReportWindow, WindowError, parse_window

COMMAND = "/feedback-report"
USAGE = f"""\
{COMMAND} [window] [channel]
  window   24h, 7d (the default), 30d, or YYYY-MM-DD..YYYY-MM-DD (dates inclusive, UTC)
  channel  #name or a channel ID like C0123ABCD (default: all channels)
{COMMAND} help   shows this and how the numbers are counted"""

# `<#C0123|general>` (how Slack sends a channel when the command escapes them), `<#C0123>`.
_ESCAPED_CHANNEL = re.compile(r"^<#([CDG][A-Z0-9]{2,})(?:\|([^>]*))?>$")
_CHANNEL_NAME = re.compile(r"^#([a-z0-9][a-z0-9._-]{0,79})$")


class UsageError(ValueError):
    """The arguments are not understood; the message says which."""


@dataclass(frozen=True)
class ChannelRef:
    """A channel as typed: its ID, its name, or both."""

    id: str | None
    name: str | None = None


@dataclass(frozen=True)
class ReportArgs:
    window: ReportWindow
    channel: ChannelRef | None
    help: bool = False


def parse_report_args(text: str, now: datetime | None = None) -> ReportArgs:
    words = text.split()
    if [w.lower() for w in words] == ["help"]:
        return ReportArgs(parse_window(DEFAULT_WINDOW, now), None, help=True)
    window: ReportWindow | None = None
    channel: ChannelRef | None = None
    for word in words:
        found = _channel(word)
        if found is not None:
            if channel is not None:
                raise UsageError("give at most one channel")
            channel = found
            continue
        if window is not None:
            raise UsageError(f"{word!r} is not understood (the window is already given)")
        try:
            window = parse_window(word, now)
        except WindowError as error:
            raise UsageError(str(error)) from None
    return ReportArgs(window or parse_window(DEFAULT_WINDOW, now), channel)


def _channel(word: str) -> ChannelRef | None:
    escaped = _ESCAPED_CHANNEL.match(word)
    if escaped:
        return ChannelRef(escaped.group(1), escaped.group(2) or None)
    named = _CHANNEL_NAME.match(word.lower())
    if named:
        return ChannelRef(None, named.group(1))
    if CHANNEL_ID.match(word):
        return ChannelRef(word)
    return None
