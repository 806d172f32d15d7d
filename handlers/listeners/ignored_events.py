"""Events the bot does not act on (reactions, app home, new event types, …) are acknowledged
with a 200, so Slack neither retries them nor counts them as failures.

Bolt runs the first listener that matches, so this one must be registered after all others.
"""

from __future__ import annotations

import logging
import re

from slack_bolt.async_app import AsyncApp

log = logging.getLogger(__name__)

ANY_EVENT_TYPE = re.compile(r".*")  # handlers/checks/guard.py makes sure the type is a string


def register_last(app: AsyncApp) -> None:
    @app.event(ANY_EVENT_TYPE)
    async def acknowledge(event: dict) -> None:
        log.debug("no listener for %r events: acknowledged", event.get("type"))
