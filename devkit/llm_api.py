"""An OpenAI-compatible chat-completions emulator (plain and SSE streaming, with usage).

`mode` switches its behaviour: "ok", "error" (HTTP 500), "hang" (never answers),
"garbage" (200 with a body that is not a completion), "rate_limit" (429, with `Retry-After:
retry_after` when set, for the next `rate_limited_requests` requests, then "ok"; None: all),
"unauthorized" (401 quoting the key it was given, as careless endpoints do).
A request with a `response_format` (as MLflow's judges send) is answered as a judge:
`{"result": judge_result, "rationale": …}`.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class LlmEmulator:
    api_key: str
    model: str = "emulated-model"
    mode: str = "ok"
    retry_after: str | None = None
    rate_limited_requests: int | None = None
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0  # between streamed pieces: an answer that streams slowly
    # Like a hosted model: `delay_s` to the first token, then a token (a word) at a time at
    # this rate (0: pieces of 40 characters, as fast as they are read).
    tokens_per_s: float = 0.0
    answer_prefix: str = "Echo: "
    fixed_answer: str | None = None
    judge_result: str = "yes"
    requests: list[dict[str, Any]] = field(default_factory=list)
    # (last user message, monotonic time received, monotonic time fully answered)
    served: list[tuple[str, float, float]] = field(default_factory=list)
    # last user message → (monotonic time received, monotonic time its first piece was sent)
    first_piece: dict[str, tuple[float, float]] = field(default_factory=dict)
    base_url: str = ""
    _runner: web.AppRunner | None = None

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        # A "hang" request sleeps for an hour: don't wait aiohttp's default 60 s for it at stop.
        self._runner = web.AppRunner(self.web_app(), access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://{host}:{port}/v1"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def reset(self) -> None:
        self.mode, self.delay_s, self.chunk_delay_s, self.fixed_answer = "ok", 0.0, 0.0, None
        self.tokens_per_s = 0.0
        self.first_piece.clear()
        self.judge_result = "yes"
        self.retry_after, self.rate_limited_requests = None, None
        self.requests.clear()
        self.served.clear()

    def answer_for(self, messages: list[dict[str, Any]], judging: bool = False) -> str:
        if judging:
            return json.dumps({"result": self.judge_result, "rationale": "The emulator's verdict."})
        if self.fixed_answer is not None:
            return self.fixed_answer
        question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        return f"{self.answer_prefix}{question}"

    async def _models(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "invalid_api_key", "Incorrect API key provided.")
        return web.json_response(
            {"object": "list", "data": [{"id": self.model, "object": "model"}]}
        )

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "invalid_api_key", "Incorrect API key provided.")
        try:
            body = await request.json()
            messages = body["messages"]
            assert isinstance(messages, list) and messages
            assert all(m["role"] in ("system", "user", "assistant") for m in messages)
            assert all(isinstance(m["content"], str) for m in messages)
        except (ValueError, KeyError, TypeError, AssertionError):
            return _error(400, "invalid_request_error", "messages must be a non-empty list")
        self.requests.append(body)
        if self.mode == "unauthorized":
            given = request.headers.get("Authorization", "").removeprefix("Bearer ")
            return _error(401, "invalid_api_key", f"Incorrect API key provided: {given}.")
        received = time.monotonic()
        if self.mode == "hang":
            await asyncio.sleep(3600)
        if self.mode == "error":
            return _error(500, "server_error", "The server had an error.")
        if self.mode == "rate_limit" and self.rate_limited_requests != 0:
            if self.rate_limited_requests is not None:
                self.rate_limited_requests -= 1
            refusal = _error(429, "rate_limit_exceeded", "Rate limit reached.")
            if self.retry_after is not None:
                refusal.headers["Retry-After"] = self.retry_after
            return refusal
        if self.mode == "garbage":
            return web.Response(
                status=200, text="<html>definitely not JSON", content_type="text/html"
            )
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        answer = self.answer_for(messages, judging="response_format" in body)
        usage = {
            "prompt_tokens": sum(len(m["content"].split()) for m in messages),
            "completion_tokens": len(answer.split()),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        created = int(time.time())
        question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        if not body.get("stream"):
            self.served.append((question, received, time.monotonic()))
            return web.json_response(
                {
                    "id": "chatcmpl-emulated",
                    "object": "chat.completion",
                    "created": created,
                    "model": self.model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": answer},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        async def send(chunk: dict[str, Any]) -> None:
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        base = {"id": "chatcmpl-emulated", "object": "chat.completion.chunk", "created": created}
        if self.tokens_per_s:
            words = answer.split(" ")
            pieces = [w + " " for w in words[:-1]] + words[-1:]
            pace_s = 1 / self.tokens_per_s
        else:
            pieces = [answer[i : i + 40] for i in range(0, len(answer), 40)] or [""]
            pace_s = self.chunk_delay_s
        started = time.monotonic()
        for index, piece in enumerate(pieces):
            if index and pace_s:  # on the clock: a slow turn of the loop does not slow it
                await asyncio.sleep(max(0.0, started + index * pace_s - time.monotonic()))
            elif not index:
                self.first_piece[question] = (received, time.monotonic())
            await send(
                {
                    **base,
                    "model": self.model,
                    "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                }
            )
        await send(
            {
                **base,
                "model": self.model,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
        )
        if (body.get("stream_options") or {}).get("include_usage"):
            await send({**base, "model": self.model, "choices": [], "usage": usage})
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        self.served.append((question, received, time.monotonic()))
        return response


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": code, "code": code}}, status=status
    )
