"""The 👍/👎 of a window, for the whole bot and by channel, from one aggregate request
(QueryTraceMetrics): the count of each value of the bot's feedback summaries
(bot/tracing/counted_feedback.py) of the answers given in the window. A summary holds only
people's valid votes and names its channel, so no judge's vote counts and no trace is read.
Answers rated before the summaries existed are not counted (the alerts look at recent days)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.report.window import ReportWindow
from bot.tracing.counted_feedback import SUMMARY, Summary

if TYPE_CHECKING:
    from bot.report.trace_pages import TraceSource

REQUESTS = 1  # aggregate requests a call costs the tracking server


@dataclass(frozen=True)
class VoteCounts:
    up: int = 0
    down: int = 0
    by_channel: dict[str, tuple[int, int]] = field(default_factory=dict)  # channel → (👍, 👎)


def vote_counts(source: TraceSource, experiment_id: str | None, window: ReportWindow) -> VoteCounts:
    """The votes on the answers given in `window` (blocking: run it in a worker thread)."""
    if experiment_id is None:
        return VoteCounts()
    up: Counter[str] = Counter()
    down: Counter[str] = Counter()
    for summary, n in summary_counts(source, experiment_id, window).items():
        channel = summary.channel or ""
        up[channel] += summary.up * n
        down[channel] += summary.down * n
    channels = {c: (up[c], down[c]) for c in set(up) | set(down) if c and up[c] + down[c]}
    return VoteCounts(sum(up.values()), sum(down.values()), channels)


def summary_counts(
    source: TraceSource, experiment_id: str, window: ReportWindow, *filters: str
) -> Counter[Summary]:
    """How many answers given in `window` have each feedback summary, in one aggregate
    request; `filters`: more of QueryTraceMetrics' filters (`trace.tag.…`). Raises what the
    source raises (NoTraceMetrics: a server without the endpoint)."""
    points = source.metric_points(
        {
            "experiment_ids": [experiment_id],
            "start_time_ms": window.start_ms,
            "end_time_ms": window.end_ms - 1,
            "aggregations": [{"aggregation_type": "COUNT"}],
            "view_type": "ASSESSMENTS",
            "metric_name": "assessment_count",
            "dimensions": ["assessment_value"],
            "filters": [f"assessment.name = '{SUMMARY}'", *filters],
        }
    )
    counts: Counter[Summary] = Counter()
    for point in points:
        try:
            value = json.loads(point.dimensions.get("assessment_value") or "null")
        except ValueError:
            continue
        summary = Summary.parse(value) if isinstance(value, str) else None
        if summary is not None:
            counts[summary] += round(point.values.get("COUNT", 0.0))
    return counts
