"""The feedback report as a post in a channel: computed with the report's own functions (in
a worker thread: they block), made fit to share by the privacy rule (bot/report/privacy.py)
before it is rendered, then rendered as `/feedback-report` renders it: with its charts and
table, and in text for a channel that refuses them (bot/slack/surfaces.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.report.figures.public_channels import public_channels
from bot.report.figures.report import report_with_reasons
from bot.report.model import FeedbackReport, ReasonFigures
from bot.report.privacy import for_channel
from bot.report.render.blocks import report_blocks
from bot.report.render.wording import report_summary
from bot.report.slack_lookups import permalinks
from bot.report.trace_records import AnswerQuery
from bot.report.window import ReportWindow
from bot.slack.data_blocks import block_dicts
from config import TrackingSettings

if TYPE_CHECKING:
    from bot.report.trace_pages import TraceSource


@dataclass(frozen=True)
class SharedReport:
    """A report as a channel may see it, and its rendering."""

    report: FeedbackReport
    reasons: ReasonFigures
    text: str  # the notification, and what screen readers say
    blocks: list[dict[str, Any]]  # the text form
    charted: list[dict[str, Any]]  # with the charts and the channels' table


class ChannelReports:
    def __init__(self, tracking: TrackingSettings, client: AsyncWebClient) -> None:
        self._tracking = tracking
        self._client = client
        self._source: TraceSource | None = None

    async def build(
        self, window: ReportWindow, posted_in: str, channel: str | None = None
    ) -> SharedReport:
        """The report of `window` (in `channel`, if given) as a post in `posted_in`."""
        report, reasons = await asyncio.to_thread(self._compute, window, posted_in, channel)
        links = await permalinks(self._client, report.lowest)
        return SharedReport(
            report,
            reasons,
            report_summary(report),
            block_dicts(report_blocks(report, links, reasons)),
            block_dicts(report_blocks(report, links, reasons, charts=True)),
        )

    def _compute(
        self, window: ReportWindow, posted_in: str, channel: str | None
    ) -> tuple[FeedbackReport, ReasonFigures]:
        return shared_figures(
            self.source(), window, posted_in, channel, self._tracking.mlflow_ui_base
        )

    def source(self) -> TraceSource:
        """The tracking server's traces (loaded on first use, in a worker thread)."""
        if self._source is None:
            from bot.report.trace_pages import TraceSource

            self._source = TraceSource.of(self._tracking)
        return self._source


def shared_figures(
    source: TraceSource, window: ReportWindow, posted_in: str, channel: str | None, ui_base: str
) -> tuple[FeedbackReport, ReasonFigures]:
    """The figures of a post in `posted_in` (blocking): the report of `window` (in `channel`,
    if given) with its reasons, withheld as the privacy rule says for that channel."""
    report, reasons = report_with_reasons(source, AnswerQuery(window, channel), ui_base)
    experiment_id = report.experiment_id
    public = public_channels(source, experiment_id, window) if experiment_id else frozenset()
    return for_channel(report, reasons, posted_in, public)
