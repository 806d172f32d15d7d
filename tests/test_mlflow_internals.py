"""Each private or undocumented MLflow name the bot reaches (bot/tracing/mlflow_internals.py)
still exists with the shape the bot uses: one check per name, failing with what changed, so an
MLflow upgrade that moves one is found here, not as traces silently not kept. And no module
but mlflow_internals.py reaches one. (No server: spans go to an exporter in this process.)"""

from __future__ import annotations

import ast
import inspect
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import mlflow
import mlflow.tracing
import pytest
from mlflow.entities import Trace
from mlflow.entities.trace_location import MlflowExperimentLocation
from mlflow.tracing.processor.base_mlflow import BaseMlflowSpanProcessor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from bot.tracing import mlflow_internals as internals
from tests.support.mlflow_client import mlflow_client_restored

ROOT = Path(__file__).resolve().parents[1]


class Recording(SpanExporter):
    """Takes each finished trace off MLflow's trace manager, as the bot's exporter does."""

    def __init__(self) -> None:
        self.traces: list[Trace | None] = []

    def export(self, spans: object) -> SpanExportResult:
        assert isinstance(spans, tuple | list)
        for span in spans:
            assert isinstance(span, ReadableSpan)
            if span.parent is None:
                self.traces.append(internals.pop_finished_trace(span.context.trace_id))
        return SpanExportResult.SUCCESS


@pytest.fixture(scope="module")
def processor() -> Iterator[BaseMlflowSpanProcessor]:
    """MLflow's own span processor, built for an experiment on a server that is not there
    (nothing is sent: the spans go to the test's exporter); all reset afterwards."""
    with mlflow_client_restored():
        os.environ["MLFLOW_USE_BATCH_SPAN_PROCESSOR"] = "false"
        mlflow.set_tracking_uri("http://127.0.0.1:1")
        mlflow.tracing.set_destination(MlflowExperimentLocation(experiment_id="1"))
        try:
            yield internals.mlflow_span_processor()
        finally:
            mlflow.tracing.reset()


def parameters(function: Callable[..., object]) -> list[str]:
    return list(inspect.signature(function).parameters)


def check_get_tracer(processor: BaseMlflowSpanProcessor) -> None:
    from mlflow.tracing import provider

    assert parameters(provider._get_tracer) == ["module_name"]


def check_get_span_processor(processor: BaseMlflowSpanProcessor) -> None:
    from mlflow.tracing import provider

    assert provider._get_span_processor() is processor
    assert isinstance(processor, BaseMlflowSpanProcessor)


def check_batch_delegate(processor: BaseMlflowSpanProcessor) -> None:
    assert hasattr(processor, "_batch_delegate"), "MLflow's span processor has no _batch_delegate"
    assert internals.batches_spans(processor) is False  # MLFLOW_USE_BATCH_SPAN_PROCESSOR=false


def check_span_exporter(processor: BaseMlflowSpanProcessor) -> None:
    """The exporter set is the one MLflow's processor hands ended spans to."""
    recording = Recording()
    original = processor.span_exporter
    internals.set_span_exporter(processor, recording)
    try:
        with mlflow.start_span("answer"), mlflow.start_span("llm"):
            pass
    finally:
        internals.set_span_exporter(processor, original)
    assert len(recording.traces) == 1, "MLflow's processor no longer calls span_exporter"


def check_pop_trace(processor: BaseMlflowSpanProcessor) -> None:
    """The whole trace (both spans) is taken off the trace manager, once."""
    recording = Recording()
    original = processor.span_exporter
    internals.set_span_exporter(processor, recording)
    try:
        with mlflow.start_span("answer") as root, mlflow.start_span("llm"):
            otel_trace_id = root._span.context.trace_id
    finally:
        internals.set_span_exporter(processor, original)
    (trace,) = recording.traces
    assert isinstance(trace, Trace) and [s.name for s in trace.data.spans] == ["answer", "llm"]
    assert internals.pop_finished_trace(otel_trace_id) is None  # taken already


def check_add_size_stats(processor: BaseMlflowSpanProcessor) -> None:
    recording = Recording()
    original = processor.span_exporter
    internals.set_span_exporter(processor, recording)
    try:
        with mlflow.start_span("answer"):
            pass
    finally:
        internals.set_span_exporter(processor, original)
    (trace,) = recording.traces
    assert trace is not None
    internals.add_size_stats(trace)
    assert "mlflow.trace.sizeStats" in trace.info.trace_metadata


def check_upload_trace_data(processor: BaseMlflowSpanProcessor) -> None:
    from mlflow.tracing.client import TracingClient

    assert parameters(TracingClient._upload_trace_data) == ["self", "trace_info", "trace_data"]


