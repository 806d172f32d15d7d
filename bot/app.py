"""The app factory: everything the bot is, built from one `Settings` object."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.answer_store import AnswerStore
from bot.answering import Answerer
from bot.background import BackgroundTasks
from bot.conversation import Conversation
from bot.feedback import FeedbackRecorder
from bot.feedback_delivery import FeedbackDeliverer, MlflowFeedbackWriter, RetryPolicy
from bot.llm import ChatModel, OpenAICompatibleClient
from bot.local_llm import LocalLlm, find_ollama
from bot.offline_model import OfflineModel
from bot.outbox import Outbox
from bot.rating_modal import MetadataSigner
from bot.reactions import ReactionVotes
from bot.report_command import FeedbackReportCommand
from bot.slack_retries import slack_retry_handlers
from config import Settings
from handlers import feedback, ignored_events, messages, reactions, report

log = logging.getLogger(__name__)


@dataclass
class Bot:
    """The Bolt app and the domain services behind it."""

    settings: Settings
    app: AsyncApp
    client: AsyncWebClient
    model: ChatModel
    answers: AnswerStore
    outbox: Outbox
    deliverer: FeedbackDeliverer
    background: BackgroundTasks

    async def aclose(self) -> None:
        await self.deliverer.stop()
        close = getattr(self.model, "aclose", None)
        if close is not None:
            await close()
        self.answers.close()
        self.outbox.close()


def make_web_client(
    settings: Settings, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """A Slack Web API client that retries rate limits, 5xx and dropped connections.

    Give it a session to keep connections alive (without one, each call opens a new one).
    """
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_base,
        session=session,
        timeout=15,
        retry_handlers=slack_retry_handlers(),
    )


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


def build_bot(
    settings: Settings,
    *,
    client: AsyncWebClient | None = None,
    model: ChatModel | None = None,
) -> Bot:
    """Build the bot. Tests hand in clients pointed at emulators."""
    client = client or make_web_client(settings)
    model = model or make_model(settings)
    answers = AnswerStore(settings.bot_data_dir / "answers.sqlite3")
    conversation = Conversation(
        Answerer(model, settings.llm_system_prompt, settings.llm_context_chars),
        answers,
        streaming=settings.slack_streaming,
    )
    outbox = Outbox(settings.bot_data_dir / "outbox.sqlite3")
    deliverer = FeedbackDeliverer(
        outbox,
        MlflowFeedbackWriter(settings.mlflow_tracking_uri),
        RetryPolicy(trace_wait_s=settings.feedback_trace_wait_s),
    )
    signing_secret = settings.slack_signing_secret.get_secret_value()
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        # Listeners return as soon as Slack can be answered and hand slow work to
        # `background`; Bolt then replies at once instead of polling for ack() every 10 ms.
        process_before_response=True,
        raise_error_for_unhandled_request=False,
    )

    @app.error
    async def on_error(error: Exception, body: dict) -> None:
        log.error("listener failed for a %s payload: %r", (body or {}).get("type", "?"), error)

    background = BackgroundTasks()
    report.register(app, FeedbackReportCommand(settings), background)
    messages.register(app, conversation, background)
    recorder = FeedbackRecorder(outbox, deliverer)
    feedback.register(app, recorder, MetadataSigner(signing_secret), background)
    reactions.register(app, ReactionVotes(recorder, answers), background)
    ignored_events.register_last(app)  # keep last: it takes every event no listener took
    return Bot(settings, app, client, model, answers, outbox, deliverer, background)
