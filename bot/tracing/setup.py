"""MLflow set-up: a bounded client, the experiment, the export queue, and flushing on exit."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import sys
import time

import mlflow

from config import TrackingSettings

log = logging.getLogger(__name__)


# Optional packages MLflow looks for on every span and every request to the tracking server
# (Databricks notebooks and jobs, IPython, git, Spark, model serving, agent hints), none of
# them in mlflow-tracing. Python does not remember a failed import, so each look searched
# sys.path again: ~0.2 ms per request, the largest single cost of tracing an answer in a
# profile (bench/notes.md).
OPTIONAL_PACKAGES_MLFLOW_PROBES = (
    "IPython",
    "dbruntime",
    "git",
    "pyspark",
    "mlflow.pyfunc",
    "mlflow.pyfunc.context",
    "mlflow.agent",
    "mlflow.agent.hint",
)


# MLflow hands finished spans to its exporter every `INTERVAL_MILLIS` (or once 5 are waiting).
# Its default, 5000 ms, kept an answer's trace (2 spans) in the worker's memory for up to 5 s
# at a quiet time: a crash in that window lost traces of answers already posted, and a 👍
# clicked at once waited for the trace. At 250 ms the trace is on the server ~0.25 s after the
# answer; the price is export work interleaved with answering (bench/notes.md).
EXPORT_INTERVAL_MS = "250"


class TrackingUnavailable(Exception):
    """The tracking server could not be reached in time."""


def bound_mlflow_client(settings: TrackingSettings) -> None:
    """Configure the MLflow client before its first call.

    No call may block for minutes when the server is down (the default is 150 s+), and the
    trace export queue must hold a burst instead of silently dropping it.
    """
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(settings.mlflow_request_retries)
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(settings.mlflow_request_timeout_s)
    os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] = "1"
    os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"] = "0.5"
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "true"
    os.environ["MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE"] = str(settings.trace_queue_size)
    # A few exporters keep a single tracking server busy without queueing requests past
    # their timeout (10, MLflow's default, made a burst of 1000 time out on a 2-core host).
    os.environ.setdefault("MLFLOW_ASYNC_TRACE_LOGGING_MAX_WORKERS", "4")
    os.environ.setdefault("MLFLOW_ASYNC_TRACE_LOGGING_MAX_INTERVAL_MILLIS", EXPORT_INTERVAL_MS)
    os.environ["MLFLOW_TRACKING_URI"] = settings.mlflow_tracking_uri
    # Usage telemetry to MLflow's servers is off unless the operator turns it on.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    remember_absent_packages(OPTIONAL_PACKAGES_MLFLOW_PROBES)
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)


def remember_absent_packages(names: tuple[str, ...]) -> list[str]:
    """Make a later `import` of each package that is not installed fail at once.

    A `None` in `sys.modules` is Python's own marker for "this import fails"
    (ModuleNotFoundError, which callers already expect). Installed packages are left alone.
    Returns the names so marked.
    """
    absent = []
    for name in names:
        if name in sys.modules:
            continue
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            sys.modules[name] = None  # type: ignore[assignment]
            absent.append(name)
    return absent


def _use_experiment(name: str) -> str:
    experiment = mlflow.set_experiment(name)
    return str(experiment.experiment_id)


async def connect_experiment(settings: TrackingSettings, wait_s: float = 60.0) -> str:
    """Select (creating if needed) the experiment every trace goes to; its ID is returned.

    Retries while the server is unreachable, up to `wait_s`.
    """
    deadline = time.monotonic() + wait_s
    delay = 0.5
    while True:
        try:
            return await asyncio.to_thread(_use_experiment, settings.mlflow_experiment_name)
        except Exception as error:
            if time.monotonic() + delay > deadline:
                raise TrackingUnavailable(
                    f"MLflow tracking server at {settings.mlflow_tracking_uri} did not answer "
                    f"within {wait_s:g} s: {error}"
                ) from error
            log.warning("tracking server not reachable yet (%s); retrying", error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def flush_traces() -> None:
    """Block until every finished trace has been exported (or has failed to be)."""
    mlflow.flush_trace_async_logging()
