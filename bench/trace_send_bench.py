"""How a batch of kept traces becomes requests to the tracking server: the options, measured.

    python -m bench.trace_send_bench [--traces 300] [--rounds 2] [--options today bot otlp …]

Starts a real tracking server (full mlflow, .venv-mlflow), makes traces the way the bot does
(bot/answering/answerer.py's spans, kept as MLflow's JSON by the bot's exporter), and sends a
fresh set with each option, the options alternating round by round on the same server. For
each: the tracking server's CPU per trace (its process tree, /proc) and the wall time until it
has them all; then what the server returns for one trace sent each way, against today's.
A run of every option is BENCHMARKS.md's record (bench/trace_send_results.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow
from mlflow.tracing.client import TracingClient

from bench.goals import TRACE_SEND_RUN as RECORD
from bench.run import tree_cpu_s
from bot.answering.trace_delivery import GROUP
from bot.tracing.durable_export import TraceSender
from devkit.mlflow_server import MlflowServer
from devkit.trace_samples import make_traces
from devkit.traces import differences, send_one_at_a_time, server_view

# -- the options -------------------------------------------------------------------------------


def send_today(uri: str) -> Callable[[list[str]], None]:
    """Main's path before issue 26: per trace, `start_trace` then `log_spans` (two requests),
    4 traces at a time."""
    client = TracingClient(uri)

    def send(batch: list[str]) -> None:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda j: send_one_at_a_time(client, j), batch))

    return send


def send_bot(uri: str) -> Callable[[list[str]], None]:
    """The bot's path now (TraceSender.send_many, groups of the deliverer's GROUP): each
    trace's `start_trace` (4 at a time), then one OTLP request with the group's spans."""
    sender = TraceSender(uri)

    def send(batch: list[str]) -> None:
        for start in range(0, len(batch), GROUP):
            failures = [f for f in sender.send_many(batch[start : start + GROUP]) if f]
            if failures:
                raise failures[0]

    return send


def send_otlp_only(uri: str) -> Callable[[list[str]], None]:
    """One OTLP request with every trace's spans; no `start_trace` (the server builds the
    trace's info from its spans)."""
    client = TracingClient(uri)

    def send(batch: list[str]) -> None:
        traces = [mlflow.entities.Trace.from_json(j) for j in batch]
        spans = [s for t in traces for s in t.data.spans]
        client.log_spans(str(traces[0].info.experiment_id), spans)

    return send


def send_otlp_per_trace(uri: str) -> Callable[[list[str]], None]:
    """One OTLP request per trace, no `start_trace` (fewer requests, no batching)."""
    client = TracingClient(uri)

    def one(trace_json: str) -> None:
        trace = mlflow.entities.Trace.from_json(trace_json)
        client.log_spans(str(trace.info.experiment_id), trace.data.spans)

    def send(batch: list[str]) -> None:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, batch))

    return send


def send_info_only(uri: str) -> Callable[[list[str]], None]:
    """`start_trace` alone, per trace: its share of today's cost (not a complete option)."""
    client = TracingClient(uri)

    def send(batch: list[str]) -> None:
        traces = [mlflow.entities.Trace.from_json(j) for j in batch]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda t: client.start_trace(t.info), traces))

    return send


def send_nothing(uri: str) -> Callable[[list[str]], None]:
    """Per trace one request that writes nothing (`GET /api/2.0/mlflow/experiments/get`): the
    server's cost of a request as such, whatever it carries (not an option)."""
    client = TracingClient(uri)

    def send(batch: list[str]) -> None:
        experiment_id = str(
            json.loads(batch[0])["info"]["trace_location"]["mlflow_experiment"]["experiment_id"]
        )
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: client.store.get_experiment(experiment_id), batch))

    return send


OPTIONS: dict[str, Callable[[str], Callable[[list[str]], None]]] = {
    "today": send_today,
    "bot": send_bot,
    "otlp": send_otlp_only,
    "otlp-per-trace": send_otlp_per_trace,
    "info-only": send_info_only,
    "request-floor": send_nothing,
}


def measure(server: MlflowServer, option: str, traces: list[str], batch: int) -> dict[str, float]:
    assert server.process is not None
    send = OPTIONS[option](server.url)
    cpu_before = tree_cpu_s(server.process.pid)
    started = time.monotonic()
    for start in range(0, len(traces), batch):
        send(traces[start : start + batch])
    wall = time.monotonic() - started
    time.sleep(0.5)  # let the server finish its bookkeeping (a request's after-work)
    cpu = tree_cpu_s(server.process.pid) - cpu_before
    return {
        "server_cpu_ms_per_trace": cpu * 1000 / len(traces),
        "wall_ms_per_trace": wall * 1000 / len(traces),
    }


# -- what the server returns -------------------------------------------------------------------


def normalise(view: dict[str, Any], tag: str) -> dict[str, Any]:
    """The same answer made twice differs in its question's prefix only: drop that."""
    return json.loads(json.dumps(view).replace(tag, "TAG"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--traces", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--options", nargs="+", choices=OPTIONS, default=list(OPTIONS))
    args = parser.parse_args()
    printed: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        printed.append(line)

    load_at_start = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="trace-send-") as work:
        server = MlflowServer(Path(work) / "mlflow")
        server.start()
        try:
            mlflow.set_tracking_uri(server.url)
            client = TracingClient(server.url)
            # Warm the server (its first span with token usage loads price tables).
            send_today(server.url)(make_traces("warm-up", 8, "warm"))
            results: dict[str, list[dict[str, float]]] = {o: [] for o in args.options}
            views: dict[str, dict[str, Any]] = {}
            for round_ in range(args.rounds):
                for option in args.options:
                    tag = f"r{round_}-{option}"
                    traces = make_traces(f"bench-{tag}", args.traces, tag)
                    figure = measure(server, option, traces, args.batch)
                    results[option].append(figure)
                    say(
                        f"round {round_} {option:>15}: "
                        + ", ".join(f"{k} {v:.2f}" for k, v in figure.items())
                    )
                    if round_ == 0 and option not in ("info-only", "request-floor"):
                        first = json.loads(traces[0])["info"]["trace_id"]
                        views[option] = normalise(server_view(client, first), tag)
            say("\noption           server CPU ms/trace (median)   wall ms/trace (median)")
            for option, figures in results.items():
                cpu = statistics.median(f["server_cpu_ms_per_trace"] for f in figures)
                wall = statistics.median(f["wall_ms_per_trace"] for f in figures)
                say(f"{option:>15}   {cpu:10.2f}                  {wall:10.2f}")
            if "today" in views:
                for option, view in views.items():
                    if option == "today":
                        continue
                    diff = differences(views["today"], view)
                    say(f"\n{option} against today: {len(diff)} difference(s)")
                    for line in diff[:25]:
                        say(f"    {line}")
        finally:
            server.stop()
    if set(args.options) == set(OPTIONS):
        RECORD.write_text(
            f"(`python -m bench.trace_send_bench --traces {args.traces} --rounds {args.rounds}`, "
            f"{started}, {os.cpu_count()} cores, load average {load_at_start:.1f} at the start, "
            f"{os.getloadavg()[0]:.1f} at the end)\n" + "\n".join(printed) + "\n"
        )


if __name__ == "__main__":
    main()
