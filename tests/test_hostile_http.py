"""Requests anyone on the internet can send to the public URL, signed or not: refused with a
4xx, never a 5xx, and without a traceback in the bot's log."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import aiohttp
import pytest

from devkit.bot_process import BotProcess
from devkit.slack_requests import SlackSender
from tests.support.suite import SIGNING_SECRET

BODY = json.dumps({"type": "event_callback", "event": {"type": "message"}}).encode()


def problems_in(log: str) -> list[str]:
    return [line for line in log.splitlines() if " ERROR " in line or "Traceback" in line]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": ""},
        {"X-Slack-Request-Timestamp": "not-a-number", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "1e9", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "-1", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": str(int(time.time()))},
    ],
    ids=["none", "empty", "text", "float", "huge", "negative", "no-signature"],
)
async def test_unsigned_requests_are_refused_with_401(
    headers: dict[str, str], bot: BotProcess, sender: SlackSender
) -> None:
    offset = len(bot.log())
    async with (
        aiohttp.ClientSession() as http,
        http.post(sender.url, data=BODY, headers=headers) as response,
    ):
        assert response.status == 401
    assert problems_in(bot.log()[offset:]) == []


async def test_signed_but_unreadable_bodies_are_refused_with_400(
    bot: BotProcess, sender: SlackSender
) -> None:
    offset = len(bot.log())
    bodies = {
        "nested 100,000 deep": ("[" * 100_000 + "]" * 100_000).encode(),
        "a number too long": b'{"type": "event_callback", "n": ' + b"1" * 5000 + b"}",
        "not JSON": b"{type: event_callback}",
    }
    for name, body in bodies.items():
        status, _ = await sender.post(body, "application/json")
        assert status == 400, name
    status, _ = await sender.post(b"hello=world", "application/x-www-form-urlencoded")
    assert status == 400
    assert problems_in(bot.log()[offset:]) == []


async def test_a_body_that_is_not_utf8_is_refused_even_when_signed(
    bot: BotProcess, sender: SlackSender
) -> None:
    """Slack sends UTF-8 only, and slack_sdk's verifier cannot read anything else."""
    offset = len(bot.log())
    body, timestamp = b'{"type": "event_callback", "x": "\xff"}', str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256)
    status, _ = await sender.post(
        body, "application/json", timestamp=int(timestamp), signature="v0=" + digest.hexdigest()
    )
    assert status == 401
    assert problems_in(bot.log()[offset:]) == []


async def test_other_methods_and_paths_are_4xx(sender: SlackSender) -> None:
    base = sender.url.removesuffix("/slack/events")
    async with aiohttp.ClientSession() as http:
        async with http.get(sender.url) as response:
            assert response.status == 405
        async with http.post(base + "/healthz") as response:
            assert response.status == 405
        async with http.get(base + "/admin") as response:
            assert response.status == 404
