"""The 👎 follow-up as the Slack emulator keeps it (shared by tests/test_reasons.py and
tests/test_corrections.py)."""

from __future__ import annotations

import json
from typing import Any

from devkit.slack_api import SlackEmulator


def follow_ups(slack: SlackEmulator, user: str) -> list[dict[str, Any]]:
    return [
        e
        for e in slack.ephemeral
        if e["user"] == user and "feedback_reason" in json.dumps(e.get("blocks") or [])
    ]


async def follow_up_for(slack: SlackEmulator, user: str) -> dict[str, Any]:
    found = await slack.wait_for(lambda: follow_ups(slack, user))
    return dict(found[-1])


def blocks_of(follow_up: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = follow_up["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def as_posted(follow_up: dict[str, Any]) -> dict[str, Any]:
    return {**follow_up, "blocks": blocks_of(follow_up)}
