"""Which LLM answers: the configured endpoint, else a local Ollama, else the offline responder.

`choose_llm` is the one place this is decided (the bot, `python -m bot check` and `make run`
all call it), from `LlmChoiceSettings`, the one home of its defaults.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.llm.client import ChatModel, OpenAICompatibleClient
from bot.llm.local import find_ollama
from bot.llm.offline import OfflineModel
from config import AnsweringSettings, LlmChoiceSettings

log = logging.getLogger(__name__)

ENDPOINT = "openai-compatible"
OLLAMA = "ollama"
OFFLINE = "offline"


@dataclass(frozen=True)
class LlmChoice:
    """The LLM that answers: `kind` is ENDPOINT (the configured one), OLLAMA or OFFLINE."""

    kind: str
    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        if self.kind == OLLAMA:
            return f"local Ollama at {self.base_url}, model {self.model}"
        if self.kind == OFFLINE:
            return (
                "none configured: the offline responder answers (set OPENAI_BASE_URL or run Ollama)"
            )
        return f"{self.base_url}, model {self.model}"


async def choose_llm(settings: LlmChoiceSettings) -> LlmChoice:
    """OPENAI_BASE_URL when set; else the Ollama at OLLAMA_URL if it answers (LLM_MODEL when it
    has it, else its first model); else the offline responder."""
    if settings.openai_base_url is not None:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return LlmChoice(ENDPOINT, settings.llm_model, str(settings.openai_base_url), key)
    if settings.ollama_url is not None:
        local = await find_ollama(str(settings.ollama_url), settings.llm_model)
        if local is not None:
            return LlmChoice(OLLAMA, local.model, local.base_url)
    return LlmChoice(OFFLINE, OfflineModel.model)


def make_model(choice: LlmChoice, settings: AnsweringSettings) -> ChatModel:
    """The model for `choice`, named as what it is in the traces (`provider`)."""
    if choice.kind == OFFLINE or choice.base_url is None:
        return OfflineModel()
    return OpenAICompatibleClient(
        base_url=choice.base_url,
        model=choice.model,
        api_key=choice.api_key,
        timeout_s=settings.llm_timeout_s,
        provider=choice.kind,
    )


async def detect_model(settings: AnsweringSettings) -> ChatModel:
    """The model `choose_llm` picks for these settings."""
    model = make_model(await choose_llm(settings), settings)
    log.info("LLM: %s (%s)", model.provider, model.model)
    return model
