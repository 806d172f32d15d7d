"""Every private or undocumented name of MLflow the bot reaches, in one place (checked against
mlflow-tracing 3.17.2). Nothing else in bot/ touches them.

MLflow's public API offers no way to do these things: give its span processor another
exporter, take a finished trace off its in-memory trace manager, upload a trace's spans where
the server keeps them as artifacts, or make a REST call with its credentials and retries. Each
name is listed in `REACHED`; tests/test_mlflow_internals.py checks every one (it exists, with
the shape used here; a name without a check fails too) and fails naming what changed when an
MLflow upgrade renames or reshapes it. At run time a missing name raises
`MlflowInternalsChanged`, never a silent no-op.
"""

from __future__ import annotations

from mlflow.entities import Trace, TraceData, TraceInfo
from mlflow.tracing import provider
from mlflow.tracing.client import TracingClient
from mlflow.tracing.processor.base_mlflow import BaseMlflowSpanProcessor
from mlflow.tracing.trace_manager import InMemoryTraceManager
from mlflow.tracing.utils import add_size_stats_to_trace_metadata
from mlflow.utils.credentials import get_default_host_creds
from mlflow.utils.rest_utils import MlflowHostCreds, http_request
from opentelemetry.sdk.trace.export import SpanExporter

__all__ = [
    "REACHED",
    "MlflowHostCreds",
    "MlflowInternalsChanged",
    "add_size_stats",
    "batches_spans",
    "get_default_host_creds",
    "http_request",
    "mlflow_span_processor",
    "pop_finished_trace",
    "set_span_exporter",
    "upload_trace_data",
]


class MlflowInternalsChanged(RuntimeError):
    """An MLflow name the bot relies on is gone or changed (an MLflow upgrade)."""


# What the bot reaches, each with its check in tests/test_mlflow_internals.py.
REACHED = (
    "mlflow.tracing.provider._get_tracer",  # builds MLflow's tracer provider and processor
    "mlflow.tracing.provider._get_span_processor",  # finds MLflow's span processor
    "BaseMlflowSpanProcessor.span_exporter",  # where the processor hands ended spans
    "BaseMlflowSpanProcessor._batch_delegate",  # set when MLflow batches spans in a thread
    "InMemoryTraceManager.pop_trace",  # takes a finished trace off MLflow's trace manager
    "mlflow.tracing.utils.add_size_stats_to_trace_metadata",  # as MLflow's exporter does
    "TracingClient._upload_trace_data",  # spans to a server that keeps them as artifacts
    "mlflow.utils.rest_utils.http_request",  # REST calls: credentials, TLS, retries
    "mlflow.utils.credentials.get_default_host_creds",  # what mlflow's client would send
)


def mlflow_span_processor() -> BaseMlflowSpanProcessor:
    """MLflow's span processor, its tracer provider built first if it was not yet."""
    provider._get_tracer(__name__)
    processor = provider._get_span_processor()
    if not isinstance(processor, BaseMlflowSpanProcessor):
        raise MlflowInternalsChanged(
            f"MLflow's span processor was not found (found {type(processor).__name__})"
        )
    return processor


def batches_spans(processor: BaseMlflowSpanProcessor) -> bool:
    """Whether `processor` hands spans to a batching thread (MLFLOW_USE_BATCH_SPAN_PROCESSOR)
    rather than to its exporter at once."""
    _require(processor, "_batch_delegate")
    return processor._batch_delegate is not None


def set_span_exporter(processor: BaseMlflowSpanProcessor, exporter: SpanExporter) -> None:
    """Have `processor` hand every ended span to `exporter`. (Setting an attribute MLflow no
    longer reads would succeed silently: it must exist first.)"""
    _require(processor, "span_exporter")
    processor.span_exporter = exporter


def pop_finished_trace(otel_trace_id: int) -> Trace | None:
    """The trace MLflow built for `otel_trace_id`, taken off its trace manager (None when it
    holds none)."""
    managed = InMemoryTraceManager.get_instance().pop_trace(otel_trace_id)
    return None if managed is None else managed.trace


def add_size_stats(trace: Trace) -> None:
    """The size statistics MLflow's own exporter adds to a trace's metadata before sending."""
    add_size_stats_to_trace_metadata(trace)


def upload_trace_data(client: TracingClient, info: TraceInfo, data: TraceData) -> None:
    """A trace's spans, as an artifact, to a server that does not take them by `log_spans`."""
    client._upload_trace_data(info, data)


def _require(owner: object, name: str) -> None:
    if not hasattr(owner, name):
        raise MlflowInternalsChanged(f"{type(owner).__name__} has no attribute {name!r}")
