"""What Slack sends an app when its user types or clicks, shaped as Slack shapes it
(see shared/slack-payloads.md): events, `block_actions`, `view_submission`, `view_closed`,
slash commands."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from sandbox import (
    APP_ID,
    BOT_ID,
    SANDBOX_USER_ID,
    SANDBOX_USER_NAME,
    TEAM_DOMAIN,
    TEAM_ID,
)

REQUIRED = "Please complete this required field."
TEXT_INPUTS = ("plain_text_input", "email_text_input", "url_text_input", "number_input")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")

USER = {"id": SANDBOX_USER_ID, "username": SANDBOX_USER_NAME, "name": SANDBOX_USER_NAME}
TEAM = {"id": TEAM_ID, "domain": TEAM_DOMAIN}


def _now() -> str:
    return f"{time.time():.6f}"


def rich_text(text: str) -> dict[str, Any]:
    """The rich_text block Slack clients attach to what a person typed."""
    elements: list[dict[str, Any]] = []
    last = 0
    for match in _MENTION.finditer(text):
        if match.start() > last:
            elements.append({"type": "text", "text": text[last : match.start()]})
        elements.append({"type": "user", "user_id": match.group(1)})
        last = match.end()
    if last < len(text):
        elements.append({"type": "text", "text": text[last:]})
    return {
        "type": "rich_text",
        "block_id": uuid.uuid4().hex[:5],
        "elements": [{"type": "rich_text_section", "elements": elements}],
    }


def message_event(
    message: dict[str, Any], channel: str, channel_type: str, parent_user: str | None = None
) -> dict[str, Any]:
    """A `message` event for a person's new message (`channel_type` "im" in a DM)."""
    event: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "user": message["user"],
        "text": message["text"],
        "ts": message["ts"],
        "event_ts": message["ts"],
        "channel_type": channel_type,
        "team": TEAM_ID,
        "client_msg_id": str(uuid.uuid4()),
        "blocks": [rich_text(message["text"])],
    }
    if message.get("thread_ts"):
        event["thread_ts"] = message["thread_ts"]
        if parent_user:
            event["parent_user_id"] = parent_user
    return event


def app_mention_event(message_event: dict[str, Any]) -> dict[str, Any]:
    """The `app_mention` event Slack sends beside the `message` event of a mention."""
    event = {
        key: message_event[key]
        for key in ("user", "text", "ts", "channel", "event_ts", "team", "client_msg_id", "blocks")
    }
    if "thread_ts" in message_event:
        event["thread_ts"] = message_event["thread_ts"]
    return {"type": "app_mention", **event}


def reaction_event(
    added: bool, emoji: str, channel: str, ts: str, item_user: str | None
) -> dict[str, Any]:
    """`reaction_added` / `reaction_removed` for the sandbox user's reaction on a message."""
    event: dict[str, Any] = {
        "type": "reaction_added" if added else "reaction_removed",
        "user": SANDBOX_USER_ID,
        "reaction": emoji,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": _now(),
    }
    if item_user:
        event["item_user"] = item_user
    return event


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return options


def _option(element: dict[str, Any], value: Any) -> dict[str, Any] | None:
    return next((o for o in _options(element) if o.get("value") == value), None)


def action(
    block: dict[str, Any],
    element: dict[str, Any],
    *,
    block_id: str,
    choice: str | None = None,
    selected: Any = None,
) -> dict[str, Any]:
    """One entry of `actions` for a click on (or choice in) `element`."""
    kind = element.get("type")
    result: dict[str, Any] = {
        "type": kind,
        "action_id": element.get("action_id") or f"{block_id}-action",
        "block_id": block_id,
        "action_ts": _now(),
    }
    if kind == "feedback_buttons":
        button = element["positive_button" if choice == "positive" else "negative_button"]
        result.update(text=button.get("text"), value=button.get("value"))
    elif kind in ("static_select", "overflow", "radio_buttons"):
        result["selected_option"] = _option(element, selected)
    elif kind in ("checkboxes", "multi_static_select"):
        values = selected if isinstance(selected, list) else []
        result["selected_options"] = [o for o in _options(element) if o.get("value") in values]
    else:  # buttons of every kind
        for key in ("text", "value", "style"):
            if key in element:
                result[key] = element[key]
    return result


def block_actions(
    act: dict[str, Any],
    *,
    channel: str,
    channel_name: str,
    container: dict[str, Any],
    trigger_id: str,
    response_url: str,
    message: dict[str, Any] | None,
) -> dict[str, Any]:
    """A `block_actions` interaction; `message` is the clicked message (None if ephemeral)."""
    payload = _interaction(
        "block_actions",
        container=container,
        trigger_id=trigger_id,
        channel={"id": channel, "name": channel_name},
        state={"values": {}},
        response_url=response_url,
        actions=[act],
    )
    if message is not None:
        payload["message"] = message
    return payload


def _interaction(kind: str, **fields: Any) -> dict[str, Any]:
    """What every interaction payload carries: who, where, which app."""
    return {
        "type": kind,
        "team": TEAM,
        "user": {**USER, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "legacy-unused",
        "is_enterprise_install": False,
        "enterprise": None,
        **fields,
    }


def view_state(
    view: dict[str, Any], submitted: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """`view.state.values` from what was entered (by block index), and the required inputs
    left empty (which Slack's client refuses to submit)."""
    values: dict[str, Any] = {}
    missing: dict[str, str] = {}
    for index, block in enumerate(view.get("blocks") or []):
        if block.get("type") != "input":
            continue
        element, block_id = block["element"], block["block_id"]
        kind = element.get("type")
        raw = submitted.get(str(index))
        empty = raw in (None, "", [])
        entry: dict[str, Any] = {"type": kind}
        if kind in ("static_select", "radio_buttons"):
            entry["selected_option"] = None if empty else _option(element, raw)
        elif kind in ("checkboxes", "multi_static_select"):
            chosen = raw if isinstance(raw, list) else []
            entry["selected_options"] = [o for o in _options(element) if o.get("value") in chosen]
        elif kind == "datepicker":
            entry["selected_date"] = None if empty else raw
        elif kind == "timepicker":
            entry["selected_time"] = None if empty else raw
        else:
            entry["value"] = None if empty else str(raw)
        values[block_id] = {element["action_id"]: entry}
        if empty and not block.get("optional"):
            missing[block_id] = REQUIRED
    return values, missing


def _view_envelope(view: dict[str, Any]) -> dict[str, Any]:
    return {
        "team_id": TEAM_ID,
        "app_id": APP_ID,
        "bot_id": BOT_ID,
        "app_installed_team_id": TEAM_ID,
        "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        "root_view_id": view["id"],
        "previous_view_id": None,
        "private_metadata": "",
        "callback_id": "",
        "external_id": "",
        "clear_on_close": False,
        "notify_on_close": False,
        **view,
    }


def view_submission(view: dict[str, Any], trigger_id: str) -> dict[str, Any]:
    return _interaction(
        "view_submission", trigger_id=trigger_id, view=_view_envelope(view), response_urls=[]
    )


def view_closed(view: dict[str, Any]) -> dict[str, Any]:
    return _interaction("view_closed", view=_view_envelope(view), is_cleared=False)


def slash_command(
    command: str,
    text: str,
    *,
    channel: str,
    channel_name: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    return {
        "token": "legacy-unused",
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": SANDBOX_USER_ID,
        "user_name": SANDBOX_USER_NAME,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
