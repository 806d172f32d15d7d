"""Why the answers in a window got their 👎: how often each reason was given, and the reasons
and comments on the lowest-rated answers.

A reason counts while its giver's valid vote on the answer is 👎 (`answer_feedback.Reason`).
Only answers with a reason are read (the server filters on `user_feedback_reason`), so this
costs a page or two on top of the report, not another pass over every answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bot.report.answer_feedback import Reason, read_answer
from bot.report.compute import FeedbackReport, compute_report
from bot.report.trace_records import AnswerQuery
from bot.report.window import utc_iso
from bot.tracing.data_model import REASON

if TYPE_CHECKING:  # the source, not mlflow's client: the front loads that on the first report
    from bot.report.trace_pages import TraceSource

COMMENT_CHARS = 300


@dataclass(frozen=True)
class ReasonFigures:
    counts: tuple[tuple[str, int], ...]  # reason key → times given, most first
    given: Mapping[str, tuple[Reason, ...]]  # trace ID → its reasons, for the answers asked

    @property
    def total(self) -> int:
        return sum(count for _, count in self.counts)


NO_REASONS = ReasonFigures((), {})


def reason_figures(
    source: TraceSource, query: AnswerQuery, answers: Collection[str] = ()
) -> ReasonFigures:
    """The reasons given on the answers of `query`, and those on `answers` (trace IDs) one by
    one (blocking: run it in a worker thread from async code)."""
    experiment_id = source.experiment_id()
    if experiment_id is None:
        return NO_REASONS
    counts: Counter[str] = Counter()
    given: dict[str, tuple[Reason, ...]] = {}
    for page in source.pages(experiment_id, replace(query, having=REASON)):
        for info in page:
            answer = read_answer(info)
            counts.update(reason.reason for reason in answer.reasons)
            if answer.trace_id in answers and answer.reasons:
                given[answer.trace_id] = answer.reasons
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ReasonFigures(tuple(ranked), given)


def report_with_reasons(
    source: TraceSource, query: AnswerQuery, ui_base: str
) -> tuple[FeedbackReport, ReasonFigures]:
    """The report, and the reasons it shows (blocking)."""
    report = compute_report(source, query, ui_base)
    lowest = {answer.trace_id for answer in report.lowest}
    return report, reason_figures(source, query, lowest)


def reason_label(key: str) -> str:
    """How a stored reason reads ("not_what_i_asked" → "not what i asked")."""
    return key.replace("_", " ")


def reason_text(reason: Reason) -> str:
    """One reason and its comment, on one line."""
    if not reason.comment:
        return reason_label(reason.reason)
    comment = " ".join(reason.comment.split())
    if len(comment) > COMMENT_CHARS:
        comment = comment[: COMMENT_CHARS - 1].rstrip() + "…"
    return f"{reason_label(reason.reason)}: “{comment}”"


def reason_record(reason: Reason) -> dict[str, Any]:
    """A reason as JSON (the export's `reasons` and the report's)."""
    return {
        "user": reason.user,
        "reason": reason.reason,
        "comment": reason.comment,
        "at": utc_iso(reason.at_ms),
    }


def reasons_dict(figures: ReasonFigures) -> dict[str, Any]:
    return {
        "counts": dict(figures.counts),
        "lowest_rated": {
            trace_id: [reason_record(r) for r in reasons]
            for trace_id, reasons in figures.given.items()
        },
    }
