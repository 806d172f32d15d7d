"""`python -m bot report` and `python -m bot export`: the feedback report from a shell.

They need only MLFLOW_TRACKING_URI (and MLFLOW_EXPERIMENT_NAME, MLFLOW_UI_URL if not the
defaults), never Slack secrets. Exit codes: 0 done, 1 the tracking server failed, 2 bad
arguments or configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

from bot.report.export import export_lines
from bot.report.figures.report import report_with_reasons
from bot.report.render.formats import FORMATS, render
from bot.report.trace_records import CHANNEL_ID, AnswerQuery, tracking_failure
from bot.report.window import DEFAULT_WINDOW, ReportWindow, WindowError, parse_window
from config import TrackingSettings

COMMANDS = ("report", "export")


def _window(text: str) -> ReportWindow:
    try:
        return parse_window(text)
    except WindowError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _channel_id(text: str) -> str:
    if not CHANNEL_ID.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a channel ID like C0123ABCD")
    return text


def add_commands(commands: Any) -> None:
    """Add `report` and `export` to the `python -m bot` subcommands."""
    report = commands.add_parser("report", help="print the feedback report")
    export = commands.add_parser("export", help="write answers with feedback as JSON lines")
    for command in (report, export):
        command.add_argument(
            "--since",
            type=_window,
            default=DEFAULT_WINDOW,
            help="24h, 7d (default), 30d or YYYY-MM-DD..YYYY-MM-DD (UTC, inclusive)",
        )
        command.add_argument("--channel", type=_channel_id, help="only this channel (an ID)")
    report.add_argument("--format", choices=FORMATS, default="text")
    export.add_argument(
        "--negative-only", action="store_true", help="only answers with a 👎 or a rating ≤ 2"
    )
    export.add_argument("--output", type=Path, help="write to this file instead of stdout")


def run(args: argparse.Namespace, settings: TrackingSettings) -> int:
    from bot.report.trace_pages import TraceSource
    from bot.tracing.rest import MlflowRest
    from bot.tracing.setup import bound_mlflow_client

    bound_mlflow_client(settings)
    source = TraceSource(MlflowRest.from_settings(settings), settings.mlflow_experiment_name)
    query = AnswerQuery(args.since, args.channel)
    try:
        if args.command == "report":
            report, reasons = report_with_reasons(source, query, settings.mlflow_ui_base)
            sys.stdout.write(render(report, args.format, reasons))
        else:
            lines = export_lines(source, query, negative_only=args.negative_only)
            _write_lines(lines, args.output)
    except Exception as error:
        reason = tracking_failure(error)
        if reason is None:
            raise
        print(f"error: {reason}; tracking URI {settings.mlflow_tracking_uri}", file=sys.stderr)
        return 1
    return 0


def _write_lines(lines: Iterable[str], output: Path | None) -> None:
    """Stream to stdout, or to `output` through a temporary file (no half-written file)."""
    if output is None:
        for line in lines:
            sys.stdout.write(line + "\n")
        return
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as out:
            for line in lines:
                out.write(line + "\n")
        os.replace(partial, output)
    finally:
        with suppress(FileNotFoundError):
            partial.unlink()
