"""The App Home tab: `app_home_opened` and the admins' picker and "Refresh" → `HomeTab`, then
`views.publish`. Slack is answered at once (a click within 3 s); the view follows."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.common.background import BackgroundTasks
from bot.report.home import HomeChoice, HomeTab
from bot.slack.surfaces import DataBlockSurfaces
from handlers.listeners.safety import logged_not_raised
from handlers.payload_values import slack_id
from handlers.views.home_tab import (
    ACTION_PREFIX,
    ALL_CHANNELS_ACTION,
    CHANNEL_ACTION,
    WINDOW_ACTION,
    choice_of,
    publish_home,
)


def parse_click(body: dict[str, Any]) -> tuple[str | None, HomeChoice]:
    """Who clicked in their Home tab, and the choice the click makes (the view's choice,
    changed by the click)."""
    user_field = body.get("user")
    user = slack_id(user_field.get("id")) if isinstance(user_field, dict) else None
    view = body.get("view")
    view = view if isinstance(view, dict) else {}
    choice = choice_of(str(view.get("private_metadata") or ""))
    actions = body.get("actions") or [{}]
    action = actions[0] if isinstance(actions[0], dict) else {}
    action_id = action.get("action_id")
    try:
        if action_id == WINDOW_ACTION:
            window = str((action.get("selected_option") or {}).get("value") or "")
            choice = replace(choice, window=window)
        elif action_id == CHANNEL_ACTION:
            choice = replace(choice, channel=slack_id(action.get("selected_channel")))
        elif action_id == ALL_CHANNELS_ACTION:
            choice = replace(choice, channel=None)
    except ValueError:
        pass  # not a choice the picker offers: the view's stands
    return user, choice


def register(
    app: AsyncApp, home: HomeTab, surfaces: DataBlockSurfaces, background: BackgroundTasks
) -> None:
    async def show(user: str, client: AsyncWebClient, choice: HomeChoice | None) -> None:
        await publish_home(client, user, await home.content(user, client, choice), surfaces)

    @app.event("app_home_opened")
    @logged_not_raised
    async def on_home_opened(event: dict, client: AsyncWebClient) -> None:
        user = slack_id(event.get("user"))
        if event.get("tab") == "home" and user is not None:
            background.spawn(show(user, client, None), "home tab")

    @app.action(re.compile("^" + re.escape(ACTION_PREFIX)))
    @logged_not_raised
    async def on_home_click(ack: AsyncAck, body: dict, client: AsyncWebClient) -> None:
        await ack()
        user, choice = parse_click(body)
        if user is not None:
            background.spawn(show(user, client, choice), "home tab")