def check_http_request(processor: BaseMlflowSpanProcessor) -> None:
    """The keywords the adapter (bot/tracing/rest.py) passes."""
    used = {
        "max_retries",
        "backoff_factor",
        "backoff_jitter",
        "timeout",
        "raise_on_status",
        "respect_retry_after_header",
    }
    accepted = set(parameters(internals.http_request))
    assert used <= accepted, f"http_request no longer takes {used - accepted}"
    assert parameters(internals.http_request)[:3] == ["host_creds", "endpoint", "method"]


def check_get_default_host_creds(processor: BaseMlflowSpanProcessor) -> None:
    creds = internals.get_default_host_creds("http://h")
    assert isinstance(creds, internals.MlflowHostCreds) and creds.host == "http://h"


CHECKS = {
    "mlflow.tracing.provider._get_tracer": check_get_tracer,
    "mlflow.tracing.provider._get_span_processor": check_get_span_processor,
    "BaseMlflowSpanProcessor.span_exporter": check_span_exporter,
    "BaseMlflowSpanProcessor._batch_delegate": check_batch_delegate,
    "InMemoryTraceManager.pop_trace": check_pop_trace,
    "mlflow.tracing.utils.add_size_stats_to_trace_metadata": check_add_size_stats,
    "TracingClient._upload_trace_data": check_upload_trace_data,
    "mlflow.utils.rest_utils.http_request": check_http_request,
    "mlflow.utils.credentials.get_default_host_creds": check_get_default_host_creds,
}


def test_every_name_reached_has_its_check() -> None:
    assert sorted(CHECKS) == sorted(internals.REACHED)


@pytest.mark.parametrize("name", internals.REACHED)
def test_the_name_is_still_what_the_bot_uses(name: str, processor: BaseMlflowSpanProcessor) -> None:
    try:
        CHECKS[name](processor)
    except Exception as error:  # (AssertionError included)
        raise AssertionError(
            f"MLflow changed {name}, which the bot reaches (bot/tracing/mlflow_internals.py): "
            f"{type(error).__name__}: {error}"
        ) from error


def test_a_missing_attribute_is_refused_loudly_not_set() -> None:
    class Renamed:  # as if MLflow renamed span_exporter
        pass

    with pytest.raises(internals.MlflowInternalsChanged, match="span_exporter"):
        internals.set_span_exporter(Renamed(), Recording())  # type: ignore[arg-type]
    with pytest.raises(internals.MlflowInternalsChanged, match="_batch_delegate"):
        internals.batches_spans(Renamed())  # type: ignore[arg-type]


# -- nothing else reaches them -------------------------------------------------------------------

# Modules of mlflow the bot may import only in mlflow_internals.py.
INTERNAL_MODULES = (
    "mlflow.tracing.provider",
    "mlflow.tracing.trace_manager",
    "mlflow.tracing.processor",
    "mlflow.tracing.utils",
    "mlflow.utils.rest_utils",
    "mlflow.utils.credentials",
)
REACHED_ATTRIBUTES = {name.rsplit(".", 1)[1] for name in internals.REACHED}


def reaches_past(source: str) -> list[str]:
    """What `source` reaches of MLflow's private or internal names (line: what)."""
    found = []
    mlflow_names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mlflow":
                    mlflow_names.add((alias.asname or alias.name).split(".")[0])
                    if "._" in alias.name or alias.name.startswith(INTERNAL_MODULES):
                        found.append(f"{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mlflow":
            module = node.module or ""
            names = [alias.name for alias in node.names]
            mlflow_names.update(alias.asname or alias.name for alias in node.names)
            dotted = [f"{module}.{name}" for name in names]
            if any(full.startswith(INTERNAL_MODULES) or "._" in full for full in dotted):
                found.append(f"{node.lineno}: from {module} import {', '.join(names)}")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and (
            node.attr in REACHED_ATTRIBUTES
            or (
                node.attr.startswith("_")
                and isinstance(node.value, ast.Name)
                and node.value.id in mlflow_names
            )
        ):
            found.append(f"{node.lineno}: .{node.attr}")
    return found


def test_the_check_finds_what_reaches_past_the_module() -> None:
    source = """
from mlflow.tracing import provider
from mlflow.tracing.trace_manager import InMemoryTraceManager
import mlflow.tracking._tracking_service.utils
from mlflow.tracing.client import TracingClient
provider._get_span_processor().span_exporter = None
TracingClient("x")._upload_trace_data(None, None)
"""
    assert sorted(line.split(":")[0] for line in reaches_past(source)) == [
        "2",
        "3",
        "4",
        "6",
        "6",
        "7",
    ]
    public = "import mlflow\nfrom mlflow.entities import Trace\nmlflow.log_feedback(trace_id='t')"
    assert reaches_past(public) == []


def test_no_module_but_mlflow_internals_reaches_them() -> None:
    allowed = ROOT / "bot" / "tracing" / "mlflow_internals.py"
    found = {
        str(path.relative_to(ROOT)): reached
        for package in ("bot", "handlers")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != allowed and (reached := reaches_past(path.read_text()))
    }
    assert found == {}
