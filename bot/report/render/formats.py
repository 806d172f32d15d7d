"""The report as plain text, JSON or CSV (for `python -m bot report`)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from bot.report.model import NO_REASONS, FeedbackReport, Reason, ReasonFigures
from bot.report.render.wording import (
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
from bot.report.window import utc_iso
from bot.tracing.data_model import HIGHEST_SCORE, LOWEST_SCORE

FORMATS = ("text", "json", "csv")


def report_dict(report: FeedbackReport, reasons: ReasonFigures = NO_REASONS) -> dict[str, Any]:
    """Every number of the report, as JSON-ready values."""
    window = report.window
    return {
        "window": {
            "spec": window.spec,
            "label": window.label,
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
        },
        "channel": report.channel,
        "experiment_id": report.experiment_id,
        "answers": report.answers,
        "answers_with_feedback": report.answers_with_feedback,
        "feedback_rate_pct": report.feedback_rate,
        "votes": {"up": report.up, "down": report.down, "positive_rate_pct": report.positive_rate},
        "ratings": {r.dimension: {"count": r.count, "average": r.average} for r in report.ratings},
        "trend": {
            "bucket": window.bucket,
            "rows": [
                {
                    "start": b.start.isoformat(),
                    "answers": b.answers,
                    "up": b.up,
                    "down": b.down,
                    "positive_rate_pct": b.positive_rate,
                }
                for b in report.trend
            ],
        },
        "lowest_rated": [
            {
                "trace_id": a.trace_id,
                "score": a.score,
                "up": a.up,
                "down": a.down,
                "ratings": a.ratings,
                "question": a.question,
                "comment": a.comment,
                "channel": a.channel,
                "answered_at": utc_iso(a.started_ms),
                "trace_url": a.trace_url,
            }
            for a in report.lowest
        ],
        "most_negative_channels": [
            {"channel": c.channel, "answers": c.answers, "up": c.up, "down": c.down}
            for c in report.negative_channels
        ],
        "down_reasons": reasons_dict(reasons),
        "where_asked": [
            {
                "kind": segment.kind,
                "answers": segment.answers,
                "up": segment.up,
                "down": segment.down,
                "positive_rate_pct": segment.positive_rate,
            }
            for segment in report.segments
        ],
    }


def render_json(report: FeedbackReport, reasons: ReasonFigures = NO_REASONS) -> str:
    return json.dumps(report_dict(report, reasons), ensure_ascii=False, indent=2) + "\n"


def render_csv(report: FeedbackReport, reasons: ReasonFigures = NO_REASONS) -> str:
    """One number per row: section, key, metric, value."""
    data = report_dict(report, reasons)
    rows: list[tuple[str, str, str, object]] = [
        ("window", "", "start", data["window"]["start"]),
        ("window", "", "end", data["window"]["end"]),
        ("scope", "", "channel", data["channel"] or ""),
    ]
    for metric in ("answers", "answers_with_feedback", "feedback_rate_pct"):
        rows.append(("summary", "", metric, data[metric]))
    for metric, value in data["votes"].items():
        rows.append(("votes", "", metric, value))
    for dimension, numbers in data["ratings"].items():
        rows += [("rating", dimension, metric, value) for metric, value in numbers.items()]
    for row in data["trend"]["rows"]:
        rows += [("trend", row["start"], m, v) for m, v in row.items() if m != "start"]
    for answer in data["lowest_rated"]:
        rows += [("lowest_rated", answer["trace_id"], m, v) for m, v in answer.items()]
    for channel in data["most_negative_channels"]:
        rows += [("negative_channel", channel["channel"], m, v) for m, v in channel.items()]
    rows += [("down_reason", key, "count", n) for key, n in data["down_reasons"]["counts"].items()]
    for segment in data["where_asked"]:
        rows += [("where_asked", segment["kind"], m, v) for m, v in segment.items() if m != "kind"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "key", "metric", "value"))
    writer.writerows((s, k, m, "" if v is None else v) for s, k, m, v in rows)
    return out.getvalue()


def render_text(report: FeedbackReport, reasons: ReasonFigures = NO_REASONS) -> str:
    window = report.window
    lines = [
        f"Feedback report: {window.label} ({_minute(window.start)} to {_minute(window.end)} UTC),"
        f" {'all channels' if report.channel is None else 'channel ' + report.channel}",
        "",
    ]
    if report.answers == 0:
        return "\n".join([*lines, "No answers in this window."]) + "\n"
    lines += [
        f"Answers:            {report.answers}",
        f"With feedback:      {report.answers_with_feedback}"
        f" ({percent_text(report.feedback_rate)} feedback rate)",
        f"Votes:              {report.up} up, {report.down} down"
        f" ({percent_text(report.positive_rate)} positive)",
        f"Ratings ({LOWEST_SCORE}-{HIGHEST_SCORE}):",
    ]
    for rating in report.ratings:
        lines.append(
            f"  {rating.dimension:<13} {average_text(rating.average):>5}"
            f"  ({plural(rating.count, 'rating')})"
        )
    lines.append(f"Down reasons:       {plural(reasons.total, 'reason')} given")
    lines += [f"  {reason_label(key):<13} {count:>5}" for key, count in reasons.counts]
    lines.append(f"Corrections:        {corrected_text(reasons.corrected)}")
    lines += ["", f"Trend (per {window.bucket}):"]
    lines += ["  " + line for line in trend_lines(report.trend, window.bucket)]
    lines += ["", "Lowest-rated answers:"]
    if not report.lowest:
        lines.append("  none scored below 3")
    for number, answer in enumerate(report.lowest, 1):
        lines.append(f"  {number}. score {answer.score:.2f} in {answer.channel or '?'}")
        lines.append(f"     question: {answer.question}")
        if answer.comment:
            lines.append(f"     comment:  {answer.comment}")
        given = reasons.given.get(answer.trace_id, ())
        lines += [f"     reason:   {reason_text(reason)}" for reason in given]
        corrections = reasons.corrections.get(answer.trace_id, ())
        lines += [f"     correction by {c.user}: {correction_text(c)}" for c in corrections]
        lines.append(f"     trace:    {answer.trace_url}")
    lines += ["", "Most negative feedback by channel:"]
    if not report.negative_channels:
        lines.append("  no 👎 in this window")
    for channel in report.negative_channels:
        lines.append(
            f"  {channel.channel:<12} {channel.down} down, {channel.up} up"
            f" ({plural(channel.answers, 'answer')})"
        )
    lines += ["", "Where the questions were asked:"]
    for segment in report.segments:
        rate = percent_text(segment.positive_rate)
        lines.append(
            f"  {kind_label(segment.kind):<16} {plural(segment.answers, 'answer')},"
            f" {segment.up} up, {segment.down} down ({rate} positive)"
        )
    return "\n".join(lines) + "\n"


def render(report: FeedbackReport, fmt: str, reasons: ReasonFigures = NO_REASONS) -> str:
    if fmt == "json":
        return render_json(report, reasons)
    if fmt == "csv":
        return render_csv(report, reasons)
    return render_text(report, reasons)


def _minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


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
        "answers_corrected": figures.corrected,
        "corrections": {
            trace_id: [
                {"user": c.user, "text": c.text, "at": utc_iso(c.at_ms)} for c in corrections
            ]
            for trace_id, corrections in figures.corrections.items()
        },
        "lowest_rated": {
            trace_id: [reason_record(r) for r in reasons]
            for trace_id, reasons in figures.given.items()
        },
    }
