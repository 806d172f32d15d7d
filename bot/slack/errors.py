"""What a Slack Web API call can end in once the client's retries are spent, and why."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

SLACK_FAILURES = (SlackClientError, aiohttp.ClientError, TimeoutError)


def slack_error_reason(error: BaseException) -> str:
    """Slack's `error` code when it gave one (the body may not even be JSON), else the error."""
    if isinstance(error, SlackApiError):
        data = error.response.data
        if isinstance(data, dict) and data.get("error"):
            return str(data["error"])
        return f"HTTP {error.response.status_code}"
    return repr(error)
