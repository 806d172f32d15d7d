"""Past the front's capacity (fast layer): the front handles a bounded number of requests at
once and the rest wait their turn, and on SQLite the transactions that wait while one commits
are committed together (one fsync), each as if it ran alone (bench/notes.md, "past the
table")."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import event

from bot.answering.incoming import IncomingMessage
from bot.runtime.http_front import HANDLED_AT_ONCE, SlackHttpServer, listening_site
from bot.storage import store as store_module
from bot.storage.store import FILE_NAME, Store
from bot.storage.writer_lock import WriterLock
from devkit.ports import free_port
from devkit.slack_payloads import Workspace, dm, event_envelope

SECRET = "turns-secret"


class HeldApp:
    """A Bolt app stand-in whose dispatch waits at a gate: how many are inside at once."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.inside = 0
        self.most_inside = 0
        self.handled = 0

    async def async_dispatch(self, request: Any) -> BoltResponse:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        await self.gate.wait()
        self.inside -= 1
        self.handled += 1
        return BoltResponse(status=200, body="")


async def test_the_front_handles_a_bounded_number_of_requests_at_once() -> None:
    app = HeldApp()
    # The front as the bot runs it (aiohttp's test server cancels a handler whose client left).
    runner = web.AppRunner(SlackHttpServer(app, SECRET).web_app())  # type: ignore[arg-type]
    await runner.setup()
    port = free_port()
    await listening_site(runner, "127.0.0.1", port).start()
    verifier = SignatureVerifier(SECRET)
    many = HANDLED_AT_ONCE + 16

    async def post(http: aiohttp.ClientSession, i: int) -> int:
        body = json.dumps(event_envelope(Workspace(), dm("U1", "D1", f"q{i}"), f"Ev{i}")).encode()
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body),
        }
        url = f"http://127.0.0.1:{port}/slack/events"
        async with http.post(url, data=body, headers=headers) as r:
            return r.status

    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            sent = [asyncio.create_task(post(http, i)) for i in range(many)]
            for _ in range(500):  # until the front has taken all it may (bounded: 5 s)
                if app.inside >= HANDLED_AT_ONCE:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # the others arrived meanwhile, and wait
            assert app.inside == HANDLED_AT_ONCE
            # One whose sender stops waiting for its turn (Slack's 3 s) is still handled.
            async with aiohttp.ClientSession() as impatient:
                gone = asyncio.create_task(post(impatient, many))
                await asyncio.sleep(0.2)
                gone.cancel()
            app.gate.set()
            assert await asyncio.gather(*sent) == [200] * many
        for _ in range(500):
            if app.handled == many + 1:
                break
            await asyncio.sleep(0.01)
        assert app.handled == many + 1
        assert app.most_inside == HANDLED_AT_ONCE
    finally:
        await runner.cleanup()


def question(ts: str) -> str:
    return IncomingMessage("hi", "U1", "T1", "D1", "im", ts, None, "UBOT").to_json()


async def _while_one_commits(store: Store, then: Any) -> tuple[Any, int]:
    """`then()` started while another transaction is in hand; its outcome and the number of
    commits made for all of it."""
    commits: list[int] = []
    event.listen(store._engine, "commit", lambda _: commits.append(1))
    started, release = threading.Event(), threading.Event()

    def holding(_: Any) -> None:
        started.set()
        release.wait(5)

    first = asyncio.create_task(store.run(holding))
    await asyncio.to_thread(started.wait, 5)
    waiting = asyncio.ensure_future(then())
    await asyncio.sleep(0.05)  # they are all queued behind the first
    release.set()
    await first
    return await waiting, len(commits)


async def test_transactions_waiting_for_a_commit_are_committed_together(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:

        async def twenty() -> list[bool]:
            keys = [f"k{i}" for i in range(20)] + ["k0"]  # the last one a retry
            return list(await asyncio.gather(*(store.add_question(k, question(k)) for k in keys)))

        added, commits = await _while_one_commits(store, twenty)
        assert added == [True] * 20 + [False]  # as if one after the other
        assert commits == 2  # the first, then all that waited for it
        assert (await store.question_stats()).pending == 20
    finally:
        await store.close()


async def test_a_failing_transaction_among_them_fails_alone(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:

        def broken(_: Any) -> None:
            raise ValueError("this one only")

        async def mixed() -> list[Any]:
            calls = [store.add_question(f"k{i}", question(f"k{i}")) for i in range(5)]
            calls.insert(2, store.run(broken))
            return list(await asyncio.gather(*calls, return_exceptions=True))

        outcomes, _ = await _while_one_commits(store, mixed)
        assert [type(o).__name__ for o in outcomes] == ["bool"] * 2 + ["ValueError"] + ["bool"] * 3
        assert [o for o in outcomes if isinstance(o, bool)] == [True] * 5
        assert (await store.question_stats()).pending == 5
    finally:
        await store.close()


async def test_a_store_busy_for_the_whole_wait_fails_the_waiting_group_at_once(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Another process holds the store (a worker stopped inside a transaction): the group
    waiting behind the front's commit is told so after one wait, not one wait per work."""
    monkeypatch.setattr(store_module, "WRITE_WAIT_S", 0.2)
    store = await Store.open(tmp_path)
    other_process = WriterLock(tmp_path / (FILE_NAME + ".lock"))
    assert store._writer_lock is not None
    waits: list[float] = []
    held = store._writer_lock.held

    def counted(wait_s: float) -> Any:
        waits.append(wait_s)
        return held(wait_s)

    monkeypatch.setattr(store._writer_lock, "held", counted)
    try:
        with other_process.held(1):
            calls = [store.add_question(f"k{i}", question(f"k{i}")) for i in range(10)]
            outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert [type(o).__name__ for o in outcomes] == ["StoreUnavailable"] * 10
        assert waits == [0.2]  # one wait for the group, not one more for each of its works
        assert (await store.question_stats()).pending == 0
    finally:
        other_process.close()
        await store.close()
