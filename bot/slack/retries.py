"""How the Slack Web API client retries, following Slack's rules, with slack_sdk's handlers.

- 429 `ratelimited`: wait `Retry-After` seconds, then retry (up to 5 times);
- 500, 502, 503, 504: retry twice with backoff — slack_sdk's own server-error handler only
  retries 500 and 503, but Slack's edge answers 502 and 504 as well when it is overloaded;
- a dropped or refused connection: retry twice.

Retrying a 5xx may post a message twice if Slack did post it; a lost answer is worse.
"""

from __future__ import annotations

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

TRANSIENT_SERVER_ERRORS = frozenset({500, 502, 503, 504})


class TransientServerErrorRetryHandler(AsyncServerErrorRetryHandler):
    """slack_sdk's server-error handler, for every transient 5xx status."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in TRANSIENT_SERVER_ERRORS


def slack_retry_handlers() -> list[AsyncRetryHandler]:
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=5),
        TransientServerErrorRetryHandler(max_retry_count=2),
    ]
