"""With no OPENAI_BASE_URL the bot uses a local Ollama when one answers, else the offline
responder; each is named as what it is (`provider`, the trace's model span)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from bot.llm.choice import detect_model
from bot.llm.client import OpenAICompatibleClient
from bot.llm.offline import OfflineModel
from config import Settings, load_settings
from devkit.ports import free_port


class FakeOllama:
    """Ollama's model list (`GET /api/tags`), as it answers it."""

    def __init__(self, models: list[str], delay_s: float = 0.0) -> None:
        self.models, self.delay_s, self.requests, self.url = models, delay_s, 0, ""

    async def tags(self, request: web.Request) -> web.Response:
        self.requests += 1
        await asyncio.sleep(self.delay_s)
        return web.json_response(
            {"models": [{"name": m, "model": m, "size": 1_300_000_000} for m in self.models]}
        )


@pytest.fixture
async def ollama() -> AsyncIterator[Callable[..., Awaitable[FakeOllama]]]:
    runners: list[web.AppRunner] = []

    async def start(models: list[str], delay_s: float = 0.0) -> FakeOllama:
        fake = FakeOllama(models, delay_s)
        app = web.Application()
        app.router.add_get("/api/tags", fake.tags)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        fake.url = f"http://127.0.0.1:{port}"
        return fake

    yield start
    for runner in runners:
        await runner.cleanup()


def settings(**overrides: object) -> Settings:
    base: dict[str, object] = {
        "slack_bot_token": "xoxb-test",
        "slack_signing_secret": "secret",
        "mlflow_tracking_uri": "http://127.0.0.1:1",
        "openai_base_url": "",
        "llm_model": "gpt-4o-mini",
    }
    return load_settings(**{**base, **overrides})


async def test_a_local_ollama_is_used_with_the_first_model_it_lists(ollama) -> None:
    fake = await ollama(["llama3.2:latest", "qwen2.5:0.5b"])
    model = await detect_model(settings(ollama_url=fake.url))
    assert isinstance(model, OpenAICompatibleClient)
    assert model.provider == "ollama"
    assert model.base_url == fake.url + "/v1"
    assert model.model == "llama3.2:latest"
    assert model.api_key is None


async def test_llm_model_picks_one_of_ollamas_models(ollama) -> None:
    fake = await ollama(["llama3.2:latest", "qwen2.5:0.5b"])
    assert (await detect_model(settings(ollama_url=fake.url, llm_model="qwen2.5:0.5b"))).model == (
        "qwen2.5:0.5b"
    )
    chosen = await detect_model(settings(ollama_url=fake.url, llm_model="llama3.2"))
    assert chosen.model == "llama3.2:latest"


async def test_without_ollama_the_offline_responder_answers_and_says_so(ollama) -> None:
    empty = await ollama([])
    slow = await ollama(["llama3.2:latest"], delay_s=5)
    nobody = f"http://127.0.0.1:{free_port()}"
    for url in (empty.url, slow.url, nobody, ""):
        started = time.monotonic()
        model = await detect_model(settings(ollama_url=url))
        assert isinstance(model, OfflineModel), url
        assert time.monotonic() - started < 1.5, f"the probe of {url!r} was not quick"
    assert model.provider == "offline-responder"
    answer = await model.complete([{"role": "user", "content": "Where is the wiki?"}])
    assert "No language model is configured" in answer.text
    assert "Where is the wiki?" in answer.text


async def test_a_configured_endpoint_is_used_without_looking_for_ollama(ollama) -> None:
    fake = await ollama(["llama3.2:latest"])
    model = await detect_model(
        settings(ollama_url=fake.url, openai_base_url="https://llm.example.com/v1")
    )
    assert isinstance(model, OpenAICompatibleClient)
    assert model.provider == "openai-compatible"
    assert model.base_url == "https://llm.example.com/v1"
    assert fake.requests == 0
