"""The answers in a window, page by page, straight from the tracking server (blocking calls).

The window and channel are filtered on the server; pages carry trace infos only (no spans),
assessments included, so nothing is fetched per trace and memory holds two pages at a time.

Pages come from the REST call `TracingClient.search_traces` makes (`POST
/api/3.0/mlflow/traces/search`, at most 500 traces a page), but are read differently, for
speed (bench/report_bench.py):
- the JSON is read straight into the few fields the report uses (`TraceRecord`); mlflow's
  JSON → protobuf → entities conversion took more client CPU than the server took to answer;
- the next page's request is sent before the current page is read, on one kept-alive
  connection, so the server prepares it meanwhile; one thread does both (pages fetched by a
  second thread came 20–30 ms late each: it waited for the GIL at every socket call while
  the first one read a page).
The HTTP requests carry what mlflow's client would send: the store's host credentials
(MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME/PASSWORD), mlflow's request headers, its
TLS settings, and the timeout and retries of MLFLOW_HTTP_REQUEST_* (bounded by bot.tracing.setup).
Set-ups this reader does not reproduce (an auth plugin, AWS SigV4, Databricks, an HTTP proxy,
workspaces) are read page after page with mlflow's own `http_request` instead.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import socket
import ssl
import time
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from mlflow.environment_variables import (
    MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR,
    MLFLOW_HTTP_REQUEST_BACKOFF_JITTER,
    MLFLOW_HTTP_REQUEST_MAX_RETRIES,
    MLFLOW_HTTP_REQUEST_TIMEOUT,
)
from mlflow.exceptions import RestException
from mlflow.tracing.client import TracingClient
from mlflow.tracking.request_header.registry import resolve_request_headers
from mlflow.utils.rest_utils import MlflowHostCreds, http_request, verify_rest_response
from mlflow.utils.workspace_context import get_request_workspace
from requests.utils import get_environ_proxies

from bot.common.failures import retried_within_a_request
from bot.report.trace_records import (
    AnswerQuery,
    AssessmentRecord,
    EndpointNotFound,
    MetricPoint,
    NoTraceMetrics,
    TraceRecord,
    TraceSearchError,
)

PAGE_SIZE = 500  # the server refuses more
SEARCH_ENDPOINT = "/api/3.0/mlflow/traces/search"
METRICS_ENDPOINT = "/api/3.0/mlflow/traces/metrics"  # QueryTraceMetrics (MLflow 3.17 has it)
METRICS_PAGE_SIZE = 1000  # the server's default and its usual limit
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


class TraceSource:
    """One experiment on one tracking server."""

    def __init__(self, tracking_uri: str, experiment_name: str) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self._client = TracingClient(tracking_uri)
        self.offers_metrics = True  # until the server says it has no trace metrics endpoint

    def experiment_id(self) -> str | None:
        """The experiment's ID, or None when it does not exist (no answer was ever traced)."""
        experiment = self._client.store.get_experiment_by_name(self.experiment_name)
        return None if experiment is None else str(experiment.experiment_id)

    def pages(
        self,
        experiment_id: str,
        search: AnswerQuery | str,
        page_size: int = PAGE_SIZE,
        order_by: list[str] | None = None,
    ) -> Generator[list[TraceRecord]]:
        """The answers of `search` (a query, or a search filter) page by page, newest first
        (as the server sorts them by default) unless `order_by` says otherwise."""
        creds = self._client.store.get_host_creds()
        request: dict[str, Any] = {
            "locations": [
                {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}
            ],
            "filter": search if isinstance(search, str) else search.filter_string,
            "max_results": page_size,
        }
        if order_by:
            request["order_by"] = order_by
        reader = page_reader(creds)
        try:
            reader.send(request)
            while True:
                traces, token = reader.receive()
                if token:
                    reader.send({**request, "page_token": token})
                yield [trace_record(trace) for trace in traces]
                if not token:
                    return
        finally:
            reader.close()

    def metric_points(self, request: dict[str, Any]) -> list[MetricPoint]:
        """Every data point of a `QueryTraceMetrics` request (its JSON body, without paging);
        `NoTraceMetrics` when the server does not offer it (`EndpointNotFound`) or refuses the
        request's parameters (an MLflow whose trace metrics lack a view, metric or dimension)."""
        reader = page_reader(self._client.store.get_host_creds(), METRICS_ENDPOINT)
        points: list[MetricPoint] = []
        request = {**request, "max_results": METRICS_PAGE_SIZE}
        try:
            while True:
                reader.send(request)
                page, token = read_metrics_response(reader.receive_content())
                points.extend(page)
                if not token:
                    return points
                request = {**request, "page_token": token}
        except RestException as error:
            if error.error_code == "INVALID_PARAMETER_VALUE":
                raise NoTraceMetrics(f"the server refused {request}: {error}") from error
            raise
        finally:
            reader.close()


