"""One answer and the people's feedback on it, read from its trace's info (`TraceRecord`),
and how a lowest-rated one is listed.

Only valid HUMAN assessments with the bot's names count (`bot.tracing.counted_feedback`): an
overridden vote, rating or reason stays on the trace with `valid=False` and is ignored here.
"""

from __future__ import annotations

import json

from bot.report.model import AnswerFeedback, Correction, LowRatedAnswer, Rating, Reason, Vote
from bot.tracing.counted_feedback import counted, from_people
from bot.tracing.data_model import (
    CORRECTION,
    REASON,
    TAG_ANSWER_TS,
    TAG_CHANNEL,
    TAG_CONVERSATION_KIND,
)
from bot.tracing.links import trace_url
from bot.tracing.trace_records import TraceRecord

USER_KEY = "mlflow.trace.user"
SESSION_KEY = "mlflow.trace.session"
QUESTION_CHARS = 200
COMMENT_CHARS = 300


def read_answer(info: TraceRecord) -> AnswerFeedback:
    votes: list[Vote] = []
    ratings: list[Rating] = []
    reasons: list[Reason] = []
    corrections: list[Correction] = []
    for assessment in info.assessments:
        value = assessment.value
        if assessment.name == CORRECTION:
            source = (assessment.valid, assessment.source_type, assessment.source_id)
            if from_people(*source) and isinstance(value, str) and value.strip():
                at_ms = assessment.create_time_ms
                corrections.append(Correction(str(assessment.source_id), value, at_ms))
            continue
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
        conversation_kind=tags.get(TAG_CONVERSATION_KIND) or None,
        corrections=tuple(sorted(corrections, key=lambda c: -c.at_ms)),
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


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
