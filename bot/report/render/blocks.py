"""The report as Block Kit for Slack, built with `slack_sdk.models` (which validates): its text
form, and with `charts=True` the same report with the trend, the 👎 reasons and the channels
as Slack's charts and table (charts.py) where there is something to draw."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.report.args import COMMAND
from bot.report.model import (
    NO_REASONS,
    Correction,
    FeedbackReport,
    LowRatedAnswer,
    Reason,
    ReasonFigures,
)
from bot.report.privacy import PRIVATE_CONVERSATIONS
from bot.report.render.charts import channels_table, reasons_chart, trend_chart
from bot.report.render.wording import (
    DEFINITIONS,
    average_text,
    corrected_text,
    correction_text,
    kind_label,
    percent_text,
    plural,
    reason_label,
    reason_text,
    trend_lines,
)
from bot.slack.data_blocks import ToDict
from bot.tracing.data_model import SCALE_TEXT

SECTION_TEXT_LIMIT = 3000
HELP_HINT = f"`{COMMAND} help` explains how these are counted."

ADD_TO_DATASET = "Add to dataset"
IN_DATASET = "In dataset ✓"
DATASET_ADD_ACTION = "dataset_add"  # handlers/views/dataset_button.py answers it
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def escape(text: str) -> str:
    """User text made inert in mrkdwn (no mentions, links or broken markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def channel_mention(channel: str | None) -> str:
    if not channel:
        return "an unknown channel"
    if channel == PRIVATE_CONVERSATIONS:  # what a post in a channel must not name
        return PRIVATE_CONVERSATIONS
    return f"a DM (`{channel}`)" if channel.startswith("D") else f"<#{channel}>"


@dataclass(frozen=True)
class DatasetButtons:
    """An "Add to dataset" button per lowest-rated answer: its signed value by trace ID, and
    the answers already added (their button reads "In dataset ✓")."""

    values: Mapping[str, str]
    added: frozenset[str] = frozenset()


def report_blocks(
    report: FeedbackReport,
    permalinks: Mapping[str, str],
    reasons: ReasonFigures = NO_REASONS,
    *,
    charts: bool = False,
    dataset: DatasetButtons | None = None,
) -> list[ToDict]:
    """The report; `permalinks` maps a low-rated answer's trace ID to its Slack message.
    `charts`: with Slack's chart and table blocks (which some surfaces refuse); `dataset`: an
    "Add to dataset" button per lowest-rated answer."""
    window = report.window
    scope = "all channels" if report.channel is None else channel_mention(report.channel)
    label = window.label[0].upper() + window.label[1:]
    blocks: list[ToDict] = [
        HeaderBlock(text="Feedback report"),
        ContextBlock(
            elements=[
                _markdown(
                    f"*{label}* ({window.start:%Y-%m-%d %H:%M} to "
                    f"{window.end:%Y-%m-%d %H:%M} UTC) · {scope}"
                )
            ]
        ),
    ]
    if report.answers == 0:
        blocks.append(SectionBlock(text=_markdown("*No answers in this window.*")))
        return blocks
    blocks += [
        SectionBlock(
            fields=[
                _markdown(f"*Answers*\n{report.answers}"),
                _markdown(
                    f"*With feedback*\n{report.answers_with_feedback} "
                    f"({percent_text(report.feedback_rate)})"
                ),
                _markdown(f"*Votes*\n👍 {report.up} · 👎 {report.down}"),
                _markdown(f"*Positive rate*\n{percent_text(report.positive_rate)}"),
            ]
        ),
        SectionBlock(
            fields=[
                _markdown(
                    f"*{r.dimension.capitalize()}* ({SCALE_TEXT})\n"
                    f"{average_text(r.average)} · {plural(r.count, 'rating')}"
                )
                for r in report.ratings
            ]
        ),
    ]
    reasons_block = _section(_reasons_text(reasons))
    trend_block = _section(
        f"*Trend per {window.bucket}*\n```\n"
        + "\n".join(trend_lines(report.trend, window.bucket))
        + "\n```"
    )
    if charts:  # the trend first: it is what the eye looks for
        blocks += [trend_chart(report) or trend_block, reasons_chart(reasons) or reasons_block]
    else:
        blocks += [reasons_block, trend_block]
    if report.segments:
        blocks.append(_section(_segments_text(report)))
    blocks += [
        DividerBlock(),
        _section("*Lowest-rated answers*" + ("" if report.lowest else "\nNone scored below 3.")),
    ]
    blocks += [
        _with_dataset_button(
            _section(
                _low_rated_text(
                    n,
                    a,
                    permalinks.get(a.trace_id),
                    reasons.given.get(a.trace_id, ()),
                    reasons.corrections.get(a.trace_id, ()),
                )
            ),
            a.trace_id,
            dataset,
        )
        for n, a in enumerate(report.lowest, 1)
    ]
    blocks += [
        DividerBlock(),
        (charts and channels_table(report)) or _section(_channels_text(report)),
    ]
    blocks.append(ContextBlock(elements=[_markdown(HELP_HINT)]))
    return blocks


def help_blocks(usage: str) -> list[Block]:
    return [_section(f"```\n{usage}\n```"), _section(DEFINITIONS)]


def _reasons_text(reasons: ReasonFigures) -> str:
    corrected = f"\n✏️ {corrected_text(reasons.corrected)}"
    if not reasons.total:
        return "*👎 reasons*\nNone given in this window." + corrected
    counts = " · ".join(f"{reason_label(key)} {count}" for key, count in reasons.counts)
    return f"*👎 reasons* ({reasons.total} given)\n{counts}" + corrected


def _segments_text(report: FeedbackReport) -> str:
    lines = ["*Where asked*"]
    lines += [
        f"{kind_label(s.kind)}: {plural(s.answers, 'answer')} · 👍 {s.up} · 👎 {s.down}"
        + (f" ({percent_text(s.positive_rate)} positive)" if s.up + s.down else "")
        for s in report.segments
    ]
    return "\n".join(lines)


def _low_rated_text(
    number: int,
    answer: LowRatedAnswer,
    permalink: str | None,
    reasons: Sequence[Reason] = (),
    corrections: Sequence[Correction] = (),
) -> str:
    votes = f" · 👍 {answer.up} · 👎 {answer.down}" if answer.up + answer.down else ""
    lines = [
        f"*{number}.* score *{answer.score:.2f}*{votes} · {channel_mention(answer.channel)}",
        f">{escape(answer.question) or '(no question text)'}",
    ]
    if answer.comment:
        lines.append(f"_“{escape(answer.comment)}”_")
    lines += [f"👎 {escape(reason_text(reason))}" for reason in reasons]
    lines += [f"✏️ {_who(c.user)}: {escape(correction_text(c))}" for c in corrections]
    links = [f"<{permalink}|message in Slack>"] if permalink else []
    links.append(f"<{answer.trace_url}|trace in MLflow>")
    lines.append(" · ".join(links))
    return "\n".join(lines)


def _with_dataset_button(
    block: SectionBlock, trace_id: str, dataset: DatasetButtons | None
) -> SectionBlock:
    value = dataset.values.get(trace_id) if dataset is not None else None
    if dataset is None or value is None:
        return block
    added = trace_id in dataset.added
    block.accessory = ButtonElement(
        text=IN_DATASET if added else ADD_TO_DATASET,
        action_id=DATASET_ADD_ACTION,
        value=value,
        style=None if added else "primary",
    )
    return block


def _who(user: str) -> str:
    """A mention of a Slack user ID (anything else read from a trace is not written out)."""
    return f"<@{user}>" if SLACK_USER_ID.match(user) else "someone"


def _channels_text(report: FeedbackReport) -> str:
    if not report.negative_channels:
        return "*Most 👎 by channel*\nNo 👎 in this window."
    lines = ["*Most 👎 by channel*"]
    lines += [
        f"{channel_mention(c.channel)}: 👎 {c.down} · 👍 {c.up} · {plural(c.answers, 'answer')}"
        for c in report.negative_channels
    ]
    return "\n".join(lines)


def _markdown(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def _section(text: str) -> SectionBlock:
    if len(text) > SECTION_TEXT_LIMIT:
        text = text[: SECTION_TEXT_LIMIT - 1] + "…"
    return SectionBlock(text=_markdown(text))
