"""Benchmark: adding 1,000 answers to the evaluation dataset, in bulk against one at a time.

Starts its own MLflow server (a fresh SQLite store under bench/out/dataset), writes `--count`
answers through the tracking server as the bot does (a root span with the question and the
answer, the bot's tags; a vote on each, a 👎 reason on every 3rd, a correction on every 10th),
then times what `python -m bot dataset add --since 1d` does (bot/ops/dataset_cli.py: select
the window's answers with feedback, read them 100 at a time, upsert 100 records a request),
the same again (every record updated), and, as the baseline, one answer at a time (the shape
of a single "Add to dataset": one read and one upsert per answer) into a second dataset. It
counts the HTTP requests each sends to the tracking server and checks the record count.

    .venv/bin/python bench/dataset_bench.py [--count 1000]

Writes bench/dataset_results.txt (BENCHMARKS.md shows its last run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Seeding writes each trace before going on (the asynchronous queue would drop some of 1,000).
os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"

import mlflow  # noqa: E402
import requests.adapters  # noqa: E402
from mlflow.entities import AssessmentSource, AssessmentSourceType, SpanType  # noqa: E402
from mlflow.tracing.provider import with_active_span  # noqa: E402

from bot.dataset.writer import AddResult, DatasetWriter, Selection  # noqa: E402
from bot.tracing.data_model import CORRECTION, REASON, TAG_CHANNEL, VOTE  # noqa: E402
from devkit.mlflow_server import MlflowServer  # noqa: E402

OUT = ROOT / "bench" / "out" / "dataset"
RESULTS = ROOT / "bench" / "dataset_results.txt"
EXPERIMENT = "bench-dataset"


class RequestCount:
    """HTTP requests this process sends (every mlflow client call goes through requests)."""

    def __init__(self) -> None:
        self.sent = 0
        original = requests.adapters.HTTPAdapter.send

        def counted(adapter: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            self.sent += 1
            return original(adapter, request, *args, **kwargs)

        requests.adapters.HTTPAdapter.send = counted  # type: ignore[method-assign]

    @contextmanager
    def measuring(self) -> Iterator[dict[str, float]]:
        figures: dict[str, float] = {}
        before, started = self.sent, time.perf_counter()
        yield figures
        figures["seconds"] = time.perf_counter() - started
        figures["requests"] = self.sent - before


def human(user: str) -> AssessmentSource:
    return AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id=user)


def seed(count: int) -> list[str]:
    """`count` answers with feedback, written through the tracking server."""
    experiment_id = mlflow.set_experiment(EXPERIMENT).experiment_id
    trace_ids = []
    for n in range(count):
        root = mlflow.start_span_no_context(
            name="slack_answer",
            span_type=SpanType.AGENT,
            inputs={"question": f"Question {n}: how do I reset my VPN token?"},
            experiment_id=experiment_id,
        )
        with with_active_span(root):
            mlflow.update_current_trace(tags={TAG_CHANNEL: f"C{n % 7:08d}"})
        root.set_outputs({"answer": f"Answer {n}: open the portal and …"})
        root.end()
        trace_ids.append(root.trace_id)
    mlflow.flush_trace_async_logging()
    for n, trace_id in enumerate(trace_ids):
        mlflow.log_feedback(trace_id=trace_id, name=VOTE, value=n % 3 != 0, source=human("U1"))
        if n % 3 == 0:
            mlflow.log_feedback(
                trace_id=trace_id, name=REASON, value="outdated", source=human("U1")
            )
        if n % 10 == 0:
            mlflow.log_expectation(
                trace_id=trace_id, name=CORRECTION, value=f"Correct {n}", source=human("U2")
            )
    return trace_ids


def bulk(writer: DatasetWriter, since_ms: int) -> AddResult:
    """What `python -m bot dataset add` does."""
    writer.dataset_id()
    trace_ids = [trace_id for page in writer.select(Selection(since_ms)) for trace_id in page]
    result = AddResult()
    for start in range(0, len(trace_ids), 100):
        result += writer.add(trace_ids[start : start + 100], "bench")
    return result


def one_at_a_time(writer: DatasetWriter, trace_ids: list[str]) -> AddResult:
    result = AddResult()
    for trace_id in trace_ids:
        result += writer.add([trace_id], "bench")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    server = MlflowServer(OUT)
    server.start()
    try:
        mlflow.set_tracking_uri(server.url)
        since_ms = int(time.time() * 1000) - 60_000
        started = time.perf_counter()
        trace_ids = seed(args.count)
        seeded_s = time.perf_counter() - started
        requests_count = RequestCount()

        def writer(name: str) -> DatasetWriter:
            return DatasetWriter(server.url, EXPERIMENT, name, timeout_s=30)

        runs: list[tuple[str, Callable[[], AddResult]]] = []
        bulk_writer, single_writer = writer("bench-bulk"), writer("bench-single")
        runs.append(("bulk add (dataset add)", lambda: bulk(bulk_writer, since_ms)))
        runs.append(("the same again (all updated)", lambda: bulk(bulk_writer, since_ms)))
        runs.append(("baseline: one at a time", lambda: one_at_a_time(single_writer, trace_ids)))
        rows = []
        for label, run in runs:
            with requests_count.measuring() as figures:
                result = run()
            rows.append((label, figures, result))
        size, _ = bulk_writer.records(0)
        single_size, _ = single_writer.records(0)
    finally:
        server.stop()
    lines = [
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {args.count} answers with feedback "
        f"(seeded in {seeded_s:.0f} s); a local MLflow 3.17 server on SQLite, same machine",
        "",
        f"{'run':<30} {'seconds':>8} {'requests':>9} {'ms/answer':>10}  result",
    ]
    for label, figures, result in rows:
        per = 1000 * figures["seconds"] / args.count
        lines.append(
            f"{label:<30} {figures['seconds']:>8.2f} {int(figures['requests']):>9} "
            f"{per:>10.2f}  {result.summary}"
        )
    lines += ["", f"records: bulk dataset {size}, one-at-a-time dataset {single_size}"]
    text = "\n".join(lines)
    print(text)
    RESULTS.write_text(text + "\n")
    return 0 if size == single_size == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
