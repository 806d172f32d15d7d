"""What the report asks the tracking server for, and what it reads back: plain values, so the
modules that only name them don't load mlflow's client (trace_pages.py does the asking)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.report.window import ReportWindow
from bot.tracing.data_model import TAG_CHANNEL

CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{2,}$")
ASSESSMENT_NAME = re.compile(r"^[a-z_]+$")


@dataclass(frozen=True)
class AnswerQuery:
    """Which answers: those whose trace started in `window`, in `channel` if given, and
    (`having`) with a valid assessment of that name (the server may add others of the same
    session: a filter narrowing the pages, not a definition)."""

    window: ReportWindow
    channel: str | None = None
    having: str | None = None

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
        if self.having is not None:
            if not ASSESSMENT_NAME.match(self.having):
                raise ValueError(f"{self.having!r} is not an assessment name")
            parts.append(f"feedback.{self.having} IS NOT NULL")
        return " AND ".join(parts)


@dataclass(frozen=True, slots=True)
class AssessmentRecord:
    """An assessment as the report reads it; absent fields have protobuf's defaults, as in
    mlflow's entities (`valid` is true unless stored false)."""

    name: str
    value: Any  # the feedback's (or an expectation's) JSON value; None when it has none
    source_type: str | None  # "HUMAN", "LLM_JUDGE", "CODE", …
    source_id: str | None
    valid: bool
    rationale: str | None  # a feedback's only, as in mlflow's entities
    create_time_ms: int


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """A trace's info as the report reads it (mlflow's `TraceInfo`, minus what it ignores)."""

    trace_id: str
    request_time_ms: int
    client_request_id: str | None
    request_preview: str | None
    response_preview: str | None
    tags: dict[str, str]
    metadata: dict[str, str]
    assessments: tuple[AssessmentRecord, ...]


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One data point of the tracking server's trace metrics: its group, and its values by
    aggregation ("COUNT", "AVG", …)."""

    dimensions: dict[str, str]
    values: dict[str, float]


class TraceSearchError(Exception):
    """The tracking server answered a trace search with something MLflow's API never sends."""


class NoTraceMetrics(TraceSearchError):
    """The tracking server's trace metrics cannot answer the report's queries."""


class EndpointNotFound(NoTraceMetrics):
    """The tracking server does not offer this REST endpoint (an older MLflow)."""


def tracking_failure(error: Exception) -> str | None:
    """Plain words for an error from talking to the tracking server; None for other errors."""
    if not isinstance(error, TraceSearchError) and not type(error).__module__.startswith(
        ("mlflow", "requests", "urllib3")
    ):
        return None
    first_line = (str(error).strip().splitlines() or [""])[0][:300]
    return f"the MLflow tracking server did not answer as expected ({first_line})"
