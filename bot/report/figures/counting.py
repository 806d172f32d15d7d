"""The report counted answer by answer, from every answer of the window read page by page:
only counters and the few lowest answers are kept, so memory does not grow with the number of
answers. Used when the tracking server's aggregates would not be exact (aggregated.py).
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from bot.report.figures.answers import low_rated, read_answer
from bot.report.figures.timeline import Counts, segments, timeline_and_trend
from bot.report.model import (
    LOWEST_COUNT,
    NEGATIVE_CHANNELS_COUNT,
    NOT_RECORDED,
    AnswerFeedback,
    ChannelFeedback,
    FeedbackReport,
    LowRatedAnswer,
    RatingSummary,
)
from bot.report.trace_records import AnswerQuery
from bot.tracing.counted_feedback import LOW_SCORE_BELOW
from bot.tracing.data_model import RATING_DIMENSIONS

if TYPE_CHECKING:  # the source, not mlflow's client: the front loads that on the first report
    from bot.report.trace_pages import TraceSource


class ReportBuilder:
    """Counts answers one at a time; `build()` gives the report."""

    def __init__(self, query: AnswerQuery, experiment_id: str | None, ui_base: str) -> None:
        self._query = query
        self._experiment_id = experiment_id
        self._ui_base = ui_base
        self._answers = 0
        self._with_feedback = 0
        self._up = 0
        self._down = 0
        self._rating_counts: Counter[str] = Counter()
        self._rating_totals: defaultdict[str, float] = defaultdict(float)
        self._by_step = Counts()
        self._by_kind = Counts()
        self._channels: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        # The lowest answers so far, as a max-heap on "how low" (its top is the least low).
        self._lowest: list[tuple[tuple[float, int, int, str], LowRatedAnswer]] = []

    def add(self, answer: AnswerFeedback) -> None:
        up, down = answer.up, answer.down
        self._answers += 1
        self._with_feedback += answer.has_feedback
        self._up += up
        self._down += down
        for rating in answer.ratings:
            self._rating_counts[rating.dimension] += 1
            self._rating_totals[rating.dimension] += rating.score
        self._by_step.add(self._query.window.step_of(answer.started_ms), 1, up, down)
        self._by_kind.add(answer.conversation_kind or NOT_RECORDED, 1, up, down)
        if answer.channel:
            channel = self._channels[answer.channel]
            channel[0] += 1
            channel[1] += up
            channel[2] += down
        self._consider_lowest(answer)

    def _consider_lowest(self, answer: AnswerFeedback) -> None:
        score = answer.score
        if score is None or score >= LOW_SCORE_BELOW:
            return
        # Lower score, then more 👎, then newer, is "lower"; this key is larger for lower.
        key = (-score, answer.down, answer.started_ms, answer.trace_id)
        if len(self._lowest) == LOWEST_COUNT and key <= self._lowest[0][0]:
            return
        entry = (key, low_rated(answer, self._experiment_id, self._ui_base))
        if len(self._lowest) < LOWEST_COUNT:
            heapq.heappush(self._lowest, entry)
        else:
            heapq.heapreplace(self._lowest, entry)

    def build(self) -> FeedbackReport:
        window = self._query.window
        ratings = tuple(
            RatingSummary.of(d, self._rating_counts[d], self._rating_totals[d])
            for d in RATING_DIMENSIONS
        )
        timeline, trend = timeline_and_trend(window, self._by_step)
        lowest = tuple(answer for _, answer in sorted(self._lowest, reverse=True))
        negative = sorted(
            (ChannelFeedback(channel, *counts) for channel, counts in self._channels.items()),
            key=lambda c: (-c.down, c.up, c.channel),
        )
        return FeedbackReport(
            window=window,
            channel=self._query.channel,
            experiment_id=self._experiment_id,
            answers=self._answers,
            answers_with_feedback=self._with_feedback,
            up=self._up,
            down=self._down,
            ratings=ratings,
            trend=trend,
            lowest=lowest,
            negative_channels=tuple(c for c in negative if c.down)[:NEGATIVE_CHANNELS_COUNT],
            timeline=timeline,
            segments=segments(self._by_kind),
        )


def page_by_page_report(
    source: TraceSource, experiment_id: str | None, query: AnswerQuery, ui_base: str
) -> FeedbackReport:
    """The report from every answer of the window, read page by page."""
    builder = ReportBuilder(query, experiment_id, ui_base)
    if experiment_id is not None:
        for page in source.pages(experiment_id, query):
            for info in page:
                builder.add(read_answer(info))
    return builder.build()
