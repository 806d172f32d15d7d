"""Bringing a database to the store's schema, at every start and by `python -m bot migrate`.

Tables and indexes the schema (bot/storage/schema.py) names and the database lacks are
created (additive changes need nothing more); a change that creating cannot make (a column
altered, data moved) is a numbered step in `STEPS`, applied once, in order, and recorded in
`schema_version`. On PostgreSQL the whole migration runs under a transaction-level advisory
lock: instances that start together wait for the first, then find nothing left to do. On
SQLite the file's one writer at a time does the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    Table,
    func,
    inspect,
    select,
    text,
)

from bot.storage.schema import metadata, traces

log = logging.getLogger(__name__)

# Any constant the bot alone uses: the lock is held while one instance migrates.
ADVISORY_LOCK_KEY = 0x51AC_F00D

_versions = MetaData()
schema_version = Table("schema_version", _versions, Column("version", Integer, primary_key=True))

Step = Callable[[Connection], None]


def _add_column(table: Table, name: str) -> Step:
    """A column the schema has and a table created before it lacks (one created since has
    it already: create_all made it whole)."""

    def step(conn: Connection) -> None:
        if name not in {column["name"] for column in inspect(conn).get_columns(table.name)}:
            kind = table.c[name].type.compile(conn.dialect)
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))

    return step


# (version, what it does, how): append only; never edit a released step.
STEPS: list[tuple[int, str, Step]] = [
    (1, "the store's first tables", lambda conn: None),  # made by create_all
    (2, "traces.claimed_until", _add_column(traces, "claimed_until")),
    (3, "jobs: the queue core's generic durable jobs", lambda conn: None),  # made by create_all
]


def migrate(engine: Engine) -> list[int]:
    """Apply what is missing; the versions applied now (empty if none)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        metadata.create_all(conn)
        _versions.create_all(conn)
        current = conn.execute(select(func.max(schema_version.c.version))).scalar() or 0
        applied = []
        for version, what, step in STEPS:
            if version > current:
                step(conn)
                conn.execute(schema_version.insert().values(version=version))
                log.info("store schema: applied %d (%s)", version, what)
                applied.append(version)
        return applied
