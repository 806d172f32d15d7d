"""Traces made as the bot makes them (bot/answering/answerer.py's spans, kept as MLflow's JSON
by the bot's exporter), without Slack or a model: for bench/trace_send_bench.py and the test
that compares what the tracking server shows of a trace sent one way or another."""

from __future__ import annotations

import asyncio
import os

import mlflow
from mlflow.tracing import provider

from bot.answering.answerer import Answerer, Question
from bot.llm.client import ChatMessage, Completion, OnDelta, TokenUsage
from bot.tracing.durable_export import KeepingSpanExporter, keep_traces_with
from config.settings import DEFAULT_SYSTEM_PROMPT

ANSWER = ("Here is what I found. " * 40).strip()  # ~800 characters, ~200 tokens: a typical answer


class CannedModel:
    model = "gpt-4o-mini"
    provider = "openai"

    async def complete(
        self, messages: list[ChatMessage], on_delta: OnDelta | None = None
    ) -> Completion:
        if on_delta is not None:
            await on_delta(ANSWER)
        return Completion(ANSWER, self.model, TokenUsage(120, 200), "stop")


class Posted:
    ts = "1700000000.000200"


class NoReply:
    async def begin(self) -> None:
        return None

    async def delta(self, text: str) -> None:
        return None

    async def finish(self, answer: str, trace_id: str) -> object:
        return Posted()

    async def fail(self, apology: str) -> None:
        return None


# As the bot sets them (bot/tracing/setup.py): no batching thread, no asynchronous queue.
_TRACING_ENV = {
    "MLFLOW_USE_BATCH_SPAN_PROCESSOR": "false",
    "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING": "false",
}


def make_traces(experiment: str, count: int, tag: str) -> list[str]:
    """`count` traces as the bot's exporter keeps them (MLflow's JSON), in `experiment`; the
    same `tag` and position make the same answer. MLflow's tracing is set up as the bot's
    (then reset, with the environment as it was)."""
    mlflow.set_experiment(experiment)
    before = {name: os.environ.get(name) for name in _TRACING_ENV}
    os.environ.update(_TRACING_ENV)
    provider.reset()
    try:
        return _answered(count, tag)
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        provider.reset()


def _answered(count: int, tag: str) -> list[str]:
    kept: list[str] = []
    keep_traces_with(KeepingSpanExporter(lambda _id, trace_json: kept.append(trace_json)))
    answerer = Answerer(CannedModel(), DEFAULT_SYSTEM_PROMPT, 8000)

    async def answer_all() -> None:
        for i in range(count):
            question = Question(
                text=f"{tag} question {i}: how do I reset my VPN token before Monday?",
                user_id=f"U{i:06d}",
                team_id="T0TEAM",
                channel_id=f"D{i:06d}",
                channel_type="im",
                message_ts=f"1700000000.{i:06d}",
                thread_ts=f"1700000000.{i:06d}",
            )
            await answerer.answer(question, NoReply())

    asyncio.run(answer_all())
    return kept
