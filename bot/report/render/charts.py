"""The report's charts and table (Slack's `data_visualization` and `data_table` blocks, built
with bot/slack/data_blocks.py): the trend as a line chart, the 👎 reasons as a bar chart, the
most negative channels as a table. Each is None when there is nothing to draw; the text form
(blocks.py) says the same in words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta

from bot.report.model import FeedbackReport, ReasonFigures, TimelinePoint
from bot.report.privacy import PRIVATE_CONVERSATIONS
from bot.report.render.wording import reason_label
from bot.slack.data_blocks import (
    MAX_POINTS,
    ChannelCell,
    DataTable,
    DataVisualization,
    NumberCell,
    Series,
    TextCell,
    XYChart,
    shorten,
)

TREND_TITLE = "Positive rate and votes"
REASONS_TITLE = "👎 reasons"
CHANNELS_CAPTION = "Most 👎 by channel"
RATE_SERIES = "Positive rate (%)"
VOTES_SERIES = "Votes"
OTHER_REASONS = "other"


def trend_chart(report: FeedbackReport) -> DataVisualization | None:
    """The positive rate and the number of votes over the window: per 2 hours or per day,
    merged into at most 20 points (2, 3, … days a point for long windows); points without a
    vote are left out (their rate is undefined). None without any vote."""
    groups = [g for g in _grouped(report.timeline) if g.up + g.down]
    if not groups:
        return None
    step = report.window.step * _group_size(len(report.timeline))
    categories = tuple(_label(group, step) for group in groups)
    return DataVisualization(
        title=TREND_TITLE,
        chart=XYChart(
            kind="line",
            categories=categories,
            series=(
                Series(RATE_SERIES, tuple(g.positive_rate or 0.0 for g in groups)),
                Series(VOTES_SERIES, tuple(float(g.up + g.down) for g in groups)),
            ),
            x_label=_x_label(step),
        ),
    )


def reasons_chart(reasons: ReasonFigures) -> DataVisualization | None:
    """How often each 👎 reason was given (the most given first; past 20, the rest summed as
    "other"). None when none was given."""
    if not reasons.total:
        return None
    counts = list(reasons.counts)
    if len(counts) > MAX_POINTS:
        rest = sum(count for _, count in counts[MAX_POINTS - 1 :])
        counts = [*counts[: MAX_POINTS - 1], (OTHER_REASONS, rest)]
    labels = _distinct([shorten(reason_label(key)) for key, _ in counts])
    return DataVisualization(
        title=REASONS_TITLE,
        chart=XYChart(
            kind="bar",
            categories=tuple(labels),
            series=(Series("Given", tuple(float(count) for _, count in counts)),),
        ),
    )


def channels_table(report: FeedbackReport) -> DataTable | None:
    """The channels with the most 👎 (Slack shows a channel's name). None without any."""
    if not report.negative_channels:
        return None
    return DataTable(
        caption=CHANNELS_CAPTION,
        header=("Channel", "👎", "👍", "Answers"),
        rows=tuple(
            (
                _channel_cell(c.channel),
                NumberCell(c.down),
                NumberCell(c.up),
                NumberCell(c.answers),
            )
            for c in report.negative_channels
        ),
        row_header_column_index=0,
    )


def _channel_cell(channel: str) -> TextCell | ChannelCell:
    if channel == PRIVATE_CONVERSATIONS:  # the unnamed row of a post in a channel
        return TextCell(PRIVATE_CONVERSATIONS)
    if channel.startswith("D"):
        return TextCell(f"a DM ({channel})")
    return ChannelCell(channel)


def _group_size(points: int) -> int:
    return max(1, math.ceil(points / MAX_POINTS))


def _grouped(timeline: Sequence[TimelinePoint]) -> list[TimelinePoint]:
    """Consecutive points merged so that at most MAX_POINTS are left."""
    size = _group_size(len(timeline))
    groups = []
    for first in range(0, len(timeline), size):
        part = timeline[first : first + size]
        groups.append(
            TimelinePoint(
                part[0].start,
                sum(p.answers for p in part),
                sum(p.up for p in part),
                sum(p.down for p in part),
            )
        )
    return groups


def _label(point: TimelinePoint, step: timedelta) -> str:
    if step < timedelta(days=1):
        return f"{point.start:%b %d %H:%M}"
    if step == timedelta(days=1):
        return f"{point.start:%b %d}"
    last = point.start + step - timedelta(days=1)  # "Mar 01–02", "Mar 31–Apr 01"
    end = f"{last:%d}" if last.month == point.start.month else f"{last:%b %d}"
    return f"{point.start:%b %d}–{end}"


def _x_label(step: timedelta) -> str:
    if step < timedelta(days=1):
        return f"per {int(step.total_seconds() // 3600)} hours (UTC)"
    days = step.days
    return "per day (UTC)" if days == 1 else f"per {days} days (UTC)"


def _distinct(labels: list[str]) -> list[str]:
    """Labels made distinct (two reasons cut to the same 20 characters get a number)."""
    seen: set[str] = set()
    result = []
    for label in labels:
        candidate, n = label, 2
        while candidate in seen:
            candidate = shorten(label, 17) + f" {n}"
            n += 1
        seen.add(candidate)
        result.append(candidate)
    return result
