"""`/feedback-report`: check the caller, answer at once, build the report in the background.

The immediate answer (Slack's acknowledgement, within 3 s) is a refusal, the usage, the help,
or "Building the report…"; the report itself replaces it later through the `response_url`.
Blocking MLflow calls run in a worker thread, never on the event loop.
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.report.access import ReportAccess
from bot.report.args import COMMAND, USAGE, ReportArgs, UsageError, parse_report_args
from bot.report.model import FeedbackReport, ReasonFigures
from bot.report.render.blocks import DatasetButtons, help_blocks, report_blocks
from bot.report.render.wording import report_summary
from bot.report.reports import Reports
from bot.report.slack_lookups import ChannelLookupFailed, find_channel_id
from bot.report.trace_records import AnswerQuery, tracking_failure
from bot.slack.data_blocks import block_dicts
from bot.slack.response_url import deliver_to_response_url
from bot.slack.surfaces import DataBlockSurfaces, Delivery, ephemeral_surface
from config import Settings

log = logging.getLogger(__name__)

BUILDING = "Building the report…"
REFUSAL = f"Sorry, {COMMAND} is only for the bot's feedback admins."
SHOWN_KEPT = 100  # reports kept (in this process) to redraw after an "Add to dataset" click


@dataclass(frozen=True)
class Invocation:
    """A slash command, as plain values."""

    user_id: str
    text: str
    response_url: str
    channel_id: str = ""


@dataclass(frozen=True)
class Message:
    """`text` is the notification (and what screen readers say); `charted`, when given, is
    `blocks` with charts and tables, for surfaces that take them."""

    text: str
    blocks: list[Block] | list[dict[str, Any]] | None = None
    charted: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Ack:
    """What to acknowledge the command with; `report` is what to build afterwards, if anything."""

    message: Message
    report: ReportArgs | None = None


@dataclass(frozen=True)
class DatasetAdds:
    """What the report's "Add to dataset" buttons need: `sign(trace_id, report_id)`, the
    button's value, and `added(trace_id)`, whether anyone asked to add the answer already."""

    sign: Callable[[str, str], str]
    added: Callable[[str], Awaitable[bool]]


@dataclass
class _Shown:
    """A report as posted, kept a while so that a click can show its button as added."""

    report: FeedbackReport
    links: Mapping[str, str]
    reasons: ReasonFigures
    buttons: DatasetButtons


class FeedbackReportCommand:
    def __init__(
        self,
        settings: Settings,
        reports: Reports | None = None,
        surfaces: DataBlockSurfaces | None = None,
        dataset: DatasetAdds | None = None,
    ) -> None:
        self._access = ReportAccess(
            settings.feedback_report_admins,
            allow_workspace_admins=settings.feedback_report_allow_workspace_admins,
        )
        self._reports = reports or Reports(settings)
        self._surfaces = surfaces or DataBlockSurfaces()
        self._dataset = dataset
        self._shown: OrderedDict[str, _Shown] = OrderedDict()

    @property
    def access(self) -> ReportAccess:
        return self._access

    async def shown_as_added(self, report_id: str, trace_id: str) -> Message | None:
        """The report `report_id` again (as text blocks), with the answer's button reading
        "In dataset ✓" (None if this process no longer holds that report)."""
        shown = self._shown.get(report_id)
        if shown is None or trace_id not in shown.buttons.values:
            return None
        shown.buttons = replace(shown.buttons, added=shown.buttons.added | {trace_id})
        blocks = report_blocks(shown.report, shown.links, shown.reasons, dataset=shown.buttons)
        return Message(report_summary(shown.report), block_dicts(blocks))

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
        self, args: ReportArgs, response_url: str, client: AsyncWebClient, channel_id: str = ""
    ) -> None:
        """Build the report and post it to `response_url` (run it in the background): with
        charts where the surface takes them, else (and from then on) in text."""
        try:
            message = await self._build(args, client)
        except Exception as error:
            log.exception("the feedback report failed")
            reason = tracking_failure(error) or f"an unexpected {type(error).__name__}"
            message = Message(f"Sorry, the feedback report could not be built: {reason}.")

        async def post(blocks: Sequence[Mapping[str, Any]]) -> Delivery:
            return await deliver_to_response_url(
                response_url, message.text, [dict(b) for b in blocks], what="the feedback report"
            )

        plain = block_dicts(message.blocks or [])
        surface = ephemeral_surface(channel_id)
        await self._surfaces.send(surface, message.charted or plain, plain, post)

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
        built = await self._reports.build(AnswerQuery(args.window, channel_id), client)
        report, links, reasons = built.report, built.permalinks, built.reasons
        report_id = uuid.uuid4().hex[:16]
        buttons = await self._buttons(report, report_id)
        if buttons is not None:
            self._keep(report_id, _Shown(report, links, reasons, buttons))
        return Message(
            report_summary(report),
            block_dicts(report_blocks(report, links, reasons, dataset=buttons)),
            block_dicts(report_blocks(report, links, reasons, charts=True, dataset=buttons)),
        )

    async def _buttons(self, report: FeedbackReport, report_id: str) -> DatasetButtons | None:
        """An "Add to dataset" button per lowest-rated answer (none without a dataset)."""
        if self._dataset is None or not report.lowest:
            return None
        trace_ids = [answer.trace_id for answer in report.lowest]
        added = frozenset([t for t in trace_ids if await self._dataset.added(t)])
        return DatasetButtons({t: self._dataset.sign(t, report_id) for t in trace_ids}, added)

    def _keep(self, report_id: str, shown: _Shown) -> None:
        self._shown[report_id] = shown
        while len(self._shown) > SHOWN_KEPT:
            self._shown.popitem(last=False)
