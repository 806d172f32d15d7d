"""Why the answers in a window got their 👎: how often each reason was given, and the reasons
and comments on the lowest-rated answers; how many answers people corrected, and the
corrections of the lowest-rated.

A reason counts while its giver's valid vote on the answer is 👎 (`model.Reason`).
Only answers with a reason are read (the server filters on `user_feedback_reason`), so this
costs a page or two on top of the report, not another pass over every answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.report.figures.answers import read_answer
from bot.report.model import NO_REASONS, Correction, Reason, ReasonFigures
from bot.report.trace_records import AnswerQuery
from bot.tracing.data_model import CORRECTION, REASON

if TYPE_CHECKING:  # the source, not mlflow's client: the front loads that on the first report
    from bot.report.trace_pages import TraceSource


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
    corrected = 0
    corrections: dict[str, tuple[Correction, ...]] = {}
    having_correction = f"{query.filter_string} AND expectation.{CORRECTION} IS NOT NULL"
    for page in source.pages(experiment_id, having_correction):
        for info in page:
            answer = read_answer(info)
            corrected += bool(answer.corrections)
            if answer.trace_id in answers and answer.corrections:
                corrections[answer.trace_id] = answer.corrections
    return ReasonFigures(tuple(ranked), given, corrected, corrections)
