"""What Slack sends an app, shaped as Slack shapes it: event envelopes and message events,
`block_actions`, `view_submission` / `view_closed`, slash commands. The one builder of these:
the sandbox, the tests and the benchmarks all use it.

`Workspace` says which team and app a payload comes from and is for; `Workspace.of(slack)`
takes it from a Slack emulator. The helpers at the end (`vote_click`, `rate_click`,
`follow_up_click`, `rating_submission`, `reason_submission`) build the tests' usual payloads
from what the bot posted in the emulator.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devkit.slack_api import SlackEmulator

REQUIRED = "Please complete this required field."
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class Workspace:
    """The team a payload comes from and the app (and its bot) it is for."""

    team_id: str = "T0TEAM"
    team_domain: str = "emulated"
    app_id: str = "ABOT"
    bot_id: str = "BBOT"
    bot_user_id: str = "UBOT"

    @classmethod
    def of(cls, slack: SlackEmulator) -> Workspace:
        return cls(slack.team_id, slack.team_domain, slack.app_id, slack.bot_id, slack.bot_user_id)


def _now() -> str:
    return f"{time.time():.6f}"


def person(workspace: Workspace, user_id: str, name: str | None = None) -> dict[str, str]:
    """The `user` of an interaction."""
    name = name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": workspace.team_id}


# -- events ------------------------------------------------------------------------------------


def event_envelope(
    workspace: Workspace, event: dict[str, Any], event_id: str | None = None
) -> dict[str, Any]:
    """The `event_callback` around an event."""
    return {
        "token": "legacy-unused",
        "team_id": workspace.team_id,
        "api_app_id": workspace.app_id,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:12].upper()}",
        "event_time": int(time.time()),
        "event": event,
        "authorizations": [
            {"team_id": workspace.team_id, "user_id": workspace.bot_user_id, "is_bot": True}
        ],
    }


def dm(user: str, channel: str, text: str, **extra: str) -> dict:
    """A bare `message` event in a DM with the bot (`extra`: e.g. `thread_ts`)."""
    now = _now()
    return {
        "type": "message",
        "channel_type": "im",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": now,
        "event_ts": now,
        **extra,
    }


def mention(user: str, channel: str, text: str, **extra: str) -> dict:
    """A bare `app_mention` event of the emulator's default bot (`<@UBOT>`)."""
    return {
        "type": "app_mention",
        "channel": channel,
        "user": user,
        "text": f"<@UBOT> {text}",
        "ts": _now(),
        "team": "T0TEAM",
        **extra,
    }


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
    workspace: Workspace,
    message: dict[str, Any],
    channel: str,
    channel_type: str,
    parent_user: str | None = None,
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
        "team": workspace.team_id,
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


def reaction_event(user: str, emoji: str, message: dict[str, Any], added: bool = True) -> dict:
    """`reaction_added` (or `reaction_removed`) by `user` on `message` (with its channel; its
    `user`, when known, is the event's `item_user`)."""
    event: dict[str, Any] = {
        "type": "reaction_added" if added else "reaction_removed",
        "user": user,
        "reaction": emoji,
        "item": {"type": "message", "channel": message["channel"], "ts": message["ts"]},
        "event_ts": _now(),
    }
    if message.get("user"):
        event["item_user"] = message["user"]
    return event


# -- interactions ------------------------------------------------------------------------------


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
    """One entry of `actions` for a click on (or choice in) `element` ("positive" or
    "negative" `choice` on feedback buttons)."""
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
    elif kind == "channels_select":
        result["selected_channel"] = selected
    elif kind in ("checkboxes", "multi_static_select"):
        values = selected if isinstance(selected, list) else []
        result["selected_options"] = [o for o in _options(element) if o.get("value") in values]
    else:  # buttons of every kind
        for key in ("text", "value", "style"):
            if key in element:
                result[key] = element[key]
    return result


def message_container(
    channel: str, message: dict[str, Any], *, ephemeral: bool = False
) -> dict[str, Any]:
    """The `container` of a click on a message."""
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel,
        "is_ephemeral": ephemeral,
    }
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    return container


