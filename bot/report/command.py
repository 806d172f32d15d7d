"""`/feedback-report`: check the caller, answer at once, build the report in the background.

The immediate answer (Slack's acknowledgement, within 3 s) is a refusal, the usage, the help,
or "Building the report…"; the report itself replaces it later through the `response_url`.
Blocking MLflow calls run in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.report.access import ReportAccess
from bot.report.args import COMMAND, USAGE, ReportArgs, UsageError, parse_report_args
from bot.report.blocks import help_blocks, report_blocks
from bot.report.compute import FeedbackReport
from bot.report.figures import percent_text
from bot.report.reasons import ReasonFigures, report_with_reasons
from bot.report.slack_lookups import ChannelLookupFailed, find_channel_id, permalinks
from bot.report.trace_records import AnswerQuery, tracking_failure
from bot.slack.response_url import replace_original
from config import Settings

if TYPE_CHECKING:
    from bot.report.trace_pages import TraceSource

log = logging.getLogger(__name__)

BUILDING = "Building the report…"
REFUSAL = f"Sorry, {COMMAND} is only for the bot's feedback admins."


@dataclass(frozen=True)
class Invocation:
    """A slash command, as plain values."""

    user_id: str
    text: str
    response_url: str


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[Block] | None = None


@dataclass(frozen=True)
class Ack:
    """What to acknowledge the command with; `report` is what to build afterwards, if anything."""

    message: Message
    report: ReportArgs | None = None


class FeedbackReportCommand:
    def __init__(self, settings: Settings) -> None:
        self._access = ReportAccess(
            settings.feedback_report_admins,
            allow_workspace_admins=settings.feedback_report_allow_workspace_admins,
        )
        self._tracking = settings
        self._source: TraceSource | None = None
        self._ui_base = settings.mlflow_ui_base

    async def acknowledge(self, invocation: Invocation, client: AsyncWebClient) -> Ack:
        if not await self._access.allows(client, invocation.user_id):
            log.warning("refused %s to %s: not a feedback admin", COMMAND, invocation.user_id)
            return Ack(Message(REFUSAL))
        try:
            args = parse_report_args(invocation.text)
        except UsageError as error:
            return Ack(Message(f"{error}.\nUsage:\n```\n{USAGE}\n```"))
        if args.help:
            return Ack(Message(USAGE, help_blocks(USAGE)))
        log.info("%s %r for %s", COMMAND, invocation.text, invocation.user_id)
        return Ack(Message(BUILDING), args)

    async def build_and_post(
        self, args: ReportArgs, response_url: str, client: AsyncWebClient
    ) -> None:
        """Build the report and post it to `response_url` (run it in the background)."""
        try:
            message = await self._build(args, client)
        except Exception as error:
            log.exception("the feedback report failed")
            reason = tracking_failure(error) or f"an unexpected {type(error).__name__}"
            message = Message(f"Sorry, the feedback report could not be built: {reason}.")
        await _post(response_url, message)

    async def _build(self, args: ReportArgs, client: AsyncWebClient) -> Message:
        channel_id = args.channel.id if args.channel else None
        if args.channel is not None and channel_id is None:
            name = args.channel.name
            try:
                channel_id = await find_channel_id(client, str(name))
            except ChannelLookupFailed as error:
                return Message(f"Sorry, I could not look up #{name}: Slack said `{error}`.")
            if channel_id is None:
                return Message(f"I could not find a channel named #{name} that I can see.")
        query = AnswerQuery(args.window, channel_id)
        report, reasons = await asyncio.to_thread(self._compute, query)
        links = await permalinks(client, report.lowest)
        return Message(_summary(report), report_blocks(report, links, reasons))

    def _compute(self, query: AnswerQuery) -> tuple[FeedbackReport, ReasonFigures]:
        """(In a worker thread: it blocks.)"""
        return report_with_reasons(self._trace_source(), query, self._ui_base)

    def _trace_source(self) -> TraceSource:
        """Loaded with the first report (in its thread): mlflow's client is not part of the
        front's start."""
        if self._source is None:
            from bot.report.trace_pages import TraceSource
            from bot.tracing.rest import MlflowRest
            from bot.tracing.setup import bound_mlflow_client

            bound_mlflow_client(self._tracking)
            rest = MlflowRest.from_settings(self._tracking)  # no call may block for minutes
            self._source = TraceSource(rest, self._tracking.mlflow_experiment_name)
        return self._source


def _summary(report: FeedbackReport) -> str:
    """The notification text (where blocks are not shown)."""
    if report.answers == 0:
        return f"Feedback report for {report.window.label}: no answers in this window."
    return (
        f"Feedback report for {report.window.label}: {report.answers} answers, "
        f"{percent_text(report.feedback_rate)} with feedback, "
        f"{percent_text(report.positive_rate)} positive."
    )


async def _post(response_url: str, message: Message) -> None:
    await replace_original(response_url, message.text, message.blocks, what="the feedback report")
