"""The answers in a window, page by page, straight from the tracking server (blocking calls).

The window and channel are filtered on the server; pages carry `TraceInfo` only (no spans),
assessments included, so nothing is fetched per trace and memory holds one page at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from mlflow.entities import TraceInfo
from mlflow.tracing.client import TracingClient

from bot.assessment_names import TAG_CHANNEL
from bot.report_window import ReportWindow

PAGE_SIZE = 500
CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class AnswerQuery:
    """Which answers: those whose trace started in `window`, in `channel` if given."""

    window: ReportWindow
    channel: str | None = None

    @property
    def filter_string(self) -> str:
        parts = [
            f"trace.timestamp_ms >= {self.window.start_ms}",
            f"trace.timestamp_ms < {self.window.end_ms}",
        ]
        if self.channel is not None:
            if not CHANNEL_ID.match(self.channel):
                raise ValueError(f"{self.channel!r} is not a Slack channel ID")
            parts.append(f"tags.`{TAG_CHANNEL}` = '{self.channel}'")
        return " AND ".join(parts)


class TraceSource:
    """One experiment on one tracking server."""

    def __init__(self, tracking_uri: str, experiment_name: str) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self._client = TracingClient(tracking_uri)

    def experiment_id(self) -> str | None:
        """The experiment's ID, or None when it does not exist (no answer was ever traced)."""
        experiment = self._client.store.get_experiment_by_name(self.experiment_name)
        return None if experiment is None else str(experiment.experiment_id)

    def pages(
        self, experiment_id: str, query: AnswerQuery, page_size: int = PAGE_SIZE
    ) -> Iterator[list[TraceInfo]]:
        token: str | None = None
        while True:
            page = self._client.search_traces(
                locations=[experiment_id],
                filter_string=query.filter_string,
                max_results=page_size,
                include_spans=False,
                page_token=token,
            )
            yield [trace.info for trace in page]
            token = page.token
            if not token:
                return


def tracking_failure(error: Exception) -> str | None:
    """Plain words for an error from talking to the tracking server; None for other errors."""
    if not type(error).__module__.startswith(("mlflow", "requests", "urllib3")):
        return None
    first_line = (str(error).strip().splitlines() or [""])[0][:300]
    return f"the MLflow tracking server did not answer as expected ({first_line})"
