"""The Slack app manifest: exactly the scopes and events the bot uses, in both variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.ops.manifest import BOT_EVENTS, BOT_SCOPES, build_manifest
from config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_manifest_json_is_the_socket_mode_manifest_the_code_builds() -> None:
    committed = json.loads((ROOT / "manifest.json").read_text())
    assert committed == build_manifest(), "regenerate: python -m bot manifest > manifest.json"
    settings = committed["settings"]
    assert settings["socket_mode_enabled"] is True
    assert "request_url" not in settings["event_subscriptions"]
    assert settings["interactivity"] == {"is_enabled": True}
    assert "url" not in committed["features"]["slash_commands"][0]
    # "Escape channels, users, and links": a channel arrives as <#C…|name>, no look-up needed.
    assert committed["features"]["slash_commands"][0]["should_escape"] is True


def test_the_manifest_asks_for_what_the_bot_uses_and_nothing_more() -> None:
    manifest = build_manifest()
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read",
        "channels:history",
        "groups:history",
        "im:history",
        "mpim:history",
        "chat:write",
        "commands",
        "users:read",
        "reactions:read",
        "channels:read",
        "groups:read",
        "mpim:read",
        "assistant:write",
    }
    assert set(BOT_SCOPES) == set(manifest["oauth_config"]["scopes"]["bot"])
    assert (
        manifest["settings"]["event_subscriptions"]["bot_events"]
        == list(BOT_EVENTS)
        == [
            "app_mention",
            "message.channels",
            "message.groups",
            "message.im",
            "message.mpim",
            "reaction_added",
            "reaction_removed",
            "assistant_thread_started",
            "assistant_thread_context_changed",
            "app_home_opened",
        ]
    )
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/feedback-report"]
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_read_only_enabled"] is False


def test_the_manifest_enables_the_assistant_panel_with_the_default_prompts() -> None:
    view = build_manifest()["features"]["assistant_view"]
    assert view["assistant_description"]
    prompts = view["suggested_prompts"]
    assert 1 <= len(prompts) <= 4
    assert prompts == [
        {"title": p.title, "message": p.message}
        for p in Settings.model_fields["assistant_prompts"].default
    ]
    assert all(p["title"] and p["message"] for p in prompts)


def test_manifest_request_url_prints_the_http_variant(capsys: pytest.CaptureFixture) -> None:
    assert main(["manifest", "--request-url", "https://bot.example.com"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    url = "https://bot.example.com/slack/events"
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["event_subscriptions"]["request_url"] == url
    assert settings["interactivity"]["request_url"] == url
    assert manifest["features"]["slash_commands"][0]["url"] == url
    assert settings["event_subscriptions"]["bot_events"] == list(BOT_EVENTS)

    assert main(["manifest", "--request-url", "https://bot.example.com/custom/path"]) == 0
    assert "https://bot.example.com/custom/path" in capsys.readouterr().out


def test_manifest_refuses_a_url_slack_cannot_call(capsys: pytest.CaptureFixture) -> None:
    assert main(["manifest", "--request-url", "http://bot.example.com/slack/events"]) == 2
    assert "https" in capsys.readouterr().err
