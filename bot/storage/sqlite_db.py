"""A SQLite database used from async code: every statement runs on one dedicated thread."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class SerialDatabase:
    """One connection, one thread: safe, ordered, and off the event loop.

    WAL with `synchronous=FULL` (the default): a committed write survives a crash or power
    loss. `durable=False` takes `synchronous=NORMAL`: a committed write survives the process
    crashing, but the last ones may be lost with the machine's power (no fsync per commit).
    `checkpoints=False` leaves copying the WAL into the database to another connection (or
    to the last one to close), so no commit of this one pays for it.
    """

    def __init__(
        self, path: Path, schema: str, *, durable: bool = True, checkpoints: bool = True
    ) -> None:
        self.path = path
        self._synchronous = "FULL" if durable else "NORMAL"
        self._checkpoints = checkpoints
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sqlite-{path.stem}")
        self._conn: sqlite3.Connection | None = None
        self._executor.submit(self._open, schema).result()

    def _open(self, schema: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA busy_timeout=5000")
        if not self._checkpoints:
            conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.executescript(schema)
        self._conn = conn

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work(connection)` on the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, work)

    def run_sync(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """The same, from synchronous code (CLI, shutdown)."""
        return self._executor.submit(self._call, work).result()

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        assert self._conn is not None, "database is closed"
        return work(self._conn)

    def close(self) -> None:
        def _close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        self._executor.submit(_close).result()
        self._executor.shutdown(wait=True)
