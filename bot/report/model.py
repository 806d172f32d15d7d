"""The report's values: one answer and the feedback on it, and the figures of a window.

Plain frozen dataclasses, computed in `bot/report/figures/` and written out in
`bot/report/render/`; nothing here reads a trace or formats a number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.report.window import ReportWindow
from bot.tracing.counted_feedback import NEGATIVE_RATING, answer_score

LOWEST_COUNT = 5
NEGATIVE_CHANNELS_COUNT = 5


def percent(part: int, whole: int) -> float | None:
    """`part` of `whole` in percent with at most one decimal; None when `whole` is 0."""
    return round(100.0 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class Vote:
    user: str
    positive: bool
    at_ms: int


@dataclass(frozen=True)
class Rating:
    user: str
    dimension: str
    score: float  # 1–5
    comment: str | None
    at_ms: int


@dataclass(frozen=True)
class Reason:
    """Why someone gave an answer their 👎 (the reason's key), and their comment."""

    user: str
    reason: str
    comment: str | None
    at_ms: int


@dataclass(frozen=True)
class Correction:
    """What someone said an answer should have said (a valid HUMAN `expected_response`)."""

    user: str
    text: str
    at_ms: int


@dataclass(frozen=True)
class AnswerFeedback:
    """One answer and the people's feedback on it (bot/report/figures/answers.py reads it)."""

    trace_id: str
    started_ms: int
    channel: str | None
    asker: str | None
    session: str | None
    question: str
    answer: str
    answer_ts: str | None
    question_ts: str | None
    votes: tuple[Vote, ...]
    ratings: tuple[Rating, ...]
    # Only the reasons of people whose vote is 👎: a reason outlives a vote changed to 👍
    # (it stays on the trace) but no longer counts.
    reasons: tuple[Reason, ...] = ()
    # Where the question was asked (data_model.CONVERSATION_KINDS); None on traces from before
    # the bot recorded it.
    conversation_kind: str | None = None
    corrections: tuple[Correction, ...] = ()  # newest first

    @property
    def has_feedback(self) -> bool:
        return bool(self.votes or self.ratings)

    @property
    def up(self) -> int:
        return sum(vote.positive for vote in self.votes)

    @property
    def down(self) -> int:
        return sum(not vote.positive for vote in self.votes)

    @property
    def score(self) -> float | None:
        """The mean, on 1–5, of every rating and vote (👍 = 5, 👎 = 1); None without feedback."""
        return answer_score((v.positive for v in self.votes), (r.score for r in self.ratings))

    @property
    def is_negative(self) -> bool:
        return (
            self.down > 0
            or bool(self.reasons)
            or any(r.score <= NEGATIVE_RATING for r in self.ratings)
        )

    @property
    def comment(self) -> str | None:
        """The comment of the lowest rating that has one."""
        commented = [r for r in self.ratings if r.comment]
        return min(commented, key=lambda r: r.score).comment if commented else None


@dataclass(frozen=True)
class RatingSummary:
    dimension: str
    count: int
    average: float | None  # 1–5

    @classmethod
    def of(cls, dimension: str, count: int, total: float) -> RatingSummary:
        """`count` ratings of `dimension` adding up to `total` (their average to 2 places)."""
        return cls(dimension, count, round(total / count, 2) if count else None)


class PositiveRate:
    """👍 / (👍 + 👎) of a group of answers with `up` and `down` votes (the dataclasses below)."""

    up: int
    down: int

    @property
    def positive_rate(self) -> float | None:
        return percent(self.up, self.up + self.down)


@dataclass(frozen=True)
class TrendBucket(PositiveRate):
    start: date  # the day, or the week's Monday
    answers: int
    up: int
    down: int


@dataclass(frozen=True)
class TimelinePoint(PositiveRate):
    """One step of the timeline the charts draw (2 hours or a day: `ReportWindow.step`)."""

    start: datetime  # UTC
    answers: int
    up: int
    down: int


# The segment of answers whose trace has no conversation kind (asked before it was recorded).
NOT_RECORDED = "not_recorded"


@dataclass(frozen=True)
class SegmentFeedback(PositiveRate):
    """The answers asked in one kind of conversation (data_model.CONVERSATION_KINDS, or
    NOT_RECORDED), and their votes."""

    kind: str
    answers: int
    up: int
    down: int


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
class FeedbackReport(PositiveRate):
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
    # The trend again, per `window.step` (what the charts draw), and the split by where the
    # questions were asked (kinds with answers only, in data_model.CONVERSATION_KINDS order).
    timeline: tuple[TimelinePoint, ...] = ()
    segments: tuple[SegmentFeedback, ...] = ()

    @property
    def feedback_rate(self) -> float | None:
        return percent(self.answers_with_feedback, self.answers)


@dataclass(frozen=True)
class ReasonFigures:
    """The 👎 reasons of a window (bot/report/figures/down_reasons.py counts them)."""

    counts: tuple[tuple[str, int], ...]  # reason key → times given, most first
    given: Mapping[str, tuple[Reason, ...]]  # trace ID → its reasons, for the answers asked
    corrected: int = 0  # answers with a correction
    # trace ID → its corrections (newest first), for the answers asked
    corrections: Mapping[str, tuple[Correction, ...]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(count for _, count in self.counts)


NO_REASONS = ReasonFigures((), {})
