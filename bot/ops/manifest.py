"""The Slack app manifest: exactly what the bot uses, nothing more.

`manifest.json` (Socket Mode) is this module's output; `python -m bot manifest
--request-url https://…/slack/events` prints the HTTP variant.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urlsplit

from bot.report.args import COMMAND
from config.settings import DEFAULT_ASSISTANT_PROMPTS

APP_NAME = "GenAI Bot"

# Each bot scope, and why the bot needs it.
BOT_SCOPES: dict[str, str] = {
    "app_mentions:read": "the app_mention event: @mentions in channels",
    "channels:history": "message.channels and conversations.replies in public channels "
    "(thread follow-ups and their history)",
    "groups:history": "the same in private channels",
    "im:history": "message.im (DMs with the bot) and conversations.replies there",
    "mpim:history": "the same in group DMs",
    "chat:write": "chat.postMessage/postEphemeral/update, the chat.*Stream methods, and "
    "assistant.threads.setStatus (the 'is thinking…' status; chat:write suffices since "
    "2026-03, assistant:write is being retired for it)",
    "commands": f"the {COMMAND} slash command",
    "users:read": f"users.info: the {COMMAND} admin check",
    "channels:read": f"conversations.list: {COMMAND} #channel-name in public channels; "
    "conversations.info: whether an @mention's channel is public (slack.conversation_kind)",
    "groups:read": "the same for private channels the bot is in",
    "mpim:read": "conversations.info for an @mention in a group DM (slack.conversation_kind)",
    "reactions:read": "reaction_added / reaction_removed: 👍/👎 reactions on answers are votes",
    "assistant:write": "the assistant panel: assistant_thread_* events, "
    "assistant.threads.setSuggestedPrompts and setTitle",
}

# Message events are needed for DMs and for follow-ups in threads the bot answered
# (without a new @mention); the bot ignores every other message.
BOT_EVENTS = (
    "app_mention",
    "message.channels",
    "message.groups",
    "message.im",
    "message.mpim",
    "reaction_added",
    "reaction_removed",
    "assistant_thread_started",
    "assistant_thread_context_changed",
    "app_home_opened",  # the Home tab: the admins' report, or how to use the bot
)

_SOCKET_MODE_MANIFEST: dict[str, Any] = {
    "_metadata": {"major_version": 1, "minor_version": 1},
    "display_information": {
        "name": APP_NAME,
        "description": "Answers questions with an LLM; rate its answers with 👍/👎.",
        "background_color": "#1d3557",
    },
    "features": {
        "app_home": {
            "home_tab_enabled": True,
            "messages_tab_enabled": True,
            "messages_tab_read_only_enabled": False,
        },
        "bot_user": {"display_name": APP_NAME, "always_online": True},
        # Slack's AI assistant panel; a thread's own prompts come from ASSISTANT_PROMPTS.
        "assistant_view": {
            "assistant_description": "Ask questions; the bot answers with an LLM and sees "
            "which channel you are viewing. Rate its answers with 👍/👎.",
            "suggested_prompts": [
                {"title": p.title, "message": p.message} for p in DEFAULT_ASSISTANT_PROMPTS
            ],
        },
        "slash_commands": [
            {
                "command": COMMAND,
                "description": "How the bot is doing: votes and ratings (admins only)",
                "should_escape": True,  # a channel arrives as <#C…|name>
            }
        ],
    },
    "oauth_config": {"scopes": {"bot": sorted(BOT_SCOPES)}},
    "settings": {
        "event_subscriptions": {"bot_events": list(BOT_EVENTS)},
        "interactivity": {"is_enabled": True},
        "org_deploy_enabled": False,
        "socket_mode_enabled": True,
        "token_rotation_enabled": False,
    },
}


class ManifestError(ValueError):
    """The request URL cannot be used by Slack."""


def build_manifest(request_url: str | None = None) -> dict[str, Any]:
    """The Socket Mode manifest, or with `request_url` the HTTP (Events API) one."""
    manifest = copy.deepcopy(_SOCKET_MODE_MANIFEST)
    if request_url is None:
        return manifest
    url = events_url(request_url)
    settings = manifest["settings"]
    settings["socket_mode_enabled"] = False
    settings["event_subscriptions"]["request_url"] = url
    settings["interactivity"]["request_url"] = url
    for command in manifest["features"]["slash_commands"]:
        command["url"] = url
    return manifest


def events_url(request_url: str) -> str:
    """The bot's public `/slack/events` URL (the path is added to a bare host)."""
    parts = urlsplit(request_url.strip())
    if parts.scheme != "https" or not parts.netloc:
        raise ManifestError(f"{request_url!r} is not an https:// URL (Slack requires https)")
    if parts.path in ("", "/"):
        return f"https://{parts.netloc}/slack/events"
    return request_url.strip()


def manifest_json(request_url: str | None = None) -> str:
    return json.dumps(build_manifest(request_url), indent=2, ensure_ascii=False) + "\n"
