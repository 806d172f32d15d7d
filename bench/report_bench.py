"""Benchmark: the feedback report from the server's aggregates against the page-by-page reader.

For each size it starts its own MLflow server (on a fresh SQLite store under bench/out/),
bulk-seeds that many answers with feedback dated over the last 7 days (bench/seed_traces.py,
with .venv-mlflow, through the server's own store), then times `compute_report` for `7d`
(the aggregates: bot/report/figures/aggregated.py) against `page_by_page_report` (every answer read,
as before), best of `--repeat` runs each (the page reader once from 100k answers: it takes
tens of seconds), and checks that both give the same report. It prints both side by side
and the ratio between sizes.

    .venv/bin/python bench/report_bench.py [--sizes 10000,100000] [--repeat 3] [--no-pages]

It also times one alert check's aggregates (bot/broadcast/alerts.py: the votes of the last
24 hours and of the 7 days before, `ALERT_CHECK_REQUESTS` requests to the server whatever the
number of answers) and one weekly digest's figures (bot/broadcast/report_message.py: the 7-day
report with its reasons, the public channels' request and the privacy rule for the digest's
channel, everything but the Slack post). `--no-pages` skips the page-by-page reader (and
writes no record).

Target: the report on 100k answers in ≤ 1.5 s, printed as met or MISSED (exit 1 only if the
two reports differ). report(100k) / report(10k) is printed, no longer a target (issue 26
withdrew it: the server scans the window's rows).
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
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mlflow  # noqa: E402

from bench.goals import REPORT_RUN as RECORD  # noqa: E402
from bot.broadcast.alerts import REQUESTS_PER_CHECK as ALERT_CHECK_REQUESTS  # noqa: E402
from bot.broadcast.report_message import shared_figures  # noqa: E402
from bot.report.figures.counting import page_by_page_report  # noqa: E402
from bot.report.figures.report import compute_report  # noqa: E402
from bot.report.figures.vote_rates import VoteCounts, vote_counts  # noqa: E402
from bot.report.trace_pages import TraceSource  # noqa: E402
from bot.report.trace_records import AnswerQuery  # noqa: E402
from bot.report.window import parse_window  # noqa: E402
from bot.tracing.rest import MlflowRest, RequestBounds  # noqa: E402
from devkit.mlflow_server import MLFLOW_BIN, MlflowServer  # noqa: E402

EXPERIMENT = "report-bench"
SIZES = (10_000, 100_000)
TARGET_SIZE = 100_000
TARGET_SECONDS = 1.5
PAGES_ONCE_FROM = 100_000
DIGEST_CHANNEL = "CDIGEST"  # a public channel the digest is posted in
T = TypeVar("T")


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
    alert_check: Timing
    digest: Timing


def best_of(repeat: int, work: Callable[[], T]) -> tuple[Timing, T]:
    timing = Timing()
    result = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        timing.wall_s = min(timing.wall_s, time.perf_counter() - wall)
        timing.cpu_s = min(timing.cpu_s, time.process_time() - cpu)
    assert result is not None
    return timing, result


def measure(size: int, repeat: int, *, pages_too: bool = True) -> Row:
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
        day, week = parse_window("24h"), parse_window("7d")
        baseline = type(day)(week.start - (day.end - day.start), day.start, "7d")

        def alert_check() -> tuple[VoteCounts, VoteCounts]:
            return vote_counts(source, experiment_id, day), vote_counts(
                source, experiment_id, baseline
            )

        check_time, _ = best_of(repeat, alert_check)
        digest_time, _ = best_of(
            repeat, lambda: shared_figures(source, week, DIGEST_CHANNEL, None, server.url)
        )
        pages_time, pages = (
            best_of(
                1 if size >= PAGES_ONCE_FROM else repeat,
                lambda: page_by_page_report(source, experiment_id, query, server.url),
            )
            if pages_too
            else (Timing(), report)
        )
    finally:
        server.stop()
    if report.answers != size:
        print(f"the report counted {report.answers} answers of {size}")
    same = report == pages and report.answers == size
    return Row(size, seed_s, report_time, pages_time, same, check_time, digest_time)


def _timing(timing: Timing) -> str:
    if timing.wall_s == float("inf"):
        return "(not run)"
    return f"{timing.wall_s:>7.2f} s ({timing.cpu_s:.2f} s CPU)"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pages", action="store_true", help="skip the page-by-page reader")
    args = parser.parse_args()
    # The report says when it cannot use the aggregates: that must show here.
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    rows = [
        measure(int(size), args.repeat, pages_too=not args.no_pages)
        for size in args.sizes.split(",")
    ]

    lines = [
        f"{'answers':>9}  {'report (aggregates)':>24}  {'page by page':>24}  {'same':>5}",
        *(
            f"{row.size:>9}  {row.report.wall_s:>7.2f} s ({row.report.cpu_s:.2f} s CPU)"
            f"{'':>4}  {_timing(row.pages):>22}{'':>4}"
            f"  {'yes' if row.same else 'NO':>5}"
            for row in rows
        ),
        *(
            f"{large.size}/{small.size}: report {large.report.wall_s / small.report.wall_s:.2f}x,"
            f" page by page {large.pages.wall_s / small.pages.wall_s:.2f}x"
            for small, large in itertools.pairwise(rows)
        ),
        f"(seeding: {', '.join(f'{r.size}: {r.seed_s:.0f} s' for r in rows)})",
        f"alert check ({ALERT_CHECK_REQUESTS} aggregate requests: the votes of 24h and of the 7d"
        " before): "
        + ", ".join(
            f"{r.size}: {r.alert_check.wall_s:.2f} s ({r.alert_check.cpu_s:.2f} s CPU)"
            for r in rows
        ),
        "digest (the 7-day report with its reasons, the public channels, the privacy rule): "
        + ", ".join(
            f"{r.size}: {r.digest.wall_s:.2f} s ({r.digest.cpu_s:.2f} s CPU)" for r in rows
        ),
        f"peak memory (RSS):     {peak_mb():.0f} MB for this whole process",
    ]
    verdict = {True: "met", False: "MISSED"}
    by_size = {row.size: row for row in rows}
    if TARGET_SIZE in by_size:
        seconds = by_size[TARGET_SIZE].report.wall_s
        lines.append(
            f"target ≤ {TARGET_SECONDS} s for {TARGET_SIZE}: {verdict[seconds <= TARGET_SECONDS]}"
        )
    print("\n" + "\n".join(lines))
    if args.sizes == ",".join(map(str, SIZES)) and not args.no_pages:  # BENCHMARKS.md's record
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
