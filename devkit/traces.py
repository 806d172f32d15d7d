"""Reading traces and assessments back from the real tracking server."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import mlflow
from mlflow.entities import Assessment, Trace
from mlflow.tracing.client import TracingClient

from bot.tracing.counted_feedback import SUMMARY


class Tracking:
    def __init__(self, url: str, experiment_name: str) -> None:
        mlflow.set_tracking_uri(url)
        self.client = TracingClient(url)
        self.experiment_id = str(mlflow.set_experiment(experiment_name).experiment_id)

    def search(self, filter_string: str | None = None) -> list[Trace]:
        traces: list[Trace] = []
        token = None
        while True:
            page = self.client.search_traces(
                locations=[self.experiment_id],
                filter_string=filter_string,
                max_results=500,
                include_spans=False,
                page_token=token,
            )
            traces.extend(page)
            token = page.token
            if not token:
                return traces

    async def asearch(self, filter_string: str | None = None) -> list[Trace]:
        return await asyncio.to_thread(self.search, filter_string)

    async def wait_for_trace(self, trace_id: str, timeout_s: float = 30.0) -> Trace:
        """The bot's trace once its asynchronous export is complete. The exporter may log the
        spans before the trace's info: until then the server holds the trace without the
        metadata the bot set (its user), so wait for that too."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                trace = await asyncio.to_thread(self.client.get_trace, trace_id)
                if "mlflow.trace.user" in trace.info.trace_metadata:
                    return trace
            except Exception:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise AssertionError(f"trace {trace_id} stayed incomplete on the server")
            await asyncio.sleep(0.2)

    async def assessments(self, trace_id: str) -> list[Assessment]:
        """Every assessment on the trace, valid or not (waiting for the trace to be exported),
        but the bot's own summary of them (`summary`)."""
        trace = await self.wait_for_trace(trace_id)
        return [a for a in trace.info.assessments if a.name != SUMMARY]

    async def summary(self, trace_id: str) -> str | None:
        """The value of the bot's feedback summary on the trace, if it has one."""
        trace = await self.wait_for_trace(trace_id)
        found = [a for a in trace.info.assessments if a.name == SUMMARY and a.valid is not False]
        return str(getattr(found[0], "value", None)) if found else None

    async def valid_assessments(self, trace_id: str, name: str | None = None) -> list[Assessment]:
        return [
            a
            for a in await self.assessments(trace_id)
            if a.valid is not False and (name is None or a.name == name)
        ]


def send_one_at_a_time(client: TracingClient, trace_json: str) -> None:
    """A kept trace sent as the bot sent each before issue 26: its info (`start_trace`), then
    its spans alone (`log_spans`): two requests a trace. The baseline of bench/ and of the
    test that compares what the server shows of a trace sent either way."""
    trace = Trace.from_json(trace_json)
    client.start_trace(trace.info)
    client.log_spans(str(trace.info.experiment_id), trace.data.spans)


def server_view(client: TracingClient, trace_id: str) -> dict[str, Any]:
    """What MLflow shows of a trace (its info, assessments and spans), with what differs
    between two answers made alike left out: the trace's and assessments' IDs (the trace ID
    where it is quoted too) and the clock (times, durations)."""
    trace = client.get_trace(trace_id)
    info = trace.info.to_dict()
    for key in ("trace_id", "request_time", "execution_duration_ms"):
        info.pop(key, None)
    for assessment in info.get("assessments", []):
        for key in ("assessment_id", "trace_id", "create_time", "last_update_time"):
            assessment.pop(key, None)
    spans = []
    for span in trace.data.spans:
        content = span.to_dict()
        for key in ("trace_id", "span_id", "parent_span_id"):
            content.pop(key, None)
        for key in ("start_time_unix_nano", "end_time_unix_nano"):
            content.pop(key, None)
        content["parent"] = next(
            (s.name for s in trace.data.spans if s.span_id == span.parent_id), None
        )
        spans.append(content)
    view = {"info": info, "spans": spans}
    return dict(json.loads(json.dumps(view).replace(trace_id, "<trace ID>")))


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two JSON-like values differ, a line each (empty: the same)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(
                    f"{path}.{key}: {a.get(key, '<absent>')!r:.80} vs "
                    f"{b.get(key, '<absent>')!r:.80}"
                )
            else:
                out += differences(a[key], b[key], f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: {a!r:.80} vs {b!r:.80}"]
