"""The store's tables (SQLAlchemy Core): one schema for every backend (SQLite now; PostgreSQL
later, with the same tables and queries: bench/notes.md)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()


def _tried_until_done() -> list[Column]:
    """The columns of a queue whose entries are tried until done, or given up (dead) with the
    reason: the queue core (bot/storage/queue.py, `QueueTable`) reads and writes them."""
    return [
        Column("created_at", Float, nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", Float, nullable=False),
        Column("last_error", Text),
        Column("dead_reason", Text),
    ]


def _leased() -> list[Column]:
    """Who holds a row of a queue (`lease_owner`) and until when (`lease_until`); NULL or
    past: any consumer may take it (the queue core's claim, renew and release)."""
    return [Column("lease_owner", String(128)), Column("lease_until", Float)]


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
    *_leased(),
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
    *_tried_until_done(),
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

# The feedback outbox (queries: bot/feedback/outbox.py). `feedback_outbox`: what still has to
# reach MLflow, one row per (trace, user, assessment name); a newer intent for the same key
# replaces the older one's value (the latest intent wins) and bumps `version`, so that the
# delivery of an older value never marks the newer one done. `lease_owner`/`lease_until`: the
# deliverer sending it, and until when its claim holds (NULL or past: any deliverer may take
# it). `dead_reason`: given up on (the trace never appeared, or the server refused), kept.
feedback_outbox = Table(
    "feedback_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("trace_id", String(64), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("name", String(64), nullable=False),
    Column("value_json", Text, nullable=False),
    Column("rationale", Text),
    Column("metadata_json", Text, nullable=False),
    Column("intent_id", String(32), nullable=False),
    Column("version", Integer, nullable=False, default=1),
    *_tried_until_done(),
    *_leased(),
    UniqueConstraint("trace_id", "user_id", "name"),
)
Index("feedback_outbox_due", feedback_outbox.c.dead_reason, feedback_outbox.c.next_attempt_at)

# The latest intent per (trace, user, assessment name), delivered or not: pre-fills the rating
# modal, and lets a repeated identical vote change nothing.
feedback_latest = Table(
    "feedback_latest",
    metadata,
    Column("trace_id", String(64), primary_key=True),
    Column("user_id", String(32), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("value_json", Text, nullable=False),
    Column("rationale", Text),
    Column("origin", String(32)),
    Column("updated_at", Float, nullable=False),
)
# How many answers a user has rated (the Home tab): one user's rows, not the whole table.
Index("feedback_latest_by_user", feedback_latest.c.user_id)

# The assistant panel's threads (queries: bot/storage/assistant_threads.py): the channel each
# user is viewing (Slack's thread context), and whether the thread has its title yet (0/1).
assistant_threads = Table(
    "assistant_threads",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("thread_ts", String(32), primary_key=True),
    Column("viewing_channel", String(32)),
    Column("viewing_team", String(32)),
    Column("viewing_enterprise", String(32)),
    Column("titled", Integer, nullable=False, default=0),
    Column("updated_at", Float, nullable=False),
)

# Durable jobs of any kind (the queue core's generic queue, bot/storage/jobs.py): work that
# must happen once its cause is committed, through outages and restarts (a dataset add, a
# digest post, an alert check). One row per (kind, key): adding the same key again leaves it
# be (or, asked to, replaces its payload and bumps `version`, so a try of the older payload
# never marks the newer one done). `payload_json`: what the kind's handler needs. A done job
# stays (`done_at`) until forgotten, so that its key is not done twice.
jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    *_tried_until_done(),
    *_leased(),
    Column("done_at", Float),
    UniqueConstraint("kind", "key"),
)
Index("jobs_due", jobs.c.done_at, jobs.c.dead_reason, jobs.c.next_attempt_at)

# What the bot posts in channels on its own (queries: bot/storage/broadcasts.py), one row per
# post or check, claimed before it is made so that, however many instances run, it is made
# once: `key` names it (`digest:<period>`, `alert-check`); `state` is `claimed` while an
# instance holds it (`owner` until `claimed_until`; after a failure, `claimed_until` is when
# it may be tried again), then `posted` (with `message_ts`), `skipped` or `failed` for good.
broadcasts = Table(
    "broadcasts",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("channel", String(32)),
    Column("message_ts", String(32)),
    Column("owner", String(128)),
    Column("claimed_until", Float),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float),
)
Index("broadcasts_kind", broadcasts.c.kind, broadcasts.c.finished_at)

# The alerts' incidents, one row per scope (`rate:all`, `rate:<channel>`, `ops:backlog`): the
# open one's message (`channel`, `message_ts`, updated in place while it lasts) and the
# figures it shows; `incident_key` (scope and opening time) is in the message's metadata, so
# a post whose `message_ts` was never recorded (a crash between the two) is found, not
# repeated. A closed incident stays until the next one of its scope replaces it.
alert_incidents = Table(
    "alert_incidents",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("incident_key", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("message_ts", String(32)),
    Column("figures_json", Text, nullable=False),
    Column("opened_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("closed_at", Float),
)
