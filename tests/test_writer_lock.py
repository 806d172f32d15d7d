"""The SQLite store's writer lock, across real processes: a writer waits for another and goes
on promptly once it is done, gives up after its wait (the front then answers 5xx), and a
process killed while writing leaves the store writable."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.storage import store as store_module
from bot.storage.store import FILE_NAME, Store, StoreUnavailable
from bot.storage.writer_lock import WriterLock, WriterLockTimeout

HOLD = """
import sys, time
from pathlib import Path
from bot.storage.writer_lock import WriterLock
lock = WriterLock(Path(sys.argv[1]))
with lock.held(5.0):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_in_another_process(path: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.slow  # starts a process
def test_a_writer_waits_for_another_process_and_goes_on_once_it_is_done(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    holder = hold_in_another_process(path, 0.3)
    lock = WriterLock(path)
    started = time.monotonic()
    with lock.held(5.0):
        waited = time.monotonic() - started
        assert holder.poll() is not None or holder.wait(1) == 0  # it let go by exiting
    lock.close()
    assert 0.2 < waited < 1.0


@pytest.mark.slow  # starts a process
def test_a_lock_held_past_the_wait_times_out(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    holder = hold_in_another_process(path, 2.0)
    lock = WriterLock(path)
    try:
        with pytest.raises(WriterLockTimeout), lock.held(0.2):
            pass
    finally:
        holder.kill()
        holder.wait()
        lock.close()


@pytest.mark.slow  # starts a process
def test_a_writer_killed_while_holding_it_leaves_it_free(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    holder = hold_in_another_process(path, 60.0)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lock = WriterLock(path)
    with lock.held(0.5):
        pass
    lock.close()


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path / "lock")
    inside: list[int] = []
    overlaps: list[int] = []

    def write(n: int) -> None:
        with lock.held(5.0):
            inside.append(n)
            if len(inside) > 1:
                overlaps.append(n)
            time.sleep(0.01)
            inside.remove(n)

    async def all_at_once() -> None:
        await asyncio.gather(*(asyncio.to_thread(write, n) for n in range(8)))

    asyncio.run(all_at_once())
    lock.close()
    assert overlaps == []


@pytest.mark.slow  # starts a process
async def test_the_store_answers_unavailable_while_another_process_holds_it_too_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await Store.open(tmp_path)
    monkeypatch.setattr(store_module, "WRITE_WAIT_S", 0.2)
    holder = hold_in_another_process(tmp_path / (FILE_NAME + ".lock"), 2.0)
    try:
        with pytest.raises(StoreUnavailable, match="busy"):
            await store.add_question("k1", "{}")
    finally:
        holder.kill()
        holder.wait()
    assert await store.add_question("k1", "{}")  # nothing was added: the retry is kept
    await store.close()
