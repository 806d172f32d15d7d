"""The assistant panel's threads: the channel each user is viewing, and whether the thread has
its title yet.

The front writes what Slack's `assistant_thread_*` events say; the worker reads it when it
answers in the thread (table `assistant_threads` of the store, bot/storage/schema.py). Kept
here, not in Slack: Bolt's default store writes it into the metadata of the bot's first reply,
which may be an answer whose metadata carries its trace ID.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from bot.storage.schema import assistant_threads
from bot.storage.store import Store

KEY = [assistant_threads.c.channel, assistant_threads.c.thread_ts]


@dataclass(frozen=True)
class ThreadContext:
    """Where the user is while talking in the panel (Slack's thread context)."""

    channel_id: str | None
    team_id: str | None = None
    enterprise_id: str | None = None


@dataclass(frozen=True)
class AssistantThread:
    context: ThreadContext
    titled: bool


class AssistantThreadStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def start(self, channel: str, thread_ts: str, context: ThreadContext) -> bool:
        """Record a new thread; False if it was known already (Slack retried the event)."""
        insert = (
            self._store.insert(assistant_threads)
            .values(channel=channel, thread_ts=thread_ts, titled=0, **_columns(context))
            .on_conflict_do_nothing(index_elements=KEY)
            .returning(assistant_threads.c.channel)
        )
        return await self._store.run(lambda conn: conn.execute(insert).first() is not None)

    async def save_context(self, channel: str, thread_ts: str, context: ThreadContext) -> None:
        columns = _columns(context)
        upsert = (
            self._store.insert(assistant_threads)
            .values(channel=channel, thread_ts=thread_ts, titled=0, **columns)
            .on_conflict_do_update(index_elements=KEY, set_=columns)
        )
        await self._store.run(lambda conn: conn.execute(upsert))

    async def find(self, channel: str, thread_ts: str) -> AssistantThread | None:
        query = select(
            assistant_threads.c.viewing_channel,
            assistant_threads.c.viewing_team,
            assistant_threads.c.viewing_enterprise,
            assistant_threads.c.titled,
        ).where(assistant_threads.c.channel == channel, assistant_threads.c.thread_ts == thread_ts)
        row = await self._store.run(lambda conn: conn.execute(query).first())
        if row is None:
            return None
        return AssistantThread(ThreadContext(row[0], row[1], row[2]), bool(row[3]))

    async def claim_title(self, channel: str, thread_ts: str) -> bool:
        """True once per thread: the caller sets its title."""
        claim = (
            update(assistant_threads)
            .where(
                assistant_threads.c.channel == channel,
                assistant_threads.c.thread_ts == thread_ts,
                assistant_threads.c.titled == 0,
            )
            .values(titled=1)
        )
        return await self._store.run(lambda conn: conn.execute(claim).rowcount == 1)


def _columns(context: ThreadContext) -> dict[str, Any]:
    return {
        "viewing_channel": context.channel_id,
        "viewing_team": context.team_id,
        "viewing_enterprise": context.enterprise_id,
        "updated_at": time.time(),
    }
