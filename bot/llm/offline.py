"""A stand-in model for when no LLM is configured: it says so and echoes the question."""

from __future__ import annotations

from dataclasses import dataclass

from bot.llm.client import ChatMessage, Completion, OnDelta, TokenUsage


@dataclass
class OfflineModel:
    model: str = "offline-echo"
    provider: str = "offline-responder"

    async def complete(
        self, messages: list[ChatMessage], on_delta: OnDelta | None = None
    ) -> Completion:
        question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        text = (
            "No language model is configured (set OPENAI_BASE_URL, or run Ollama locally), "
            f"so I can only echo your question:\n\n> {question}"
        )
        if on_delta is not None:
            for start in range(0, len(text), 64):
                await on_delta(text[start : start + 64])
        words_in = sum(len(m["content"].split()) for m in messages)
        return Completion(text, self.model, TokenUsage(words_in, len(text.split())), "stop")
