"""Which channels of a window are public, for the privacy rule (bot/report/privacy.py): one
aggregate request (QueryTraceMetrics) for the bot's feedback summaries of the answers tagged
`slack.conversation_kind = public_channel`, each of which names its channel. Only channels
with feedback can be in a report's channel rows, so the summaries name every one that may be.
A tracking server without trace metrics gives no public channel: the rule then names none."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from bot.report.trace_records import NoTraceMetrics
from bot.report.window import ReportWindow
from bot.tracing.counted_feedback import SUMMARY, Summary
from bot.tracing.data_model import PUBLIC_CHANNEL, TAG_CONVERSATION_KIND

if TYPE_CHECKING:
    from bot.report.trace_pages import TraceSource

REQUESTS = 1  # aggregate requests a call costs the tracking server


def public_channels(
    source: TraceSource, experiment_id: str, window: ReportWindow
) -> frozenset[str]:
    """The channels whose answers in `window` with feedback were asked in a public channel
    (blocking: run it in a worker thread)."""
    request = {
        "experiment_ids": [experiment_id],
        "start_time_ms": window.start_ms,
        "end_time_ms": window.end_ms - 1,
        "aggregations": [{"aggregation_type": "COUNT"}],
        "view_type": "ASSESSMENTS",
        "metric_name": "assessment_count",
        "dimensions": ["assessment_value"],
        "filters": [
            f"assessment.name = '{SUMMARY}'",
            f"trace.tag.`{TAG_CONVERSATION_KIND}` = '{PUBLIC_CHANNEL}'",
        ],
    }
    try:
        points = source.metric_points(request)
    except NoTraceMetrics:
        return frozenset()
    channels = set()
    for point in points:
        try:
            value = json.loads(point.dimensions.get("assessment_value") or "null")
        except ValueError:
            continue
        summary = Summary.parse(value) if isinstance(value, str) else None
        if summary is not None and summary.channel:
            channels.add(summary.channel)
    return frozenset(channels)