def as_clicked(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message as a `block_actions` payload carries it."""
    return {k: v for k, v in message.items() if k not in ("channel", "streaming")}


def block_actions(
    workspace: Workspace,
    act: dict[str, Any],
    *,
    user: dict[str, str],
    channel: str,
    channel_name: str,
    container: dict[str, Any],
    trigger_id: str,
    response_url: str,
    message: dict[str, Any] | None,
) -> dict[str, Any]:
    """A `block_actions` interaction; `message` is the clicked message (None if ephemeral)."""
    payload = _interaction(
        workspace,
        "block_actions",
        user,
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


def home_opened(user: str, channel: str, view: dict[str, Any] | None = None) -> dict[str, Any]:
    """`app_home_opened`: `user` opened the bot's Home tab (with the view last published)."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": "home",
        "event_ts": _now(),
    }
    if view is not None:
        event["view"] = view
    return event


def home_click(
    workspace: Workspace,
    act: dict[str, Any],
    *,
    user: dict[str, str],
    view: dict[str, Any],
    trigger_id: str,
) -> dict[str, Any]:
    """A `block_actions` in the Home tab: a `view` container and the view, no message and no
    response_url."""
    return _interaction(
        workspace,
        "block_actions",
        user,
        container={"type": "view", "view_id": view["id"]},
        trigger_id=trigger_id,
        view=view,
        actions=[act],
    )


def _interaction(
    workspace: Workspace, kind: str, user: dict[str, str], **fields: Any
) -> dict[str, Any]:
    """What every interaction payload carries: who, where, which app."""
    return {
        "type": kind,
        "team": {"id": workspace.team_id, "domain": workspace.team_domain},
        "user": user,
        "api_app_id": workspace.app_id,
        "token": "legacy-unused",
        "is_enterprise_install": False,
        "enterprise": None,
        **fields,
    }


