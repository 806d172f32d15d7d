"""The store of work in flight (bot/storage/store.py) on both backends, a real SQLite file and
a real PostgreSQL, and the pipe's typed messages: questions are kept once, claimed with
leases, taken again when a lease is released or runs out; a store another writer holds
refuses in time instead of hanging; migrations run once however many instances start; the
files of earlier versions are imported once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, text

from bot.answering.incoming import IncomingMessage
from bot.feedback.intent import FeedbackIntent
from bot.feedback.outbox import Outbox
from bot.runtime.pipe import Counters, Ready, Stop, Wake, decode, encode
from bot.storage.assistant_threads import AssistantThread, AssistantThreadStore, ThreadContext
from bot.storage.engine import driver_url
from bot.storage.migrations import STEPS
from bot.storage.store import FILE_NAME, WRITE_WAIT_S, PostedAnswerEntry, Store, StoreUnavailable
from devkit.ports import free_port


@pytest.fixture
async def store(tmp_path: Path, backend_url: str | None):
    opened = await Store.open(tmp_path, database_url=backend_url)
    yield opened
    await opened.close()


def schema_versions(url: str) -> list[int]:
    """The migration steps recorded in the database at `url` (SQLAlchemy's form)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version FROM schema_version ORDER BY 1")).scalars()
        recorded = list(versions)
    engine.dispose()
    return recorded


def message(ts: str) -> IncomingMessage:
    return IncomingMessage("hi", "U1", "T1", "D1", "im", ts, None, "UBOT")


async def test_a_question_is_kept_once_per_event_key(store: Store) -> None:
    first = message("1.000001")
    assert await store.add_question(first.key, first.to_json())
    assert not await store.add_question(first.key, first.to_json())  # a retry
    second = message("1.000002")
    assert await store.add_question(second.key, second.to_json())
    stats = await store.question_stats()
    assert (stats.pending, stats.in_progress) == (2, 0)

    taken = await store.take_questions("w1", lease_s=60, limit=10)
    assert [IncomingMessage.from_json(q.message_json) for q in taken] == [first, second]
    assert [q.attempts for q in taken] == [1, 1]
    assert await store.take_questions("w2", lease_s=60, limit=10) == []  # held
    stats = await store.question_stats()
    assert (stats.pending, stats.in_progress) == (0, 2)

    answer = PostedAnswerEntry("C1", "1.000009", "1.000001", "tr-first")
    await store.question_done(taken[0].id, answer)  # and its answer indexed, at once
    assert await store.answer_at("C1", "1.000009") == ("tr-first", "1.000001")
    assert not await store.add_question(first.key, first.to_json())  # answered: still seen
    assert (await store.question_stats()).in_progress == 1


async def test_a_released_or_expired_lease_lets_another_worker_take_it(store: Store) -> None:
    for ts in ("2.1", "2.2", "2.3"):
        await store.add_question(message(ts).key, message(ts).to_json())
    held_by_dead = await store.take_questions("dead", lease_s=60, limit=2)
    await store.note_reply(held_by_dead[0].id, "99.5")
    assert await store.release_questions("someone-else") == 0
    assert await store.release_questions("dead") == 2

    retaken = await store.take_questions("w2", lease_s=0.2, limit=10)
    assert [q.attempts for q in retaken] == [2, 2, 1]
    assert retaken[0].reply_ts == "99.5"  # the stream the dead worker began
    await asyncio.sleep(0.3)  # w2's leases run out
    assert len(await store.take_questions("w3", lease_s=60, limit=10)) == 3


async def test_an_extended_lease_holds(store: Store) -> None:
    await store.add_question("k", message("3.1").to_json())
    (taken,) = await store.take_questions("w1", lease_s=0.3, limit=1)
    await asyncio.sleep(0.2)
    await store.extend_leases("w1", [taken.id], lease_s=60)
    await asyncio.sleep(0.2)
    assert await store.take_questions("w2", lease_s=60, limit=1) == []


async def test_a_store_held_by_another_writer_refuses_in_time(
    store: Store, tmp_path: Path, backend_url: str | None
) -> None:
    if backend_url is None:
        holder: Any = sqlite3.connect(tmp_path / FILE_NAME, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        refusal = "locked"
    else:
        holder = psycopg.connect(backend_url)
        holder.execute("LOCK TABLE seen_events IN ACCESS EXCLUSIVE MODE")
        refusal = "lock timeout"
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(StoreUnavailable, match=refusal):
            await store.add_question("k", message("4.1").to_json())
        assert asyncio.get_running_loop().time() - started < WRITE_WAIT_S + 1.0
    finally:
        holder.rollback()
        holder.close()
    assert await store.add_question("k", message("4.1").to_json())  # nothing half-kept


async def test_instances_starting_together_migrate_once(database_url: str) -> None:
    """Five instances open one new PostgreSQL database at once: one creates the schema under
    the advisory lock, the others find it done; all of them work."""
    opened = await asyncio.gather(
        *(Store.open(Path("unused"), database_url=database_url) for _ in range(5))
    )
    try:
        assert schema_versions(driver_url(database_url)) == [step[0] for step in STEPS]
        assert await opened[0].add_question("k", message("6.1").to_json())
        assert not await opened[4].add_question("k", message("6.1").to_json())
    finally:
        for each in opened:
            await each.close()


async def test_two_instances_never_take_the_same_question(database_url: str) -> None:
    """Workers of two instances claim at once from one queue (FOR UPDATE SKIP LOCKED): each
    question goes to exactly one of them."""
    one = await Store.open(Path("unused"), database_url=database_url)
    two = await Store.open(Path("unused"), database_url=database_url)
    try:
        for n in range(40):
            await one.add_question(f"k{n}", message(f"7.{n}").to_json())
        takes = await asyncio.gather(
            *(
                store.take_questions(f"w{i}", lease_s=60, limit=3)
                for i in range(10)
                for store in (one, two)
            )
        )
        ids = [q.id for taken in takes for q in taken]
        assert len(ids) == len(set(ids)) == 40
    finally:
        await one.close()
        await two.close()


def test_pipe_messages_round_trip_and_refuse_garbage() -> None:
    for sent in (Wake("questions"), Wake("feedback"), Stop(), Ready(), Counters({"a": 1})):
        assert decode(encode(sent)) == sent
    for garbage in (b"[]", b'{"kind": "Wake"}', b'{"kind": "Wake", "topic": "x"}', b'{"x": 1}'):
        with pytest.raises(ValueError):
            decode(garbage)


async def test_a_message_with_a_lone_surrogate_is_kept_as_it_came(store: Store) -> None:
    """Valid JSON from Slack (`"\\ud800"`) but not valid UTF-8: refusing it would make Slack
    retry it for ever."""
    odd = IncomingMessage("half a pair: \ud800", "U1", "T1", "D1", "im", "5.1", None, "UBOT")
    assert await store.add_question(odd.key, odd.to_json())
    (taken,) = await store.take_questions("w1", lease_s=60, limit=1)
    assert IncomingMessage.from_json(taken.message_json) == odd


async def test_the_answer_index_of_an_earlier_version_is_imported_once(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "answers.sqlite3")
    old.executescript(
        "CREATE TABLE answers (channel TEXT, message_ts TEXT, thread_ts TEXT, trace_id TEXT,"
        " posted_at REAL, PRIMARY KEY (channel, message_ts));"
        "CREATE TABLE threads (channel TEXT, thread_ts TEXT, joined_at REAL,"
        " PRIMARY KEY (channel, thread_ts));"
        "INSERT INTO answers VALUES ('C1', '10.1', '10.0', 'tr-old', 1.0);"
        "INSERT INTO threads VALUES ('C1', '10.0', 1.0);"
    )
    old.commit()
    old.close()
    store = await Store.open(tmp_path)
    try:
        assert await store.answer_at("C1", "10.1") == ("tr-old", "10.0")
        assert await store.in_thread("C1", "10.0")
        assert not await store.in_thread("C1", "11.0")
        await store.record_answer(
            PostedAnswerEntry("C1", "10.1", "10.0", "tr-new")
        )  # the latest wins
        assert await store.answer_at("C1", "10.1") == ("tr-new", "10.0")
        await store.join_thread("C1", "10.0")  # again: no error
    finally:
        await store.close()
    assert not (tmp_path / "answers.sqlite3").exists()
    assert (tmp_path / "answers.sqlite3.imported").exists()


async def test_a_waiting_trace_is_in_one_senders_hands_at_a_time(
    store: Store, tmp_path: Path, backend_url: str | None
) -> None:
    """Senders of two instances claim due traces at once: each trace goes to one of them; one
    sent back for a retry, or every one when the server is back, can be claimed again."""
    other = await Store.open(tmp_path, database_url=backend_url)
    try:
        for n in range(30):
            await asyncio.to_thread(store.keep_trace, f"tr-{n}", "{}")
        claims = await asyncio.gather(
            *(each.due_traces(4, ignore_backoff=True) for _ in range(6) for each in (store, other))
        )
        ids = [t.id for claim in claims for t in claim]
        assert len(ids) == len(set(ids)) == 30
        assert await other.due_traces(30, ignore_backoff=True) == []  # all in hand
        assert await store.next_trace_due_in() == 0.0  # still waiting: none was sent

        first = min(ids)
        await store.retry_trace(first, "unavailable", delay_s=0)
        assert [t.id for t in await other.due_traces(30)] == [first]
        await store.traces_due_now()  # the server is back: the probe's claims are let go
        assert len(await other.due_traces(30)) == 30
    finally:
        await other.close()


async def test_a_store_made_before_a_migration_is_brought_up_to_date(
    store: Store, tmp_path: Path, backend_url: str | None
) -> None:
    """A database at schema version 1 (traces without `claimed_until`) gets the column at the
    next start, and works."""
    url = f"sqlite:///{tmp_path / FILE_NAME}" if backend_url is None else driver_url(backend_url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE traces DROP COLUMN claimed_until"))
        conn.execute(text("DELETE FROM schema_version WHERE version > 1"))
    engine.dispose()

    reopened = await Store.open(tmp_path, database_url=backend_url)
    try:
        await asyncio.to_thread(reopened.keep_trace, "tr-old", "{}")
        assert [t.trace_id for t in await reopened.due_traces(5)] == ["tr-old"]
    finally:
        await reopened.close()
    assert schema_versions(url) == [step[0] for step in STEPS]


def test_migrate_and_store_commands_work_on_postgresql(database_url: str, tmp_path: Path) -> None:
    """`python -m bot migrate` brings a new database up to date (again: nothing to do);
    `python -m bot store` reads it; a DATABASE_URL that is not PostgreSQL's is refused. The
    database URL comes from `.env` in the working directory, as README suggests."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BOT_DATA_DIR")}
    (tmp_path / ".env").write_text(f"DATABASE_URL={database_url}\n")

    def bot(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=tmp_path,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    for _ in range(2):
        migrated = bot("migrate")
        assert migrated.returncode == 0, migrated.stderr
        assert "is up to date" in migrated.stdout and "//127.0.0.1:" in migrated.stdout
    assert schema_versions(driver_url(database_url)) == [step[0] for step in STEPS]
    shown = bot("store")
    assert shown.returncode == 0, shown.stderr
    assert "questions: 0 pending, 0 in progress" in shown.stdout
    assert not (tmp_path / "data").exists()  # nothing fell back to SQLite
    unreachable = bot("migrate", DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    assert unreachable.returncode == 1
    assert "could not be migrated: OperationalError: connection failed" in unreachable.stderr
    refused = bot("worker", DATABASE_URL="mysql://nope/db")
    assert refused.returncode == 2
    assert "DATABASE_URL is invalid (not a postgresql:// or postgres:// URL)" in refused.stderr


# The outbox's own file before the store (bot/feedback/outbox.py of earlier versions).
OLD_OUTBOX = """
CREATE TABLE pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT, trace_id TEXT NOT NULL, user_id TEXT NOT NULL,
    name TEXT NOT NULL, value_json TEXT NOT NULL, rationale TEXT, metadata_json TEXT NOT NULL,
    intent_id TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1, created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL, last_error TEXT,
    dead_reason TEXT, UNIQUE (trace_id, user_id, name));
CREATE TABLE latest (
    trace_id TEXT NOT NULL, user_id TEXT NOT NULL, name TEXT NOT NULL, value_json TEXT NOT NULL,
    rationale TEXT, origin TEXT, updated_at REAL NOT NULL, PRIMARY KEY (trace_id, user_id, name));
INSERT INTO pending VALUES (7, 'tr-a', 'U1', 'user_feedback', 'false', NULL,
    '{"origin": "button"}', 'intent-a', 2, 100.0, 3, 101.0, 'unavailable: down', NULL);
INSERT INTO pending VALUES (9, 'tr-b', 'U2', 'user_feedback', 'true', NULL, '{}', 'intent-b',
    1, 100.0, 5, 101.0, 'trace not found', 'trace not found');
INSERT INTO latest VALUES ('tr-a', 'U1', 'user_feedback', 'false', NULL, 'button', 100.0);
INSERT INTO latest VALUES ('tr-b', 'U2', 'user_feedback', 'true', NULL, 'button', 100.0);
INSERT INTO latest VALUES ('tr-c', 'U3', 'user_accuracy', '0.8', 'ok', 'modal', 90.0);
"""
OLD_ASSISTANT_THREADS = """
CREATE TABLE assistant_threads (
    channel TEXT NOT NULL, thread_ts TEXT NOT NULL, viewing_channel TEXT, viewing_team TEXT,
    viewing_enterprise TEXT, titled INTEGER NOT NULL DEFAULT 0, updated_at REAL NOT NULL,
    PRIMARY KEY (channel, thread_ts));
INSERT INTO assistant_threads VALUES ('D1', '5.0', 'C9', 'T1', NULL, 1, 100.0);
"""


def old_file(path: Path, script: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as old:
        old.execute("PRAGMA journal_mode=WAL")  # as the earlier versions kept them
        old.executescript(script)
        old.commit()


async def test_the_outbox_and_assistant_threads_of_an_earlier_version_are_imported_once(
    tmp_path: Path, backend_url: str | None
) -> None:
    old_file(tmp_path / "outbox.sqlite3", OLD_OUTBOX)
    old_file(tmp_path / "assistant_threads.sqlite3", OLD_ASSISTANT_THREADS)
    store = await Store.open(tmp_path, database_url=backend_url)
    outbox = Outbox(store)
    try:
        stats = await outbox.stats()
        assert (stats.pending, stats.dead, stats.dead_reasons) == (1, 1, {"trace not found": 1})
        (entry,) = await outbox.claim_due("w", 60, 10)  # delivered as the old bot would have
        assert (entry.intent.trace_id, entry.intent.value, entry.intent.intent_id) == (
            "tr-a",
            False,
            "intent-a",
        )
        assert (entry.version, entry.attempts, entry.created_at) == (2, 3, 100.0)
        assert entry.intent.metadata == {"origin": "button"}
        rating = (await outbox.latest("tr-c", "U3"))["user_accuracy"]
        assert (rating.value, rating.rationale, rating.origin) == (0.8, "ok", "modal")
        # A newer vote coalesces with the imported one, as it would have in the old file.
        await outbox.submit([FeedbackIntent("tr-a", "U1", "user_feedback", True)])
        assert not await outbox.delivered(entry, "w")
        (newer,) = await outbox.claim_due("w", 60, 10)
        assert (newer.id, newer.version, newer.intent.value) == (entry.id, 3, True)

        thread = await AssistantThreadStore(store).find("D1", "5.0")
        assert thread == AssistantThread(ThreadContext("C9", "T1", None), titled=True)
        assert not await AssistantThreadStore(store).claim_title("D1", "5.0")
    finally:
        await store.close()
    for name in ("outbox.sqlite3", "assistant_threads.sqlite3"):
        assert not (tmp_path / name).exists()
        assert (tmp_path / f"{name}.imported").exists()

    again = await Store.open(tmp_path, database_url=backend_url)  # nothing is imported twice
    try:
        stats = await Outbox(again).stats()
        assert (stats.pending, stats.dead) == (1, 1)
    finally:
        await again.close()


async def test_an_old_file_that_cannot_be_read_is_left_in_place(tmp_path: Path) -> None:
    (tmp_path / "outbox.sqlite3").write_bytes(b"not a database" * 100)
    store = await Store.open(tmp_path)  # the bot starts all the same
    try:
        assert (await Outbox(store).stats()).pending == 0
    finally:
        await store.close()
    assert (tmp_path / "outbox.sqlite3").exists()


# Run in a fresh interpreter: the modules of both processes, a SQLite store, an upsert through
# the dialect's own INSERT (the assistant panel's), then what was loaded.
SQLITE_ONLY = """
import asyncio, sys
from pathlib import Path

import bot.runtime.service, bot.runtime.worker
from bot.storage.assistant_threads import AssistantThreadStore, ThreadContext
from bot.storage.store import Store

async def main() -> None:
    store = await Store.open(Path(sys.argv[1]))
    threads = AssistantThreadStore(store)
    assert await threads.start("D1", "1.0", ThreadContext("C1"))
    assert not await threads.start("D1", "1.0", ThreadContext("C1"))
    await store.close()

asyncio.run(main())
print(sorted(name for name in sys.modules if name.startswith("sqlalchemy.dialects.postgresql")))
"""


@pytest.mark.slow  # a fresh interpreter: this one's modules are the tests'
def test_a_sqlite_store_loads_no_postgresql_dialect(tmp_path: Path) -> None:
    """PostgreSQL's dialect package (~2 MB of each process's idle memory, bench/notes.md) is
    loaded only with a PostgreSQL engine: not by the front's or the worker's modules, nor by an
    upsert on SQLite."""
    run = subprocess.run(
        [sys.executable, "-c", SQLITE_ONLY, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
