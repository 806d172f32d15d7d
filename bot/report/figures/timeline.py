"""The report's counts over time: answers and their 👍/👎 per timeline step (2 hours or a
day), and the trend (per day or week) summed from them, the same for both ways of counting."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from bot.report.model import NOT_RECORDED, SegmentFeedback, TimelinePoint, TrendBucket
from bot.report.window import ReportWindow
from bot.tracing.data_model import CONVERSATION_KINDS


class Counts:
    """Answers, 👍 and 👎 added up per key."""

    def __init__(self) -> None:
        self._counts: defaultdict[object, list[int]] = defaultdict(lambda: [0, 0, 0])

    def add(self, key: object, answers: int = 0, up: int = 0, down: int = 0) -> None:
        counts = self._counts[key]
        counts[0] += answers
        counts[1] += up
        counts[2] += down

    def get(self, key: object) -> tuple[int, int, int]:
        answers, up, down = self._counts.get(key, (0, 0, 0))
        return answers, up, down

    def total(self) -> tuple[int, int, int]:
        answers, up, down = (sum(c[i] for c in self._counts.values()) for i in range(3))
        return answers, up, down


def timeline_and_trend(
    window: ReportWindow, by_step: Counts
) -> tuple[tuple[TimelinePoint, ...], tuple[TrendBucket, ...]]:
    """The timeline (every step of the window; `by_step` is keyed by the step's start in ms)
    and the trend summed from it."""
    timeline = tuple(
        TimelinePoint(start, *by_step.get(int(start.timestamp() * 1000)))
        for start in window.steps()
    )
    by_bucket = Counts()
    for point in timeline:
        by_bucket.add(_bucket(window, point.start), point.answers, point.up, point.down)
    trend = tuple(TrendBucket(start, *by_bucket.get(start)) for start in window.buckets())
    return timeline, trend


def segments(by_kind: Counts) -> tuple[SegmentFeedback, ...]:
    """The kinds of conversation with answers, in CONVERSATION_KINDS order, then NOT_RECORDED."""
    found = (
        SegmentFeedback(kind, *by_kind.get(kind)) for kind in (*CONVERSATION_KINDS, NOT_RECORDED)
    )
    return tuple(segment for segment in found if segment.answers or segment.up or segment.down)


def _bucket(window: ReportWindow, start: datetime) -> object:
    return window.bucket_of(int(start.timestamp() * 1000))
