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
    values: dict[str, Any] = {}
    for block_id, score in scores.items():
        option = None
        if score is not None:
            option = {"text": {"type": "plain_text", "text": score}, "value": score}
        values[block_id] = {"score": {"type": "static_select", "selected_option": option}}
    values["comment"] = {"comment": {"type": "plain_text_input", "value": comment}}
    return {
        "type": "view_submission",
        "team": {"id": team_id},
        "user": {"id": user, "team_id": team_id},
        "api_app_id": "ABOT",
        "view": {**view, "state": {"values": values}},
    }
