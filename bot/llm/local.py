"""A local Ollama, used when no LLM endpoint is configured (OpenAI-compatible at `/v1`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class LocalLlm:
    """An Ollama that answered, and the model to use there."""

    url: str
    model: str

    @property
    def base_url(self) -> str:
        """Its OpenAI-compatible endpoint."""
        return self.url.rstrip("/") + "/v1"


async def find_ollama(
    url: str, preferred_model: str | None = None, timeout_s: float = PROBE_TIMEOUT_S
) -> LocalLlm | None:
    """The Ollama at `url` if it answers within `timeout_s` and has a model, else None.

    The model is `preferred_model` when Ollama has it (with or without `:latest`), else the
    first it lists.
    """
    tags_url = url.rstrip("/") + "/api/tags"
    try:
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(tags_url) as response,
        ):
            if response.status != 200:
                return None
            payload = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    models = payload.get("models") if isinstance(payload, dict) else None
    names = [
        str(m.get("name") or m.get("model"))
        for m in models or []
        if isinstance(m, dict) and (m.get("name") or m.get("model"))
    ]
    if not names:
        log.info("Ollama at %s has no models (try `ollama pull llama3.2`)", url)
        return None
    if preferred_model:
        for name in names:
            if preferred_model in (name, name.removesuffix(":latest")):
                return LocalLlm(url, name)
    return LocalLlm(url, names[0])
