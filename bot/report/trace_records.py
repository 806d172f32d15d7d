"""What the report asks the tracking server for: plain values, so the modules that only name
them don't load mlflow's client (trace_pages.py does the asking)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.report.window import ReportWindow
from bot.tracing.data_model import TAG_CHANNEL
from bot.tracing.rest_errors import MlflowRestError

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


class NoTraceMetrics(MlflowRestError):
    """The tracking server's trace metrics cannot answer the report's queries."""


def tracking_failure(error: Exception) -> str | None:
    """Plain words for an error from talking to the tracking server; None for other errors."""
    if not isinstance(error, MlflowRestError) and not type(error).__module__.startswith(
        ("mlflow", "requests", "urllib3")
    ):
        return None
    first_line = (str(error).strip().splitlines() or [""])[0][:300]
    return f"the MLflow tracking server did not answer as expected ({first_line})"
