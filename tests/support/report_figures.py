"""Made-up report figures for the fast layer: a report over any window, and many 👎 reasons."""

from __future__ import annotations

from bot.report.model import (
    ChannelFeedback,
    FeedbackReport,
    RatingSummary,
    ReasonFigures,
    SegmentFeedback,
    TimelinePoint,
    TrendBucket,
)
from bot.report.window import ReportWindow
from devkit.ids import new_id


def report_over(window: ReportWindow, *, votes: bool = True, channels: int = 5) -> FeedbackReport:
    timeline = tuple(
        TimelinePoint(start, 3, n % 3 if votes else 0, 1 if votes and n % 2 else 0)
        for n, start in enumerate(window.steps())
    )
    trend = tuple(TrendBucket(day, 0, 0, 0) for day in window.buckets())
    return FeedbackReport(
        window=window,
        channel=None,
        experiment_id="1",
        answers=3 * len(timeline),
        answers_with_feedback=1,
        up=sum(p.up for p in timeline),
        down=sum(p.down for p in timeline),
        ratings=(RatingSummary("accuracy", 0, None),),
        trend=trend,
        lowest=(),
        negative_channels=tuple(
            ChannelFeedback(new_id("D" if n == 0 else "C"), 4, 1, 3) for n in range(channels)
        ),
        timeline=timeline,
        segments=(SegmentFeedback("dm", 2, 1, 1), SegmentFeedback("public_channel", 1, 0, 0)),
    )


REASONS = ReasonFigures(tuple((f"reason_number_{n:02d}_is_long", 30 - n) for n in range(25)), {})
