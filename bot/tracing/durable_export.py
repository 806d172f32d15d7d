"""Traces kept until the tracking server has them: MLflow builds each trace, we transport it.

MLflow's own span processor (`MlflowV3SpanProcessor`) still does everything up to export: the
trace's info, metadata and tags, its spans. It hands each ended span to an OpenTelemetry
`SpanExporter`, the extension point it is built on; ours (`KeepingSpanExporter`) takes the
whole trace off MLflow's in-memory trace manager when its root span ends and hands it, as
MLflow's JSON, to `keep` (the store), before the answer's code goes on. Nothing waits in
memory, unless the store cannot take it (a database restarting): then the trace is held, up
to `MAX_HELD` of them, and kept by `keep_held`, which the worker calls every second.
`TraceSender` then sends a kept trace with MLflow's tracing client (trace info, then spans;
trace data to artifacts where the server keeps spans there), raising on any failure so the
caller decides: retry, or keep as dead (`refused_for_good`).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence

from mlflow.entities import Trace
from mlflow.exceptions import MlflowException
from mlflow.tracing.client import TracingClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from bot.tracing.mlflow_internals import (
    add_size_stats,
    batches_spans,
    mlflow_span_processor,
    pop_finished_trace,
    set_span_exporter,
    upload_trace_data,
)

log = logging.getLogger(__name__)

MAX_HELD = 2000  # traces held while the store cannot take them (~10 kB each); beyond: lost
# Statuses after which the same request cannot succeed later (timeouts and rate limits can).
_RETRYABLE_4XX = (408, 425, 429)


class KeepingSpanExporter(SpanExporter):
    """Each finished trace, whole, to `keep(trace_id, trace_json)` as its root span ends."""

    def __init__(
        self, keep: Callable[[str, str], None], on_kept: Callable[[], None] | None = None
    ) -> None:
        self._keep = keep
        self.on_kept = on_kept  # told after each trace kept (from the thread that ended it)
        self._lock = threading.Lock()
        self._held: deque[tuple[str, str]] = deque()  # oldest first
        self.kept = 0
        self.not_kept = 0  # neither kept nor held (more than MAX_HELD waited): lost, logged

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            if span.parent is not None:
                continue  # its trace is kept with its root span
            trace = pop_finished_trace(span.context.trace_id)
            if trace is None:
                continue
            add_size_stats(trace)
            trace_json = trace.to_json()
            if self.held or not self._try_keep(trace.info.trace_id, trace_json):
                self._hold(trace.info.trace_id, trace_json)
        return SpanExportResult.SUCCESS

    @property
    def held(self) -> int:
        return len(self._held)

    def keep_held(self) -> int:
        """Keep the held traces, oldest first, until the store refuses one; how many are still
        held. Blocking: run it off the event loop."""
        while True:
            with self._lock:
                if not self._held:
                    return 0
                trace_id, trace_json = self._held[0]
            if not self._try_keep(trace_id, trace_json, quiet=True):
                return self.held
            with self._lock:
                self._held.popleft()
                if not self._held:
                    log.warning("the store took the held traces")

    def _try_keep(self, trace_id: str, trace_json: str, *, quiet: bool = False) -> bool:
        try:
            self._keep(trace_id, trace_json)
        except Exception as error:
            if not quiet:
                log.error("trace %s could not be kept yet (held in memory): %s", trace_id, error)
            return False
        with self._lock:
            self.kept += 1
        if self.on_kept is not None:
            self.on_kept()
        return True

    def _hold(self, trace_id: str, trace_json: str) -> None:
        with self._lock:
            self._held.append((trace_id, trace_json))
            if len(self._held) <= MAX_HELD:
                return
            lost, _ = self._held.popleft()
            self.not_kept += 1
        log.error("trace %s lost: %d traces wait for the store already", lost, MAX_HELD)

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # nothing is held


def keep_traces_with(exporter: KeepingSpanExporter) -> None:
    """Have MLflow's span processor hand every ended span to `exporter` (synchronously: no
    batching thread, so a trace is kept before the code that ended its root span goes on)."""
    processor = mlflow_span_processor()
    if batches_spans(processor):
        raise RuntimeError("MLflow batches spans (MLFLOW_USE_BATCH_SPAN_PROCESSOR): unset it")
    set_span_exporter(processor, exporter)


class TraceSender:
    """Blocking: run it in a worker thread. Sending a trace again replaces what the server
    has of it (same trace ID, same span IDs), so a resend after a partial failure duplicates
    nothing."""

    def __init__(self, tracking_uri: str) -> None:
        self._client = TracingClient(tracking_uri)

    def send(self, trace_json: str) -> str:
        """Send the trace; its ID is returned. Raises what the client raised.

        The trace's info first, then its spans: the server's slow path (an IntegrityError,
        a rollback and a merge) when the spans create the trace's row first made draining
        ~1.4x slower (bench/notes.md)."""
        trace = Trace.from_json(trace_json)
        info = self._client.start_trace(trace.info)
        try:
            self._client.log_spans(str(trace.info.experiment_id), trace.data.spans)
        except NotImplementedError:  # a server that keeps spans as artifacts
            upload_trace_data(self._client, info, trace.data)
        return trace.info.trace_id


def refused_for_good(error: Exception) -> bool:
    """Whether the server refused the request itself (a 4xx that a retry cannot change)."""
    if not isinstance(error, MlflowException):
        return False
    status = error.get_http_status_code()
    return 400 <= status < 500 and status not in _RETRYABLE_4XX
