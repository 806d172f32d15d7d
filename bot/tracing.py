"""MLflow set-up: a bounded client, the experiment, the export queue, and flushing on exit."""

from __future__ import annotations

import asyncio
import logging
import os
import time

import mlflow

from config import TrackingSettings

log = logging.getLogger(__name__)


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
    os.environ["MLFLOW_TRACKING_URI"] = settings.mlflow_tracking_uri
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)


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
