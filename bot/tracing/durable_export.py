"""Traces kept until the tracking server has them: MLflow builds each trace, we transport it.

MLflow's own span processor (`MlflowV3SpanProcessor`) still does everything up to export: the
trace's info, metadata and tags, its spans. It hands each ended span to an OpenTelemetry
`SpanExporter`, the extension point it is built on; ours (`KeepingSpanExporter`) takes the
whole trace off MLflow's in-memory trace manager when its root span ends and hands it, as
MLflow's JSON, to `keep` (the store), before the answer's code goes on. Nothing waits in
memory, unless the store cannot take it (a database restarting): then the trace is held, up
to `MAX_HELD` of them, and kept by `keep_held`, which the worker calls every second.
`TraceSender` then sends kept traces with MLflow's tracing client (each trace's info, then
the spans of several traces in one OTLP request; trace data to artifacts where the server
keeps spans there), telling each trace's failure so the caller decides: retry, or keep as
dead (bot/tracing/server_errors.py says which).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from mlflow.entities import Trace, TraceInfo
from mlflow.tracing.client import TracingClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from bot.common.failures import Failure
from bot.tracing.mlflow_internals import (
    add_size_stats,
    batches_spans,
    mlflow_span_processor,
    pop_finished_trace,
    set_span_exporter,
    upload_trace_data,
)
from bot.tracing.server_errors import failure_of

log = logging.getLogger(__name__)

MAX_HELD = 2000  # traces held while the store cannot take them (~10 kB each); beyond: lost


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
    nothing.

    A group of traces is sent as each trace's info (`start_trace`, `INFO_CONCURRENCY` at a
    time: MLflow has no request that creates several) and then one OTLP request with every
    trace's spans (`log_spans`, `/v1/traces`), where the server logs them in one transaction:
    1 + 1/n requests a trace instead of 2, and the tracking server's CPU per trace about a
    third lower (bench/notes.md: "Trace sending"). The info goes first: spans that create the
    trace's row first send the server's `start_trace` down its slow path (an IntegrityError, a
    rollback and a merge)."""

    INFO_CONCURRENCY = 4

    def __init__(self, tracking_uri: str) -> None:
        self._client = TracingClient(tracking_uri)
        self._pool = ThreadPoolExecutor(self.INFO_CONCURRENCY, thread_name_prefix="trace-info")

    def send_many(self, trace_jsons: Sequence[str]) -> list[Exception | None]:
        """Send the traces; for each, in order, None once the server has it whole, or what
        the client raised for it (what the spans' one request raised is each trace's)."""
        outcomes: list[Exception | None] = [None] * len(trace_jsons)
        traces: list[tuple[int, Trace]] = []
        for index, trace_json in enumerate(trace_jsons):
            try:
                traces.append((index, Trace.from_json(trace_json)))
            except Exception as error:  # a trace the store kept damaged: its own failure
                outcomes[index] = error
        infos = list(self._pool.map(self._start, (trace for _, trace in traces)))
        started: list[tuple[int, Trace, TraceInfo]] = []
        for (index, trace), info in zip(traces, infos, strict=True):
            if isinstance(info, Exception):
                outcomes[index] = info
            else:
                started.append((index, trace, info))
        for experiment_id in dict.fromkeys(str(t.info.experiment_id) for _, t, _ in started):
            group = [s for s in started if str(s[1].info.experiment_id) == experiment_id]
            try:
                self._log_spans(experiment_id, group)
            except Exception as error:
                for index, _, _ in group:
                    outcomes[index] = error
                if len(group) > 1:
                    self._one_by_one(experiment_id, group, outcomes)
        return outcomes

    def _one_by_one(
        self,
        experiment_id: str,
        group: list[tuple[int, Trace, TraceInfo]],
        outcomes: list[Exception | None],
    ) -> None:
        """The server took each trace's info a moment ago, then failed the group's spans:
        the request itself may be at fault (too large for a proxy in front: its 413 reads as
        a 500), so each trace's spans go alone. Only a trace the server refuses by itself is
        refused; a failure that is not a refusal (the server gone meanwhile) stops it."""
        for one in group:
            try:
                self._log_spans(experiment_id, [one])
            except Exception as error:
                outcomes[one[0]] = error
                if failure_of(error) is not Failure.REFUSED:
                    return
            else:
                outcomes[one[0]] = None

    def _start(self, trace: Trace) -> TraceInfo | Exception:
        try:
            return self._client.start_trace(trace.info)
        except Exception as error:
            return error

    def _log_spans(self, experiment_id: str, group: list[tuple[int, Trace, TraceInfo]]) -> None:
        spans = [span for _, trace, _ in group for span in trace.data.spans]
        try:
            self._client.log_spans(experiment_id, spans)
        except NotImplementedError:  # a server that keeps spans as artifacts
            for _, trace, info in group:
                upload_trace_data(self._client, info, trace.data)
