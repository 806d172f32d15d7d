"""From a user's Slack message to a posted, traced answer: the call the message handlers make."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.answering.answerer import Answerer, Question
from bot.answering.assistant import AssistantPanel, PanelQuestion
from bot.answering.conversation_kind import ConversationKinds
from bot.answering.incoming import IncomingMessage
from bot.answering.slack_reply import PostedAnswer, SlackThreadReply
from bot.llm.client import ChatMessage
from bot.slack.answer_message import answers_question, is_another_apps, is_ours
from bot.slack.errors import SLACK_FAILURES, slack_error_reason
from bot.storage.store import PostedAnswerEntry, Store
from bot.tracing.data_model import ASSISTANT

log = logging.getLogger(__name__)

HISTORY_LIMIT = 100
# Before the words of another app's message in a thread's history (they are not the bot's).
ANOTHER_APP_LABEL = "[a message from another app, not from you:]"
LATE_APOLOGY = (
    "Sorry, I could not answer this in time. Please ask again if you still need an answer."
)


def clean_text(text: str, bot_user_id: str | None) -> str:
    """The question without the bot's own @mention."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", "", text)
    return text.strip()


class Conversation:
    def __init__(
        self,
        answerer: Answerer,
        answers: Store,
        *,
        streaming: bool,
        assistant: AssistantPanel | None = None,
        kinds: ConversationKinds | None = None,
    ) -> None:
        self._answerer = answerer
        self._answers = answers
        self._streaming = streaming
        self._assistant = assistant
        self._kinds = kinds or ConversationKinds()

    async def handle(
        self,
        message: IncomingMessage,
        client: AsyncWebClient,
        *,
        late: bool = False,
        retake: bool = False,
        leftover_stream: str | None = None,
        on_stream: Callable[[str], Awaitable[None]] | None = None,
    ) -> PostedAnswerEntry | None:
        """Answer `message` if it is addressed to the bot (the store hands each message over
        once: bot/answering/taking.py); the answer posted, for the caller to index with the
        question's end (`Store.question_done`), if one was. `late`: an apology instead of the
        answer; `retake`: an earlier attempt may have posted the answer already (its worker
        died before it was marked done): then nothing is posted again; `leftover_stream`: a
        stream an earlier attempt began, closed before the answer; `on_stream`: told the
        stream's ts when the answer starts streaming."""
        if not await self._addressed_to_bot(message):
            return None
        leftovers = {leftover_stream} if leftover_stream is not None else set()
        if retake:
            earlier = await _earlier_attempt(client, message)
            if earlier.answered:
                log.info("question %s was answered before its worker died", message.key)
                return None
            leftovers.update(earlier.unfinished)
        reply = self._reply_to(message, client, on_stream)
        for stream_ts in sorted(leftovers):
            await reply.close_leftover(stream_ts)
        if late:
            log.warning("question %s is too old to answer: apologising", message.key)
            await reply.fail(LATE_APOLOGY)
            return None
        return await self._respond(message, client, reply)

    def _reply_to(
        self,
        message: IncomingMessage,
        client: AsyncWebClient,
        on_stream: Callable[[str], Awaitable[None]] | None,
    ) -> SlackThreadReply:
        return SlackThreadReply(
            client=client,
            channel=message.channel_id,
            thread_ts=message.reply_thread_ts,
            recipient_user_id=message.user_id,
            recipient_team_id=message.team_id,
            is_dm=message.is_dm,
            streaming=self._streaming,
            question_ts=message.ts,
            on_stream=on_stream,
        )

    async def _addressed_to_bot(self, message: IncomingMessage) -> bool:
        if message.is_dm or message.mentions_bot:
            return True
        if message.thread_ts is None:
            return False
        return await self._answers.in_thread(message.channel_id, message.thread_ts)

    async def _respond(
        self, message: IncomingMessage, client: AsyncWebClient, reply: SlackThreadReply
    ) -> PostedAnswerEntry | None:
        if not message.is_dm:
            await self._answers.join_thread(message.channel_id, message.reply_thread_ts)
        text = clean_text(message.text, message.bot_user_id)
        # The thread's history (a Slack call) and the panel's title and viewed channel (the
        # store, Slack) side by side: both come before the model is asked.
        history, panel = await asyncio.gather(
            _thread_history(client, message) if message.thread_ts is not None else _no_history(),
            self._assistant.prepare_answer(message, text, client)
            if self._assistant is not None
            else _no_panel(),
        )
        viewing = panel.viewing if panel is not None else None
        if panel is not None:
            kind = ASSISTANT
        else:
            kind = await self._kinds.kind_of(client, message.channel_id, message.channel_type)
        question = Question(
            text=text,
            user_id=message.user_id,
            team_id=message.team_id,
            channel_id=message.channel_id,
            channel_type=message.channel_type,
            conversation_kind=kind,
            message_ts=message.ts,
            thread_ts=message.reply_thread_ts,
            history=history,
            viewing_channel_id=viewing.channel_id if viewing else None,
            viewing_channel_label=viewing.label if viewing else None,
        )
        result = await self._answerer.answer(question, reply)
        log.info(
            "answered %s in %s (trace %s, ok=%s)",
            message.user_id,
            message.channel_id,
            result.trace_id,
            result.ok,
        )
        if not isinstance(result.posted, PostedAnswer):
            return None
        return PostedAnswerEntry(
            result.posted.channel, result.posted.ts, message.reply_thread_ts, result.trace_id
        )


