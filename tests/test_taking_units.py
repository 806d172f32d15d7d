"""The taker's bookkeeping around one answer, on a real store with a stand-in conversation:
the answer indexed with the question's end, and a stream noted only once it has lasted."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import pytest

from bot.answering import taking
from bot.answering.conversation import Conversation
from bot.answering.incoming import IncomingMessage
from bot.answering.taking import QuestionTaker
from bot.storage.store import PostedAnswerEntry, Store


class StreamingConversation:
    """Starts a stream, keeps it open `stream_s`, then "posts" the answer."""

    def __init__(self, stream_s: float) -> None:
        self.stream_s = stream_s
        self.leftovers: list[str | None] = []

    async def handle(self, message: IncomingMessage, client: Any, **kwargs: Any) -> Any:
        self.leftovers.append(kwargs["leftover_stream"])
        await kwargs["on_stream"]("50.5")
        await asyncio.sleep(self.stream_s)
        return PostedAnswerEntry(message.channel_id, "50.5", message.ts, "tr-answer")


def taker_for(store: Store, conversation: StreamingConversation) -> QuestionTaker:
    return QuestionTaker(
        store=store,
        conversation=cast(Conversation, conversation),
        client=cast(Any, None),
        owner="w1",
        lease_s=60,
        max_age_s=600,
    )


async def ask(store: Store, ts: str) -> IncomingMessage:
    message = IncomingMessage("hi", "U1", "T1", "D1", "im", ts, None, "UBOT")
    assert await store.add_question(message.key, message.to_json())
    return message


async def answer_all(taker: QuestionTaker) -> None:
    running = asyncio.create_task(taker.run())
    await asyncio.sleep(0.05)
    taker.stop()
    await running
    assert await taker.finish(grace_s=5)


async def test_an_answer_is_indexed_as_its_question_ends(sqlite_store: Store) -> None:
    await ask(sqlite_store, "1.000001")
    await answer_all(taker_for(sqlite_store, StreamingConversation(stream_s=0)))

    assert await sqlite_store.answer_at("D1", "50.5") == ("tr-answer", "1.000001")
    assert (await sqlite_store.question_stats()).pending == 0


async def test_a_short_stream_is_not_noted_a_long_one_is(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(taking, "NOTE_STREAM_AFTER_S", 0.2)
    noted: list[tuple[int, str]] = []
    note_reply = sqlite_store.note_reply

    async def counted_note(question_id: int, reply_ts: str) -> None:
        noted.append((question_id, reply_ts))
        await note_reply(question_id, reply_ts)

    monkeypatch.setattr(sqlite_store, "note_reply", counted_note)

    await ask(sqlite_store, "2.000001")
    await answer_all(taker_for(sqlite_store, StreamingConversation(stream_s=0.05)))
    await asyncio.sleep(0.3)  # past the delay: the short stream's note was called off
    assert noted == []

    await ask(sqlite_store, "3.000001")
    await answer_all(taker_for(sqlite_store, StreamingConversation(stream_s=0.5)))
    assert [reply_ts for _, reply_ts in noted] == ["50.5"]


async def test_quiet_waits_for_the_answer_in_progress_and_no_longer_than_told(
    sqlite_store: Store,
) -> None:
    taker = taker_for(sqlite_store, StreamingConversation(stream_s=0.5))
    started = time.monotonic()
    await taker.quiet(quiet_s=0.02, at_most_s=1.0)
    assert time.monotonic() - started < 0.5  # nothing in hand since it was made: not 1 s

    await ask(sqlite_store, "4.000001")
    running = asyncio.create_task(taker.run())
    await asyncio.sleep(0.05)
    assert taker.in_hand == 1
    started = time.monotonic()
    await taker.quiet(quiet_s=0.02, at_most_s=0.1)  # bounded: returns while it streams
    assert 0.09 < time.monotonic() - started < 0.45 and taker.in_hand == 1
    await taker.quiet(quiet_s=0.02, at_most_s=5.0)  # returns once the answer is done
    assert taker.in_hand == 0 and time.monotonic() - started < 1.5
    started = time.monotonic()
    await taker.quiet(quiet_s=0.3, at_most_s=5.0)  # a gap is counted from the answer's end
    assert 0.2 < time.monotonic() - started < 1.0
    taker.stop()
    await running
    assert await taker.finish(grace_s=5)
