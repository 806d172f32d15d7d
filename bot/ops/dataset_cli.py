"""`python -m bot dataset add|show`: the evaluation dataset from a shell.

`add --since 7d [--channel C…] [--negative-only] [--corrected-only]` adds the answers with
people's feedback in the window (only the negative or corrected ones if asked), with a
progress bar on a terminal and a summary line (added, updated, skipped). Running it again
updates the same records. `show [--limit N]` prints the dataset's size and its newest records.

They need only MLFLOW_TRACKING_URI (and MLFLOW_EXPERIMENT_NAME, FEEDBACK_DATASET if not the
defaults), never Slack secrets. Exit codes: 0 done, 1 the tracking server failed or refused
the dataset, 2 bad arguments or configuration.
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
import time
from typing import Any, TextIO

from config import TrackingSettings

COMMAND = "dataset"
_SINCE = re.compile(r"^(\d{1,4})([hd])$")
_CHANNEL = re.compile(r"^[CDGZ][A-Z0-9]{2,}$")


def since_ms(text: str, now_s: float | None = None) -> int:
    """`24h`, `7d`, `90d` … as the start of the window, in ms."""
    found = _SINCE.match(text.strip())
    if found is None or int(found.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a window like 24h or 7d")
    seconds = int(found.group(1)) * (3600 if found.group(2) == "h" else 86400)
    return int(((time.time() if now_s is None else now_s) - seconds) * 1000)


def _channel_id(text: str) -> str:
    if not _CHANNEL.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a channel ID like C0123ABCD")
    return text


def add_commands(commands: Any) -> None:
    dataset = commands.add_parser("dataset", help="the evaluation dataset: add answers, show it")
    actions = dataset.add_subparsers(dest="dataset_command", required=True)
    add = actions.add_parser("add", help="add the answers with feedback of a window")
    add.add_argument("--since", type=since_ms, default="7d", help="24h, 7d (default), 30d, …")
    add.add_argument("--channel", type=_channel_id, help="only this channel (an ID)")
    add.add_argument(
        "--negative-only", action="store_true", help="only answers with a 👎, reason or rating ≤ 2"
    )
    add.add_argument("--corrected-only", action="store_true", help="only corrected answers")
    show = actions.add_parser("show", help="print the dataset's size and newest records")
    show.add_argument("--limit", type=int, default=10, help="how many records (default 10)")


def run(args: argparse.Namespace, settings: TrackingSettings) -> int:
    from bot.dataset.writer import DatasetRefused, DatasetWriter, Selection

    writer = DatasetWriter(
        settings.mlflow_tracking_uri,
        settings.mlflow_experiment_name,
        settings.feedback_dataset,
        timeout_s=settings.mlflow_request_timeout_s,
        retries=settings.mlflow_request_retries,
    )
    try:
        if args.dataset_command == "show":
            return _show(writer, args.limit, sys.stdout)
        selection = Selection(args.since, args.channel, args.negative_only, args.corrected_only)
        return _add(writer, selection, f"cli:{_user()}", sys.stdout, sys.stderr)
    except DatasetRefused as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # the tracking server failed: say so in one line
        print(f"error: the tracking server failed: {str(error)[:500]}", file=sys.stderr)
        return 1


def _add(writer: Any, selection: Any, added_by: str, out: TextIO, err: TextIO) -> int:
    from bot.dataset.writer import AddResult

    writer.dataset_id()  # created on first use; a server that keeps none says so here
    trace_ids: list[str] = []
    for page in writer.select(selection):
        trace_ids += page
    progress = Progress(len(trace_ids), err)
    result = AddResult()
    chunk = 100
    for start in range(0, len(trace_ids), chunk):
        result += writer.add(trace_ids[start : start + chunk], added_by)
        progress.show(min(start + chunk, len(trace_ids)))
    progress.done()
    print(f"{writer.dataset_name}: {len(trace_ids)} answers, {result.summary}", file=out)
    return 1 if result.missing else 0


def _show(writer: Any, limit: int, out: TextIO) -> int:
    size, newest = writer.records(limit)
    print(f"{writer.dataset_name}: {size} records", file=out)
    for record in newest:
        inputs, expectations = record.get("inputs") or {}, record.get("expectations") or {}
        source = ((record.get("source") or {}).get("source_data") or {}).get("trace_id", "")
        line = {
            "question": _cut(str(inputs.get("question", ""))),
            "expected_response": _cut(str(expectations.get("expected_response", ""))) or None,
            "guidelines": len(expectations.get("guidelines") or []),
            "trace": source,
            "tags": record.get("tags") or {},
        }
        print(json.dumps(line, ensure_ascii=False), file=out)
    return 0


class Progress:
    """A one-line progress bar on a terminal; nothing otherwise (logs, pipes)."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self._total = total
        self._stream = stream
        self._on = total > 0 and stream.isatty()

    def show(self, done: int) -> None:
        if self._on:
            filled = self.WIDTH * done // self._total
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            self._stream.write(f"\r[{bar}] {done}/{self._total}")
            self._stream.flush()

    def done(self) -> None:
        if self._on:
            self._stream.write("\n")


def _cut(text: str, chars: int = 80) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
