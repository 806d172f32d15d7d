"""Building a report for Slack: the figures (in a worker thread: MLflow's calls block) and the
links to the lowest-rated answers' messages. `/feedback-report` and the Home tab share it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk.web.async_client import AsyncWebClient

from bot.report.figures.report import report_with_reasons
from bot.report.model import FeedbackReport, ReasonFigures
from bot.report.slack_lookups import permalinks
from bot.report.trace_records import AnswerQuery
from config import Settings

if TYPE_CHECKING:
    from bot.report.trace_pages import TraceSource


@dataclass(frozen=True)
class BuiltReport:
    report: FeedbackReport
    reasons: ReasonFigures
    permalinks: dict[str, str]  # a lowest-rated answer's trace ID → its Slack message


class Reports:
    def __init__(self, settings: Settings) -> None:
        self._tracking = settings
        self._source: TraceSource | None = None
        self._ui_base = settings.mlflow_ui_base

    async def build(self, query: AnswerQuery, client: AsyncWebClient) -> BuiltReport:
        report, reasons = await asyncio.to_thread(self._compute, query)
        links = await permalinks(client, report.lowest)
        return BuiltReport(report, reasons, links)

    def _compute(self, query: AnswerQuery) -> tuple[FeedbackReport, ReasonFigures]:
        """(In a worker thread: it blocks.)"""
        return report_with_reasons(self._trace_source(), query, self._ui_base)

    def _trace_source(self) -> TraceSource:
        """Loaded with the first report (in its thread): mlflow's client is not part of the
        front's start."""
        if self._source is None:
            from bot.report.trace_pages import TraceSource

            self._source = TraceSource.of(self._tracking)
        return self._source
