"""An async client for any OpenAI-compatible chat-completions endpoint, on aiohttp."""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol, TypedDict

import aiohttp

from bot.common.secret_redaction import redact


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class TokenUsage:
    input_tokens: int
    output_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def as_mlflow(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    usage: TokenUsage | None = None
    finish_reason: str | None = None


class LLMError(Exception):
    """The LLM could not answer. `kind` says why, in a word an operator can grep for."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.retryable = retryable
        self.retry_after_s = retry_after_s  # the endpoint's Retry-After, if it sent one


OnDelta = Callable[[str], Awaitable[None]]


class ChatModel(Protocol):
    """What the answering code needs of a model: a name and a (streamed) completion."""

    model: str
    provider: str

    async def complete(
        self, messages: list[ChatMessage], on_delta: OnDelta | None = None
    ) -> Completion: ...


@dataclass
class OpenAICompatibleClient:
    """Chat completions at `{base_url}/chat/completions`, plain or streamed (SSE).

    `timeout_s` bounds the whole wait, retries included. A failed attempt is retried
    (429, 5xx, connection errors) only while nothing has been streamed to the caller yet,
    after the endpoint's `Retry-After` when it sends one (else a jittered backoff); a
    `Retry-After` that would end past `timeout_s` fails the call at once.
    """

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 60.0
    max_attempts: int = 3
    provider: str = "openai-compatible"
    session: aiohttp.ClientSession | None = None
    _owned_session: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)

    async def complete(
        self, messages: list[ChatMessage], on_delta: OnDelta | None = None
    ) -> Completion:
        deadline = time.monotonic() + self.timeout_s
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._complete_with_retries(messages, on_delta, deadline)
        except TimeoutError:
            raise LLMError("timeout", f"no complete answer within {self.timeout_s:g} s") from None

    async def aclose(self) -> None:
        if self._owned_session is not None:
            await self._owned_session.close()
            self._owned_session = None

    def _session(self) -> aiohttp.ClientSession:
        if self.session is not None:
            return self.session
        if self._owned_session is None or self._owned_session.closed:
            self._owned_session = aiohttp.ClientSession()
        return self._owned_session

    async def _complete_with_retries(
        self, messages: list[ChatMessage], on_delta: OnDelta | None, deadline: float
    ) -> Completion:
        streamed = False

        async def track(delta: str) -> None:
            nonlocal streamed
            streamed = True
            if on_delta is not None:
                await on_delta(delta)

        for attempt in range(1, self.max_attempts + 1):
            try:
                return await self._attempt(messages, track if on_delta else None)
            except LLMError as error:
                if not error.retryable or streamed or attempt == self.max_attempts:
                    raise
                if error.retry_after_s is None:
                    delay = min(4.0, 0.25 * 2**attempt) * random.uniform(0.5, 1.0)
                elif time.monotonic() + error.retry_after_s < deadline:
                    delay = error.retry_after_s
                else:
                    raise LLMError(
                        error.kind,
                        f"{error}; the endpoint asks to retry after {error.retry_after_s:g} s, "
                        f"past the {self.timeout_s:g} s budget",
                        retry_after_s=error.retry_after_s,
                    ) from None
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _attempt(self, messages: list[ChatMessage], on_delta: OnDelta | None) -> Completion:
        body: dict[str, object] = {"model": self.model, "messages": messages}
        if on_delta is not None:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        url = self.base_url.rstrip("/") + "/chat/completions"
        try:
            async with self._session().post(url, json=body, headers=headers) as response:
                if response.status == 429 or response.status >= 500:
                    raise LLMError(
                        "unavailable" if response.status >= 500 else "rate_limited",
                        f"HTTP {response.status} from the LLM endpoint",
                        retryable=True,
                        retry_after_s=retry_after_s(response.headers.get("Retry-After")),
                    )
                if response.status >= 400:
                    # Some endpoints quote the key they were given: never pass it on.
                    detail = redact((await response.text())[:200], [self.api_key or ""])
                    raise LLMError("rejected", f"HTTP {response.status}: {detail}")
                if on_delta is not None:
                    return await self._read_stream(response, on_delta)
                return self._parse_completion(await self._read_json(response))
        except aiohttp.ClientError as exc:
            raise LLMError("connection", f"{type(exc).__name__}: {exc}", retryable=True) from exc

    @staticmethod
    async def _read_json(response: aiohttp.ClientResponse) -> dict:
        try:
            payload = json.loads(await response.read())
        except ValueError:
            raise LLMError("malformed", "the response is not JSON") from None
        if not isinstance(payload, dict):
            raise LLMError("malformed", "the response is not a JSON object")
        return payload

    def _parse_completion(self, payload: dict) -> Completion:
        try:
            choice = payload["choices"][0]
            text = choice["message"]["content"]
            if not isinstance(text, str):
                raise TypeError("content is not a string")
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMError("malformed", f"no answer in the response ({exc})") from None
        return Completion(
            text=text,
            model=str(payload.get("model") or self.model),
            usage=_usage(payload.get("usage")),
            finish_reason=choice.get("finish_reason"),
        )

    async def _read_stream(self, response: aiohttp.ClientResponse, on_delta: OnDelta) -> Completion:
        parts: list[str] = []
        usage: TokenUsage | None = None
        model = self.model
        finish_reason: str | None = None
        done = False
        async for data in _sse_data(response.content):
            if data == "[DONE]":
                done = True
                break
            try:
                chunk = json.loads(data)
            except ValueError:
                raise LLMError("malformed", "a stream chunk is not JSON") from None
            if not isinstance(chunk, dict):
                raise LLMError("malformed", "a stream chunk is not a JSON object")
            model = str(chunk.get("model") or model)
            usage = _usage(chunk.get("usage")) or usage
            for choice in chunk.get("choices") or []:
                delta = (choice.get("delta") or {}).get("content")
                if isinstance(delta, str) and delta:
                    parts.append(delta)
                    await on_delta(delta)
                finish_reason = choice.get("finish_reason") or finish_reason
        if not done and finish_reason is None:
            raise LLMError("malformed", "the stream ended before the answer was complete")
        return Completion("".join(parts), model, usage, finish_reason)


def retry_after_s(value: str | None) -> float | None:
    """A `Retry-After` header in seconds: delay-seconds or an HTTP date; None if absent or
    unreadable."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())


async def _sse_data(stream: aiohttp.StreamReader) -> AsyncIterator[str]:
    """Yield the `data:` payloads of a server-sent event stream."""
    buffer: list[str] = []
    async for raw in stream:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if line.startswith("data:"):
            buffer.append(line[5:].lstrip())
        elif line == "" and buffer:
            yield "\n".join(buffer)
            buffer = []
    if buffer:
        yield "\n".join(buffer)


def _usage(raw: object) -> TokenUsage | None:
    if not isinstance(raw, dict):
        return None
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
    if isinstance(prompt, int) and isinstance(completion, int):
        return TokenUsage(prompt, completion)
    return None
