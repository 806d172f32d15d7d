"""The bot's clients against the in-process emulators (fast layer): Slack's retry rules and the
LLM's time bound, retries included."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from bot.llm.client import LLMError, OpenAICompatibleClient
from bot.slack.client import make_web_client
from devkit.ids import new_id
from devkit.llm_api import LlmEmulator
from devkit.slack_api import SlackEmulator
from tests.support.front import front_settings

QUESTION = [{"role": "user", "content": "hello?"}]


@pytest.fixture
def no_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk adds up to 1 s of random jitter to each retry's wait: none here."""
    monkeypatch.setattr(random, "random", lambda: 0.0)


def without_backoff(client: AsyncWebClient) -> AsyncWebClient:
    """The client's retries as configured, without slack_sdk's backoff between them (how
    often a call is retried is the bot's choice; how long slack_sdk waits is not)."""
    for handler in client.retry_handlers:
        handler.interval_calculator = FixedValueRetryIntervalCalculator(0.0)
    return client


# -- Slack ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_jitter")
async def test_a_rate_limited_call_is_retried_up_to_5_times_after_retry_after(
    slack: SlackEmulator, tmp_path: Path
) -> None:
    client = make_web_client(front_settings(slack, tmp_path))
    channel = new_id("C")
    before = len(slack.calls_to("chat.postMessage"))
    slack.fail("chat.postMessage", status=429, retry_after=0, times=5)
    response = await client.chat_postMessage(channel=channel, text="after five 429s")
    assert response["ok"] and len(slack.calls_to("chat.postMessage")) - before == 6
    assert [m["text"] for m in slack.bot_messages(channel)] == ["after five 429s"]

    slack.fail("chat.postMessage", status=429, retry_after=0, times=6)
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel=channel, text="after six")
    assert refused.value.response.status_code == 429
    assert len(slack.calls_to("chat.postMessage")) - before == 12
    assert len(slack.bot_messages(channel)) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_transient_server_error_is_retried_twice(
    slack: SlackEmulator, tmp_path: Path, status: int
) -> None:
    client = without_backoff(make_web_client(front_settings(slack, tmp_path)))
    before = len(slack.calls_to("chat.postMessage"))
    slack.fail("chat.postMessage", status=status, times=2)
    assert (await client.chat_postMessage(channel=new_id("C"), text="x"))["ok"]
    assert len(slack.calls_to("chat.postMessage")) - before == 3


class DroppingSlack:
    """Drops the connection of the first `drops` calls, then answers as Slack would."""

    def __init__(self, drops: int) -> None:
        self.drops = drops
        self.calls = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.calls += 1
        if self.calls <= self.drops:
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        return web.json_response({"ok": True, "channel": "C1", "ts": "1.1", "message": {}})


@pytest.fixture
async def dropping() -> AsyncIterator[tuple[DroppingSlack, str]]:
    slack = DroppingSlack(drops=2)
    app = web.Application()
    app.router.add_post("/api/{method}", slack.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield slack, str(server.make_url("/api/"))
    await server.close()


async def test_a_dropped_connection_is_retried_twice(
    slack: SlackEmulator, tmp_path: Path, dropping: tuple[DroppingSlack, str]
) -> None:
    server, url = dropping
    settings = front_settings(slack, tmp_path, slack_api_url=url)
    client = without_backoff(make_web_client(settings))
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]
    assert server.calls == 3
    server.calls, server.drops = 0, 3
    with pytest.raises(Exception):  # noqa: B017 - aiohttp's, whichever the drop raised
        await client.chat_postMessage(channel="C1", text="x")
    assert server.calls == 3


# -- the LLM ----------------------------------------------------------------------------------


def _client(llm: LlmEmulator, timeout_s: float) -> OpenAICompatibleClient:
    return OpenAICompatibleClient(llm.base_url, llm.model, llm.api_key, timeout_s=timeout_s)


async def test_a_hanging_llm_is_given_up_on_after_the_timeout_not_per_attempt(
    llm: LlmEmulator,
) -> None:
    llm.mode = "hang"
    client = _client(llm, timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(LLMError) as error:
        await client.complete(QUESTION)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    await client.aclose()
    assert error.value.kind == "timeout" and 0.5 <= elapsed < 1.0
    assert len(llm.requests) == 1


async def test_rate_limits_are_retried_within_the_timeout(llm: LlmEmulator) -> None:
    llm.mode = "rate_limit"
    client = _client(llm, timeout_s=20.0)
    started = time.monotonic()
    with pytest.raises(LLMError) as error:
        await client.complete(QUESTION)  # type: ignore[arg-type]
    assert error.value.kind == "rate_limited" and len(llm.requests) == 3
    assert time.monotonic() - started < 2.0  # backoff 0.25-0.5 s, then 0.5-1 s

    llm.requests.clear()
    short = _client(llm, timeout_s=0.2)  # shorter than the first backoff
    started = time.monotonic()
    with pytest.raises(LLMError) as error:
        await short.complete(QUESTION)  # type: ignore[arg-type]
    assert error.value.kind == "timeout" and time.monotonic() - started < 0.5
    assert len(llm.requests) == 1
    await client.aclose()
    await short.aclose()


async def test_the_llm_recovering_within_the_attempts_answers(llm: LlmEmulator) -> None:
    llm.mode = "error"
    client = _client(llm, timeout_s=20.0)
    with pytest.raises(LLMError) as error:
        await client.complete(QUESTION)  # type: ignore[arg-type]
    assert error.value.kind == "unavailable" and len(llm.requests) == 3
    llm.mode = "ok"
    completion = await client.complete(QUESTION)  # type: ignore[arg-type]
    assert completion.text == "Echo: hello?"
    await client.aclose()
