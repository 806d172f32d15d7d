"""Slack's assistant panel: a new thread gets a greeting and suggested prompts, the first
question gives the thread its title, and the channel the user is viewing reaches the answer.

The user's messages in the panel are ordinary DM thread messages, answered like any other
(bot/answering/conversation.py); this adds what only the panel has.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.answering.incoming import IncomingMessage
from bot.slack.errors import SLACK_FAILURES, slack_error_reason
from bot.storage.assistant_threads import AssistantThreadStore, ThreadContext
from config.settings import AssistantPrompt

log = logging.getLogger(__name__)

GREETING = "Hi! Ask me anything, or start with one of these suggestions."
PROMPTS_TITLE = "Try asking"
TITLE_CHARS = 60


@dataclass(frozen=True)
class OpenedThread:
    """An `assistant_thread_started` event, as plain values."""

    channel_id: str
    thread_ts: str
    user_id: str
    context: ThreadContext


@dataclass(frozen=True)
class ViewedChannel:
    """The channel the user is looking at while asking (the thread's context)."""

    channel_id: str
    name: str | None

    @property
    def label(self) -> str:
        if self.channel_id.startswith("D"):
            return "a direct message conversation"
        return f"#{self.name}" if self.name else f"the channel {self.channel_id}"


@dataclass(frozen=True)
class PanelQuestion:
    """A question asked in a thread of the assistant panel."""

    viewing: ViewedChannel | None  # the channel the user is viewing, when Slack gave one


class AssistantPanel:
    def __init__(self, threads: AssistantThreadStore, prompts: Sequence[AssistantPrompt]) -> None:
        self._threads = threads
        self._prompts = [{"title": p.title, "message": p.message} for p in prompts]

    # -- the front: Slack's assistant events -----------------------------------------------

    async def open_thread(self, thread: OpenedThread) -> bool:
        """Remember the new thread and its context; False if Slack sent it before (no second
        greeting)."""
        return await self._threads.start(thread.channel_id, thread.thread_ts, thread.context)

    async def greet(self, thread: OpenedThread, client: AsyncWebClient) -> None:
        try:
            await client.chat_postMessage(
                channel=thread.channel_id, thread_ts=thread.thread_ts, text=GREETING
            )
            if self._prompts:
                await client.assistant_threads_setSuggestedPrompts(
                    channel_id=thread.channel_id,
                    thread_ts=thread.thread_ts,
                    title=PROMPTS_TITLE,
                    prompts=self._prompts,
                )
        except SLACK_FAILURES as error:
            log.warning(
                "no greeting in assistant thread %s: %s",
                thread.channel_id,
                slack_error_reason(error),
            )

    async def context_changed(self, channel: str, thread_ts: str, context: ThreadContext) -> None:
        await self._threads.save_context(channel, thread_ts, context)

    # -- the worker: before answering in a thread ------------------------------------------

    async def prepare_answer(
        self, message: IncomingMessage, question: str, client: AsyncWebClient
    ) -> PanelQuestion | None:
        """For a question in an assistant thread: title the thread after its first question;
        the channel the user is viewing. None outside the panel."""
        if not message.is_dm or message.thread_ts is None:
            return None
        thread = await self._threads.find(message.channel_id, message.thread_ts)
        if thread is None:
            return None
        titling = not thread.titled and await self._threads.claim_title(
            message.channel_id, message.thread_ts
        )
        viewing = thread.context.channel_id
        if viewing == message.channel_id:
            viewing = None  # the panel's own DM: nothing to add
        _, name = await asyncio.gather(  # two Slack calls before the answer: side by side
            _set_title(client, message.channel_id, message.thread_ts, question)
            if titling
            else _nothing(),
            _channel_name(client, viewing) if viewing and viewing[0] in "CG" else _nothing(),
        )
        return PanelQuestion(ViewedChannel(viewing, name) if viewing else None)


async def _nothing() -> None:
    return None


def thread_title(question: str) -> str:
    """The question's first line, cut to fit a thread list."""
    line = " ".join(question.strip().splitlines()[0].split()) if question.strip() else ""
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


async def _set_title(client: AsyncWebClient, channel: str, thread_ts: str, question: str) -> None:
    title = thread_title(question)
    if not title:
        return
    try:
        await client.assistant_threads_setTitle(
            channel_id=channel, thread_ts=thread_ts, title=title
        )
    except SLACK_FAILURES as error:
        log.warning("no title for assistant thread %s: %s", channel, slack_error_reason(error))


async def _channel_name(client: AsyncWebClient, channel: str) -> str | None:
    try:
        response = await client.conversations_info(channel=channel)
    except SLACK_FAILURES as error:
        log.info("no name for channel %s: %s", channel, slack_error_reason(error))
        return None
    name = (response.get("channel") or {}).get("name")
    return name if isinstance(name, str) and name else None
