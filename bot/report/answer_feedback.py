"""One answer and the people's feedback on it, read from its trace's info (`TraceRecord`).

Only valid HUMAN assessments with the bot's names count (`bot.tracing.counted_feedback`): an
overridden vote, rating or reason stays on the trace with `valid=False` and is ignored here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.tracing.counted_feedback import NEGATIVE_RATING, answer_score, counted, from_people
from bot.tracing.data_model import REASON, TAG_ANSWER_TS, TAG_CHANNEL
from bot.tracing.trace_records import TraceRecord

USER_KEY = "mlflow.trace.user"
SESSION_KEY = "mlflow.trace.session"


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


def read_answer(info: TraceRecord) -> AnswerFeedback:
    votes: list[Vote] = []
    ratings: list[Rating] = []
    reasons: list[Reason] = []
    for assessment in info.assessments:
        value = assessment.value
        if assessment.name == REASON:
            source = (assessment.valid, assessment.source_type, assessment.source_id)
            if from_people(*source) and isinstance(value, str) and value:
                comment = (assessment.rationale or "").strip() or None
                reasons.append(
                    Reason(
                        str(assessment.source_id), value, comment, at_ms=assessment.create_time_ms
                    )
                )
            continue
        found = counted(
            assessment.name,
            assessment.value,
            assessment.source_type,
            assessment.source_id,
            assessment.valid,
        )
        if found is None:
            continue
        at_ms = assessment.create_time_ms
        if found.positive is not None:
            votes.append(Vote(found.user, found.positive, at_ms))
        else:
            ratings.append(
                Rating(
                    user=found.user,
                    dimension=str(found.dimension),
                    score=found.score,
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