@dataclass(frozen=True)
class EarlierAttempt:
    answered: bool  # the thread holds its final answer
    unfinished: frozenset[str]  # the bot's messages after the question without one: streams
    # a dead worker may have left open (its note of them may not have reached the store)


async def _earlier_attempt(client: AsyncWebClient, message: IncomingMessage) -> EarlierAttempt:
    """What an attempt at `message` whose worker died left in its thread: its final answer
    (found by the question's ts in the answer's metadata), or messages it had begun. If Slack
    cannot tell, nothing: the question is answered again."""
    try:
        response = await client.conversations_replies(
            channel=message.channel_id,
            ts=message.reply_thread_ts,
            oldest=message.ts,
            include_all_metadata=True,
            limit=HISTORY_LIMIT,
        )
    except SLACK_FAILURES as error:
        log.warning("could not look for an earlier answer: %s", slack_error_reason(error))
        return EarlierAttempt(False, frozenset())
    later_from_bot = [
        m
        for m in response.get("messages") or []
        if isinstance(m, dict)
        and is_ours(m, message.bot)
        and float(m.get("ts") or 0) > float(message.ts)
    ]
    if any(answers_question(m, message.ts) for m in later_from_bot):
        return EarlierAttempt(True, frozenset())
    unfinished = frozenset(str(m["ts"]) for m in later_from_bot if not m.get("metadata"))
    return EarlierAttempt(False, unfinished)


async def _no_history() -> list[ChatMessage]:
    return []


async def _no_panel() -> PanelQuestion | None:
    return None


async def _thread_history(client: AsyncWebClient, message: IncomingMessage) -> list[ChatMessage]:
    """The thread's earlier messages, as the conversation so far: the bot's own (`is_ours`)
    are the assistant's turns; everyone else's, another app's too, are the user's side, another
    app's labelled as such (its words are context, never the bot's own)."""
    assert message.thread_ts is not None
    try:
        response = await client.conversations_replies(
            channel=message.channel_id, ts=message.thread_ts, limit=HISTORY_LIMIT
        )
    except SLACK_FAILURES as error:
        log.warning("no thread history for %s: %s", message.channel_id, slack_error_reason(error))
        return []
    history: list[ChatMessage] = []
    for earlier in response.get("messages") or []:
        if not isinstance(earlier, dict) or earlier.get("ts") == message.ts:
            continue
        if float(earlier.get("ts") or 0) > float(message.ts):
            continue
        text = str(earlier.get("text") or "").strip()
        if not text:
            continue
        if is_ours(earlier, message.bot):
            history.append({"role": "assistant", "content": text})
        elif is_another_apps(earlier, message.bot):
            history.append({"role": "user", "content": f"{ANOTHER_APP_LABEL} {text}"})
        else:
            history.append({"role": "user", "content": clean_text(text, message.bot_user_id)})
    return history
