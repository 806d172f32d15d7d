"""Slack's assistant panel: `assistant_thread_started` and `assistant_thread_context_changed`
→ `AssistantPanel` (bot/answering/assistant.py). The user's questions in the panel are DM
thread messages, taken by handlers/listeners/messages.py like any other.

Bolt's `AsyncAssistant` routes the two events. Its thread context store is ours
(`ThreadContextStore`, over the bot's SQLite): Bolt's default store writes the context into the
metadata of the bot's first reply in the thread, which may be an answer whose metadata is its
trace ID.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncAssistant
from slack_bolt.context.assistant.thread_context import AssistantThreadContext
from slack_bolt.context.assistant.thread_context_store.async_store import (
    AsyncAssistantThreadContextStore,
)
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.payload_utils import (
    is_assistant_event,
    is_other_message_sub_event_in_assistant_thread,
)
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.answering.assistant import AssistantPanel, OpenedThread
from bot.common.background import BackgroundTasks
from bot.storage.assistant_threads import AssistantThreadStore, ThreadContext
from handlers.listeners.safety import logged_not_raised
from handlers.payload_values import slack_id, slack_ts


class ThreadContextStore(AsyncAssistantThreadContextStore):
    """Where Bolt's assistant helpers keep a thread's context: the bot's own store, never a
    message's metadata."""

    def __init__(self, threads: AssistantThreadStore) -> None:
        self._threads = threads

    async def save(self, *, channel_id: str, thread_ts: str, context: dict[str, str]) -> None:
        await self._threads.save_context(channel_id, thread_ts, parse_context(context))

    async def find(self, *, channel_id: str, thread_ts: str) -> AssistantThreadContext | None:
        thread = await self._threads.find(channel_id, thread_ts)
        if thread is None or thread.context.channel_id is None:
            return None
        context = thread.context
        return AssistantThreadContext(
            {
                "channel_id": context.channel_id,
                "team_id": context.team_id,
                "enterprise_id": context.enterprise_id,
            }
        )


def parse_context(raw: object) -> ThreadContext:
    fields: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return ThreadContext(
        channel_id=slack_id(fields.get("channel_id")),
        team_id=slack_id(fields.get("team_id")),
        enterprise_id=slack_id(fields.get("enterprise_id")),
    )


def parse_thread(event: dict[str, Any]) -> OpenedThread | None:
    """The thread an `assistant_thread_*` event is about, or None if it names none."""
    thread = event.get("assistant_thread")
    if not isinstance(thread, dict):
        return None
    channel, thread_ts = slack_id(thread.get("channel_id")), slack_ts(thread.get("thread_ts"))
    user = slack_id(thread.get("user_id"))
    if channel is None or thread_ts is None or user is None:
        return None
    return OpenedThread(channel, thread_ts, user, parse_context(thread.get("context")))


def register(
    app: AsyncApp,
    panel: AssistantPanel,
    contexts: ThreadContextStore,
    background: BackgroundTasks,
) -> None:
    """Acked at once; the greeting is posted in the background (a retried event is not
    greeted twice)."""
    assistant = AsyncAssistant(thread_context_store=contexts)

    @assistant.thread_started
    @logged_not_raised
    async def on_thread_started(event: dict, client: AsyncWebClient) -> None:
        thread = parse_thread(event)
        if thread is not None and await panel.open_thread(thread):
            background.spawn(panel.greet(thread, client), f"greeting {thread.thread_ts}")

    @assistant.thread_context_changed
    @logged_not_raised
    async def on_context_changed(event: dict) -> None:
        thread = parse_thread(event)
        if thread is not None:
            await panel.context_changed(thread.channel_id, thread.thread_ts, thread.context)

    app.use(OnlyItsEvents(assistant))


class OnlyItsEvents(AsyncMiddleware):
    """Bolt's assistant middleware, asked only about the payloads it acts on: an assistant
    event (each of its listeners matches one kind) or another message event in an assistant
    thread (which it acks); anything else it passes on. Asked about every payload, it built
    its listeners' arguments to match them against each vote, rating and question (bench/
    notes.md: "3, again")."""

    def __init__(self, assistant: AsyncAssistant) -> None:
        self._assistant = assistant

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],  # Bolt passes it by this name
    ) -> BoltResponse | None:
        body = req.body
        if is_assistant_event(body) or is_other_message_sub_event_in_assistant_thread(body):
            return await self._assistant.async_process(req=req, resp=resp, next=next)
        return await next()
