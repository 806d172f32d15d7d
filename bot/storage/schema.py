"""The store's tables (SQLAlchemy Core): one schema for every backend (SQLite now; PostgreSQL
later, with the same tables and queries: bench/notes.md)."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

# Questions the front has acked and no worker has answered yet. A row leaves when its answer
# (or apology) is posted. `lease_owner`/`lease_until`: the worker answering it, and until when
# its claim holds; NULL or past: any worker may take it. `reply_ts`: a stream an earlier
# attempt began, which the next attempt finishes before it answers.
questions = Table(
    "questions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("message_json", Text, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(128)),
    Column("lease_until", Float),
    Column("reply_ts", String(32)),
)
Index("questions_lease", questions.c.lease_until)

# Slack event keys already taken (a retry, or the message and app_mention events of one
# message, carry the same key); kept for a while, then forgotten.
seen_events = Table(
    "seen_events",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("seen_at", Float, nullable=False),
)
Index("seen_events_age", seen_events.c.seen_at)

# Finished traces waiting for the tracking server: each the whole trace (info and spans) as
# MLflow's JSON, kept from the moment its root span ends until the server has it whole.
# `dead_reason`: refused for good (or unreachable for the whole retry window), kept.
# `claimed_until`: a sender has it in hand until then (no other instance sends it meanwhile).
traces = Table(
    "traces",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("trace_id", String(64), nullable=False, unique=True),
    Column("trace_json", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("last_error", Text),
    Column("dead_reason", Text),
    Column("claimed_until", Float),
)
Index("traces_due", traces.c.dead_reason, traces.c.next_attempt_at)

# Which Slack messages are this bot's answers, and which trace each carries (lets a reaction
# find its trace without asking Slack); the threads the bot takes part in (it follows up
# there). An index, not the record: each answer also carries its trace ID in its metadata.
answers = Table(
    "answers",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("message_ts", String(32), primary_key=True),
    Column("thread_ts", String(32), nullable=False),
    Column("trace_id", String(64), nullable=False),
    Column("posted_at", Float, nullable=False),
)
threads = Table(
    "threads",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("thread_ts", String(32), primary_key=True),
    Column("joined_at", Float, nullable=False),
)
