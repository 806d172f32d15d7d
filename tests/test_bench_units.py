"""The overload figure's parts that run without a process (fast layer): the load's unique
requests, the store's counts of them, the verdict on what was lost, and its table."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from bench.goals import overload
from bench.load import body_for, templates_of
from bench.run import lost_or_kept, overload_table, store_rows
from bot.storage.schema import answers, feedback_latest, feedback_outbox, questions, seen_events
from bot.storage.schema import traces as kept_traces
from bot.storage.store import FILE_NAME, Store


def test_clicks_spread_over_the_templates_one_user_a_request() -> None:
    templates = templates_of([{"user": {"id": "U0"}, "message": {"ts": str(n)}} for n in range(3)])
    sent = []
    for i in range(7):
        body, _ = body_for("block_actions", templates[i % len(templates)], i)
        sent.append(json.loads(parse_qs(body.decode())["payload"][0]))
    assert [p["message"]["ts"] for p in sent] == ["0", "1", "2", "0", "1", "2", "0"]
    assert len({p["user"]["id"] for p in sent}) == 7
    assert templates_of({"user": {"id": "U0"}}) == [{"user": {"id": "U0"}}]


async def test_the_store_counts_are_the_loads_rows(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    now = time.time()

    def fill(conn: Any) -> None:
        for i in range(3):
            conn.execute(seen_events.insert().values(key=f"EvLOAD{i}", seen_at=now))
        conn.execute(questions.insert().values(key="EvLOAD2", message_json="{}", received_at=now))
        for i, trace in ((0, "tr-0"), (1, "tr-1")):
            conn.execute(
                answers.insert().values(
                    channel=f"DLOAD{i}",
                    message_ts="1.0",
                    thread_ts="1.0",
                    trace_id=trace,
                    posted_at=now,
                )
            )
        conn.execute(
            answers.insert().values(
                channel="DOTHER", message_ts="1.0", thread_ts="1.0", trace_id="tr-x", posted_at=now
            )
        )
        conn.execute(
            kept_traces.insert().values(
                trace_id="tr-1", trace_json="{}", created_at=now, attempts=0, next_attempt_at=now
            )
        )
        for user, name, dead in (
            ("ULOAD1", "user_feedback", None),
            ("ULOAD2", "user_feedback", "refused"),
            ("UOTHER", "user_feedback", None),
        ):
            conn.execute(
                feedback_outbox.insert().values(
                    trace_id="tr-0",
                    user_id=user,
                    name=name,
                    value_json="true",
                    metadata_json="{}",
                    intent_id=user,
                    created_at=now,
                    attempts=0,
                    next_attempt_at=now,
                    dead_reason=dead,
                )
            )
        for user in ("ULOAD0", "ULOAD1", "ULOAD2", "UOTHER"):
            conn.execute(
                feedback_latest.insert().values(
                    trace_id="tr-0",
                    user_id=user,
                    name="user_feedback",
                    value_json="true",
                    updated_at=now,
                )
            )

    await store.run(fill)
    await store.close()
    url = f"sqlite:///{tmp_path / FILE_NAME}"
    questions_kept = store_rows(url, "event_callback", ["tr-0"])
    assert questions_kept == {
        "taken": 3,
        "queued": 1,
        "answered": [("DLOAD0", "tr-0"), ("DLOAD1", "tr-1")],
        "waiting": {"tr-1"},
        "dead": 0,
    }
    votes_kept = store_rows(url, "block_actions", ["tr-0"])
    assert votes_kept == {
        "waiting": {("tr-0", "ULOAD1", "user_feedback")},
        "dead": 1,
        "latest": {("tr-0", f"ULOAD{i}", "user_feedback") for i in range(3)},
    }


def _load(acked: int, requests: int | None = None) -> dict[str, Any]:
    statuses = {"200": acked}
    if requests is not None and requests > acked:
        statuses["ServerTimeoutError"] = requests - acked
    return {"requests": requests or acked, "statuses": statuses, "p50_ms": 5.0, "p99_ms": 9.0}


def test_a_vote_acked_and_not_stored_is_lost() -> None:
    latest = {("tr", "ULOAD0", "user_feedback")}
    kept = lost_or_kept(
        "block_actions",
        _load(2),
        {"latest": latest, "waiting": set(), "dead": 0},
        [("tr", "ULOAD0", "user_feedback")],
        None,
    )
    assert (kept["in_store"], kept["on_server"], kept["lost"]) == (1, 1, 1)


def test_a_vote_neither_on_the_server_nor_waiting_is_lost_and_one_twice_is_seen() -> None:
    latest = {("tr", f"ULOAD{i}", "user_feedback") for i in range(3)}
    waiting = {("tr", "ULOAD1", "user_feedback")}
    server = [("tr", "ULOAD0", "user_feedback")] * 2
    kept = lost_or_kept(
        "block_actions", _load(3), {"latest": latest, "waiting": waiting, "dead": 0}, server, None
    )
    assert kept["lost"] == 1  # ULOAD2
    assert kept["on_server_twice"] == 1
    assert kept["waiting"] == 1


def test_questions_acked_are_answered_queued_or_lost() -> None:
    stored = {
        "taken": 4,
        "queued": 1,
        "answered": [("DLOAD0", "t0"), ("DLOAD1", "t1")],
        "waiting": {"t1"},
        "dead": 0,
    }
    kept = lost_or_kept("event_callback", _load(4), stored, ["t0", "elsewhere"], None)
    assert kept["lost"] == 1  # taken, neither answered nor queued
    assert (kept["on_server"], kept["waiting"], kept["answered"]) == (1, 1, 2)
    stored["answered"] = [("DLOAD0", "t0"), ("DLOAD1", "t1"), ("DLOAD3", "t3")]
    kept = lost_or_kept("event_callback", _load(4), stored, ["t0"], None)
    assert kept["lost"] == 1  # t3: answered, its trace neither on the server nor waiting


def _figure(p99_ms: float, lost: int = 0, acked: int = 4000) -> dict[str, Any]:
    row = {
        "kind": "block_actions",
        "offered_rps": 400.0,
        "bot": {**_load(acked, 4000), "achieved_rps": 399.0, "p99_ms": p99_ms},
        "bare": {**_load(4000), "achieved_rps": 400.0},
        "acked": acked,
        "in_store": acked,
        "on_server": 1200,
        "waiting": 2800 - lost,
        "dead": 0,
        "lost": lost,
        "on_server_twice": 0,
        "load_average": [2.0, 3.5],
        "drained": {
            "after_s": {"answered": 0.0, "outbox": None, "traces": 0.0},
            "waiting_at_end": {"answered": 0, "outbox": 2800, "traces": 0},
        },
    }
    return {
        "rate": 400.0,
        "seconds": 10.0,
        "drain_bound_s": 30.0,
        "answers_voted_on": 50,
        "rows": [row],
    }


@pytest.mark.parametrize(
    ("p99_ms", "lost", "acked", "mark"),
    [(999.0, 0, 4000, "✅"), (1000.0, 0, 4000, "❌"), (50.0, 1, 4000, "❌"), (50.0, 0, 3999, "❌")],
)
def test_the_overload_table_marks_p99_under_a_second_and_nothing_lost(
    p99_ms: float, lost: int, acked: int, mark: str
) -> None:
    lines = overload_table(_figure(p99_ms, lost, acked), "SQLite")
    assert "## Overload: 400 req/s (SQLite)" in lines
    row = lines[-1]
    assert row.startswith("| block_actions | 399.0/s |")
    assert row.endswith(f"| {mark} |")
    assert "2800 intents waiting after 30 s" in row
    assert "| 2.0 → 3.5 |" in row


def test_the_goal_table_reads_the_overload_rows_with_the_same_verdict() -> None:
    met = _figure(999.0)
    missed = _figure(999.0, acked=3999)
    (row,) = overload({"overload": met})
    assert row[0] == "3. past the table: block_actions at 400/s (SQLite)"
    assert row[3] is True
    (sqlite, postgresql) = overload({"overload": met, "postgresql": {"overload": missed}})
    assert (sqlite[3], postgresql[3]) == (True, False)
    assert "1 not acked" in postgresql[1]
