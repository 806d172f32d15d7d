"""Answers with feedback as JSON lines: one answer a line, ready for an evaluation dataset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bot.report.answer_feedback import AnswerFeedback, read_answer
from bot.report.reasons import reason_record
from bot.report.trace_records import AnswerQuery
from bot.report.window import utc_iso

if TYPE_CHECKING:  # the source, not mlflow's client: the front loads that on the first report
    from bot.report.trace_pages import TraceSource


def answer_record(answer: AnswerFeedback) -> dict[str, Any]:
    return {
        "trace_id": answer.trace_id,
        "question": answer.question,
        "answer": answer.answer,
        "asker": answer.asker,
        "channel": answer.channel,
        "session": answer.session,
        "question_ts": answer.question_ts,
        "answer_ts": answer.answer_ts,
        "answered_at": utc_iso(answer.started_ms),
        "votes": [
            {"user": v.user, "value": v.positive, "at": utc_iso(v.at_ms)} for v in answer.votes
        ],
        "ratings": [
            {
                "user": r.user,
                "dimension": r.dimension,
                "score": int(r.score) if float(r.score).is_integer() else r.score,
                "comment": r.comment,
                "at": utc_iso(r.at_ms),
            }
            for r in answer.ratings
        ],
        "reasons": [reason_record(r) for r in answer.reasons],
    }


def export_lines(source: TraceSource, query: AnswerQuery, *, negative_only: bool) -> Iterator[str]:
    """One JSON line per answer with feedback (with a 👎, a 👎 reason or a rating of 2 or less
    if `negative_only`), page by page (blocking)."""
    experiment_id = source.experiment_id()
    if experiment_id is None:
        return
    for page in source.pages(experiment_id, query):
        for info in page:
            answer = read_answer(info)
            if answer.has_feedback and (answer.is_negative or not negative_only):
                yield json.dumps(answer_record(answer), ensure_ascii=False)
