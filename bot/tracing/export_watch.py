"""Watching MLflow's asynchronous trace export: count what it drops or fails to send.

mlflow-tracing exports finished traces from a bounded queue in background threads. When the
queue is full it discards the trace with one warning per 30 s, and a failed export is one
warning line; neither is counted anywhere. These counters make both visible (logs, /readyz).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from mlflow.tracing.export.async_export_queue import AsyncTraceExportQueue, Task

log = logging.getLogger(__name__)

_EXPORT_LOGGER = "mlflow.tracing.export.mlflow_v3"


@dataclass
class TraceExportStats:
    dropped: int = 0  # discarded because the export queue was full
    failed: int = 0  # the tracking server refused or could not be reached
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_dropped(self) -> None:
        with self._lock:
            self.dropped += 1
        log.error("trace export queue full: a trace was dropped (%d so far)", self.dropped)

    def count_failed(self) -> None:
        with self._lock:
            self.failed += 1

    def as_dict(self) -> dict[str, int]:
        return {"traces_dropped": self.dropped, "trace_exports_failed": self.failed}


class _FailedExportCounter(logging.Filter):
    def __init__(self, stats: TraceExportStats) -> None:
        super().__init__()
        self._stats = stats

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING and "Failed to send trace" in record.getMessage():
            self._stats.count_failed()
        return True


_installed: TraceExportStats | None = None


def watch_trace_export() -> TraceExportStats:
    """Install the counters once per process and return them."""
    global _installed
    if _installed is not None:
        return _installed
    stats = TraceExportStats()
    original_put = AsyncTraceExportQueue.put

    def put(self: AsyncTraceExportQueue, task: Task) -> None:
        if self.is_active() and self._queue.full():
            stats.count_dropped()
        original_put(self, task)

    AsyncTraceExportQueue.put = put  # type: ignore[method-assign]
    logging.getLogger(_EXPORT_LOGGER).addFilter(_FailedExportCounter(stats))
    _installed = stats
    return stats
