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
from typing import Any, NoReturn

from bot.report.args import UsageError, parse_report_args
from bot.report.export import export_lines
from bot.report.figures.report import report_with_reasons
from bot.report.render.formats import FORMATS, render
from bot.report.trace_records import CHANNEL_ID, AnswerQuery, tracking_failure
from bot.report.window import ReportWindow, WindowError, parse_window
from config import LOCAL_MLFLOW_PORT, ConfigError, TrackingSettings, load_tracking_settings

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
            "words",
            nargs="*",
            metavar="WORD",
            help="what /feedback-report takes: a window and a channel ID, e.g. 30d C0123ABCD",
        )
        command.add_argument(
            "--since",
            type=_window,
            help="24h, 7d (default), 30d or YYYY-MM-DD..YYYY-MM-DD (UTC, inclusive)",
        )
        command.add_argument("--channel", type=_channel_id, help="only this channel (an ID)")
    report.add_argument("--format", choices=FORMATS, default="text")
    export.add_argument(
        "--negative-only", action="store_true", help="only answers with a 👎 or a rating ≤ 2"
    )
    export.add_argument("--output", type=Path, help="write to this file instead of stdout")


def answer_query(args: argparse.Namespace) -> AnswerQuery:
    """The answers asked for: the slash command's words, or `--since` and `--channel` (exit 2
    with the reason if they are not understood or disagree)."""
    try:
        words = parse_report_args(" ".join(args.words))
    except UsageError as error:
        _usage_error(args.command, str(error))
    given = set(args.words)
    window = args.since or words.window
    if args.since is not None and words.window.spec in given and words.window != args.since:
        _usage_error(args.command, "give the window once: as a word or with --since")
    channel: str | None = args.channel
    if words.channel is not None:
        if words.channel.id is None:
            _usage_error(
                args.command, f"#{words.channel.name}: give a channel ID like C0123ABCD here"
            )
        if channel is not None and channel != words.channel.id:
            _usage_error(args.command, "give the channel once: as a word or with --channel")
        channel = words.channel.id
    return AnswerQuery(window, channel)


def _usage_error(command: str, message: str) -> NoReturn:
    print(f"python -m bot {command}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def tracking_settings() -> TrackingSettings:
    """The MLflow settings, or exit 2 saying what is missing; with no tracking server set,
    where the one `make run` starts listens."""
    try:
        return load_tracking_settings()
    except ConfigError as error:
        for line in str(error).splitlines():
            print(f"configuration error: {line}", file=sys.stderr)
        if "MLFLOW_TRACKING_URI is not set" in str(error):
            local = f"http://127.0.0.1:{LOCAL_MLFLOW_PORT}"
            print(
                "hint: `make run` starts a local tracking server (on MLFLOW_PORT, "
                f"{LOCAL_MLFLOW_PORT} when free); with it running, set MLFLOW_TRACKING_URI={local} "
                "(in .env or the environment)",
                file=sys.stderr,
            )
        raise SystemExit(2) from None


def run(args: argparse.Namespace, settings: TrackingSettings) -> int:
    from bot.report.trace_pages import TraceSource

    query = answer_query(args)
    source = TraceSource.of(settings)
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
