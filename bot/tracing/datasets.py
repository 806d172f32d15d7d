"""The tracking server's evaluation-dataset endpoints (`/api/3.0/mlflow/datasets/…`, a
SQL-backed server only): mlflow-tracing has no dataset client.

Interim: the one MLflow REST adapter (bot/tracing/rest.py, `MlflowRest`, being built on
the `mlflow` branch) will offer these calls under the same names and signatures; once it is
on main this module goes and `bot.dataset` takes the adapter instead. Until then the calls go
through mlflow's own `http_request`, as the report's do (bot/report/trace_pages.py): mlflow's
credentials (MLFLOW_TRACKING_TOKEN, username/password, auth plugins) and TLS settings
(MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_TRACKING_SERVER_CERT_PATH, …), bounded by the bot's
MLFLOW_REQUEST_TIMEOUT_S and MLFLOW_REQUEST_RETRIES. Blocking: call from a worker thread.

Errors are mlflow's: `RestException` when the server answered with an error (its
`error_code`: RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE, …; a server without a SQL
backend answers the dataset calls with an error too), `MlflowException` when no answer came.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from mlflow.exceptions import RestException
from mlflow.utils.rest_utils import http_request, verify_rest_response

DATASETS = "/api/3.0/mlflow/datasets"
EXPERIMENT_BY_NAME = "/api/2.0/mlflow/experiments/get-by-name"
DATASET_RECORDS_PAGE_SIZE = 1000


class DatasetRest:
    """The dataset calls of one tracking server (blocking, thread-safe)."""

    def __init__(self, tracking_uri: str, timeout_s: int = 5, retries: int = 1) -> None:
        from mlflow.utils.credentials import get_default_host_creds

        self.tracking_uri = tracking_uri.rstrip("/")
        self._creds = get_default_host_creds(self.tracking_uri)
        self._timeout_s = timeout_s
        self._retries = retries
        self.requests = 0  # sent (for the benchmark's count of tracking-server requests)

    def call(self, method: str, endpoint: str, body: dict[str, Any] | None = None) -> Any:
        self.requests += 1
        response = http_request(
            self._creds,
            endpoint,
            method,
            max_retries=self._retries,
            backoff_factor=1,
            timeout=self._timeout_s,
            respect_retry_after_header=False,
            raise_on_status=False,  # the last answer, with MLflow's error code (below)
            **({"params": body} if method == "GET" else {"json": body}),
        )
        return json.loads(verify_rest_response(response, endpoint).text or "{}")

    def experiment_id(self, name: str) -> str | None:
        try:
            data = self.call("GET", EXPERIMENT_BY_NAME, {"experiment_name": name})
        except RestException as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        return str(data["experiment"]["experiment_id"])

    def create_dataset(
        self, name: str, experiment_ids: list[str], tags: dict[str, str] | None = None
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"name": name, "experiment_ids": experiment_ids}
        if tags:
            request["tags"] = json.dumps(tags)  # the API takes them as a JSON string
        return dict(self.call("POST", f"{DATASETS}/create", request)["dataset"])

    def search_datasets(
        self,
        experiment_ids: list[str] | None = None,
        filter_string: str | None = None,
        *,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        request: dict[str, Any] = {"max_results": max_results}
        if experiment_ids:
            request["experiment_ids"] = experiment_ids
        if filter_string:
            request["filter_string"] = filter_string
        if page_token:
            request["page_token"] = page_token
        data = self.call("POST", f"{DATASETS}/search", request)
        return list(data.get("datasets", [])), data.get("next_page_token") or None

    def upsert_dataset_records(
        self, dataset_id: str, records: list[dict[str, Any]]
    ) -> tuple[int, int]:
        """Insert or update records (the server matches them by their inputs): (inserted,
        updated)."""
        data = self.call(
            "POST", f"{DATASETS}/{quote(dataset_id)}/records", {"records": json.dumps(records)}
        )
        return int(data.get("inserted_count", 0)), int(data.get("updated_count", 0))

    def dataset_records(
        self,
        dataset_id: str,
        *,
        max_results: int = DATASET_RECORDS_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        request: dict[str, Any] = {"max_results": max_results}
        if page_token:
            request["page_token"] = page_token
        data = self.call("GET", f"{DATASETS}/{quote(dataset_id)}/records", request)
        return list(json.loads(data.get("records") or "[]")), data.get("next_page_token") or None
