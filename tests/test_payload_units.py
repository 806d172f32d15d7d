"""Reading Slack payloads (fast layer): single values, the payload guard, and the listeners'
parsers, each on the shapes Slack sends and on the odd ones it may."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.feedback.reactions import Reaction, vote_of_reaction
from devkit.slack_payloads import dm
from handlers.checks.guard import malformed_reason
from handlers.listeners.messages import parse_message
from handlers.listeners.reactions import parse_reaction
from handlers.listeners.report import parse_invocation
from handlers.payload_values import slack_id, slack_text, slack_ts

# -- single values ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["U0123ABCD", "C1", "T0TEAM", "a_b-c", "X" * 64])
def test_slack_ids_are_kept(value: str) -> None:
    assert slack_id(value) == value


@pytest.mark.parametrize(
    "value", ["", "U", "X" * 65, "U 1", "U1\n", "<@U1>", "U1'--", "Ü1", None, 12, ["U1"]]
)
def test_what_is_not_an_id_is_none(value: object) -> None:
    assert slack_id(value) is None


@pytest.mark.parametrize("value", ["1712345678.123456", "0.1", "123456789012.123456789"])
def test_message_timestamps_are_kept(value: str) -> None:
    assert slack_ts(value) == value


@pytest.mark.parametrize(
    "value",
    ["", "1712345678", ".1", "1.", "1234567890123.1", "1.1234567890", "1.2.3", " 1.2", 1.5, None],
)
def test_what_is_not_a_timestamp_is_none(value: object) -> None:
    assert slack_ts(value) is None


def test_text_is_kept_as_valid_unicode_and_anything_else_is_none() -> None:
    assert slack_text("héllo 👍") == "héllo 👍"
    assert slack_text("") == ""
    assert slack_text("a\ud800b") not in (None, "a\ud800b")  # a lone surrogate never passes
    assert slack_text(None) is None and slack_text(3) is None and slack_text(b"x") is None


@given(st.text())
def test_any_text_comes_back_encodable(text: str) -> None:
    value = slack_text(text)
    assert value is not None
    value.encode("utf-8")


# -- the guard -------------------------------------------------------------------------------


def _json(payload: Any) -> tuple[bytes, str]:
    return json.dumps(payload).encode(), "application/json"


def _interaction(payload: Any) -> tuple[bytes, str]:
    return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"


def _form(fields: dict[str, str]) -> tuple[bytes, str]:
    return urlencode(fields).encode(), "application/x-www-form-urlencoded"


def _nested(depth: int) -> dict[str, Any]:
    inner: dict[str, Any] = {"user": "U1"}
    for _ in range(depth):
        inner = {"message": inner}
    return inner


CALLBACK = {"type": "event_callback", "team_id": "T0TEAM"}

MALFORMED: list[tuple[tuple[bytes, str], str]] = [
    ((b"\xff{}", "application/json"), "body is not UTF-8"),
    ((b"{", "application/json"), "body is not JSON"),
    (_json([1]), "body is not a JSON object"),
    (_json({"event": {}}), "body has no type"),
    (_json({**CALLBACK, "event": "x"}), "event is not an object"),
    (_json({**CALLBACK, "event": None}), "event is null"),
    (_json({"type": "view_submission", "view": None}), "view is null"),
    (_json({"type": "view_submission", "response_urls": None}), "response_urls is null"),
    (_json({"type": "block_actions", "actions": [1]}), "actions is not a list of objects"),
    (_json({"type": "x", "authorizations": {}}), "authorizations is not a list of objects"),
    (_json({"type": "view_submission", "view": {"state": []}}), "view.state is not an object"),
    (_json({"type": "x", "user": 5}), "user is not an object"),
    (
        _json({**CALLBACK, "event": {"type": "m", "user": 5}}),
        "event.user is neither a string nor an object",
    ),
    (
        _json({**CALLBACK, "event": {"type": "m", "item": {"channel": 1}}}),
        "event.item.channel is neither a string nor an object",
    ),
    (_json({"type": "x", "authorizations": [{"team": 1}]}), "authorizations[0].team is"),
    (_json({"type": "x", **_nested(9)}), 9 * "message." + " is nested too deeply"),
    (_json({"type": "x", "team_id": "T0 TEAM"}), "the team ID is not an ID"),
    (_json({"type": "x", "enterprise_id": "E'1"}), "the enterprise ID is not an ID"),
    (_json({**CALLBACK, "event": {"text": "x"}}), "an event without a type"),
    (_json({**CALLBACK, "event": {"type": "m", "message": "x"}}), "event.message is not an object"),
    (
        _json({**CALLBACK, "event": {"type": "assistant_thread_started"}}),
        "an assistant event that names no channel and thread",
    ),
    (_interaction({"type": "block_actions", "actions": []}), "no actions"),
    (_interaction({"type": "block_actions", "actions": [{}]}), "an action without an action ID"),
    (_interaction({"type": "interactive_message", "callback_id": "c"}), "no actions"),
    (_interaction({"type": "view_submission", "view": {"callback_id": "c"}}), "a view without"),
    (
        _interaction({"type": "view_closed", "view": {"type": "workflow_step"}}),
        "a workflow step view without its step",
    ),
    (_interaction({"type": "workflow_step_edit"}), "a workflow step edit without its step"),
    (_form({"payload": "{"}), "payload is not JSON"),
    (_form({"command": "/feedback-report", "user_id": ""}), "slash command without user_id"),
    (_form({"command": "", "user_id": "U1"}), "slash command without command"),
    (_form({"text": "hello"}), "neither an event, an interaction nor a command"),
]


@pytest.mark.parametrize(("request_", "reason"), MALFORMED, ids=[r for _, r in MALFORMED])
def test_payloads_bolt_would_crash_on_are_refused_saying_why(
    request_: tuple[bytes, str], reason: str
) -> None:
    found = malformed_reason(*request_)
    assert found is not None and found.startswith(reason), found


WELL_FORMED = [
    _json({**CALLBACK, "event": dm("U1", "D1", "hi"), "authorizations": [{"user_id": "UBOT"}]}),
    _json({**CALLBACK, "event": {"type": "reaction_added", "item": {"type": "message"}}}),
    _json({**CALLBACK, "event": {"type": "message", "channel": "C1", "thread_ts": "1.2"}}),
    _json({"type": "url_verification", "challenge": "c"}),
    _interaction({"type": "block_actions", "actions": [{"action_id": "a"}], "user": {"id": "U"}}),
    _interaction({"type": "block_actions", "user": None, "channel": {"id": "C1"}}),
    _interaction({"type": "view_submission", "view": {"type": "modal", "state": {}}}),
    _interaction({"type": "view_closed", "view": {"type": "modal", "callback_id": "c"}}),
    _interaction({"type": "x", **_nested(8)}),
    _form({"command": "/feedback-report", "user_id": "U1", "text": ""}),
]


@pytest.mark.parametrize("request_", WELL_FORMED)
def test_payloads_of_slacks_shapes_pass(request_: tuple[bytes, str]) -> None:
    assert malformed_reason(*request_) is None


# -- the listeners' parsers --------------------------------------------------------------------


def test_a_dm_is_parsed_into_the_message_to_answer() -> None:
    message = parse_message(dm("U1", "D1", "hi"), {"team_id": "T1"}, "UBOT", mention=False)
    assert message is not None
    assert (message.user_id, message.channel_id, message.text, message.team_id) == (
        "U1",
        "D1",
        "hi",
        "T1",
    )
    assert message.channel_type == "im" and message.thread_ts is None
    assert not message.is_mention_event and message.bot_user_id == "UBOT"


def test_the_channel_type_is_left_unknown_when_slack_leaves_it_out() -> None:
    """app_mention carries no channel_type: a C… channel may be private, so no guess (its
    kind is asked of Slack: bot/answering/conversation_kind.py); a D… channel is always a DM."""
    event = {k: v for k, v in dm("U1", "C1", "hi").items() if k != "channel_type"}
    assert parse_message(event, {}, "UBOT", mention=True).channel_type == ""  # type: ignore[union-attr]
    event["channel"] = "D1"
    assert parse_message(event, {}, "UBOT", mention=True).channel_type == "im"  # type: ignore[union-attr]


def test_the_events_team_wins_over_the_envelopes() -> None:
    event = dm("U1", "C1", "hi", team="T2")
    assert parse_message(event, {"team_id": "T1"}, None, mention=False).team_id == "T2"  # type: ignore[union-attr]


@pytest.mark.parametrize("subtype", ["thread_broadcast", "file_share"])
def test_subtypes_that_carry_new_words_are_answered(subtype: str) -> None:
    assert parse_message(dm("U1", "D1", "hi", subtype=subtype), {}, "UBOT", mention=False)


@pytest.mark.parametrize(
    "changes",
    [
        {"subtype": "message_changed"},
        {"subtype": "bot_message"},
        {"subtype": 3},
        {"bot_id": "B1"},
        {"user": "UBOT"},
        {"user": None},
        {"channel": "bad channel"},
        {"ts": "yesterday"},
        {"text": 5},
        {"text": " \n "},
        {"thread_ts": "x"},
    ],
)
def test_what_the_bot_must_not_answer_parses_to_none(changes: dict[str, object]) -> None:
    event: dict[str, object] = {**dm("U1", "D1", "hi"), **changes}
    assert parse_message(event, {}, "UBOT", mention=False) is None


def test_an_empty_thread_ts_is_no_thread() -> None:
    message = parse_message(dm("U1", "D1", "hi", thread_ts=""), {}, "UBOT", mention=False)
    assert message is not None and message.thread_ts is None


def test_reactions_are_parsed_into_plain_values() -> None:
    event = {
        "type": "reaction_removed",
        "user": "U1",
        "reaction": "+1",
        "item": {"type": "message", "channel": "C1", "ts": "1.2"},
    }
    assert parse_reaction(event) == Reaction("U1", "+1", "C1", "1.2", added=False)
    assert parse_reaction({**event, "type": "reaction_added"}).added  # type: ignore[union-attr]
    for odd in (
        {"item": {"type": "file", "channel": "C1", "ts": "1.2"}},
        {"item": "C1"},
        {"user": 1},
        {"reaction": ""},
        {"item": {"type": "message", "channel": "C1", "ts": "now"}},
    ):
        assert parse_reaction({**event, **odd}) is None, odd


@pytest.mark.parametrize(
    ("emoji", "vote"),
    [
        ("+1", True),
        ("thumbsup", True),
        ("+1::skin-tone-2", True),
        ("-1", False),
        ("thumbsdown::skin-tone-6", False),
        ("tada", None),
        ("-1x", None),
        ("skin-tone-2", None),
    ],
)
def test_only_thumbs_reactions_are_votes(emoji: str, vote: bool | None) -> None:
    assert vote_of_reaction(emoji) is vote


def test_a_slash_command_is_parsed_and_an_odd_user_is_nobody() -> None:
    invocation = parse_invocation({"user_id": "U1", "text": "7d", "response_url": "https://x"})
    assert (invocation.user_id, invocation.text, invocation.response_url) == (
        "U1",
        "7d",
        "https://x",
    )
    odd = parse_invocation({"user_id": "U1' OR 1", "text": None})
    assert (odd.user_id, odd.text, odd.response_url) == ("", "", "")
