"""The report's answers, from one experiment on the tracking server (blocking calls), through
the MLflow adapter (bot/tracing/rest.py).

The window and channel are filtered on the server; pages carry trace infos only (no spans),
assessments included, so nothing is fetched per trace and memory holds one page at a time.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from bot.report.trace_records import AnswerQuery, NoTraceMetrics
from bot.tracing.rest import TRACE_PAGE_SIZE, MlflowRest
from bot.tracing.rest_errors import EndpointNotFound, InvalidParameter
from bot.tracing.setup import bound_mlflow_client
from bot.tracing.trace_records import MetricPoint, TraceRecord
from config import TrackingSettings


class TraceSource:
    """One experiment on one tracking server."""

    def __init__(self, rest: MlflowRest, experiment_name: str) -> None:
        self.rest = rest
        self.experiment_name = experiment_name
        self.offers_metrics = True  # until the server says it has no trace metrics endpoint

    @classmethod
    def of(cls, tracking: TrackingSettings) -> TraceSource:
        """The bot's experiment on its tracking server, where no call may block for minutes
        (the adapter's bounds, and MLflow's own client bounded alike)."""
        bound_mlflow_client(tracking)
        return cls(MlflowRest.from_settings(tracking), tracking.mlflow_experiment_name)

    def experiment_id(self) -> str | None:
        """The experiment's ID, or None when it does not exist (no answer was ever traced)."""
        return self.rest.experiment_id(self.experiment_name)

    def pages(
        self,
        experiment_id: str,
        search: AnswerQuery | str,
        page_size: int = TRACE_PAGE_SIZE,
        order_by: list[str] | None = None,
    ) -> Generator[list[TraceRecord]]:
        """The answers of `search` (a query, or a search filter) page by page, newest first
        (as the server sorts them by default) unless `order_by` says otherwise."""
        filter_string = search if isinstance(search, str) else search.filter_string
        return self.rest.trace_pages(
            experiment_id, filter_string, page_size=page_size, order_by=order_by
        )

    def metric_points(self, request: dict[str, Any]) -> list[MetricPoint]:
        """Every data point of a `QueryTraceMetrics` request (its JSON body, without paging);
        `NoTraceMetrics` when the server does not offer it (`EndpointNotFound`) or refuses the
        request's parameters (an MLflow whose trace metrics lack a view, metric or dimension)."""
        try:
            return self.rest.trace_metric_points(request)
        except (EndpointNotFound, InvalidParameter) as error:
            raise NoTraceMetrics(
                f"the server refused {request}: {error}",
                status=error.status,
                error_code=error.error_code,
            ) from error
