"""The app factory: everything the bot is, built from one `Settings` object."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.answer_store import AnswerStore
from bot.answering import Answerer
from bot.conversation import Conversation
from bot.llm import ChatModel, OpenAICompatibleClient
from bot.offline_model import OfflineModel
from bot.report_command import FeedbackReportCommand
from config import Settings
from handlers import messages, report

log = logging.getLogger(__name__)


@dataclass
class Bot:
    """The Bolt app and the domain services behind it."""

    settings: Settings
    app: AsyncApp
    client: AsyncWebClient
    model: ChatModel
    answers: AnswerStore
    conversation: Conversation

    async def aclose(self) -> None:
        close = getattr(self.model, "aclose", None)
        if close is not None:
            await close()
        self.answers.close()


def make_web_client(settings: Settings) -> AsyncWebClient:
    """A Slack Web API client that retries rate limits, 5xx and dropped connections."""
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_base,
        timeout=15,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def make_model(settings: Settings) -> ChatModel:
    if settings.openai_base_url is None:
        return OfflineModel()
    return OpenAICompatibleClient(
        base_url=str(settings.openai_base_url),
        model=settings.llm_model,
        api_key=settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
        timeout_s=settings.llm_timeout_s,
    )


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
    app = AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )

    @app.error
    async def on_error(error: Exception, body: dict) -> None:
        log.error("listener failed for a %s payload: %r", (body or {}).get("type", "?"), error)

    report.register(app, FeedbackReportCommand(settings))
    messages.register(app, conversation)
    return Bot(settings, app, client, model, answers, conversation)
