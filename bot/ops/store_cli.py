"""`python -m bot store [--data-dir DIR] [--retry-dead]` (alias: `outbox`): what waits in
the store (`DATABASE_URL`, else `BOT_DATA_DIR`) — questions not answered yet, traces not on
the tracking server yet, feedback not delivered yet, durable jobs not done yet — and what
was given up on (dead), with the reasons. `--retry-dead` gives dead traces, feedback and jobs a
new start (the running bot picks them up). `python -m bot migrate`: the store's schema brought
up to date."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.feedback.outbox import Outbox
from bot.storage.jobs import JobQueue
from bot.storage.store import FILE_NAME, OLD_FILES, Store, StoreUnavailable
from config import StoreSettings


def where(settings: StoreSettings) -> str:
    """The store, as a person looks for it: the SQLite file's absolute path, or the database's
    host, port and name (no user, no password)."""
    if settings.store_url is None:
        return str((settings.bot_data_dir / FILE_NAME).absolute())
    return make_url(settings.store_url)._replace(username=None, password=None).render_as_string()


def run(settings: StoreSettings, *, retry_dead: bool) -> int:
    """What waits in the store; 1 if there is none where the settings say, or it cannot be
    opened."""
    data_dir = settings.bot_data_dir
    if settings.store_url is None and not any(
        (data_dir / name).exists() for name in (FILE_NAME, *OLD_FILES)
    ):
        print(f"error: no store at {where(settings)} (BOT_DATA_DIR)", file=sys.stderr)
        return 1
    try:
        asyncio.run(_show(data_dir, retry_dead=retry_dead, database_url=settings.store_url))
    except StoreUnavailable as error:
        print(f"error: the store at {where(settings)} could not be read: {error}", file=sys.stderr)
        return 1
    return 0


async def _show(data_dir: Path, *, retry_dead: bool, database_url: str | None) -> None:
    store = await Store.open(data_dir, database_url=database_url)
    outbox, jobs = Outbox(store), JobQueue(store)
    try:
        if retry_dead:
            print(
                f"{await store.retry_dead_traces()} dead traces will be retried by the running bot"
            )
            print(f"{await outbox.retry_dead()} dead entries will be retried by the running bot")
            print(f"{await jobs.retry_dead()} dead jobs will be retried by the running bot")
        questions, traces = await store.question_stats(), await store.trace_stats()
        feedback, waiting_jobs = await outbox.stats(), await jobs.backlog()
    finally:
        await store.close()
    print(
        f"questions: {questions.pending} pending, {questions.in_progress} in progress "
        f"(oldest {_age(questions.oldest_age_s)})"
    )
    print(
        f"traces:    {traces.waiting} waiting (oldest {_age(traces.oldest_age_s)}), "
        f"{traces.dead} dead"
    )
    _reasons(traces.dead_reasons)
    print("feedback outbox:")
    print(f"pending: {feedback.pending} (oldest {_age(feedback.oldest_pending_age_s)})")
    print(f"dead:    {feedback.dead}")
    _reasons(feedback.dead_reasons)
    print(
        f"jobs:      {waiting_jobs.waiting} waiting (oldest {_age(waiting_jobs.oldest_age_s())}), "
        f"{waiting_jobs.dead} dead"
    )
    _reasons(waiting_jobs.dead_reasons)


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.0f} s"


def _reasons(reasons: dict[str, int]) -> None:
    for reason, count in sorted(reasons.items()):
        print(f"  {count:>6}  {reason}")


def migrate(settings: StoreSettings) -> int:
    """`python -m bot migrate`: bring the store's schema up to date (every start does too)."""

    async def opened() -> None:
        store = await Store.open(settings.bot_data_dir, database_url=settings.store_url)
        await store.close()

    try:
        asyncio.run(opened())
    except StoreUnavailable as error:
        print(
            f"error: the store at {where(settings)} could not be migrated: {error}",
            file=sys.stderr,
        )
        return 1
    print(f"the store at {where(settings)} is up to date")
    return 0
