"""Benchmark: `python -m bot export` on ~10k answers with feedback, the hand-written
`http.client` page reader against mlflow's own `http_request`, side by side in one run.

It starts its own MLflow server (a fresh SQLite store under bench/out/), bulk-seeds answers
dated over the last 7 days (bench/seed_traces.py; about half get feedback, so 20k answers
export ~10k), then runs the export of `7d` with each reader in turn, alternating which goes
first, `--repeat` times each, checks that both wrote the same lines, and prints every run,
the medians and the ratio (wall time, and this process's CPU).

    .venv/bin/python bench/export_bench.py [--answers 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mlflow  # noqa: E402

import bot.report.trace_pages as trace_pages  # noqa: E402
from bot.report.export import export_lines  # noqa: E402
from bot.report.trace_records import AnswerQuery  # noqa: E402
from bot.report.window import parse_window  # noqa: E402
from devkit.mlflow_server import MLFLOW_BIN, MlflowServer  # noqa: E402

EXPERIMENT = "export-bench"


def seeded_server(answers: int) -> tuple[MlflowServer, str]:
    workdir = ROOT / "bench" / "out" / f"export-{answers}"
    shutil.rmtree(workdir, ignore_errors=True)
    server = MlflowServer(workdir)
    server.start()
    mlflow.set_tracking_uri(server.url)
    experiment_id = str(mlflow.set_experiment(EXPERIMENT).experiment_id)
    print(f"seeding {answers} answers into {server.url} …", flush=True)
    subprocess.run(
        [
            str(MLFLOW_BIN.parent / "python"),
            str(ROOT / "bench" / "seed_traces.py"),
            f"sqlite:///{workdir / 'mlflow.db'}",
            str(workdir / "artifacts"),
            experiment_id,
            str(answers),
        ],
        check=True,
    )
    return server, experiment_id


def timed(work: Callable[[], list[str]]) -> tuple[float, float, list[str]]:
    wall, cpu = time.perf_counter(), time.process_time()
    lines = work()
    return time.perf_counter() - wall, time.process_time() - cpu, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    server, _ = seeded_server(args.answers)
    try:
        source = trace_pages.TraceSource(server.url, EXPERIMENT)
        query = AnswerQuery(parse_window("7d"))
        readers = {
            "http.client reader": trace_pages.DirectPageReader,
            "mlflow http_request": trace_pages.MlflowPageReader,
        }

        def export(reader: type) -> list[str]:
            trace_pages.page_reader = lambda creds, endpoint=trace_pages.SEARCH_ENDPOINT: reader(  # type: ignore[assignment]
                creds, endpoint
            )
            return list(export_lines(source, query, negative_only=False))

        export(trace_pages.DirectPageReader)  # warm up the server's caches
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in readers}
        outputs: dict[str, list[str]] = {}
        for rep in range(args.repeat):
            order = list(readers) if rep % 2 == 0 else list(reversed(readers))
            for name in order:
                wall, cpu, lines = timed(lambda name=name: export(readers[name]))  # type: ignore[misc]
                times[name].append((wall, cpu))
                outputs.setdefault(name, lines)
                print(f"run {rep + 1} {name:<20} {wall:6.2f} s ({cpu:.2f} s CPU)", flush=True)
    finally:
        server.stop()
    same = len({tuple(lines) for lines in outputs.values()}) == 1
    exported = len(next(iter(outputs.values())))
    print(f"\nexport of {exported} answers with feedback (of {args.answers} seeded), 7d:")
    median = {name: statistics.median(w for w, _ in runs) for name, runs in times.items()}
    for name, runs in times.items():
        print(
            f"  {name:<20} median {median[name]:6.2f} s, best {min(w for w, _ in runs):6.2f} s, "
            f"CPU here median {statistics.median(c for _, c in runs):.2f} s"
        )
    direct, mlflows = median["http.client reader"], median["mlflow http_request"]
    print(f"  mlflow http_request / http.client reader: {mlflows / direct:.2f}x (medians)")
    pairs = [m / d for (d, _), (m, _) in zip(*times.values(), strict=True)]
    print(f"  the same, run by run: {', '.join(f'{r:.2f}x' for r in pairs)}")
    print(f"  same lines: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
