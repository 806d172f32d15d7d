"""The MLflow adapter (bot/tracing/rest.py) as tests use it: bounded, without retries (a test
that wants them says so)."""

from __future__ import annotations

from bot.report.trace_pages import TraceSource
from bot.tracing.rest import MlflowRest, RequestBounds

BOUNDS = RequestBounds(timeout_s=30, retries=0)


def rest_at(url: str, bounds: RequestBounds = BOUNDS) -> MlflowRest:
    return MlflowRest(url, bounds)


def source_at(url: str, experiment_name: str = "x", bounds: RequestBounds = BOUNDS) -> TraceSource:
    """The report's source of answers: `experiment_name` on the server at `url`."""
    return TraceSource(rest_at(url, bounds), experiment_name)
