"""Answering one question through a traced LLM call.

Each answer is one MLflow trace: a root span for the whole answer and a CHAT_MODEL span for
the model call. The trace ID is taken inside the span (never from process-global state) and
handed to the reply, which puts it in the Slack message's metadata and feedback buttons.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import mlflow
from mlflow.entities import LiveSpan, SpanEvent, SpanStatusCode, SpanType
from mlflow.tracing.constant import SpanAttributeKey

from bot.answering.prompt import build_prompt, with_viewing_note
from bot.llm.client import ChatMessage, ChatModel, Completion, LLMError
from bot.tracing.data_model import (
    TAG_ANSWER_TS,
    TAG_CHANNEL,
    TAG_CHANNEL_TYPE,
    TAG_CONVERSATION_KIND,
    TAG_TEAM,
    TAG_VIEWING_CHANNEL,
    UNKNOWN_KIND,
)

log = logging.getLogger(__name__)

APOLOGY = (
    "Sorry, I couldn't get an answer from the language model just now. "
    "Please try again in a moment."
)
PREVIEW_CHARS = 1000


@dataclass(frozen=True)
class Question:
    """A user's message to answer, in plain values (no Slack payloads)."""

    text: str
    user_id: str
    team_id: str | None
    channel_id: str
    channel_type: str
    message_ts: str
    thread_ts: str
    history: list[ChatMessage] = field(default_factory=list)
    # In the assistant panel: the channel the user is viewing (its ID, and how to name it).
    viewing_channel_id: str | None = None
    viewing_channel_label: str | None = None
    conversation_kind: str = UNKNOWN_KIND  # one of data_model.CONVERSATION_KINDS

    @property
    def session_id(self) -> str:
        return f"{self.channel_id}:{self.thread_ts}"

    @property
    def request_id(self) -> str:
        return f"{self.channel_id}:{self.message_ts}"


class ReplyFailed(Exception):
    """The answer (or the apology) could not be delivered, retries included."""


class Reply(Protocol):
    """Where the answer goes (a Slack thread in production). `finish` and `fail` raise
    `ReplyFailed` when what they post does not arrive."""

    async def begin(self) -> None: ...
    async def delta(self, text: str) -> None: ...
    async def finish(self, answer: str, trace_id: str) -> object: ...
    async def fail(self, apology: str) -> None: ...


@dataclass(frozen=True)
class AnswerResult:
    trace_id: str
    ok: bool
    posted: object | None = None


@dataclass
class Answerer:
    model: ChatModel
    system_prompt: str
    context_chars: int

    async def answer(self, question: Question, reply: Reply) -> AnswerResult:
        await reply.begin()
        with mlflow.start_span(name="slack_answer", span_type=SpanType.AGENT) as root:
            trace_id = root.trace_id
            # What the model was asked: the question, and the thread before it (the evaluation
            # dataset's records take these inputs as they are: bot/dataset/).
            history = {"history": question.history} if question.history else {}
            root.set_inputs({"question": question.text, **history})
            mlflow.update_current_trace(
                user=question.user_id,
                session_id=question.session_id,
                client_request_id=question.request_id,
                request_preview=question.text[:PREVIEW_CHARS],
                tags={
                    TAG_TEAM: question.team_id or "",
                    TAG_CHANNEL: question.channel_id,
                    TAG_CHANNEL_TYPE: question.channel_type,
                    TAG_CONVERSATION_KIND: question.conversation_kind,
                    **_viewing_tag(question),
                },
            )
            prompt = build_prompt(
                with_viewing_note(self.system_prompt, question.viewing_channel_label),
                question.history,
                question.text,
                self.context_chars,
            )
            if prompt.dropped_history or prompt.question_trimmed:
                root.set_attribute(
                    "prompt.trimmed",
                    {
                        "dropped_history_messages": prompt.dropped_history,
                        "question_trimmed": prompt.question_trimmed,
                    },
                )
            try:
                completion = await self._call_model(prompt.messages, reply)
            except LLMError as error:
                log.warning("LLM failed for trace %s: %s", trace_id, error)
                _mark_failed(root, error)
                root.set_outputs({"error": str(error)})
                try:
                    await reply.fail(APOLOGY)
                except ReplyFailed as undelivered:
                    log.error(
                        "the apology for trace %s was not delivered: %s", trace_id, undelivered
                    )
                return AnswerResult(trace_id, ok=False)
            root.set_outputs({"answer": completion.text})
            mlflow.update_current_trace(response_preview=completion.text[:PREVIEW_CHARS])
            try:
                posted = await reply.finish(completion.text, trace_id)
            except ReplyFailed as error:
                log.error("the answer of trace %s was not delivered: %s", trace_id, error)
                _mark_failed(root, error)
                return AnswerResult(trace_id, ok=False)
            answer_ts = getattr(posted, "ts", None)
            if answer_ts:
                mlflow.update_current_trace(tags={TAG_ANSWER_TS: answer_ts})
            return AnswerResult(trace_id, ok=True, posted=posted)

    async def _call_model(self, messages: list[ChatMessage], reply: Reply) -> Completion:
        with mlflow.start_span(name=self.model.provider, span_type=SpanType.CHAT_MODEL) as span:
            span.set_inputs({"messages": messages, "model": self.model.model})
            span.set_attribute("llm.provider", self.model.provider)
            completion = await self.model.complete(messages, on_delta=reply.delta)
            span.set_outputs(
                {
                    "model": completion.model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": completion.text},
                            "finish_reason": completion.finish_reason,
                        }
                    ],
                }
            )
            if completion.usage is not None:
                span.set_attribute(SpanAttributeKey.CHAT_USAGE, completion.usage.as_mlflow())
            return completion


def _viewing_tag(question: Question) -> dict[str, str]:
    if question.viewing_channel_id is None:
        return {}
    return {TAG_VIEWING_CHANNEL: question.viewing_channel_id}


def _mark_failed(span: LiveSpan, error: Exception) -> None:
    span.add_event(SpanEvent.from_exception(error))
    span.set_status(SpanStatusCode.ERROR)
