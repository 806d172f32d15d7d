"""The one classification of a failed call to another service (the tracking server, Slack):
what it means for the work that made it. Durable work (the queue core, bot/storage/queue.py:
traces, votes, jobs) and requests made while someone waits (the report's pages) both read it.
"""

from __future__ import annotations

import enum


class Failure(enum.Enum):
    """What a failed call to another service means for the work that made it."""

    TRANSIENT = "transient"  # no answer, a timeout, a rate limit, a conflict, a 5xx: retry
    CREDENTIALS = "credentials"  # 401/403: the bot's credentials or permissions: retry later
    REFUSED = "refused"  # the request itself was refused (any other 4xx, 501): dead


# A 401 or 403 says the bot's token or its permission on the experiment is wrong: an operator
# fixes that (a rotated token, a grant) and the same request then succeeds. Durable work
# waits for it (retried with backoff, never kept as dead for it): losing a trace or a vote
# for an operator's mistake is worse than retrying. Within a request (a report page) it is
# not retried: seconds do not fix it, and the user is told at once.
_CREDENTIALS = frozenset({401, 403})
# 4xx answers that a later try can change: timeout, conflict (MLflow's ABORTED: a concurrent
# write), too early, rate limited, client closed.
_TRANSIENT_4XX = frozenset({408, 409, 425, 429, 499})
_NOT_IMPLEMENTED = 501


def failure_of_status(status: int | None) -> Failure:
    """What a failed HTTP call means: `status` is the answer's status, None if none came."""
    if status is None:
        return Failure.TRANSIENT
    if status in _CREDENTIALS:
        return Failure.CREDENTIALS
    if (400 <= status < 500 and status not in _TRANSIENT_4XX) or status == _NOT_IMPLEMENTED:
        return Failure.REFUSED
    return Failure.TRANSIENT


def retried_within_a_request(status: int) -> bool:
    """Whether an HTTP call answered `status` is tried again at once, with its client's short
    backoff (a page of a report): only what may pass in seconds; a 200 is not."""
    return status >= 400 and failure_of_status(status) is Failure.TRANSIENT


# The statuses an HTTP client retries within one call (`retried_within_a_request`), for
# clients that take a list (mlflow's `http_request`, in the MLflow adapter).
RETRIED_WITHIN_A_REQUEST = frozenset(
    status for status in range(400, 600) if retried_within_a_request(status)
)
