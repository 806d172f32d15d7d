"""Reject payloads whose shape would crash Bolt before any listener or error handler runs."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

# Fields that Bolt reads as objects (dicts) when present, and as lists.
_OBJECT_FIELDS = ("event", "view", "user", "team", "channel", "message", "container", "enterprise")
_LIST_FIELDS = ("actions", "authorizations")


def malformed_reason(body: bytes, content_type: str) -> str | None:
    """Why the (already authenticated) body is not a Slack payload Bolt can take, or None."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    if content_type.startswith("application/json"):
        return _check_object(_loads(text), "body")
    form = parse_qs(text, keep_blank_values=True)
    if "payload" in form:
        return _check_object(_loads(form["payload"][0]), "payload")
    if "command" in form:
        for field in ("command", "user_id"):
            if not form.get(field, [""])[0]:
                return f"slash command without {field}"
        return None
    return "neither an event, an interaction nor a command"


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return ValueError


def _check_object(payload: Any, what: str) -> str | None:
    if payload is ValueError:
        return f"{what} is not JSON"
    if not isinstance(payload, dict):
        return f"{what} is not a JSON object"
    if not isinstance(payload.get("type"), str):
        return f"{what} has no type"
    for field in _OBJECT_FIELDS:
        if field in payload and payload[field] is not None and not isinstance(payload[field], dict):
            return f"{field} is not an object"
    for field in _LIST_FIELDS:
        value = payload.get(field)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(item, dict) for item in value)
        ):
            return f"{field} is not a list of objects"
    view = payload.get("view")
    if isinstance(view, dict) and "state" in view and not isinstance(view["state"], dict):
        return "view.state is not an object"
    return None
