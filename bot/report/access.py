"""Who may see the feedback report: listed admins, and optionally workspace admins/owners.

Only the caller's Slack user ID decides (never a name or the command's text).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.errors import SLACK_FAILURES, slack_error_reason

log = logging.getLogger(__name__)

# users.info must answer well within Slack's 3 s for the command's acknowledgement.
USERS_INFO_TIMEOUT_S = 2.0


class ReportAccess:
    def __init__(self, admins: Iterable[str], *, allow_workspace_admins: bool) -> None:
        self._admins = frozenset(admins)
        self._allow_workspace_admins = allow_workspace_admins

    async def allows(self, client: AsyncWebClient, user_id: str) -> bool:
        if not user_id:
            return False
        if user_id in self._admins:
            return True
        if not self._allow_workspace_admins:
            return False
        try:
            async with asyncio.timeout(USERS_INFO_TIMEOUT_S):
                response = await client.users_info(user=user_id)
        except SLACK_FAILURES as error:  # TimeoutError included
            log.warning("users.info failed for %r: %s", user_id, slack_error_reason(error))
            return False
        user = response.get("user")
        return (
            isinstance(user, dict)
            and user.get("id") == user_id
            and not user.get("deleted")
            and (user.get("is_admin") is True or user.get("is_owner") is True)
        )
