"""Which channels of a window are public, for the privacy rule (bot/report/privacy.py): one
aggregate request (QueryTraceMetrics) for the bot's feedback summaries of the answers tagged
`slack.conversation_kind = public_channel`, each of which names its channel. Only channels
with feedback can be in a report's channel rows, so the summaries name every one that may be.
A tracking server without trace metrics gives no public channel: the rule then names none."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.report.figures.vote_rates import summary_counts
from bot.report.trace_records import NoTraceMetrics
from bot.report.window import ReportWindow
from bot.tracing.data_model import PUBLIC_CHANNEL, TAG_CONVERSATION_KIND

if TYPE_CHECKING:
    from bot.report.trace_pages import TraceSource

REQUESTS = 1  # aggregate requests a call costs the tracking server


def public_channels(
    source: TraceSource, experiment_id: str, window: ReportWindow
) -> frozenset[str]:
    """The channels whose answers in `window` with feedback were asked in a public channel
    (blocking: run it in a worker thread)."""
    try:
        summaries = summary_counts(
            source,
            experiment_id,
            window,
            f"trace.tag.`{TAG_CONVERSATION_KIND}` = '{PUBLIC_CHANNEL}'",
        )
    except NoTraceMetrics:
        return frozenset()
    return frozenset(summary.channel for summary in summaries if summary.channel)
