"""The store's claims behind the digest and the alerts (bot/storage/broadcasts.py), on SQLite
and PostgreSQL: a post is claimed by one instance, taken over only once its holder's claim ran
out, never once finished; a check's turn goes to one instance at a time, once an interval."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.broadcasts import FAILED, OPEN, POSTED, Broadcasts, Incident
from bot.storage.store import Store


@pytest.fixture
async def two(
    tmp_path: Path, backend_url: str | None
) -> AsyncIterator[tuple[Broadcasts, Broadcasts]]:
    """Two instances' views of one store (two connections, as two processes have)."""
    first = await Store.open(tmp_path, database_url=backend_url)
    second = await Store.open(tmp_path, database_url=backend_url)
    yield Broadcasts(first), Broadcasts(second)
    await first.close()
    await second.close()


async def test_a_post_is_claimed_once_and_taken_over_only_when_its_claim_ran_out(two) -> None:
    a, b = two
    claims = await asyncio.gather(
        *(x.claim("digest:p1", "digest", "C1", f"o{n}", 60, 1000.0) for n, x in enumerate(two))
    )
    assert sorted(c is None for c in claims) == [False, True]
    owner = "o0" if claims[0] is not None else "o1"
    assert await b.claim("digest:p1", "digest", "C1", "o2", 60, 1059.0) is None
    taken = await b.claim("digest:p1", "digest", "C1", "o2", 60, 1061.0)
    assert taken is not None and taken.attempts == 2 and taken.created_at == 1000.0
    await a.finish("digest:p1", owner, POSTED, 1062.0, message_ts="1.2")  # no longer its own
    assert await a.state("digest:p1") == ("claimed", None)
    await b.finish("digest:p1", "o2", POSTED, 1062.0, message_ts="1.3")
    assert await a.state("digest:p1") == (POSTED, "1.3")
    assert await a.claim("digest:p1", "digest", "C1", "o3", 60, 9999.0) is None
    assert await a.latest_key("digest") == "digest:p1"


async def test_a_failed_attempt_waits_until_it_may_be_tried_again(two) -> None:
    a, b = two
    assert await a.claim("k", "digest", "C1", "o1", 60, 1000.0) is not None
    await a.try_again_at("k", "o1", "ratelimited", 1010.0)
    assert await b.claim("k", "digest", "C1", "o2", 60, 1005.0) is None
    assert await b.claim("k", "digest", "C1", "o2", 60, 1010.0) is not None
    await b.finish("k", "o2", FAILED, 1011.0, error="is_archived")
    assert await a.claim("k", "digest", "C1", "o1", 60, 99999.0) is None


async def test_a_checks_turn_goes_to_one_instance_once_an_interval(two) -> None:
    a, b = two
    turns = await asyncio.gather(
        a.claim_turn("alert-check", "o1", 300, 1000.0),
        b.claim_turn("alert-check", "o2", 300, 1000.0),
    )
    assert sorted(turns) == [False, True]
    winner, owner = (a, "o1") if turns[0] else (b, "o2")
    await winner.turn_done("alert-check", owner, 1001.0)
    assert not await a.claim_turn("alert-check", "o1", 300, 1200.0)  # too soon
    assert await b.claim_turn("alert-check", "o2", 300, 1301.0)
    assert not await a.claim_turn("alert-check", "o1", 300, 1302.0)  # b holds it


async def test_incidents_are_kept_by_scope(two) -> None:
    a, b = two
    incident = Incident("rate:all", "rate:all@1", OPEN, "C1", None, {"rate": 10.0}, 1.0, 1.0)
    await a.save_incident(incident)
    await a.save_incident(
        Incident("rate:all", "rate:all@1", OPEN, "C1", "1.5", {"rate": 12.0}, 1.0, 2.0)
    )
    found = await b.open_incidents()
    assert list(found) == ["rate:all"]
    assert (found["rate:all"].message_ts, found["rate:all"].figures) == ("1.5", {"rate": 12.0})
