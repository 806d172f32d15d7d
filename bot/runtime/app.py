"""The app factory: everything the bot is, built from one `Settings` object."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.web.async_client import AsyncWebClient

from bot.answering.assistant import AssistantPanel
from bot.answering.intake import QuestionIntake
from bot.common.background import BackgroundTasks
from bot.feedback.outbox import Outbox
from bot.feedback.reactions import ReactionVotes
from bot.feedback.recorder import FeedbackRecorder
from bot.report.command import DatasetAdds, FeedbackReportCommand
from bot.report.home import HomeTab
from bot.report.reports import Reports
from bot.slack.client import make_web_client
from bot.slack.surfaces import DataBlockSurfaces
from bot.storage.assistant_threads import AssistantThreadStore
from bot.storage.store import Store
from config import Settings
from handlers.checks import team_gate
from handlers.listeners import (
    assistant,
    dataset,
    feedback,
    home,
    ignored_events,
    messages,
    reactions,
    reasons,
    report,
)
from handlers.views.dataset_button import DatasetButtonSigner
from handlers.views.rating_modal import MetadataSigner
from handlers.views.reason_prompt import ReasonSigner

log = logging.getLogger(__name__)


class WorkerWakeups(Protocol):
    """What the front tells the worker process (bot/runtime/worker_process.py): neither call
    waits, and the work itself is in the store."""

    def wake_questions(self) -> None:
        """The store holds a new question."""

    def wake_feedback(self) -> None:
        """The outbox holds something new: deliver it to MLflow."""

    def wake_jobs(self) -> None:
        """The store holds a new job (bot/storage/jobs.py): run it."""


@dataclass
class Bot:
    """The Bolt app and what it needs at hand; answers and deliveries are the worker's."""

    settings: Settings
    app: AsyncApp
    client: AsyncWebClient
    store: Store
    outbox: Outbox
    background: BackgroundTasks
    assistant_threads: AssistantThreadStore


def build_bot(
    settings: Settings,
    store: Store,
    worker: WorkerWakeups,
    *,
    client: AsyncWebClient | None = None,
) -> Bot:
    """Build the front: questions go to the store, feedback to the outbox; each wakes `worker`."""
    client = client or make_web_client(settings)
    outbox = Outbox(store)
    threads = AssistantThreadStore(store)
    thread_contexts = assistant.ThreadContextStore(threads)
    signing_secret = settings.slack_signing_secret.get_secret_value()
    _without_bolts_token_warning()
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        # Listeners return as soon as Slack can be answered and hand slow work to
        # `background`; Bolt then replies at once instead of polling for ack() every 10 ms.
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        # The HTTP front checks Slack's signature before Bolt sees a request
        # (bot/runtime/http_front.py); Socket Mode requests are not signed. Bolt's own check
        # computed the same HMAC over the same body a second time on every request.
        request_verification_enabled=False,
        # Every Bolt assistant helper keeps thread context in the bot's store, never in the
        # metadata of a reply (which holds an answer's trace ID).
        assistant_thread_context_store=thread_contexts,
    )

    @app.error
    async def on_error(error: Exception, body: dict) -> None:
        log.error("listener failed for a %s payload: %r", (body or {}).get("type", "?"), error)

    team_gate.register(app, settings.slack_allowed_team_ids)  # before every listener
    background = BackgroundTasks()
    labels = settings.feedback_reason_labels
    recorder = FeedbackRecorder(
        outbox, worker.wake_feedback, reasons=labels, auto_add=settings.dataset_auto_add
    )
    dataset_signer = DatasetButtonSigner(signing_secret)
    reports, surfaces = Reports(settings), DataBlockSurfaces()
    command = FeedbackReportCommand(
        settings, reports, surfaces, DatasetAdds(dataset_signer.dump, recorder.in_dataset)
    )
    # Bolt tries each listener in the order registered, building its arguments for each:
    # what comes most often first (questions, votes, ratings); no two take the same payload.
    messages.register(app, QuestionIntake(store, worker.wake_questions))
    follow_up = reasons.ReasonFollowUp(
        settings.feedback_ask_reason, labels, ReasonSigner(signing_secret)
    )
    feedback.register(app, recorder, MetadataSigner(signing_secret), follow_up, background)
    reactions.register(app, ReactionVotes(recorder, store), follow_up, background)
    reasons.register(app, recorder, follow_up, background)
    report.register(app, command, background)
    dataset.register(app, recorder, command, dataset_signer, background)
    home_tab = HomeTab(command.access, reports, outbox.answers_rated_by)
    home.register(app, home_tab, surfaces, background)
    assistant.register(
        app, AssistantPanel(threads, settings.assistant_prompts), thread_contexts, background
    )
    ignored_events.register_last(app)  # keep last: it takes every event no listener took
    return Bot(settings, app, client, store, outbox, background, threads)


class _BoltsTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when given a client, and then warns
    at every start that the token will be unused: the bot's client carries that token."""

    MESSAGE = warning_client_prioritized_and_token_skipped()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.MESSAGE


def _without_bolts_token_warning() -> None:
    bolt_log = logging.getLogger(f"slack_bolt.{AsyncApp.__name__}")
    if not any(isinstance(f, _BoltsTokenWarning) for f in bolt_log.filters):
        bolt_log.addFilter(_BoltsTokenWarning())
