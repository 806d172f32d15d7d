"""The feedback report: how the bot's answers in a window were received.

Definitions (also in the report's help):
- an answer has feedback when it has at least one valid HUMAN vote or rating;
- feedback rate = answers with feedback / answers;
- positive rate = 👍 / (👍 + 👎) over valid votes;
- a dimension's average is on the 1–5 scale;
- an answer's score is the mean of its ratings and votes on 1–5 (👍 = 5, 👎 = 1); the
  lowest-rated answers are those scoring below 3, lowest first (then most 👎, then newest);
- the trend counts answers and their votes by the day (the week, past 31 days) the answer
  was given, in UTC.

`compute_report` is the one function behind `/feedback-report` and `python -m bot report`.
It takes the figures from the tracking server's aggregates when they are exact
(bot/report/aggregated.py); otherwise it reads the window page by page and keeps only
counters and the few lowest answers, so its memory does not grow with the number of answers.
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bot.report.answer_feedback import AnswerFeedback, read_answer
from bot.report.trace_records import AnswerQuery, NoTraceMetrics
from bot.report.window import ReportWindow
from bot.tracing.counted_feedback import LOW_SCORE_BELOW
from bot.tracing.data_model import RATING_DIMENSIONS
from bot.tracing.links import trace_url

if TYPE_CHECKING:  # the source, not mlflow's client: the front loads that on the first report
    from bot.report.trace_pages import TraceSource

log = logging.getLogger(__name__)

LOWEST_COUNT = 5
NEGATIVE_CHANNELS_COUNT = 5
QUESTION_CHARS = 200
COMMENT_CHARS = 300


def percent(part: int, whole: int) -> float | None:
    """`part` of `whole` in percent with at most one decimal; None when `whole` is 0."""
    return round(100.0 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class RatingSummary:
    dimension: str
    count: int
    average: float | None  # 1–5


@dataclass(frozen=True)
class TrendBucket:
    start: date  # the day, or the week's Monday
    answers: int
    up: int
    down: int

    @property
    def positive_rate(self) -> float | None:
        return percent(self.up, self.up + self.down)


@dataclass(frozen=True)
class LowRatedAnswer:
    trace_id: str
    score: float  # 1–5
    up: int
    down: int
    ratings: int
    question: str
    comment: str | None
    channel: str | None
    answer_ts: str | None
    question_ts: str | None
    started_ms: int
    trace_url: str
    conversation_kind: str | None = None  # where it was asked (bot/report/privacy.py)


@dataclass(frozen=True)
class ChannelFeedback:
    channel: str
    answers: int
    up: int
    down: int


@dataclass(frozen=True)
class FeedbackReport:
    window: ReportWindow
    channel: str | None
    experiment_id: str | None
    answers: int
    answers_with_feedback: int
    up: int
    down: int
    ratings: tuple[RatingSummary, ...]
    trend: tuple[TrendBucket, ...]
    lowest: tuple[LowRatedAnswer, ...]
    negative_channels: tuple[ChannelFeedback, ...]

    @property
    def feedback_rate(self) -> float | None:
        return percent(self.answers_with_feedback, self.answers)

    @property
    def positive_rate(self) -> float | None:
        return percent(self.up, self.up + self.down)


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
        self._trend: defaultdict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
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
        bucket = self._trend[self._query.window.bucket_of(answer.started_ms)]
        bucket[0] += 1
        bucket[1] += up
        bucket[2] += down
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
            RatingSummary(
                dimension=dimension,
                count=self._rating_counts[dimension],
                average=(
                    round(self._rating_totals[dimension] / self._rating_counts[dimension], 2)
                    if self._rating_counts[dimension]
                    else None
                ),
            )
            for dimension in RATING_DIMENSIONS
        )
        trend = tuple(
            TrendBucket(start, *self._trend.get(start, (0, 0, 0))) for start in window.buckets()
        )
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
        )


def low_rated(answer: AnswerFeedback, experiment_id: str | None, ui_base: str) -> LowRatedAnswer:
    """A lowest-rated answer as the report lists it (`answer` has a score)."""
    comment = answer.comment
    return LowRatedAnswer(
        trace_id=answer.trace_id,
        score=round(answer.score or 0.0, 2),
        up=answer.up,
        down=answer.down,
        ratings=len(answer.ratings),
        question=_shorten(answer.question, QUESTION_CHARS),
        comment=_shorten(comment, COMMENT_CHARS) if comment else None,
        channel=answer.channel,
        answer_ts=answer.answer_ts,
        question_ts=answer.question_ts,
        started_ms=answer.started_ms,
        trace_url=trace_url(ui_base, experiment_id or "", answer.trace_id),
        conversation_kind=answer.conversation_kind,
    )


def compute_report(source: TraceSource, query: AnswerQuery, ui_base: str) -> FeedbackReport:
    """The report for `query` (blocking: run it in a worker thread from async code): from the
    tracking server's aggregates when they are exact (bot/report/aggregated.py), else from
    every answer of the window, page by page."""
    experiment_id = source.experiment_id()
    if experiment_id is not None and source.offers_metrics:
        from bot.report.aggregated import NotExact, aggregated_report

        try:
            return aggregated_report(source, experiment_id, query, ui_base)
        except NoTraceMetrics as error:
            source.offers_metrics = False
            log.warning(
                "the tracking server has no trace metrics for the report (an older MLflow?): "
                "the feedback report reads every answer page by page (%s)",
                error,
            )
        except NotExact as error:
            log.info("the feedback report reads every answer page by page: %s", error)
    return page_by_page_report(source, experiment_id, query, ui_base)


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


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
