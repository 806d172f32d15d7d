"""The LLM client honours `Retry-After` on a 429, within its overall `timeout_s` budget
(retries included), against the LLM emulator over real HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.llm.client import ChatMessage, LLMError, OpenAICompatibleClient, retry_after_s
from devkit.llm_api import LlmEmulator

QUESTION: list[ChatMessage] = [{"role": "user", "content": "Are you there?"}]


@pytest.fixture
async def clients() -> AsyncIterator[list[OpenAICompatibleClient]]:
    clients: list[OpenAICompatibleClient] = []
    yield clients
    for made in clients:
        await made.aclose()


def client(
    llm: LlmEmulator, clients: list[OpenAICompatibleClient], timeout_s: float, attempts: int = 3
) -> OpenAICompatibleClient:
    made = OpenAICompatibleClient(
        llm.base_url, llm.model, llm.api_key, timeout_s=timeout_s, max_attempts=attempts
    )
    clients.append(made)
    return made


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_429_is_retried_after_the_endpoints_retry_after(
    llm: LlmEmulator, clients: list[OpenAICompatibleClient], streamed: bool
) -> None:
    llm.mode, llm.retry_after, llm.rate_limited_requests = "rate_limit", "1", 1
    deltas: list[str] = []

    async def on_delta(delta: str) -> None:
        deltas.append(delta)

    started = time.monotonic()
    completion = await client(llm, clients, timeout_s=10).complete(
        QUESTION, on_delta if streamed else None
    )
    elapsed = time.monotonic() - started
    assert completion.text == "Echo: Are you there?"
    assert ("".join(deltas) == completion.text) if streamed else deltas == []
    assert len(llm.requests) == 2
    # Without Retry-After the first retry waits at most 0.5 s; with it, a full second.
    assert 1.0 <= elapsed < 3.0, elapsed


async def test_a_retry_after_past_the_budget_fails_at_once(
    llm: LlmEmulator, clients: list[OpenAICompatibleClient]
) -> None:
    llm.mode, llm.retry_after = "rate_limit", "30"
    started = time.monotonic()
    with pytest.raises(LLMError) as raised:
        await client(llm, clients, timeout_s=2).complete(QUESTION)
    elapsed = time.monotonic() - started
    assert raised.value.kind == "rate_limited" and raised.value.retry_after_s == 30
    assert "retry after 30 s, past the 2 s budget" in str(raised.value)
    assert len(llm.requests) == 1
    assert elapsed < 1.0, elapsed


async def test_waits_and_retries_together_stay_within_the_budget(
    llm: LlmEmulator, clients: list[OpenAICompatibleClient]
) -> None:
    """Always 429 with Retry-After: 1: attempts at 0 s, 1 s and 2 s; a third wait would end
    at 3 s, past the 2.5 s budget, so the call fails after the third attempt, before 2.5 s."""
    llm.mode, llm.retry_after = "rate_limit", "1"
    started = time.monotonic()
    with pytest.raises(LLMError) as raised:
        await client(llm, clients, timeout_s=2.5, attempts=10).complete(QUESTION)
    elapsed = time.monotonic() - started
    assert raised.value.kind == "rate_limited"
    assert len(llm.requests) == 3
    assert 2.0 <= elapsed < 2.5, elapsed


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_s("7") == 7.0
    assert retry_after_s("0.5") == 0.5
    assert retry_after_s("-3") == 0.0
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 < (retry_after_s(in_a_minute) or 0) <= 60
    a_minute_ago = format_datetime(datetime.now(UTC) - timedelta(seconds=60), usegmt=True)
    assert retry_after_s(a_minute_ago) == 0.0
    for unreadable in (None, "", "soon", "nan", "inf"):
        assert retry_after_s(unreadable) is None
