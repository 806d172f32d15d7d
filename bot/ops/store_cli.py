"""`python -m bot store [--data-dir DIR] [--retry-dead]` (alias: `outbox`): what waits in
the store (`DATABASE_URL`, else `BOT_DATA_DIR`) — questions not answered yet, traces not on
the tracking server yet, feedback not delivered yet — and what was given up on (dead), with
the reasons. `--retry-dead` gives dead traces and feedback a new start (the running bot picks
them up). `python -m bot migrate`: the store's schema brought up to date."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.feedback.outbox import Outbox
from bot.storage.store import FILE_NAME, Store, StoreUnavailable

OUTBOX_FILE = "outbox.sqlite3"


def run(data_dir: Path, *, retry_dead: bool, database_url: str | None = None) -> int:
    if database_url or (data_dir / FILE_NAME).exists():
        asyncio.run(_show_store(data_dir, retry_dead=retry_dead, database_url=database_url))
    else:
        print(f"no store at {data_dir / FILE_NAME}: no question or trace waits")
    outbox_path = data_dir / OUTBOX_FILE
    if not outbox_path.exists():
        print(f"no outbox at {outbox_path}: nothing pending")
        return 0
    outbox = Outbox(outbox_path)
    try:
        if retry_dead:
            print(f"{outbox.retry_dead_now()} dead entries will be retried by the running bot")
        stats = outbox.stats_now()
    finally:
        outbox.close()
    print("feedback outbox:")
    print(f"pending: {stats.pending} (oldest {_age(stats.oldest_pending_age_s)})")
    print(f"dead:    {stats.dead}")
    _reasons(stats.dead_reasons)
    return 0


async def _show_store(data_dir: Path, *, retry_dead: bool, database_url: str | None) -> None:
    store = await Store.open(data_dir, database_url=database_url)
    try:
        if retry_dead:
            print(
                f"{await store.retry_dead_traces()} dead traces will be retried by the running bot"
            )
        questions, traces = await store.question_stats(), await store.trace_stats()
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


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.0f} s"


def _reasons(reasons: dict[str, int]) -> None:
    for reason, count in sorted(reasons.items()):
        print(f"  {count:>6}  {reason}")


def migrate(data_dir: Path, *, database_url: str | None) -> int:
    """`python -m bot migrate`: bring the store's schema up to date (every start does too)."""
    from bot.storage.engine import safe_url

    async def opened() -> None:
        store = await Store.open(data_dir, database_url=database_url)
        await store.close()

    where = safe_url(database_url) if database_url else str(data_dir / FILE_NAME)
    try:
        asyncio.run(opened())
    except StoreUnavailable as error:
        print(f"error: the store at {where} could not be migrated: {error}", file=sys.stderr)
        return 1
    print(f"the store at {where} is up to date")
    return 0
