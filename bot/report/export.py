"""Answers with feedback as JSON lines: one answer a line, ready for an evaluation dataset."""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bot.report.figures.answers import read_answer
from bot.report.model import AnswerFeedback
from bot.report.render.formats import reason_record
from bot.report.trace_records import AnswerQuery
from bot.report.window import utc_iso
from bot.tracing.counted_feedback import NEGATIVE_RATING
from bot.tracing.data_model import RATINGS, VOTE, rating_value
from bot.tracing.trace_records import TraceRecord

# The answers to read: those with a valid assessment of one of the bot's names (whoever wrote
# it: who counts is decided on each answer read), or, for negative ones, a 👎 (a reason counts
# only with its giver's 👎) or a rating of 2 or less. One search for each; an answer found by
# several is written once.
WITH_FEEDBACK = tuple(f"feedback.`{name}` IS NOT NULL" for name in (VOTE, *RATINGS))
NEGATIVE = (
    f"feedback.`{VOTE}` = 'false'",
    *(f"feedback.`{name}` <= {rating_value(int(NEGATIVE_RATING))}" for name in RATINGS),
)
NEWEST_FIRST = ["timestamp_ms DESC", "request_id DESC"]

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
    if `negative_only`), newest first, streamed page by page (blocking): only the answers the
    server finds with such feedback are read, not the whole window."""
    experiment_id = source.experiment_id()
    if experiment_id is None:
        return
    searches = [
        _records(source, experiment_id, f"{query.filter_string} AND {feedback}")
        for feedback in (NEGATIVE if negative_only else WITH_FEEDBACK)
    ]
    last_id = None
    for info in heapq.merge(*searches, key=_newest_first, reverse=True):
        if info.trace_id == last_id:
            continue  # found by another search too
        last_id = info.trace_id
        answer = read_answer(info)
        if answer.has_feedback and (answer.is_negative or not negative_only):
            yield json.dumps(answer_record(answer), ensure_ascii=False)


def _records(source: TraceSource, experiment_id: str, search: str) -> Iterator[TraceRecord]:
    for page in source.pages(experiment_id, search, order_by=NEWEST_FIRST):
        yield from page


def _newest_first(info: TraceRecord) -> tuple[int, str]:
    return info.request_time_ms, info.trace_id
