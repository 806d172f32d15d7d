"""The trace deliverer's order of work, on a real store with a stand-in sender: answers first
(a round of sends waits for a gap between answers, bounded by the oldest trace's age), then
one delete for the traces a round sent."""

from __future__ import annotations

import asyncio
import time
from typing import cast

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos import databricks_pb2

from bot.answering import trace_delivery
from bot.answering.trace_delivery import TraceDeliverer
from bot.storage.store import Store
from bot.tracing.durable_export import TraceSender
from bot.tracing.server_watch import TrackingServerWatch
from devkit.waiting import eventually


class RefusingSender:
    """Every send is answered with `error_code`."""

    def __init__(self, error_code: int) -> None:
        self.error_code = error_code

    def send_many(self, trace_jsons: list[str]) -> list[Exception | None]:
        return [MlflowException("no", error_code=self.error_code) for _ in trace_jsons]


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_many(self, trace_jsons: list[str]) -> list[Exception | None]:
        self.sent.extend(trace_jsons)
        return [None] * len(trace_jsons)


async def nothing_waits() -> str:
    return "nothing"


def deliverer_for(store: Store, sender: RecordingSender) -> TraceDeliverer:
    return TraceDeliverer(store, cast(TraceSender, sender), TrackingServerWatch(nothing_waits))


async def test_a_round_of_sends_waits_for_a_gap_between_answers(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trace_delivery, "GATHER_S", 0.0)
    sender = RecordingSender()
    deliverer = deliverer_for(sqlite_store, sender)
    gap = asyncio.Event()
    asked: list[tuple[float, float]] = []

    async def answers_first(quiet_s: float, at_most_s: float) -> None:
        asked.append((quiet_s, at_most_s))
        await gap.wait()

    deliverer.answers_first = answers_first
    sqlite_store.keep_trace("tr-1", '"one"')
    deliverer.start()
    try:
        await asyncio.sleep(0.3)
        assert sender.sent == [] and asked  # it waits for the gap
        quiet_s, at_most_s = asked[0]
        assert quiet_s == trace_delivery.QUIET_S
        assert 0 < at_most_s <= trace_delivery.MAX_DEFER_S  # bounded by the trace's age
        gap.set()

        async def sent_and_gone() -> bool:
            return bool(sender.sent) and (await sqlite_store.trace_stats()).waiting == 0

        await eventually(sent_and_gone, timeout_s=10, interval_s=0.05)
        assert sender.sent == ['"one"']
    finally:
        await deliverer.stop()


async def test_a_trace_kept_long_ago_does_not_wait_for_a_gap(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trace_delivery, "GATHER_S", 0.0)
    monkeypatch.setattr(trace_delivery, "MAX_DEFER_S", 0.2)
    sender = RecordingSender()
    deliverer = deliverer_for(sqlite_store, sender)
    asked: list[float] = []

    async def answers_first(quiet_s: float, at_most_s: float) -> None:
        asked.append(at_most_s)  # a stand-in that honours only the bound
        await asyncio.sleep(at_most_s)

    deliverer.answers_first = answers_first
    sqlite_store.keep_trace("tr-old", '"old"')
    await asyncio.sleep(0.3)  # older than MAX_DEFER_S
    started = time.monotonic()
    deliverer.start()
    try:

        async def sent() -> bool:
            return bool(sender.sent)

        await eventually(sent, timeout_s=10, interval_s=0.02)
        assert sender.sent == ['"old"'] and asked == [0.0]
        assert time.monotonic() - started < 2.0
    finally:
        await deliverer.stop()


@pytest.mark.parametrize(
    ("error_code", "dead"),
    [
        (databricks_pb2.UNAUTHENTICATED, False),  # an operator fixes the token: it waits
        (databricks_pb2.PERMISSION_DENIED, False),  # an operator grants it: it waits
        (databricks_pb2.INVALID_PARAMETER_VALUE, True),  # refused for good
    ],
)
async def test_a_trace_refused_for_the_bots_credentials_waits_and_a_refused_one_is_dead(
    sqlite_store: Store, error_code: int, dead: bool
) -> None:
    sqlite_store.keep_trace("tr-1", '"one"')
    watch = TrackingServerWatch(nothing_waits)
    deliverer = TraceDeliverer(sqlite_store, cast(TraceSender, RefusingSender(error_code)), watch)
    await deliverer.drain(5)
    stats = await sqlite_store.trace_stats()
    assert (stats.waiting, stats.dead) == ((0, 1) if dead else (1, 0))
    assert watch.down is not dead  # credentials refused: probed with backoff, like an outage
