"""Reading traces and assessments back from the real tracking server."""

from __future__ import annotations

import asyncio
import time

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
