"""The one MLflow adapter: every call the bot makes to the tracking server's REST API itself
(what mlflow-tracing's client does not offer, or offers too slowly: trace search pages, trace
metrics, evaluation datasets, the experiment's ID).

Requests go through mlflow's own `http_request`, so they carry what mlflow's client would
send: the host credentials (`get_default_host_creds`: MLFLOW_TRACKING_TOKEN, or
MLFLOW_TRACKING_USERNAME/PASSWORD, an auth plugin, AWS SigV4), mlflow's request headers, its
TLS settings (MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_TRACKING_SERVER_CERT_PATH,
MLFLOW_TRACKING_CLIENT_CERT_PATH) and proxies, on its kept-alive session. Timeout and retries
come from the bot's Settings (MLFLOW_REQUEST_TIMEOUT_S, MLFLOW_REQUEST_RETRIES: `RequestBounds`),
not from mlflow's defaults (minutes while the server is down), and a server's Retry-After is
not followed, so a call is bounded. Every failure is one of bot/tracing/rest_errors.py.
(A hand-written `http.client` page reader was not 2× faster on an export of 10k answers:
bench/notes.md.)

`MlflowRest` blocks: call it from a worker thread. `AsyncMlflowRest` runs its calls on a few
threads of its own for callers on the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote

from mlflow.exceptions import MlflowException

from bot.common.failures import RETRIED_WITHIN_A_REQUEST
from bot.tracing.mlflow_internals import get_default_host_creds, http_request
from bot.tracing.rest_errors import (
    MlflowRestError,
    ResourceNotFound,
    ServerUnreachable,
    UnexpectedAnswer,
    answer_error,
)
from bot.tracing.trace_records import MetricPoint, TraceRecord, metric_point, trace_record
from config import TrackingSettings

EXPERIMENT_BY_NAME = "/api/2.0/mlflow/experiments/get-by-name"
SEARCH_TRACES = "/api/3.0/mlflow/traces/search"  # SearchTracesV3
TRACE_METRICS = "/api/3.0/mlflow/traces/metrics"  # QueryTraceMetrics (MLflow 3.17 has it)
DATASETS = "/api/3.0/mlflow/datasets"  # evaluation datasets (a SQL-backed server only)
TRACE_PAGE_SIZE = 500  # the server refuses more
METRICS_PAGE_SIZE = 1000  # the server's default and its usual limit
DATASET_RECORDS_PAGE_SIZE = 1000

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class RequestBounds:
    """How long one call may take: each attempt's timeout, and the retries after a failed one
    (no answer, or a status that may pass in seconds: bot/common/failures.py, the one
    classification; not a 401/403), `backoff_s` × 2ⁿ apart plus up to `jitter_s`."""

    timeout_s: int  # (whole seconds, as MLFLOW_HTTP_REQUEST_TIMEOUT: mlflow's client reads it too)
    retries: int
    backoff_s: int = 1
    jitter_s: float = 0.5

    @classmethod
    def of(cls, settings: TrackingSettings) -> RequestBounds:
        return cls(settings.mlflow_request_timeout_s, settings.mlflow_request_retries)


class MlflowRest:
    """The tracking server at `tracking_uri`, through its REST API (blocking, thread-safe)."""

    def __init__(self, tracking_uri: str, bounds: RequestBounds) -> None:
        self.tracking_uri = tracking_uri.rstrip("/")
        self.bounds = bounds

    @classmethod
    def from_settings(cls, settings: TrackingSettings) -> MlflowRest:
        return cls(settings.mlflow_tracking_uri, RequestBounds.of(settings))

    def call(
        self, method: str, endpoint: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The JSON object the server answered `method endpoint` with (a GET's `body` goes in
        the query string); an `MlflowRestError` for anything else."""
        url = f"{self.tracking_uri}{endpoint}"
        # (Read each time, as mlflow's client does: a rotated token is used at once.)
        creds = get_default_host_creds(self.tracking_uri)
        bounds = self.bounds
        try:
            response = http_request(
                creds,
                endpoint,
                method,
                max_retries=bounds.retries,
                retry_codes=RETRIED_WITHIN_A_REQUEST,
                backoff_factor=bounds.backoff_s,
                backoff_jitter=bounds.jitter_s,
                timeout=bounds.timeout_s,
                raise_on_status=False,  # the last answer, to be read below
                respect_retry_after_header=False,
                **({"params": body} if method == "GET" else {"json": body}),
            )
        except MlflowException as error:  # no answer (mlflow says why), or mlflow's own refusal
            if error.error_code == "INTERNAL_ERROR":
                attempts = bounds.retries + 1
                raise ServerUnreachable(
                    f"no answer from {url} ({_innermost(error)}; {attempts} attempts)"
                ) from error
            raise MlflowRestError(
                str(error), status=error.get_http_status_code(), error_code=error.error_code
            ) from error
        content = response.content
        if response.status_code != 200:
            raise answer_error(url, response.status_code, content)
        try:
            data = json.loads(content or b"{}")
        except ValueError as error:
            raise UnexpectedAnswer(
                f"{url} answered with something that is not JSON: {error}"
            ) from None
        if not isinstance(data, dict):
            raise UnexpectedAnswer(f"{url} answered with something that is not a JSON object")
        return data

    # -- experiments ------------------------------------------------------------------------

    def experiment_id(self, name: str) -> str | None:
        """The ID of the experiment named `name`, or None when there is none."""
        try:
            data = self.call("GET", EXPERIMENT_BY_NAME, {"experiment_name": name})
        except ResourceNotFound:
            return None
        experiment = data.get("experiment")
        if not isinstance(experiment, dict) or not experiment.get("experiment_id"):
            raise UnexpectedAnswer(f"an experiment look-up without an experiment: {data!r:.200}")
        return str(experiment["experiment_id"])

    # -- traces -----------------------------------------------------------------------------

    def search_traces_page(
        self,
        experiment_id: str,
        filter_string: str,
        *,
        max_results: int = TRACE_PAGE_SIZE,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[TraceRecord], str | None]:
        """One page of the experiment's traces matching `filter_string` (trace infos with
        their assessments, no spans), newest first unless `order_by` says otherwise, and the
        next page's token (None after the last)."""
        request: dict[str, Any] = {
            "locations": [
                {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}
            ],
            "filter": filter_string,
            "max_results": max_results,
        }
        if order_by:
            request["order_by"] = order_by
        if page_token:
            request["page_token"] = page_token
        traces, token = listed(self.call("POST", SEARCH_TRACES, request), "traces")
        return [trace_record(trace) for trace in traces], token

    def trace_pages(
        self,
        experiment_id: str,
        filter_string: str,
        *,
        page_size: int = TRACE_PAGE_SIZE,
        order_by: list[str] | None = None,
    ) -> Generator[list[TraceRecord]]:
        """Every page of `search_traces_page`, one request at a time, as the caller reads."""
        token: str | None = None
        while True:
            page, token = self.search_traces_page(
                experiment_id,
                filter_string,
                max_results=page_size,
                order_by=order_by,
                page_token=token,
            )
            yield page
            if not token:
                return

    def trace_metric_points(self, request: dict[str, Any]) -> list[MetricPoint]:
        """Every data point of a QueryTraceMetrics request (its JSON body, without paging)."""
        points: list[MetricPoint] = []
        request = {**request, "max_results": METRICS_PAGE_SIZE}
        while True:
            page, token = listed(self.call("POST", TRACE_METRICS, request), "data_points")
            points += map(metric_point, page)
            if not token:
                return points
            request = {**request, "page_token": token}

    # -- evaluation datasets (a SQL-backed server only) -------------------------------------

    def create_dataset(
        self, name: str, experiment_ids: list[str], tags: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """A new evaluation dataset (its JSON: `dataset_id`, `name`, `digest`, …)."""
        request: dict[str, Any] = {"name": name, "experiment_ids": experiment_ids}
        if tags:
            request["tags"] = json.dumps(tags)  # the API takes them as a JSON string
        return _object(self.call("POST", f"{DATASETS}/create", request), "dataset")

    def get_dataset(self, dataset_id: str) -> dict[str, Any]:
        """The dataset's JSON; `ResourceNotFound` when there is none."""
        return _object(self.call("GET", f"{DATASETS}/{quote(dataset_id)}"), "dataset")

    def search_datasets(
        self,
        experiment_ids: list[str] | None = None,
        filter_string: str | None = None,
        *,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of datasets (of these experiments; `filter_string` such as
        `name = 'slack-bot-corrections'`), and the next page's token."""
        request: dict[str, Any] = {"max_results": max_results}
        if experiment_ids:
            request["experiment_ids"] = experiment_ids
        if filter_string:
            request["filter_string"] = filter_string
        if page_token:
            request["page_token"] = page_token
        return listed(self.call("POST", f"{DATASETS}/search", request), "datasets")

    def upsert_dataset_records(
        self, dataset_id: str, records: list[dict[str, Any]]
    ) -> tuple[int, int]:
        """Insert or update records (each `{"inputs": {…}, "expectations": {…}, "tags": …,
        "source": …}`; a record with the same inputs is updated): (inserted, updated)."""
        data = self.call(
            "POST", f"{DATASETS}/{quote(dataset_id)}/records", {"records": json.dumps(records)}
        )
        inserted, updated = data.get("inserted_count", 0), data.get("updated_count", 0)
        if not isinstance(inserted, int) or not isinstance(updated, int):
            raise UnexpectedAnswer(f"an upsert of dataset records answered {data!r:.200}")
        return inserted, updated

    def dataset_records(
        self,
        dataset_id: str,
        *,
        max_results: int = DATASET_RECORDS_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the dataset's records (as dicts), and the next page's token."""
        request: dict[str, Any] = {"max_results": max_results}
        if page_token:
            request["page_token"] = page_token
        data = self.call("GET", f"{DATASETS}/{quote(dataset_id)}/records", request)
        try:
            records = json.loads(data.get("records") or "[]")  # a JSON string in the JSON
        except (TypeError, ValueError):
            records = None
        token = data.get("next_page_token") or None
        if not isinstance(records, list) or not isinstance(token, str | None):
            raise UnexpectedAnswer(f"dataset records of an unknown shape: {data!r:.200}")
        return records, token


class AsyncMlflowRest:
    """`MlflowRest` for callers on the event loop: each call runs on one of `threads` threads
    of its own (so at most that many wait on the server, and the loop never does)."""

    def __init__(self, rest: MlflowRest, threads: int = 4) -> None:
        self.rest = rest
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="mlflow-rest")

    async def _run(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._threads, lambda: call(*args, **kwargs)
        )

    async def call(
        self, method: str, endpoint: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return await self._run(self.rest.call, method, endpoint, body)

    async def experiment_id(self, name: str) -> str | None:
        return await self._run(self.rest.experiment_id, name)

    async def trace_metric_points(self, request: dict[str, Any]) -> list[MetricPoint]:
        return await self._run(self.rest.trace_metric_points, request)

    async def create_dataset(
        self, name: str, experiment_ids: list[str], tags: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return await self._run(self.rest.create_dataset, name, experiment_ids, tags)

    async def get_dataset(self, dataset_id: str) -> dict[str, Any]:
        return await self._run(self.rest.get_dataset, dataset_id)

    async def search_datasets(
        self, experiment_ids: list[str] | None = None, filter_string: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return await self._run(self.rest.search_datasets, experiment_ids, filter_string)

    async def upsert_dataset_records(
        self, dataset_id: str, records: list[dict[str, Any]]
    ) -> tuple[int, int]:
        return await self._run(self.rest.upsert_dataset_records, dataset_id, records)

    def close(self) -> None:
        """Let go of the threads (a call in progress finishes first)."""
        self._threads.shutdown(wait=False)


def listed(data: dict[str, Any], key: str) -> tuple[list[Any], str | None]:
    """A page of an answer: its list under `key` (absent: empty) and its next page token."""
    items = data.get(key, [])
    token = data.get("next_page_token") or None
    if not isinstance(items, list) or not isinstance(token, str | None):
        raise UnexpectedAnswer(f"an answer without a list of {key}")
    return items, token


def _innermost(error: BaseException) -> str:
    """What failed first, under mlflow's, requests' and urllib3's wrappings of it (a refused
    connection, a timeout, …)."""
    while (inner := error.__cause__ or error.__context__) is not None:
        error = inner
    return str(error) or type(error).__name__


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise UnexpectedAnswer(f"an answer without its {key}: {data!r:.200}")
    return value
