"""What a failed call to the tracking server means, in one place: the one classification
(bot/common/failures.py, `failure_of_status`, which the queue core uses) applied to MLflow's
exceptions.

Traces, votes and the report's pages all read it:
- `Failure.TRANSIENT`: no answer (MLflow wraps a connection error or a timeout as a 500), a
  rate limit, a concurrent write (409 ABORTED), a 5xx: retried with backoff;
- `Failure.CREDENTIALS`: 401/403, the bot's token or its permission on the experiment: an
  operator can fix it, so durable work is retried (never kept as dead for it), while a report
  page fails at once with the server's words;
- `Failure.REFUSED`: any other 4xx (the experiment does not exist, an invalid value): the same
  request cannot succeed later; durable work is kept as dead with the reason.
A missing trace (RESOURCE_DOES_NOT_EXIST, 404) is REFUSED by this rule; the feedback deliverer
asks `trace_not_found` first, since a vote may come before its trace has been sent.
"""

from __future__ import annotations

from mlflow.exceptions import MlflowException

from bot.common.failures import Failure, failure_of_status
from bot.tracing.rest_errors import MlflowRestError


def failure_of(error: BaseException) -> Failure:
    """What `error`, raised by a call to the tracking server, means for the work that made
    it. Anything but MLflow's own exceptions (a connection error the client did not wrap) is
    transient."""
    if isinstance(error, MlflowException):
        return failure_of_status(error.get_http_status_code())
    if isinstance(error, MlflowRestError):  # the MLflow adapter's (bot/tracing/rest.py)
        return failure_of_status(error.status)
    return Failure.TRANSIENT


def trace_not_found(error: BaseException) -> bool:
    """The trace is not on the server (yet: export is asynchronous)."""
    code = getattr(error, "error_code", None)
    return (
        isinstance(error, MlflowException | MlflowRestError) and code == "RESOURCE_DOES_NOT_EXIST"
    )
