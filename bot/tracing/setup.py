"""MLflow set-up: a bounded client and the experiment. Traces are kept and sent by
bot/tracing/durable_export.py, not by MLflow's asynchronous export queue."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import sys
import time

import mlflow

from bot.tracing.rest import RequestBounds
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


class TrackingUnavailable(Exception):
    """The tracking server could not be reached in time."""


def bound_mlflow_client(settings: TrackingSettings) -> None:
    """Configure the MLflow client before its first call.

    No call may block for minutes when the server is down (the default is 150 s+). Spans go
    from MLflow's span processor straight to the bot's exporter (no batching thread, no
    asynchronous queue: a finished trace is kept in the store at once). While the server is
    down, urllib3 would log a warning per retried request: the deliverers log one line when
    it goes away and one when it is back instead (bot/tracing/server_watch.py).
    """
    bounds = RequestBounds.of(settings)  # the same as the bot's own calls (bot/tracing/rest.py)
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(bounds.retries)
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(bounds.timeout_s)
    os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] = str(bounds.backoff_s)
    os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"] = str(bounds.jitter_s)
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
    os.environ["MLFLOW_USE_BATCH_SPAN_PROCESSOR"] = "false"
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
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
