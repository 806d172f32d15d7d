"""The predict function of an evaluation: a record's question through the bot's own `Answerer`
(the same system prompt, model choice and prompt budget as the bot), traced as the bot traces
an answer; the reply is kept instead of posted to Slack."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from bot.answering.answerer import Answerer, Question
from bot.llm.choice import LlmChoice, make_model
from config import AnsweringSettings
from evaluation.records import replay_question


@dataclass
class KeptReply:
    """What the bot would have posted: the answer, or the apology when the model failed."""

    text: str = ""

    async def begin(self) -> None:
        pass

    async def delta(self, text: str) -> None:
        pass

    async def finish(self, answer: str, trace_id: str) -> None:
        self.text = answer

    async def fail(self, apology: str) -> None:
        self.text = apology


@dataclass(frozen=True)
class Replay:
    """Called by `mlflow.genai.evaluate` with a record's inputs as keyword arguments, from its
    worker threads: each call runs on an event loop of its own with a model of its own."""

    choice: LlmChoice
    settings: AnsweringSettings

    def __call__(self, **inputs: object) -> str:
        return asyncio.run(self.answer(replay_question(inputs, uuid.uuid4().hex)))

    async def answer(self, question: Question) -> str:
        model = make_model(self.choice, self.settings)
        answerer = Answerer(model, self.settings.llm_system_prompt, self.settings.llm_context_chars)
        reply = KeptReply()
        try:
            await answerer.answer(question, reply)
        finally:
            close = getattr(model, "aclose", None)
            if close is not None:
                await close()
        return reply.text
