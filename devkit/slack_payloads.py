"""Interaction payloads shaped like Slack's (shared/slack-payloads.md), built from what the bot
posted in the Slack emulator."""

from __future__ import annotations

import time
from typing import Any

from devkit.slack_api import SlackEmulator


def _as_clicked(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in ("channel", "streaming")}


def vote_click(
    slack: SlackEmulator, answer: dict[str, Any], user: str, positive: bool = True
) -> dict[str, Any]:
    """A click on the answer's 👍 (or 👎) feedback button."""
    block = next(b for b in answer["blocks"] if b["type"] == "context_actions")
    buttons = block["elements"][0]
    chosen = buttons["positive_button" if positive else "negative_button"]
    return _block_actions(
        slack,
        answer,
        user,
        {
            "type": "feedback_buttons",
            "action_id": buttons["action_id"],
            "block_id": block["block_id"],
            "value": chosen["value"],
            "text": chosen["text"],
            "action_ts": f"{time.time():.6f}",
        },
    )


def rate_click(slack: SlackEmulator, answer: dict[str, Any], user: str) -> dict[str, Any]:
    """A click on the answer's "Rate in detail" button."""
    block = next(b for b in answer["blocks"] if b["type"] == "actions")
    button = block["elements"][0]
    return _block_actions(
        slack,
        answer,
        user,
        {
            "type": "button",
            "action_id": button["action_id"],
            "block_id": block["block_id"],
            "value": button["value"],
            "text": button["text"],
            "action_ts": f"{time.time():.6f}",
        },
    )


def follow_up_click(
    slack: SlackEmulator, follow_up: dict[str, Any], user: str, action_id: str
) -> dict[str, Any]:
    """A click on a button of an ephemeral message the bot posted (`slack.ephemeral`):
    Slack sends no `message` for those, only the container."""
    block = next(b for b in follow_up["blocks"] if b["type"] == "actions")
    button = next(e for e in block["elements"] if e["action_id"] == action_id)
    shown = {"channel": follow_up["channel"], "ts": slack.new_ts()}
    payload = _block_actions(
        slack,
        {**shown, "thread_ts": follow_up.get("thread_ts")},
        user,
        {
            "type": "button",
            "action_id": action_id,
            "block_id": block["block_id"],
            "value": button["value"],
            "text": button["text"],
            "action_ts": f"{time.time():.6f}",
        },
    )
    del payload["message"]
    payload["container"]["is_ephemeral"] = True
    if follow_up.get("thread_ts"):
        payload["container"]["thread_ts"] = follow_up["thread_ts"]
    return payload


def reason_submission(
    view: dict[str, Any], user: str, reason: str | None, comment: str | None = None
) -> dict[str, Any]:
    """Submitting the "Tell us more" modal `view` with this reason and comment."""
    return _submission(view, user, {"reason": ("reason", reason)}, comment, "T0TEAM")


def _block_actions(
    slack: SlackEmulator, message: dict[str, Any], user: str, action: dict[str, Any]
) -> dict[str, Any]:
    channel = message["channel"]
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": slack.team_id},
        "api_app_id": slack.app_id,
        "team": {"id": slack.team_id, "domain": "emulated"},
        "channel": {"id": channel, "name": channel.lower()},
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": slack.new_trigger(),
        "response_url": f"{slack.base_url}/response/{message['ts']}",
        "message": _as_clicked(message),
        "actions": [action],
    }


def view_submission(
    view: dict[str, Any],
    user: str,
    scores: dict[str, str | None],
    comment: str | None = None,
    team_id: str = "T0TEAM",
) -> dict[str, Any]:
    """Submitting the modal `view` (as the bot opened it) with these selections."""
    selects = {block_id: ("score", score) for block_id, score in scores.items()}
    return _submission(view, user, selects, comment, team_id)


def _submission(
    view: dict[str, Any],
    user: str,
    selects: dict[str, tuple[str, str | None]],
    comment: str | None,
    team_id: str,
) -> dict[str, Any]:
    """`selects`: block_id → (action_id, the chosen option's value or None)."""
    values: dict[str, Any] = {}
    for block_id, (action_id, chosen) in selects.items():
        option = None
        if chosen is not None:
            option = {"text": {"type": "plain_text", "text": chosen}, "value": chosen}
        values[block_id] = {action_id: {"type": "static_select", "selected_option": option}}
    values["comment"] = {"comment": {"type": "plain_text_input", "value": comment}}
    return {
        "type": "view_submission",
        "team": {"id": team_id},
        "user": {"id": user, "team_id": team_id},
        "api_app_id": "ABOT",
        "view": {**view, "state": {"values": values}},
    }


def reaction_event(user: str, emoji: str, message: dict[str, Any], added: bool = True) -> dict:
    """`reaction_added` (or `reaction_removed`) by `user` on `message` (with its channel)."""
    return {
        "type": "reaction_added" if added else "reaction_removed",
        "user": user,
        "reaction": emoji,
        "item": {"type": "message", "channel": message["channel"], "ts": message["ts"]},
        "item_user": message.get("user", "UBOT"),
        "event_ts": f"{time.time():.6f}",
    }
