"""Which LLM answers: the configured endpoint, else a local Ollama, else the offline responder."""

from __future__ import annotations

import logging

from bot.llm.client import ChatModel, OpenAICompatibleClient
from bot.llm.local import LocalLlm, find_ollama
from bot.llm.offline import OfflineModel
from config import Settings

log = logging.getLogger(__name__)


def make_model(settings: Settings, local: LocalLlm | None = None) -> ChatModel:
    """The configured LLM endpoint; without one, a local Ollama (`local`) or the offline
    responder, each named as what it is in the traces (`provider`)."""
    if settings.openai_base_url is None:
        if local is None:
            return OfflineModel()
        return OpenAICompatibleClient(
            base_url=local.base_url,
            model=local.model,
            timeout_s=settings.llm_timeout_s,
            provider="ollama",
        )
    return OpenAICompatibleClient(
        base_url=str(settings.openai_base_url),
        model=settings.llm_model,
        api_key=settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
        timeout_s=settings.llm_timeout_s,
    )


async def detect_model(settings: Settings) -> ChatModel:
    """`make_model`, after looking for a local Ollama when no endpoint is configured."""
    local = None
    if settings.openai_base_url is None and settings.ollama_url is not None:
        local = await find_ollama(str(settings.ollama_url), settings.llm_model)
    model = make_model(settings, local)
    log.info("LLM: %s (%s)", model.provider, model.model)
    return model
