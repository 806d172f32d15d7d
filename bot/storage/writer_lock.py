"""One transaction at a time on the SQLite store file, across the bot's processes.

SQLite lets one writer in at a time; a connection that finds the file locked sleeps in its
busy handler, 1, 2, 5, 10… ms, before it looks again. The front's commit before an ack and
the worker's bookkeeping after an answer meet there all the time (bench/notes.md): each such
meeting cost the front 1–3 ms of sleep after the lock was already free. Taking this lock
first, every process (front, worker, `python -m bot store`) queues on an advisory file lock
instead, and looks again after `FIRST_POLL_S`, then twice as long each time up to
`LAST_POLL_S`: a waiter behind one commit goes on a fraction of a millisecond after it, and
one behind a queue of them (a burst) does not wake the process thousands of times a second
(each wake takes the GIL from the event loop: polling every 0.1 ms throughout cut the front's
throughput of rating submissions at 200/s by a fifth, bench/notes.md). A process that dies
holding it releases it with its file descriptor. One thread of a process waits on the file
at a time; the others wait on a thread lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

FIRST_POLL_S = 0.0001
LAST_POLL_S = 0.002


class WriterLockTimeout(Exception):
    """The store file stayed locked by another transaction for the whole wait."""


class WriterLock:
    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._threads = threading.Lock()  # the file lock is per process, not per thread

    @contextlib.contextmanager
    def held(self, wait_s: float) -> Iterator[None]:
        deadline = time.monotonic() + wait_s
        if not self._threads.acquire(timeout=wait_s):
            raise WriterLockTimeout(f"the store stayed busy for {wait_s} s (in this process)")
        try:
            poll_s = FIRST_POLL_S
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise WriterLockTimeout(
                            f"the store stayed busy for {wait_s} s (another process)"
                        ) from None
                    time.sleep(poll_s)
                    poll_s = min(poll_s * 2, LAST_POLL_S)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        os.close(self._fd)
