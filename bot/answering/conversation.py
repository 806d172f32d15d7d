"""From a user's Slack message to a posted, traced answer: the call the message handlers make."""

from __future__ import annotations

import logging
import re

from slack_sdk.web.async_client import AsyncWebClient

from bot.answering.answerer import Answerer, Question
from bot.answering.assistant import AssistantPanel
from bot.answering.incoming import IncomingMessage
from bot.answering.recent_keys import RecentKeys
from bot.answering.slack_reply import PostedAnswer, SlackThreadReply
from bot.llm.client import ChatMessage
from bot.slack.errors import SLACK_FAILURES, slack_error_reason
from bot.storage.answer_index import AnswerStore

log = logging.getLogger(__name__)

HISTORY_LIMIT = 100


def clean_text(text: str, bot_user_id: str | None) -> str:
    """The question without the bot's own @mention."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", "", text)
    return text.strip()


class Conversation:
    def __init__(
        self,
        answerer: Answerer,
        answers: AnswerStore,
        *,
        streaming: bool,
        assistant: AssistantPanel | None = None,
    ) -> None:
        self._answerer = answerer
        self._answers = answers
        self._streaming = streaming
        self._assistant = assistant
        self._seen = RecentKeys()

    async def handle(self, message: IncomingMessage, client: AsyncWebClient) -> None:
        """Answer `message` if it is addressed to the bot, once, however often Slack sends it."""
        if not await self._addressed_to_bot(message):
            return
        if not self._seen.first_time(f"{message.channel_id}:{message.ts}"):
            log.debug("already answering %s:%s", message.channel_id, message.ts)
            return
        await self._respond(message, client)

    async def _addressed_to_bot(self, message: IncomingMessage) -> bool:
        if message.is_dm or message.mentions_bot:
            return True
        if message.thread_ts is None:
            return False
        return await self._answers.in_thread(message.channel_id, message.thread_ts)

    async def _respond(self, message: IncomingMessage, client: AsyncWebClient) -> None:
        if not message.is_dm:
            await self._answers.join_thread(message.channel_id, message.reply_thread_ts)
        history = await _thread_history(client, message) if message.thread_ts is not None else []
        text = clean_text(message.text, message.bot_user_id)
        viewing = None
        if self._assistant is not None:
            viewing = await self._assistant.prepare_answer(message, text, client)
        question = Question(
            text=text,
            user_id=message.user_id,
            team_id=message.team_id,
            channel_id=message.channel_id,
            channel_type=message.channel_type,
            message_ts=message.ts,
            thread_ts=message.reply_thread_ts,
            history=history,
            viewing_channel_id=viewing.channel_id if viewing else None,
            viewing_channel_label=viewing.label if viewing else None,
        )
        reply = SlackThreadReply(
            client=client,
            channel=message.channel_id,
            thread_ts=message.reply_thread_ts,
            recipient_user_id=message.user_id,
            recipient_team_id=message.team_id,
            is_dm=message.is_dm,
            streaming=self._streaming,
        )
        result = await self._answerer.answer(question, reply)
        if isinstance(result.posted, PostedAnswer):
            await self._answers.record(
                result.posted.channel, result.posted.ts, message.reply_thread_ts, result.trace_id
            )
        log.info(
            "answered %s in %s (trace %s, ok=%s)",
            message.user_id,
            message.channel_id,
            result.trace_id,
            result.ok,
        )


async def _thread_history(client: AsyncWebClient, message: IncomingMessage) -> list[ChatMessage]:
    """The thread's earlier messages, as the conversation so far."""
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
        from_bot = bool(earlier.get("bot_id")) or earlier.get("user") == message.bot_user_id
        if from_bot:
            history.append({"role": "assistant", "content": text})
        else:
            history.append({"role": "user", "content": clean_text(text, message.bot_user_id)})
    return history
