"""How the report's numbers read, the same in Slack and on the command line."""

from __future__ import annotations

from collections.abc import Sequence

from bot.report.model import NOT_RECORDED, Correction, FeedbackReport, Reason, TrendBucket
from bot.tracing.data_model import (
    ASSISTANT,
    DM,
    GROUP_DM,
    HIGHEST_SCORE,
    LOWEST_SCORE,
    PRIVATE_CHANNEL,
    PUBLIC_CHANNEL,
    SCALE_TEXT,
    UNKNOWN_KIND,
)

BAR_WIDTH = 12
COMMENT_CHARS = 300
_EIGHTHS = " ▏▎▍▌▋▊▉"

DEFINITIONS = (
    "An answer *has feedback* when it has at least one valid 👍/👎 vote or rating "
    "(an overridden one no longer counts). *Feedback rate* = answers with feedback / answers. "
    f"*Positive rate* = 👍 / (👍 + 👎). Ratings are averaged on {SCALE_TEXT}. "
    f"An answer's *score* is the mean of its ratings and votes on {SCALE_TEXT} "
    f"(👍 = {HIGHEST_SCORE}, 👎 = {LOWEST_SCORE}); "
    "*lowest-rated* lists answers scoring below 3, lowest first (then most 👎, then newest). "
    "*👎 reasons*: what voters chose when asked “What went wrong?” after a 👎, counted while "
    "the giver's vote on the answer is still 👎 (one per person and answer; a changed reason "
    "replaces the old one). "
    "*Most negative channels*: most 👎 first. *Where asked*: the answers and votes of DMs, "
    "group DMs, private and public channels and the assistant panel (unknown: Slack did not "
    "say; not recorded: answered before the bot recorded it). The window selects answers by "
    "when they were given (UTC); all their feedback counts, whenever it was given."
)


KIND_LABELS = {
    DM: "DMs",
    GROUP_DM: "Group DMs",
    PRIVATE_CHANNEL: "Private channels",
    PUBLIC_CHANNEL: "Public channels",
    ASSISTANT: "Assistant panel",
    UNKNOWN_KIND: "Unknown",
    NOT_RECORDED: "Not recorded",  # answers from before the bot recorded where
}


def kind_label(kind: str) -> str:
    """Where a question was asked, in words ("Public channels")."""
    return KIND_LABELS.get(kind, kind)


def report_summary(report: FeedbackReport) -> str:
    """The report in a sentence: a message's `text` (notifications, screen readers)."""
    if report.answers == 0:
        return f"Feedback report for {report.window.label}: no answers in this window."
    return (
        f"Feedback report for {report.window.label}: {report.answers} answers, "
        f"{percent_text(report.feedback_rate)} with feedback, "
        f"{percent_text(report.positive_rate)} positive."
    )


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def percent_text(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}".removesuffix(".0") + "%"


def average_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def bar(value: int, largest: int, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of `value` against `largest`, in eighths of a character."""
    if value <= 0 or largest <= 0:
        return " " * width
    eighths = max(1, round(value * width * 8 / largest))
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part else "")
    return text.ljust(width)


def trend_lines(trend: Sequence[TrendBucket], bucket: str) -> list[str]:
    """A fixed-width table: one line per day (or week), a bar of its answers, its 👍 rate."""
    largest = max((b.answers for b in trend), default=0)
    label = "day" if bucket == "day" else "week of"
    lines = [f"{label:<10}  {'answers':<{BAR_WIDTH}} {'n':>5}  {'up/votes':>9} {'pos':>6}"]
    for b in trend:
        votes = f"{b.up}/{b.up + b.down}" if b.up + b.down else ""
        rate = percent_text(b.positive_rate) if votes else ""
        line = f"{b.start.isoformat():<10}  {bar(b.answers, largest)} {b.answers:>5}  "
        lines.append((line + f"{votes:>9} {rate:>6}").rstrip())
    return lines


def reason_label(key: str) -> str:
    """How a stored reason reads ("not_what_i_asked" → "not what i asked")."""
    return key.replace("_", " ")


def correction_text(correction: Correction) -> str:
    """A correction on one line, cut to COMMENT_CHARS."""
    text = " ".join(correction.text.split())
    if len(text) > COMMENT_CHARS:
        text = text[: COMMENT_CHARS - 1].rstrip() + "…"
    return f"“{text}”"


def corrected_text(count: int) -> str:
    return f"{count} answer{'s' if count != 1 else ''} corrected"


def reason_text(reason: Reason) -> str:
    """One reason and its comment, on one line."""
    if not reason.comment:
        return reason_label(reason.reason)
    comment = " ".join(reason.comment.split())
    if len(comment) > COMMENT_CHARS:
        comment = comment[: COMMENT_CHARS - 1].rstrip() + "…"
    return f"{reason_label(reason.reason)}: “{comment}”"