class PageReader(Protocol):
    """Sends a search request, then receives its answer: traces as JSON, next page token."""

    def send(self, request: dict[str, Any]) -> None: ...

    def receive(self) -> tuple[list[Any], str | None]: ...

    def receive_content(self) -> bytes: ...

    def close(self) -> None: ...


def page_reader(creds: MlflowHostCreds, endpoint: str = SEARCH_ENDPOINT) -> PageReader:
    """The direct reader, unless the client's set-up needs mlflow's own HTTP code."""
    needs_mlflow = (
        creds.aws_sigv4
        or creds.auth
        or creds.use_databricks_sdk
        or creds.client_secret
        or creds.workspace_id
        or get_request_workspace()
        or get_environ_proxies(creds.host)
    )
    return (MlflowPageReader if needs_mlflow else DirectPageReader)(creds, endpoint)


class DirectPageReader:
    """Requests on one kept-alive connection; a request is sent before the answer to the one
    before is read, so the server works on it while the caller reads that answer."""

    def __init__(self, creds: MlflowHostCreds, endpoint: str = SEARCH_ENDPOINT) -> None:
        url = urlsplit(creds.host.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise TraceSearchError(f"{creds.host!r} is not an http(s) URL")
        self._url = f"{creds.host.rstrip('/')}{endpoint}"
        self._path = f"{url.path}{endpoint}"
        self._timeout = float(MLFLOW_HTTP_REQUEST_TIMEOUT.get())
        self._retries = int(MLFLOW_HTTP_REQUEST_MAX_RETRIES.get())
        self._backoff = float(MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR.get())
        self._jitter = float(MLFLOW_HTTP_REQUEST_BACKOFF_JITTER.get())
        self._headers = {**resolve_request_headers(), "Content-Type": "application/json"}
        if creds.username and creds.password:
            basic = base64.standard_b64encode(f"{creds.username}:{creds.password}".encode())
            self._headers["Authorization"] = "Basic " + basic.decode()
        elif creds.token:
            self._headers["Authorization"] = f"Bearer {creds.token}"
        self._connect = self._connection_maker(url.scheme, url.hostname, url.port, creds)
        self._connection: http.client.HTTPConnection | None = None
        self._body = b""
        self._send_error: Exception | None = None
        self._answered = 0  # answers read on this connection

    def _connection_maker(
        self, scheme: str, host: str, port: int | None, creds: MlflowHostCreds
    ) -> Callable[[], http.client.HTTPConnection]:
        if scheme == "http":
            return lambda: _HTTPConnection(host, port, timeout=self._timeout)
        verify = creds.verify  # MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_TRACKING_SERVER_CERT_PATH
        context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
        if verify is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if creds.client_cert_path:  # MLFLOW_TRACKING_CLIENT_CERT_PATH
            context.load_cert_chain(creds.client_cert_path)
        return lambda: _HTTPSConnection(host, port, timeout=self._timeout, context=context)

    def send(self, request: dict[str, Any]) -> None:
        self._body = json.dumps(request).encode()
        self._send()

    def _send(self) -> None:
        self._send_error = None
        try:
            if self._connection is None:
                self._connection = self._connect()
                self._answered = 0
            self._connection.request("POST", self._path, self._body, self._headers)
        except (OSError, http.client.HTTPException) as error:
            self.close()
            self._send_error = error  # receive() retries or reports it

    def receive(self) -> tuple[list[Any], str | None]:
        return read_search_response(self.receive_content())

    def receive_content(self) -> bytes:
        """The answer's body (200), after mlflow's retries; an error for any other answer."""
        attempt = 0
        while True:
            reused = self._answered > 0
            status, content, error = self._answer()
            if error is not None and reused:
                # The server may close a kept-alive connection at any time: once more on a
                # new one, as any HTTP client does, without counting it as a retry.
                self._send()
                status, content, error = self._answer()
            # Retried with mlflow's backoff: no answer, or a status that may pass in seconds
            # (the one classification, bot/common/failures.py; a 401/403 fails at once).
            if error is None and not retried_within_a_request(status):
                break
            if attempt >= self._retries:
                if error is not None:
                    raise TraceSearchError(
                        f"API request to {self._url} failed with exception {error!r}"
                    ) from error
                break
            time.sleep(self._backoff * 2**attempt + random.uniform(0, self._jitter))
            attempt += 1
            self.close()
            self._send()
        if status != 200:
            raise _status_error(self._url, status, content)
        return content

    def _answer(self) -> tuple[int, bytes, Exception | None]:
        if self._connection is None:
            return 0, b"", self._send_error or TraceSearchError("no request was sent")
        try:
            response = self._connection.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return 0, b"", error
        self._answered += 1
        if response.will_close:
            self.close()
        return response.status, content, None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _HTTPConnection(http.client.HTTPConnection):
    """With TCP_NODELAY, as urllib3 (so mlflow's client) sets it: http.client writes a
    request's headers and body separately, and on a kept-alive connection Nagle's algorithm
    may hold the body back until the server's delayed ACK (up to 40 ms)."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _HTTPSConnection(http.client.HTTPSConnection):
    __doc__ = _HTTPConnection.__doc__

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class MlflowPageReader:
    """mlflow's own `http_request` (its auth plugins, proxies, …), one page after the other."""

    def __init__(self, creds: MlflowHostCreds, endpoint: str = SEARCH_ENDPOINT) -> None:
        self._creds = creds
        self._endpoint = endpoint
        self._request: dict[str, Any] = {}

    def send(self, request: dict[str, Any]) -> None:
        self._request = request

    def receive(self) -> tuple[list[Any], str | None]:
        return read_search_response(self.receive_content())

    def receive_content(self) -> bytes:
        response = http_request(self._creds, self._endpoint, "POST", json=self._request)
        if response.status_code != 200:
            if not _no_such_endpoint(response.status_code, response.content):
                verify_rest_response(response, self._endpoint)  # raises mlflow's error for it
            raise _status_error(self._endpoint, response.status_code, response.content)
        return bytes(response.content)

    def close(self) -> None:
        pass


def _status_error(url: str, status: int, content: bytes) -> Exception:
    """The error for an answer other than 200: mlflow's, when the server explained it."""
    text = content[:200].decode(errors="replace")
    if _no_such_endpoint(status, content):
        return EndpointNotFound(f"API request to {url} failed with status {status}: {text!r}")
    data = _error_body(content)
    if data is not None:
        return RestException(data)
    return TraceSearchError(f"API request to {url} failed with status {status}: {text!r}")


def _no_such_endpoint(status: int, content: bytes) -> bool:
    """The server does not offer the endpoint (an older MLflow): its error code says so, or
    the web framework answered 404/405 without an MLflow error."""
    data = _error_body(content)
    if data is not None:
        return data.get("error_code") == "ENDPOINT_NOT_FOUND"
    return status in (404, 405)


def _error_body(content: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(content)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "error_code" in data else None


def read_search_response(content: bytes | str) -> tuple[list[Any], str | None]:
    """The traces (as JSON) and next page token of a SearchTracesV3 response body."""
    try:
        data = json.loads(content or b"{}")
    except ValueError as error:
        raise TraceSearchError(f"a trace search answer that is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise TraceSearchError("a trace search answer that is not a JSON object")
    traces = data.get("traces", [])
    token = data.get("next_page_token") or None
    if not isinstance(traces, list) or not isinstance(token, str | None):
        raise TraceSearchError("a trace search answer without a list of traces")
    return traces, token


def read_metrics_response(content: bytes) -> tuple[list[MetricPoint], str | None]:
    """The data points and next page token of a QueryTraceMetrics response body."""
    try:
        data = json.loads(content or b"{}")
    except ValueError as error:
        raise TraceSearchError(f"a trace metrics answer that is not JSON: {error}") from None
    points = data.get("data_points", []) if isinstance(data, dict) else None
    token = data.get("next_page_token") or None if isinstance(data, dict) else None
    if not isinstance(points, list) or not isinstance(token, str | None):
        raise TraceSearchError("a trace metrics answer without a list of data points")
    return [_metric_point(point) for point in points], token


def _metric_point(point: object) -> MetricPoint:
    dimensions = point.get("dimensions") or {} if isinstance(point, dict) else None
    values = point.get("values") or {} if isinstance(point, dict) else None
    if (
        not isinstance(dimensions, dict)
        or not isinstance(values, dict)
        or not all(isinstance(v, str) for v in dimensions.values())
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values.values())
    ):
        raise TraceSearchError("a trace metrics data point of an unknown shape")
    return MetricPoint(dimensions, {key: float(value) for key, value in values.items()})


def trace_record(trace: object) -> TraceRecord:
    """A trace info of the REST API (a TraceInfoV3 as JSON) as a `TraceRecord`."""
    if not isinstance(trace, dict):
        raise TraceSearchError("a trace that is not a JSON object")
    trace_id = trace.get("trace_id")
    if not isinstance(trace_id, str) or not trace_id:
        raise TraceSearchError("a trace without a trace_id")
    assessments = trace.get("assessments", ())
    if not isinstance(assessments, list | tuple):
        raise TraceSearchError(f"trace {trace_id}: assessments that are not a list")
    return TraceRecord(
        trace_id=trace_id,
        request_time_ms=_timestamp_ms(trace.get("request_time"), trace_id),
        client_request_id=_optional_str(trace, "client_request_id", trace_id),
        request_preview=_optional_str(trace, "request_preview", trace_id),
        response_preview=_optional_str(trace, "response_preview", trace_id),
        tags=_string_map(trace, "tags", trace_id),
        metadata=_string_map(trace, "trace_metadata", trace_id),
        assessments=tuple(_assessment(a, trace_id) for a in assessments),
    )


def _assessment(assessment: object, trace_id: str) -> AssessmentRecord:
    if not isinstance(assessment, dict):
        raise TraceSearchError(f"trace {trace_id}: an assessment that is not a JSON object")
    source = assessment.get("source") or {}
    feedback = assessment.get("feedback")
    if not isinstance(source, dict) or not isinstance(feedback, dict | None):
        raise TraceSearchError(f"trace {trace_id}: an assessment of an unknown shape")
    valid = assessment.get("valid", True)
    rationale = _optional_str(assessment, "rationale", trace_id) if feedback is not None else None
    if not isinstance(valid, bool):
        raise TraceSearchError(f"trace {trace_id}: an assessment's valid that is not a boolean")
    return AssessmentRecord(
        name=_optional_str(assessment, "assessment_name", trace_id) or "",
        value=feedback.get("value") if feedback is not None else _expectation_value(assessment),
        source_type=_optional_str(source, "source_type", trace_id),
        source_id=_optional_str(source, "source_id", trace_id) or None,
        valid=valid,
        rationale=rationale or None,
        create_time_ms=_timestamp_ms(assessment.get("create_time"), trace_id),
    )


def _expectation_value(assessment: dict[str, Any]) -> Any:
    """An expectation's value (mlflow's entities read it like a feedback's); None otherwise."""
    expectation = assessment.get("expectation")
    if not isinstance(expectation, dict):
        return None
    serialized = expectation.get("serialized_value")
    if isinstance(serialized, dict) and isinstance(serialized.get("value"), str):
        try:
            return json.loads(serialized["value"])
        except ValueError:
            return None
    return expectation.get("value")


def _optional_str(data: dict[str, Any], key: str, trace_id: str) -> str | None:
    value = data.get(key)
    if not isinstance(value, str | None):
        raise TraceSearchError(f"trace {trace_id}: {key} is not a string")
    return value


def _string_map(data: dict[str, Any], key: str, trace_id: str) -> dict[str, str]:
    value = data.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise TraceSearchError(f"trace {trace_id}: {key} is not a map of strings")
    return value


def _timestamp_ms(value: object, trace_id: str) -> int:
    """Milliseconds since the epoch of an RFC 3339 timestamp as protobuf writes it (rounded
    down, as `Timestamp.ToMilliseconds`); 0 when absent, as for an unset protobuf field."""
    if value is None:
        return 0
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise TraceSearchError(f"trace {trace_id}: {value!r} is not a timestamp")
    return (moment - _EPOCH) // _MILLISECOND