def view_state(
    view: dict[str, Any], submitted: Mapping[str, Any]
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


def _view_envelope(workspace: Workspace, view: dict[str, Any]) -> dict[str, Any]:
    """A view as Slack sends it back to the app: what the app opened plus Slack's fields."""
    return {
        "team_id": workspace.team_id,
        "app_id": workspace.app_id,
        "bot_id": workspace.bot_id,
        "app_installed_team_id": workspace.team_id,
        "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        "root_view_id": view.get("id"),
        "previous_view_id": None,
        "private_metadata": "",
        "callback_id": "",
        "external_id": "",
        "clear_on_close": False,
        "notify_on_close": False,
        **view,
    }


def view_submission(
    workspace: Workspace,
    view: dict[str, Any],
    user: dict[str, str],
    values: dict[str, Any],
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """Submitting `view` with `values` as its `state.values`."""
    submitted = _view_envelope(workspace, {**view, "state": {"values": values}})
    fields: dict[str, Any] = {"view": submitted, "response_urls": []}
    if trigger_id is not None:
        fields["trigger_id"] = trigger_id
    return _interaction(workspace, "view_submission", user, **fields)


def view_closed(workspace: Workspace, view: dict[str, Any], user: dict[str, str]) -> dict:
    return _interaction(
        workspace, "view_closed", user, view=_view_envelope(workspace, view), is_cleared=False
    )


# -- slash commands ----------------------------------------------------------------------------


def escaped_command_text(text: str, channels: Mapping[str, str], users: Mapping[str, str]) -> str:
    """`text` as Slack sends it for a command with "Escape channels, users, and links" on:
    `&`, `<`, `>` escaped, `#name` of a known channel as `<#C…|name>`, `@name` of a known
    user as `<@U…|name>` (`channels`, `users`: name → ID), and links as `<https://…>`."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def channel(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"<#{channels[name]}|{name}>" if name in channels else match.group(0)

    def user(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"<@{users[name]}|{name}>" if name in users else match.group(0)

    text = re.sub(r"(?<![\w<])#([a-z0-9][a-z0-9._-]*)", channel, text)
    text = re.sub(r"(?<![\w<])@([\w.-]+)", user, text)
    return re.sub(r"(?<![<|])\bhttps?://[^\s<>|]+", lambda m: f"<{m.group(0)}>", text)


def slash_command(
    workspace: Workspace,
    user: dict[str, str],
    command: str,
    text: str,
    *,
    channel: str,
    channel_name: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    """The form fields of a slash command (`text` as Slack sends it: see
    `escaped_command_text`)."""
    return {
        "token": "legacy-unused",
        "team_id": workspace.team_id,
        "team_domain": workspace.team_domain,
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": user["id"],
        "user_name": user["name"],
        "command": command,
        "text": text,
        "api_app_id": workspace.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


# -- the tests' usual payloads, from what the bot posted in the emulator ----------------------


def vote_click(
    slack: SlackEmulator, answer: dict[str, Any], user: str, positive: bool = True
) -> dict[str, Any]:
    """A click on the answer's 👍 (or 👎) feedback button."""
    block = next(b for b in answer["blocks"] if b["type"] == "context_actions")
    choice = "positive" if positive else "negative"
    act = action(block, block["elements"][0], block_id=block["block_id"], choice=choice)
    return _click_on(slack, answer, user, act)


def rate_click(slack: SlackEmulator, answer: dict[str, Any], user: str) -> dict[str, Any]:
    """A click on the answer's "Rate in detail" button."""
    block = next(b for b in answer["blocks"] if b["type"] == "actions")
    return _click_on(
        slack, answer, user, action(block, block["elements"][0], block_id=block["block_id"])
    )


def _click_on(
    slack: SlackEmulator, message: dict[str, Any], user: str, act: dict[str, Any]
) -> dict[str, Any]:
    workspace, channel = Workspace.of(slack), message["channel"]
    return block_actions(
        workspace,
        act,
        user=person(workspace, user),
        channel=channel,
        channel_name=channel.lower(),
        container=message_container(channel, message),
        trigger_id=slack.new_trigger(),
        response_url=f"{slack.base_url}/response/{message['ts']}",
        message=as_clicked(message),
    )


def follow_up_click(
    slack: SlackEmulator, follow_up: dict[str, Any], user: str, action_id: str
) -> dict[str, Any]:
    """A click on a button of an ephemeral message the bot posted (`slack.ephemeral`):
    Slack sends no `message` for those, only the container."""
    block = next(b for b in follow_up["blocks"] if b["type"] == "actions")
    button = next(e for e in block["elements"] if e["action_id"] == action_id)
    workspace, channel = Workspace.of(slack), follow_up["channel"]
    shown = {"ts": slack.new_ts(), "thread_ts": follow_up.get("thread_ts")}
    return block_actions(
        workspace,
        action(block, button, block_id=block["block_id"]),
        user=person(workspace, user),
        channel=channel,
        channel_name=channel.lower(),
        container=message_container(channel, shown, ephemeral=True),
        trigger_id=slack.new_trigger(),
        response_url=f"{slack.base_url}/response/{shown['ts']}",
        message=None,
    )


def rating_submission(
    view: dict[str, Any],
    user: str,
    scores: dict[str, str | None],
    comment: str | None = None,
    workspace: Workspace = Workspace(),
    correction: str | None = None,
) -> dict[str, Any]:
    """Submitting the rating modal `view` (as the bot opened it) with these scores by block ID,
    any text at all (a forged submission can carry what no option offers), and the text in
    "What should the answer have said?" (None: left empty)."""
    selects = {block_id: ("score", score) for block_id, score in scores.items()}
    return _forged_submission(workspace, view, user, selects, comment, correction)


def reason_submission(
    view: dict[str, Any],
    user: str,
    reason: str | None,
    comment: str | None = None,
    correction: str | None = None,
) -> dict[str, Any]:
    """Submitting the "Tell us more" modal `view` with this reason, comment and correction."""
    selects = {"reason": ("reason", reason)}
    return _forged_submission(Workspace(), view, user, selects, comment, correction)


def _forged_submission(
    workspace: Workspace,
    view: dict[str, Any],
    user: str,
    selects: dict[str, tuple[str, str | None]],
    comment: str | None,
    correction: str | None = None,
) -> dict[str, Any]:
    """`selects`: block_id → (action_id, the chosen option's value or None)."""
    values: dict[str, Any] = {}
    for block_id, (action_id, chosen) in selects.items():
        option = None
        if chosen is not None:
            option = {"text": {"type": "plain_text", "text": chosen}, "value": chosen}
        values[block_id] = {action_id: {"type": "static_select", "selected_option": option}}
    values["comment"] = {"comment": {"type": "plain_text_input", "value": comment}}
    if any(block.get("block_id") == "correction" for block in view.get("blocks") or []):
        values["correction"] = {"correction": {"type": "plain_text_input", "value": correction}}
    return view_submission(workspace, view, person(workspace, user), values)
