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
(aggregated.py); otherwise it reads the window page by page (counting.py).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.report.figures.aggregated import NotExact, aggregated_report
from bot.report.figures.counting import page_by_page_report
from bot.report.figures.down_reasons import reason_figures
from bot.report.model import FeedbackReport, ReasonFigures
from bot.report.trace_records import AnswerQuery, NoTraceMetrics

if TYPE_CHECKING:  # the source, not mlflow's client: the front loads that on the first report
    from bot.report.trace_pages import TraceSource

log = logging.getLogger(__name__)


def compute_report(source: TraceSource, query: AnswerQuery, ui_base: str) -> FeedbackReport:
    """The report for `query` (blocking: run it in a worker thread from async code): from the
    tracking server's aggregates when they are exact (aggregated.py), else from
    every answer of the window, page by page."""
    experiment_id = source.experiment_id()
    if experiment_id is not None and source.offers_metrics:
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


def report_with_reasons(
    source: TraceSource, query: AnswerQuery, ui_base: str
) -> tuple[FeedbackReport, ReasonFigures]:
    """The report, and the reasons it shows (blocking)."""
    report = compute_report(source, query, ui_base)
    lowest = {answer.trace_id for answer in report.lowest}
    return report, reason_figures(source, query, lowest)
