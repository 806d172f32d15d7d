"""The errors of the MLflow adapter (bot/tracing/rest.py): one family, without mlflow's client,
so the modules that only catch them (the report's) do not load it.

Each carries what the server answered: `status`, the HTTP status (None when no answer came:
no connection, a timeout, after the adapter's retries), and `error_code`, MLflow's error code
(None when the answer had none). Whether the work that met one is retried or refused for good
is decided from the status by the one classification of failed calls, not here.
"""

from __future__ import annotations

import json
from typing import Any


class MlflowRestError(Exception):
    """A call to the tracking server's REST API failed."""

    def __init__(
        self, message: str, *, status: int | None = None, error_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class ServerUnreachable(MlflowRestError):
    """No answer: no connection, or none within the timeout, after the retries."""


class EndpointNotFound(MlflowRestError):
    """The server does not offer this endpoint (an older MLflow): ENDPOINT_NOT_FOUND, or a
    404/405 from the web framework without an MLflow error."""


class ResourceNotFound(MlflowRestError):
    """RESOURCE_DOES_NOT_EXIST: no such experiment, trace, dataset, … (a trace: yet)."""


class InvalidParameter(MlflowRestError):
    """INVALID_PARAMETER_VALUE (or BAD_REQUEST): the server refused the request's values."""


class UnexpectedAnswer(MlflowRestError):
    """An answer MLflow's API never sends (a 200 that is not the JSON it should be, …)."""


_BY_ERROR_CODE: dict[str, type[MlflowRestError]] = {
    "ENDPOINT_NOT_FOUND": EndpointNotFound,
    "RESOURCE_DOES_NOT_EXIST": ResourceNotFound,
    "INVALID_PARAMETER_VALUE": InvalidParameter,
    "BAD_REQUEST": InvalidParameter,
}


def answer_error(url: str, status: int, content: bytes) -> MlflowRestError:
    """The error for an answer other than 200: MLflow's error code and message when the server
    explained it, else the status and the start of the body."""
    explained = mlflow_error(content)
    if explained is not None:
        code = str(explained["error_code"])
        kind = _BY_ERROR_CODE.get(code, MlflowRestError)
        return kind(f"{code}: {explained.get('message', '')}", status=status, error_code=code)
    text = content[:200].decode(errors="replace")
    kind = EndpointNotFound if status in (404, 405) else MlflowRestError
    return kind(f"API request to {url} failed with status {status}: {text!r}", status=status)


def mlflow_error(content: bytes) -> dict[str, Any] | None:
    """MLflow's error body (`{"error_code": …, "message": …}`), if that is what `content` is."""
    try:
        data = json.loads(content)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "error_code" in data else None
