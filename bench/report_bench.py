"""Benchmark: the feedback report from the server's aggregates against the page-by-page reader.

For each size it starts its own MLflow server (on a fresh SQLite store under bench/out/),
bulk-seeds that many answers with feedback dated over the last 7 days (bench/seed_traces.py,
with .venv-mlflow, through the server's own store), then times `compute_report` for `7d`
(the aggregates: bot/report/figures/aggregated.py) against `page_by_page_report` (every answer read,
as before), best of `--repeat` runs each (the page reader once from 100k answers: it takes
tens of seconds), and checks that both give the same report. It prints both side by side
and the ratio between sizes.

    .venv/bin/python bench/report_bench.py [--sizes 10000,100000] [--repeat 3]

Targets: the report on 100k answers in ≤ 1.5 s, and report(100k) / report(10k) ≤ 1.3;
each is printed as met or MISSED (exit 1 only if the two reports differ).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mlflow  # noqa: E402

from bot.report.figures.counting import page_by_page_report  # noqa: E402
from bot.report.figures.report import compute_report  # noqa: E402
from bot.report.model import FeedbackReport  # noqa: E402
from bot.report.trace_pages import TraceSource  # noqa: E402
from bot.report.trace_records import AnswerQuery  # noqa: E402
from bot.report.window import parse_window  # noqa: E402
from bot.tracing.rest import MlflowRest, RequestBounds  # noqa: E402
from devkit.mlflow_server import MLFLOW_BIN, MlflowServer  # noqa: E402

EXPERIMENT = "report-bench"
SIZES = (10_000, 100_000)
TARGET_SIZE = 100_000
TARGET_SECONDS = 1.5
TARGET_GROWTH = 1.3
PAGES_ONCE_FROM = 100_000
RECORD = ROOT / "bench" / "report_results.txt"  # shown in BENCHMARKS.md (bench/run.py)


@dataclass
class Timing:
    wall_s: float = float("inf")
    cpu_s: float = float("inf")  # this process only


@dataclass
class Row:
    size: int
    seed_s: float
    report: Timing
    pages: Timing
    same: bool


def best_of(repeat: int, work: Callable[[], FeedbackReport]) -> tuple[Timing, FeedbackReport]:
    timing = Timing()
    result = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        timing.wall_s = min(timing.wall_s, time.perf_counter() - wall)
        timing.cpu_s = min(timing.cpu_s, time.process_time() - cpu)
    assert result is not None
    return timing, result


def measure(size: int, repeat: int) -> Row:
    workdir = ROOT / "bench" / "out" / f"mlflow-{size}"
    shutil.rmtree(workdir, ignore_errors=True)
    server = MlflowServer(workdir)
    server.start()
    try:
        mlflow.set_tracking_uri(server.url)
        experiment_id = str(mlflow.set_experiment(EXPERIMENT).experiment_id)
        print(f"seeding {size} answers into {server.url} …", flush=True)
        started = time.monotonic()
        subprocess.run(
            [
                str(MLFLOW_BIN.parent / "python"),
                str(ROOT / "bench" / "seed_traces.py"),
                f"sqlite:///{workdir / 'mlflow.db'}",
                str(workdir / "artifacts"),
                experiment_id,
                str(size),
            ],
            check=True,
        )
        seed_s = time.monotonic() - started
        source = TraceSource(MlflowRest(server.url, RequestBounds(60, retries=0)), EXPERIMENT)
        query = AnswerQuery(parse_window("7d"))
        compute_report(source, query, server.url)  # warm up the server and the connection
        report_time, report = best_of(repeat, lambda: compute_report(source, query, server.url))
        pages_time, pages = best_of(
            1 if size >= PAGES_ONCE_FROM else repeat,
            lambda: page_by_page_report(source, experiment_id, query, server.url),
        )
    finally:
        server.stop()
    if report.answers != size:
        print(f"the report counted {report.answers} answers of {size}")
    return Row(size, seed_s, report_time, pages_time, report == pages and report.answers == size)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # The report says when it cannot use the aggregates: that must show here.
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    rows = [measure(int(size), args.repeat) for size in args.sizes.split(",")]

    lines = [
        f"{'answers':>9}  {'report (aggregates)':>24}  {'page by page':>24}  {'same':>5}",
        *(
            f"{row.size:>9}  {row.report.wall_s:>7.2f} s ({row.report.cpu_s:.2f} s CPU)"
            f"{'':>4}  {row.pages.wall_s:>7.2f} s ({row.pages.cpu_s:.2f} s CPU){'':>4}"
            f"  {'yes' if row.same else 'NO':>5}"
            for row in rows
        ),
        *(
            f"{large.size}/{small.size}: report {large.report.wall_s / small.report.wall_s:.2f}x,"
            f" page by page {large.pages.wall_s / small.pages.wall_s:.2f}x"
            for small, large in itertools.pairwise(rows)
        ),
        f"(seeding: {', '.join(f'{r.size}: {r.seed_s:.0f} s' for r in rows)})",
        f"peak memory (RSS):     {peak_mb():.0f} MB for this whole process",
    ]
    verdict = {True: "met", False: "MISSED"}
    by_size = {row.size: row for row in rows}
    if TARGET_SIZE in by_size:
        seconds = by_size[TARGET_SIZE].report.wall_s
        lines.append(
            f"target ≤ {TARGET_SECONDS} s for {TARGET_SIZE}: {verdict[seconds <= TARGET_SECONDS]}"
        )
        if 10_000 in by_size:
            growth = seconds / by_size[10_000].report.wall_s
            met = verdict[growth <= TARGET_GROWTH]
            lines.append(f"target report(100k)/report(10k) ≤ {TARGET_GROWTH}: {met}")
    print("\n" + "\n".join(lines))
    if args.sizes == ",".join(map(str, SIZES)):  # the record BENCHMARKS.md shows
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        RECORD.write_text(
            f"(`make bench-report`, {stamp}, {os.cpu_count()} cores)\n" + "\n".join(lines) + "\n"
        )
    if not all(row.same for row in rows):
        print("MISMATCH: the aggregated report differs from the page-by-page one")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
