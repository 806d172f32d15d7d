"""One answer and the people's feedback on it, read from its trace's info (`TraceRecord`).

Only valid HUMAN assessments with the bot's names count (see `bot.tracing.data_model`): an
overridden vote, rating or reason stays on the trace with `valid=False` and is ignored here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from bot.report.trace_records import TraceRecord
from bot.tracing.data_model import (
    HIGHEST_SCORE,
    LOWEST_SCORE,
    RATING_DIMENSIONS,
    RATINGS,
    REASON,
    TAG_ANSWER_TS,
    TAG_CHANNEL,
    VOTE,
    rating_score,
)

HUMAN = "HUMAN"  # mlflow's AssessmentSourceType.HUMAN
USER_KEY = "mlflow.trace.user"
SESSION_KEY = "mlflow.trace.session"
# How a vote counts in an answer's score on the 1–5 scale.
UP_SCORE = float(HIGHEST_SCORE)
DOWN_SCORE = float(LOWEST_SCORE)
# An answer is "negative" with a 👎 or a rating at or below this.
NEGATIVE_RATING = 2.0

_DIMENSION_OF = dict(zip(RATINGS, RATING_DIMENSIONS, strict=True))


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
class AnswerFeedback:
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
        scores = [UP_SCORE if v.positive else DOWN_SCORE for v in self.votes]
        scores += [rating.score for rating in self.ratings]
        return sum(scores) / len(scores) if scores else None

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


def read_answer(info: TraceRecord) -> AnswerFeedback:
    votes: list[Vote] = []
    ratings: list[Rating] = []
    reasons: list[Reason] = []
    for assessment in info.assessments:
        if assessment.valid is False or assessment.source_type != HUMAN or not assessment.source_id:
            continue
        value = assessment.value
        at_ms = assessment.create_time_ms
        if assessment.name == VOTE and isinstance(value, bool):
            votes.append(Vote(assessment.source_id, value, at_ms))
        elif assessment.name == REASON and isinstance(value, str) and value:
            comment = (assessment.rationale or "").strip() or None
            reasons.append(Reason(assessment.source_id, value, comment, at_ms))
        elif assessment.name in _DIMENSION_OF and (stored := _rating_value(value)) is not None:
            ratings.append(
                Rating(
                    user=assessment.source_id,
                    dimension=_DIMENSION_OF[assessment.name],
                    score=round(rating_score(stored), 3),
                    comment=(assessment.rationale or "").strip() or None,
                    at_ms=at_ms,
                )
            )
    metadata = info.metadata
    tags = info.tags
    return AnswerFeedback(
        trace_id=info.trace_id,
        started_ms=info.request_time_ms,
        channel=tags.get(TAG_CHANNEL) or None,
        asker=metadata.get(USER_KEY) or None,
        session=metadata.get(SESSION_KEY) or None,
        question=_preview(info.request_preview, "question"),
        answer=_preview(info.response_preview, "answer"),
        answer_ts=tags.get(TAG_ANSWER_TS) or None,
        question_ts=_question_ts(info.client_request_id),
        votes=tuple(votes),
        ratings=tuple(ratings),
        reasons=_counted(reasons, votes),
    )


def _counted(reasons: list[Reason], votes: list[Vote]) -> tuple[Reason, ...]:
    """The reasons whose giver's vote on the answer is 👎, oldest first."""
    down = {vote.user for vote in votes if not vote.positive}
    return tuple(sorted((r for r in reasons if r.user in down), key=lambda r: r.at_ms))


def _rating_value(value: object) -> float | None:
    """A stored rating (0 < value <= 1), or None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and 0 < value <= 1 else None


def _preview(preview: str | None, key: str) -> str:
    """The bot sets the previews to the plain question and answer; MLflow's own default is the
    root span's inputs/outputs as JSON, which is unwrapped here."""
    text = preview or ""
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return text
        if isinstance(data, dict) and isinstance(data.get(key), str):
            return str(data[key])
    return text


def _question_ts(client_request_id: str | None) -> str | None:
    """The question's message ts, from the client request ID `<channel>:<ts>`."""
    if not client_request_id or ":" not in client_request_id:
        return None
    return client_request_id.rsplit(":", 1)[1] or None
