"""Writing one answer into a Slack thread: streamed when Slack allows it, posted otherwise."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from slack_sdk.web.async_client import AsyncWebClient

from bot.answering.answerer import ReplyFailed
from bot.slack.answer_message import (
    MARKDOWN_LIMIT,
    answer_blocks,
    answer_metadata,
    fallback_text,
    feedback_blocks,
    markdown_blocks,
    split_markdown,
)
from bot.slack.errors import SLACK_FAILURES, slack_error_reason

log = logging.getLogger(__name__)

# Append to a live stream at most this often, or when this much text is waiting. The first
# words go out at once (`chat.startStream`); then about one append a second of the model's
# output: a 400-token answer at 50 tokens/s is ~8 appends instead of ~30 at 0.25 s, one
# stream stays under `chat.appendStream`'s tier-4 limit (100+ a minute), and each append
# costs the worker and Slack a request (bench/notes.md: "Time to first word").
STREAM_FLUSH_INTERVAL_S = 1.0
STREAM_FLUSH_CHARS = 1024
INTERRUPTED_NOTE = "\n\n_(interrupted: the answer follows below)_"


@dataclass(frozen=True)
class PostedAnswer:
    channel: str
    ts: str


@dataclass
class SlackThreadReply:
    """One reply in `thread_ts` of `channel`. Use: begin → delta* → finish (or fail)."""

    client: AsyncWebClient
    channel: str
    thread_ts: str
    recipient_user_id: str
    recipient_team_id: str | None
    is_dm: bool
    streaming: bool = True
    question_ts: str | None = None  # the question answered, in the answer's metadata
    on_stream: Callable[[str], Awaitable[None]] | None = None  # told the stream's ts
    _stream_ts: str | None = field(default=None, init=False)
    _streamed_chars: int = field(default=0, init=False)
    _pending: list[str] = field(default_factory=list, init=False)
    _last_flush: float = field(default=0.0, init=False)
    _stream_broken: bool = field(default=False, init=False)
    _status: asyncio.Task[None] | None = field(default=None, init=False)

    async def begin(self) -> None:
        """Show "thinking…" where Slack allows it, while the model starts (not before it)."""
        self._status = asyncio.create_task(self._show_thinking())

    async def _status_shown(self) -> None:
        """Let the status call finish before anything is posted (or it would outlive the reply)."""
        if self._status is not None:
            await self._status
            self._status = None

    async def _show_thinking(self) -> None:
        try:
            await self.client.assistant_threads_setStatus(
                channel_id=self.channel, thread_ts=self.thread_ts, status="is thinking…"
            )
        except SLACK_FAILURES as error:
            log.debug("no thinking status in %s: %s", self.channel, slack_error_reason(error))

    async def delta(self, text: str) -> None:
        if not self.streaming:
            return
        self._pending.append(text)
        pending_chars = sum(map(len, self._pending))
        if self._stream_ts is None:
            await self._start_stream()
        elif (
            pending_chars >= STREAM_FLUSH_CHARS
            or time.monotonic() - self._last_flush >= STREAM_FLUSH_INTERVAL_S
        ):
            await self._append()

    async def finish(self, answer: str, trace_id: str) -> PostedAnswer:
        """Complete the answer; the message holding the feedback controls is returned."""
        if self._stream_ts is not None:
            return await self._finish_stream(answer, trace_id)
        parts = split_markdown(answer)
        for part in parts[:-1]:
            await self._post(part, markdown_blocks(part))
        return await self._post(
            parts[-1],
            answer_blocks(parts[-1], trace_id),
            metadata=answer_metadata(trace_id, self.question_ts).to_dict(),
        )

    async def fail(self, apology: str) -> None:
        await self._status_shown()
        if self._stream_ts is not None:
            try:
                await self.client.chat_stopStream(
                    channel=self.channel, ts=self._stream_ts, markdown_text="\n\n" + apology
                )
                return
            except SLACK_FAILURES as error:
                log.warning("could not close the stream: %s", slack_error_reason(error))
        await self._post(apology, markdown_blocks(apology))

    async def close_leftover(self, stream_ts: str) -> None:
        """Close a stream an earlier attempt at this answer began and never finished."""
        try:
            await self.client.chat_stopStream(
                channel=self.channel, ts=stream_ts, markdown_text=INTERRUPTED_NOTE
            )
            log.info("closed the interrupted stream %s in %s", stream_ts, self.channel)
        except SLACK_FAILURES as error:  # e.g. it was finished (a part of a long answer)
            log.debug("interrupted stream %s: %s", stream_ts, slack_error_reason(error))

    # -- streaming -------------------------------------------------------------------------

    async def _start_stream(self) -> None:
        await self._status_shown()
        text = self._take_pending(MARKDOWN_LIMIT)
        try:
            # Outside DMs Slack needs to know whom the stream is for.
            response = await self.client.chat_startStream(
                channel=self.channel,
                thread_ts=self.thread_ts,
                markdown_text=text,
                recipient_user_id=None if self.is_dm else self.recipient_user_id,
                recipient_team_id=None if self.is_dm else self.recipient_team_id,
            )
        except SLACK_FAILURES as error:
            log.info(
                "streaming refused in %s (%s): posting the answer instead",
                self.channel,
                slack_error_reason(error),
            )
            self.streaming = False
            return
        self._stream_ts = str(response["ts"])
        self._streamed_chars = len(text)
        self._last_flush = time.monotonic()
        if self.on_stream is not None:
            try:
                await self.on_stream(self._stream_ts)
            except Exception as error:  # the answer goes on; a retry would leave it open
                log.warning("stream %s not noted: %s", self._stream_ts, error)

    async def _append(self) -> None:
        assert self._stream_ts is not None
        room = MARKDOWN_LIMIT - self._streamed_chars
        if room <= 0:
            return  # the rest goes out as follow-up messages in finish()
        text = self._take_pending(room)
        if not text or self._stream_broken:
            return
        try:
            await self.client.chat_appendStream(
                channel=self.channel, ts=self._stream_ts, markdown_text=text
            )
        except SLACK_FAILURES as error:
            # E.g. the stream expired: the rest of the answer goes out as new messages.
            log.warning("stream broke in %s: %s", self.channel, slack_error_reason(error))
            self._stream_broken = True
            return
        self._streamed_chars += len(text)
        self._last_flush = time.monotonic()

    async def _finish_stream(self, answer: str, trace_id: str) -> PostedAnswer:
        assert self._stream_ts is not None
        room = 0 if self._stream_broken else max(0, MARKDOWN_LIMIT - self._streamed_chars)
        rest = answer[self._streamed_chars :]
        last_chunk, overflow = rest[:room], rest[room:]
        if not overflow:
            try:
                await self.client.chat_stopStream(
                    channel=self.channel,
                    ts=self._stream_ts,
                    markdown_text=last_chunk or None,
                    blocks=feedback_blocks(trace_id),
                    metadata=answer_metadata(trace_id, self.question_ts),
                )
                return PostedAnswer(self.channel, self._stream_ts)
            except SLACK_FAILURES as error:
                log.warning("could not stop the stream: %s", slack_error_reason(error))
                overflow = rest
        else:
            # Too long for one message, or the stream broke: close it, go on in follow-ups.
            try:
                await self.client.chat_stopStream(
                    channel=self.channel, ts=self._stream_ts, markdown_text=last_chunk or None
                )
            except SLACK_FAILURES as error:
                log.warning("could not stop the stream: %s", slack_error_reason(error))
                overflow = rest
        parts = split_markdown(overflow)
        for part in parts[:-1]:
            await self._post(part, markdown_blocks(part))
        return await self._post(
            parts[-1],
            answer_blocks(parts[-1], trace_id),
            answer_metadata(trace_id, self.question_ts).to_dict(),
        )

    def _take_pending(self, limit: int) -> str:
        text = "".join(self._pending)
        taken, kept = text[:limit], text[limit:]
        self._pending = [kept] if kept else []
        return taken

    # -- posting ---------------------------------------------------------------------------

    async def _post(
        self, markdown: str, blocks: list, metadata: dict | None = None
    ) -> PostedAnswer:
        await self._status_shown()
        try:
            response = await self.client.chat_postMessage(
                channel=self.channel,
                thread_ts=self.thread_ts,
                text=fallback_text(markdown),
                blocks=blocks,
                metadata=metadata,
                unfurl_links=False,
            )
        except SLACK_FAILURES as error:
            raise ReplyFailed(
                f"chat.postMessage in {self.channel}: {slack_error_reason(error)}"
            ) from error
        return PostedAnswer(self.channel, str(response["ts"]))
