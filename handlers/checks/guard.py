"""Reject payloads whose shape would crash Bolt before any listener or error handler runs.

Each rule below stands for a read Bolt 1.30 makes without checking (request context extraction,
built-in middleware, listener matchers); fuzzing (tests/test_fuzz.py) found them. Both fronts ask
here before Bolt sees a payload: the HTTP front with the raw body (`malformed_reason`), the
Socket Mode front with an envelope's type and payload (`malformed_envelope_reason`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt.request.internals import extract_enterprise_id, extract_team_id
from slack_bolt.request.payload_utils import is_assistant_event

from handlers.payload_values import slack_id

# Fields that Bolt reads as objects (dicts) when present, and as lists.
_OBJECT_FIELDS = ("event", "view", "user", "team", "channel", "message", "container", "enterprise")
_LIST_FIELDS = ("actions", "authorizations", "response_urls")
# Present but null still crashes Bolt for these (it reads `body.get("event", {}).get(…)`).
_NEVER_NULL = ("event", "view", "response_urls")  # Bolt reads len(response_urls)
# Bolt reads `"id" in value` on these: a string, an object or null is fine, a number is not.
_ID_FIELDS = ("user", "channel", "team", "enterprise")
_NESTED_OBJECTS = ("event", "message", "previous_message", "item", "assistant_thread", "view")


@dataclass(frozen=True)
class CheckedBody:
    """An HTTP body checked: why it is refused (None: it is not), and the payload as Bolt
    reads it, the one checked (read once here: a form of ~1 MiB of `%XX` escapes costs
    Python's `parse_qs` ~0.35 s; twice, with Bolt's own reading, an ack took seconds on a
    loaded host; a JSON event was parsed twice on every request)."""

    reason: str | None
    payload: dict[str, Any] | None = None


def malformed_reason(body: bytes, content_type: str) -> str | None:
    """Why the (already authenticated) HTTP body is not a Slack payload Bolt can take, or None."""
    return check_body(body, content_type).reason


def check_body(body: bytes, content_type: str) -> CheckedBody:
    """The (already authenticated) HTTP body checked (`malformed_reason`), with its payload
    read as Bolt reads it (`slack_bolt.request.internals.parse_body`: a JSON body's object; a
    form's fields, the last value of a repeated one; an interaction's `payload` field as
    JSON)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return CheckedBody("body is not UTF-8")
    if content_type.startswith("application/json"):
        body_object = _loads(text)
        reason = _check_object(body_object, "body")
        return CheckedBody(reason, body_object if reason is None else None)
    form = parse_form(text)
    if "payload" in form:
        payload = _loads(form["payload"])
        return CheckedBody(_check_object(payload, "payload"), payload)
    if form.get("ssl_check") == "1":
        # Slack checking the certificate of a command URL: Bolt answers 200
        return CheckedBody(None, dict(form))
    if "command" in form:
        return CheckedBody(_check_command(form), dict(form))
    return CheckedBody("neither an event, an interaction nor a command")


_ESCAPED_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def _unescaped_run(run: re.Match[str]) -> str:
    return bytes.fromhex(run.group().replace("%", "")).decode("utf-8", "replace")


def _unquote_plus(text: str) -> str:
    """`urllib.parse.unquote_plus` (UTF-8, errors replaced), each run of `%XX` decoded at once
    by `bytes.fromhex` instead of escape by escape in Python."""
    text = text.replace("+", " ")
    return _ESCAPED_RUN.sub(_unescaped_run, text) if "%" in text else text


