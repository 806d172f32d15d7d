"""The fast layer's bot: the real front (app factory, Bolt listeners, HTTP front, store, outbox)
in the test's own event loop, on the in-process Slack emulator; the worker process is a
stand-in that counts its wake-ups, and the questions are read back from the store.
Slack-signed requests go over loopback HTTP, as Slack sends them, like Bolt's own
`async_dispatch` scenario tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from bot.answering.incoming import IncomingMessage
from bot.feedback.outbox import LatestIntent
from bot.runtime.app import Bot, build_bot
from bot.runtime.http_front import SlackHttpServer
from bot.runtime.readiness import Readiness
from bot.slack.answer_message import answer_blocks, answer_metadata
from bot.storage.store import Store
from config import Settings, load_settings
from devkit.ids import new_id, new_trace_id
from devkit.slack_api import SlackEmulator
from devkit.slack_requests import SlackSender

SETTLE_S = 10.0


@dataclass
class WorkerStandIn:
    """What the front tells the worker process: wake-ups for new questions and feedback."""

    question_wakes: int = 0
    wakes: int = 0  # for the outbox
    job_wakes: int = 0

    def wake_questions(self) -> None:
        self.question_wakes += 1

    def wake_feedback(self) -> None:
        self.wakes += 1

    def wake_jobs(self) -> None:
        self.job_wakes += 1

    def stats(self) -> dict[str, object]:  # what /readyz asks of the worker
        return {"worker": "running"}


@dataclass
class Front:
    bot: Bot
    worker: WorkerStandIn
    http: SlackHttpServer
    sender: SlackSender
    slack: SlackEmulator
    store: Store
    _questions: list[IncomingMessage] = field(default_factory=list)

    async def questions(self) -> list[IncomingMessage]:
        """Every question the front has committed to the store so far, as the worker takes it."""
        taken = await self.store.take_questions("fast-layer", 3600, 1000)
        self._questions += [IncomingMessage.from_json(q.message_json) for q in taken]
        return list(self._questions)

    async def settled(self) -> None:
        """Every confirmation, modal and report the listeners started has finished: what did
        not happen by now will not happen."""
        assert await self.bot.background.wait(SETTLE_S), "background work still running"

    async def answer(self, text: str = "An answer.", channel: str | None = None) -> dict:
        """An answer as the worker posts it (metadata and feedback controls), in `channel`."""
        trace_id = new_trace_id()
        response = await self.bot.client.chat_postMessage(
            channel=channel or new_id("C"),
            text=text,
            blocks=answer_blocks(text, trace_id),
            metadata=answer_metadata(trace_id),
        )
        return dict(response["message"], channel=response["channel"])

    async def latest(self, trace_id: str, user_id: str) -> dict[str, LatestIntent]:
        """The outbox's latest intent per assessment name for this user on this answer."""
        return await self.bot.outbox.latest(trace_id, user_id)

    def ephemeral_to(self, user_id: str) -> list[str]:
        return [m["text"] for m in self.slack.ephemeral if m.get("user") == user_id]


def front_settings(slack: SlackEmulator, data_dir: Path, **overrides: Any) -> Settings:
    """Settings for an in-process front; nothing listens at the tracking URI."""
    values: dict[str, Any] = {
        "slack_bot_token": slack.bot_token,
        "slack_signing_secret": "fast-" + uuid.uuid4().hex,
        "slack_api_url": slack.api_url,
        "mlflow_tracking_uri": "http://127.0.0.1:9",
        "ollama_url": "",
        "feedback_report_admins": "UADMIN1",
        "bot_data_dir": data_dir,
        **overrides,
    }
    return load_settings(**values)


@asynccontextmanager
async def running_front(settings: Settings, slack: SlackEmulator) -> AsyncIterator[Front]:
    worker = WorkerStandIn()
    store = await Store.open(settings.bot_data_dir)
    bot = build_bot(settings, store, worker)
    secret = settings.slack_signing_secret.get_secret_value()
    http = SlackHttpServer(bot.app, secret, Readiness(bot, worker))  # type: ignore[arg-type]
    server = TestServer(http.web_app(), host="127.0.0.1")
    await server.start_server()
    sender = SlackSender(str(server.make_url("")).rstrip("/"), secret, slack.team_id, slack.app_id)
    try:
        yield Front(bot, worker, http, sender, slack, store)
    finally:
        await bot.background.wait(SETTLE_S)
        await sender.close()
        await server.close()
        await store.close()
