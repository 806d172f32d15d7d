"""Who may see the feedback report: listed admins, and optionally workspace admins/owners.

Only the caller's Slack user ID decides (never a name or the command's text).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

# users.info must answer well within Slack's 3 s for the command's acknowledgement.
USERS_INFO_TIMEOUT_S = 2.0


class ReportAccess:
    def __init__(self, admins: Iterable[str], *, allow_workspace_admins: bool) -> None:
        self._admins = frozenset(admins)
        self._allow_workspace_admins = allow_workspace_admins

    async def allows(self, client: AsyncWebClient, user_id: str) -> bool:
        if user_id in self._admins:
            return True
        if not self._allow_workspace_admins:
            return False
        try:
            async with asyncio.timeout(USERS_INFO_TIMEOUT_S):
                response = await client.users_info(user=user_id)
        except SlackApiError as error:
            log.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
            return False
        except TimeoutError:
            log.warning("users.info did not answer in time for %s", user_id)
            return False
        user = response.get("user")
        return (
            isinstance(user, dict)
            and user.get("id") == user_id
            and not user.get("deleted")
            and (user.get("is_admin") is True or user.get("is_owner") is True)
        )