def parse_form(text: str) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body as `dict(parse_qsl(text,
    keep_blank_values=True))` reads it (the last of repeated fields), faster."""
    form: dict[str, str] = {}
    for pair in text.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        form[_unquote_plus(name)] = _unquote_plus(value)
    return form


def malformed_envelope_reason(envelope_type: str, payload: Any) -> str | None:
    """Why a Socket Mode envelope's payload is not one Bolt can take, or None. Slash commands
    come as the fields of the HTTP form; events and interactions as their JSON object."""
    if envelope_type == "slash_commands":
        if not isinstance(payload, dict) or not all(isinstance(v, str) for v in payload.values()):
            return "slash command fields are not strings"
        return _check_command(payload)
    if envelope_type in ("events_api", "interactive"):
        return _check_object(payload, "payload")
    return f"an envelope of unknown type {envelope_type!r}"


def _check_command(fields: Mapping[str, str]) -> str | None:
    for field in ("command", "user_id"):
        if not fields.get(field, ""):
            return f"slash command without {field}"
    return None


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
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
    for field in _NEVER_NULL:
        if field in payload and payload[field] is None:
            return f"{field} is null"
    for field in _LIST_FIELDS:
        value = payload.get(field)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(item, dict) for item in value)
        ):
            return f"{field} is not a list of objects"
    if "response_url" not in payload and len(payload.get("response_urls") or []) > 1:
        return "more than one response URL"  # Bolt's context builder then reads a missing logger
    view = payload.get("view")
    if isinstance(view, dict) and "state" in view and not isinstance(view["state"], dict):
        return "view.state is not an object"
    return _check_ids(payload) or _check_workspace(payload) or _check_kind(payload)


def _check_ids(scope: dict[str, Any], path: str = "", depth: int = 0) -> str | None:
    """Bolt looks for user, channel, team and enterprise IDs in the payload, its first
    authorization and, recursively, in the objects it may nest (event, message, item, …)."""
    if depth > 8:
        return f"{path or 'payload'} is nested too deeply"
    for field in _ID_FIELDS:
        value = scope.get(field)
        if value is not None and not isinstance(value, str | dict):
            return f"{path}{field} is neither a string nor an object"
    nested = [(name, scope.get(name)) for name in _NESTED_OBJECTS]
    if depth == 0 and scope.get("authorizations"):
        nested.append(("authorizations[0]", scope["authorizations"][0]))
    for name, child in nested:
        if isinstance(child, dict):  # Bolt skips what is not an object
            reason = _check_ids(child, f"{path}{name}.", depth + 1)
            if reason is not None:
                return reason
    return None


def _check_workspace(payload: dict[str, Any]) -> str | None:
    """Bolt builds each request's Web API client with the team ID it finds in the payload, and
    every call of that request sends it: it must be an ID (so must the enterprise ID)."""
    for what, found in (
        ("team ID", extract_team_id(payload)),
        ("enterprise ID", extract_enterprise_id(payload)),
    ):
        if found and slack_id(found) is None:
            return f"the {what} is not an ID"
    return None


def _check_kind(payload: dict[str, Any]) -> str | None:
    kind = payload["type"]
    if kind == "event_callback":
        event = payload.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "an event without a type"
        for name in _NESTED_OBJECTS:
            if event.get(name) is not None and not isinstance(event[name], dict):
                return f"event.{name} is not an object"
        if is_assistant_event(payload) and not _names_its_thread(event):
            return "an assistant event that names no channel and thread"
    if kind in ("block_actions", "interactive_message") and (
        "actions" in payload or "callback_id" in payload
    ):
        actions = payload.get("actions")
        if not actions:
            return "no actions"  # Bolt reads actions[0]
        if kind == "block_actions" and not all(
            isinstance(a.get("action_id"), str) for a in actions
        ):
            return "an action without an action ID"
    view = payload.get("view")
    if kind in ("view_submission", "view_closed") and isinstance(view, dict):
        if "callback_id" in view and not isinstance(view.get("type"), str):
            return "a view without a type"  # Bolt reads view.type
        if view.get("type") == "workflow_step" and "workflow_step" not in payload:
            return "a workflow step view without its step"
    if kind == "workflow_step_edit" and "workflow_step" not in payload:
        return "a workflow step edit without its step"
    return None


def _names_its_thread(event: dict[str, Any]) -> bool:
    """What Bolt's assistant utilities need, or they raise."""
    thread = event.get("assistant_thread")
    if isinstance(thread, dict) and thread.get("channel_id") and thread.get("thread_ts"):
        return True
    return event.get("channel") is not None and event.get("thread_ts") is not None
