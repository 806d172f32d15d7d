"""The worker process: answers questions and delivers feedback, while the front acks Slack.

The front (bot/runtime/service.py) commits each question to the store (bot/storage/store.py)
and answers Slack within milliseconds; this process takes the questions from the store with a
lease (bot/answering/taking.py), answers them (an LLM stream, Slack calls, spans, trace
export), delivers the feedback outbox to MLflow and runs the durable jobs (bot/storage/jobs.py;
their kinds in `job_kinds`). The pipe from the front
(bot/runtime/pipe.py; the process is started and restarted by bot/runtime/worker_process.py)
only wakes it. Kept out of the front's event loop and its GIL, this work cannot delay an ack.

It stops when its stdin closes: it finishes the answers in hand (those it cannot finish in
time stay in the store for the next start), flushes their traces and, after an orderly stop,
drains the traces, the outbox and the jobs. SIGINT and SIGTERM are ignored
(bot/runtime/worker_main.py): a terminal or a platform signalling the whole group must not kill
answers the front has acked.

`python -m bot worker` runs it standalone instead, as a process type of its own on a shared
store (PostgreSQL): no front, no pipe; it finds new questions by polling the store and stops
the same orderly way on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import IO

import aiohttp

from bot.answering.answerer import Answerer
from bot.answering.assistant import AssistantPanel
from bot.answering.conversation import Conversation
from bot.answering.taking import POLL_S, SHARED_POLL_S, QuestionTaker
from bot.answering.trace_delivery import TraceDeliverer
from bot.broadcast.alerts import Backlog
from bot.broadcast.scheduler import broadcaster
from bot.common.log_setup import configure_logging
from bot.common.secret_redaction import install_secret_redaction, secrets_of
from bot.feedback.delivery import (
    IDLE_LOOK_S,
    FeedbackDeliverer,
    MlflowFeedbackWriter,
    PermanentFailure,
    RetryPolicy,
    TraceNotFound,
)
from bot.feedback.outbox import Outbox
from bot.llm.choice import detect_model
from bot.runtime.pipe import (
    ANSWERS_GRACE_S,
    OUTBOX_DRAIN_S,
    WORKER_READY,
    Counters,
    PipeMessage,
    Ready,
    Stop,
    Wake,
    decode,
    encode,
)
from bot.slack.client import make_web_client
from bot.storage.assistant_threads import AssistantThreadStore
from bot.storage.jobs import JobKind, JobQueue, JobRunner
from bot.storage.store import Store, StoreUnavailable, lease_owner
from bot.tracing.durable_export import KeepingSpanExporter, TraceSender, keep_traces_with
from bot.tracing.server_watch import TrackingServerWatch
from bot.tracing.setup import TrackingUnavailable, bound_mlflow_client, connect_experiment
from config import Settings, load_settings, settings_or_exit

log = logging.getLogger(__name__)

COUNTERS_EVERY_S = 1.0
KEEP_HELD_EVERY_S = 1.0
MAX_LINE_BYTES = 64 * 1024


def dataset_adder(settings: Settings) -> Callable[[str, str], str]:
    """`add(trace_id, by)` for the feedback deliverer: the answer added to the evaluation
    dataset (bot/dataset/), its failures as the deliverer's (not on the server yet: retried;
    a server that keeps no datasets: dead, with the reason)."""
    from bot.dataset.writer import DatasetRefused, DatasetWriter

    writer = DatasetWriter(
        settings.mlflow_tracking_uri,
        settings.mlflow_experiment_name,
        settings.feedback_dataset,
        timeout_s=settings.mlflow_request_timeout_s,
        retries=settings.mlflow_request_retries,
    )

    def add(trace_id: str, by: str) -> str:
        try:
            result = writer.add([trace_id], by)
        except DatasetRefused as error:
            raise PermanentFailure(str(error)) from error
        if result.missing:
            raise TraceNotFound(f"{trace_id} is not on the tracking server (yet)")
        return f"evaluation dataset: {result.summary}"

    return add


def job_kinds(settings: Settings, store: Store) -> list[JobKind]:
    """The kinds of durable job this worker runs (bot/storage/jobs.py): each a name, its
    handler and its policy; with none, the job runner makes no query at all. None yet: dataset
    adds ride the feedback outbox (they wait for their trace's other feedback, which the
    outbox knows), and the digest and alerts claim their turns in their own table
    (bot/storage/broadcasts.py) until the core has what they need (a clock tests can move,
    an outcome per job, repeating jobs: bench/notes.md, "One queue core")."""
    return []


def main(*, standalone: bool = False) -> int:
    """The worker process's entry point: started by the front (bot/runtime/worker_main.py),
    or `standalone` (`python -m bot worker`: a process type of its own on a shared store,
    stopped by SIGTERM or SIGINT)."""
    configure_logging()
    settings = settings_or_exit(load_settings)
    install_secret_redaction(secrets_of(settings))
    if standalone and settings.store_url is None:
        print("error: `worker` needs DATABASE_URL: it shares the store", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run_worker(settings, standalone=standalone))
    except TrackingUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except StoreUnavailable as error:
        print(f"error: the store is unavailable: {error}", file=sys.stderr)
        return 1


async def run_worker(settings: Settings, *, standalone: bool = False) -> int:
    loop = asyncio.get_running_loop()
    if not standalone:
        _replies.take_stdout()
    bound_mlflow_client(settings)
    await connect_experiment(settings)
    stopping = asyncio.Event()
    lines = asyncio.StreamReader(limit=MAX_LINE_BYTES)
    if standalone:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
    else:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), sys.stdin.buffer)

    store = await Store.open(settings.bot_data_dir, durable=False, database_url=settings.store_url)
    exporter = KeepingSpanExporter(store.keep_trace)
    keep_traces_with(exporter)
    threads = AssistantThreadStore(store)
    outbox = Outbox(store)

    async def waiting() -> str:
        traces, feedback = await store.trace_stats(), await outbox.stats()
        return f"{traces.waiting} trace(s), {feedback.pending} feedback entries"

    async def backlog() -> Backlog:
        """What waits for the tracking server or Slack, for the operations alert."""
        traces, feedback = await store.trace_stats(), await outbox.stats()
        questions = await store.question_stats()
        ages = [
            age
            for age in (traces.oldest_age_s, feedback.oldest_pending_age_s, questions.oldest_age_s)
            if age is not None
        ]
        return Backlog(
            max(ages, default=None),
            f"{traces.waiting} trace(s), {feedback.pending} feedback entries, "
            f"{questions.pending + questions.in_progress} question(s)",
        )

    watch = TrackingServerWatch(waiting)
    traces = TraceDeliverer(
        store,
        TraceSender(settings.mlflow_tracking_uri),
        watch,
        retry_for_s=settings.trace_retry_for_s,
    )
    exporter.on_kept = traces.wake
    deliverer = FeedbackDeliverer(
        outbox,
        MlflowFeedbackWriter(settings.mlflow_tracking_uri, dataset_adder(settings)),
        RetryPolicy(trace_wait_s=settings.feedback_trace_wait_s),
        watch=watch,
        idle_look_s=SHARED_POLL_S if store.shared else IDLE_LOOK_S,
    )

    jobs = JobRunner(
        JobQueue(store),
        job_kinds(settings, store),
        poll_s=SHARED_POLL_S if store.shared else POLL_S,
    )

    def export_counters() -> dict[str, int]:
        return {"traces_dropped": exporter.not_kept, **traces.counters()}

    model = await detect_model(settings)
    async with aiohttp.ClientSession() as slack_session:
        slack = make_web_client(settings, slack_session)
        broadcasts = broadcaster(settings, store, slack, backlog, lease_owner())
        taker = QuestionTaker(
            store=store,
            conversation=Conversation(
                Answerer(model, settings.llm_system_prompt, settings.llm_context_chars),
                store,
                streaming=settings.slack_streaming,
                assistant=AssistantPanel(threads, settings.assistant_prompts),
            ),
            client=slack,
            owner=lease_owner(),
            lease_s=settings.question_lease_s,
            max_age_s=settings.question_max_age_s,
            max_in_hand=settings.answers_in_flight,
            poll_s=SHARED_POLL_S if store.shared else POLL_S,
        )
        traces.answers_first = taker.quiet
        traces.start()
        deliverer.start()
        jobs.start()
        broadcasts.start()
        gc.freeze()  # start-up's objects stay: full collections skip them (bot/runtime/service.py)
        reporting = asyncio.create_task(_report_counters(export_counters))
        keeping = asyncio.create_task(_keep_held_traces(exporter), name="keeping held traces")
        taking = asyncio.create_task(taker.run(), name="taking questions")
        _say(Ready())
        if standalone:
            log.info(WORKER_READY)
        try:
            if standalone:
                await stopping.wait()
                log.info("stopping: no new work; finishing what is in hand")
                orderly = True
            else:
                orderly = await _follow_the_front(lines, taker, deliverer, jobs)
            taker.stop()
            await broadcasts.stop()
            await taking
            await taker.finish(ANSWERS_GRACE_S)
            keeping.cancel()
            if await asyncio.to_thread(exporter.keep_held):
                log.error("%d trace(s) the store could not take are lost", exporter.held)
            if orderly and not await traces.drain(OUTBOX_DRAIN_S):
                log.warning("traces stay in the store for the next start")
            if orderly and not await deliverer.drain(OUTBOX_DRAIN_S):
                stats = await outbox.stats()
                log.warning(
                    "%d feedback entries stay in the outbox for the next start", stats.pending
                )
            if orderly and not await jobs.drain(OUTBOX_DRAIN_S):
                log.warning("jobs stay in the store for the next start")
        finally:
            taking.cancel()
            keeping.cancel()
            reporting.cancel()
            await broadcasts.stop()
            _say(Counters(export_counters()))
            await traces.stop()
            await deliverer.stop()
            await jobs.stop()
            close = getattr(model, "aclose", None)
            if close is not None:
                await close()
            await store.close()
    log.info("worker stopped; trace export: %s", export_counters())
    return 0


async def _follow_the_front(
    lines: asyncio.StreamReader,
    taker: QuestionTaker,
    deliverer: FeedbackDeliverer,
    jobs: JobRunner,
) -> bool:
    """Wake whom the front says until its input ends; True if it announced the end (an
    orderly stop), False if it just ended (the front died: the next start delivers)."""
    while line := await _next_line(lines):
        try:
            message = decode(line)
        except ValueError as error:
            log.error("a line from the front was not understood: %s", error)
            continue
        if isinstance(message, Stop):
            return True
        if isinstance(message, Wake):
            if message.topic == "questions":
                taker.wake()
            elif message.topic == "jobs":
                jobs.wake()
            else:
                deliverer.wake()
    return False


async def _next_line(reader: asyncio.StreamReader) -> bytes:
    """The next line; b"" at the end of input. A line over the limit is skipped, not fatal
    (readline drops what it read of it; the rest then fails to parse and is skipped too)."""
    while True:
        try:
            return await reader.readline()
        except ValueError:
            log.error("a line over %d bytes from the front was skipped", MAX_LINE_BYTES)


async def _keep_held_traces(exporter: KeepingSpanExporter) -> None:
    """Traces the store could not take when they ended (a database restarting) are kept as
    soon as it takes them again."""
    while True:
        await asyncio.sleep(KEEP_HELD_EVERY_S)
        if exporter.held:
            await asyncio.to_thread(exporter.keep_held)


async def _report_counters(counters: Callable[[], dict[str, int]]) -> None:
    last: dict[str, int] | None = None
    while True:
        now = counters()
        if now != last:
            _say(Counters(now))
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

    def say(self, message: PipeMessage) -> None:
        if self._file is not None:  # None: a standalone worker, no front listens
            self._file.write(encode(message).decode())


_replies = _Replies()
_say = _replies.say
