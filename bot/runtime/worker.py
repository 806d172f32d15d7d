"""The worker process: answers questions and delivers feedback, while the front acks Slack.

The front (bot/runtime/service.py) answers Slack within milliseconds and hands the slow work here
over a pipe (bot/runtime/pipe.py; started and restarted by bot/runtime/worker_process.py): each
question to answer (an LLM stream, Slack calls, spans, trace export), and a nudge when the
outbox holds new feedback for MLflow. Kept out of the front's event loop and its GIL, this
work cannot delay an ack.

It stops when its stdin closes: it finishes the answers in flight, flushes their traces and,
after an orderly stop, drains the outbox. SIGINT and SIGTERM are ignored
(bot/runtime/worker_main.py): a terminal or a platform signalling the whole group must not kill
answers the front has acked.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.answering.answerer import Answerer
from bot.answering.assistant import AssistantPanel
from bot.answering.conversation import Conversation
from bot.answering.incoming import IncomingMessage
from bot.common.background import BackgroundTasks
from bot.common.log_setup import configure_logging
from bot.common.secret_redaction import install_secret_redaction, secrets_of
from bot.feedback.delivery import FeedbackDeliverer, MlflowFeedbackWriter, RetryPolicy
from bot.feedback.outbox import Outbox
from bot.llm.choice import detect_model
from bot.runtime.pipe import (
    ANSWERS_GRACE_S,
    OUTBOX_DRAIN_S,
    parse_line,
    question_of,
    reply_line,
)
from bot.slack.client import make_web_client
from bot.storage.answer_index import AnswerStore
from bot.storage.assistant_threads import ASSISTANT_THREADS_FILE, AssistantThreadStore
from bot.tracing.export_watch import watch_trace_export
from bot.tracing.setup import (
    TrackingUnavailable,
    bound_mlflow_client,
    connect_experiment,
    flush_traces,
)
from config import Settings, load_settings, settings_or_exit

log = logging.getLogger(__name__)

COUNTERS_EVERY_S = 1.0
MAX_LINE_BYTES = 4 * 1024 * 1024  # a question is at most 40k characters, escaped


def main() -> int:
    """The worker process's entry point (bot/runtime/worker_main.py, `python -m bot worker`)."""
    configure_logging()
    settings = settings_or_exit(load_settings)
    install_secret_redaction(secrets_of(settings))
    try:
        return asyncio.run(run_worker(settings))
    except TrackingUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


async def run_worker(settings: Settings) -> int:
    _replies.take_stdout()
    bound_mlflow_client(settings)
    export_stats = watch_trace_export()
    await connect_experiment(settings)
    loop = asyncio.get_running_loop()
    lines = asyncio.StreamReader(limit=MAX_LINE_BYTES)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), sys.stdin.buffer)

    answers = AnswerStore(settings.bot_data_dir / "answers.sqlite3")
    threads = AssistantThreadStore(settings.bot_data_dir / ASSISTANT_THREADS_FILE)
    outbox = Outbox(settings.bot_data_dir / "outbox.sqlite3", durable_writes=False)
    deliverer = FeedbackDeliverer(
        outbox,
        MlflowFeedbackWriter(settings.mlflow_tracking_uri),
        RetryPolicy(trace_wait_s=settings.feedback_trace_wait_s),
    )
    model = await detect_model(settings)
    async with aiohttp.ClientSession() as slack_session:
        work = Work(
            conversation=Conversation(
                Answerer(model, settings.llm_system_prompt, settings.llm_context_chars),
                answers,
                streaming=settings.slack_streaming,
                assistant=AssistantPanel(threads, settings.assistant_prompts),
            ),
            client=make_web_client(settings, slack_session),
            deliverer=deliverer,
        )
        deliverer.start()
        gc.freeze()  # start-up's objects stay: full collections skip them (bot/runtime/service.py)
        reporting = asyncio.create_task(_report_counters(export_stats.as_dict))
        _say({"ready": True})
        try:
            orderly = await work.take(lines)
            if not await work.answering.wait(ANSWERS_GRACE_S):
                log.warning("%d answer(s) still running at shutdown", len(work.answering))
            await asyncio.to_thread(flush_traces)
            if orderly and not await deliverer.drain(OUTBOX_DRAIN_S):
                stats = await outbox.stats()
                log.warning(
                    "%d feedback entries stay in the outbox for the next start", stats.pending
                )
        finally:
            reporting.cancel()
            _say({"counters": export_stats.as_dict()})
            await deliverer.stop()
            close = getattr(model, "aclose", None)
            if close is not None:
                await close()
            answers.close()
            threads.close()
            outbox.close()
    log.info("worker stopped; trace export: %s", export_stats.as_dict())
    return 0


@dataclass
class Work:
    conversation: Conversation
    client: AsyncWebClient
    deliverer: FeedbackDeliverer

    def __post_init__(self) -> None:
        self.answering = BackgroundTasks()

    async def take(self, lines: asyncio.StreamReader) -> bool:
        """Do what the front says until its input ends; True if it announced the end (an
        orderly stop), False if it just ended (the front died: the next start delivers)."""
        while line := await _next_line(lines):
            try:
                fields = parse_line(line)
                if fields.get("stop") is True:
                    return True
                if fields.get("wake") == "feedback":
                    self.deliverer.wake()
                    continue
                question_id, message = question_of(fields)
            except ValueError as error:
                log.error("a line from the front was not understood: %s", error)
                continue
            _say({"read": question_id})
            self.answering.spawn(self._answer(question_id, message), f"answer {message.ts}")
        return False

    async def _answer(self, question_id: int, message: IncomingMessage) -> None:
        try:
            await self.conversation.handle(message, self.client)
        finally:
            _say({"done": question_id})


async def _next_line(reader: asyncio.StreamReader) -> bytes:
    """The next line; b"" at the end of input. A line over the limit is skipped, not fatal
    (readline drops what it read of it; the rest then fails to parse and is skipped too)."""
    while True:
        try:
            return await reader.readline()
        except ValueError:
            log.error("a line over %d bytes from the front was skipped", MAX_LINE_BYTES)


async def _report_counters(counters: Callable[[], dict[str, int]]) -> None:
    last: dict[str, int] | None = None
    while True:
        now = counters()
        if now != last:
            _say({"counters": now})
            last = now
        await asyncio.sleep(COUNTERS_EVERY_S)


class _Replies:
    """The worker's stdout, kept for the front's lines alone: whatever a library prints goes
    to stderr instead, so it cannot garble one."""

    def __init__(self) -> None:
        self._file: IO[str] | None = None

    def take_stdout(self) -> None:
        sys.stdout.flush()
        self._file = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def say(self, fields: dict[str, Any]) -> None:
        assert self._file is not None, "take_stdout() first"
        self._file.write(reply_line(fields))


_replies = _Replies()
_say = _replies.say
