"""The Slack Web API client both processes use."""

from __future__ import annotations

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.retries import slack_retry_handlers
from config import Settings


def make_web_client(
    settings: Settings, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """A Slack Web API client that retries rate limits, 5xx and dropped connections.

    Give it a session to keep connections alive (without one, each call opens a new one).
    """
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_base,
        session=session,
        timeout=15,
        retry_handlers=slack_retry_handlers(),
    )
