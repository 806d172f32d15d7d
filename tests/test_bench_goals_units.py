"""BENCHMARKS.md's goal table (bench/goals.py) reads the records of the runs of their own
(the soak, the trace-sending options, the report on 100k answers): a record that says a total
was missed, or a run shorter than the goal's, must never show as met."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import goals

SOAK = """(`make soak`, {minutes} minutes from 2026-12-07 06:29 UTC, 2 cores, load average 0.9 at \
the start, 1.2 at the end)
minute | RSS front / worker MB | questions / traces / outbox waiting | ack p99 ms | answer p99 s
   5.0 | 71.6 / 95.9 | 11 / 9 / 0 | 20.5 (0 failed) | 2.3 |

totals
  ✅ questions answered exactly once: 18000/18000
  {traces} traces on the server: 17999/18000
  ✅ votes on the server: 7190/7190
  acks over the run: 25190, p50 12.8 ms
"""

TRACE_SEND = """(`python -m bench.trace_send_bench --traces 300 --rounds 2`, 2026-12-07 07:40 UTC)
round 0           today: server_cpu_ms_per_trace 21.00, wall_ms_per_trace 9.00

option           server CPU ms/trace (median)   wall ms/trace (median)
          today        20.10                       8.90
            bot        14.40                       6.10
           otlp         2.70                       1.20

bot against today: 0 difference(s)
"""

REPORT = """(`make bench-report`, 2026-12-07 07:50 UTC, 2 cores)
  answers       report (aggregates)              page by page   same
    10000     0.14 s (0.02 s CPU)         2.13 s (0.28 s CPU)        yes
   100000     1.35 s (0.02 s CPU)        38.78 s (3.47 s CPU)        yes
alert check (2 aggregate requests: the votes of 24h and of the 7d before): 10000: 0.04 s \
(0.01 s CPU), 100000: 0.29 s (0.01 s CPU)
digest (the 7-day report, the privacy rule): 10000: 0.40 s (0.06 s CPU), 100000: 1.5 s (0.07 s CPU)
"""


@pytest.fixture
def records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("SOAK_RUN", "TRACE_SEND_RUN", "REPORT_RUN"):
        monkeypatch.setattr(goals, name, tmp_path / f"{name}.txt")
    return tmp_path


def row(table: list[str], starts: str) -> str:
    return next(line for line in table if line.startswith(f"| {starts}"))


def test_a_soak_with_a_missed_total_is_missed(records: Path) -> None:
    goals.SOAK_RUN.write_text(SOAK.format(minutes=60, traces="❌"))
    line = row(goals.goal_table({}), "5.")
    assert "traces on the server: 17999/18000" in line
    assert line.endswith("| ❌ |")


def test_a_soak_shorter_than_the_goal_is_not_met(records: Path) -> None:
    goals.SOAK_RUN.write_text(SOAK.format(minutes=10, traces="✅"))
    assert row(goals.goal_table({}), "5.").endswith("| ❌ |")
    goals.SOAK_RUN.write_text(SOAK.format(minutes=60, traces="✅"))
    line = row(goals.goal_table({}), "5.")
    assert "all 3 totals met" in line
    assert line.endswith("| ✅ |")


def test_no_record_is_neither_met_nor_missed(records: Path) -> None:
    table = goals.goal_table({})
    assert row(table, "5.").endswith("| — |")
    assert not [line for line in table if line.startswith("| 1.") or line.startswith("| 6.")]


def test_the_trace_sending_options_side_by_side(records: Path) -> None:
    goals.TRACE_SEND_RUN.write_text(TRACE_SEND)
    line = row(goals.goal_table({}), "1. tracking-server CPU per trace")
    assert "20.1 → 14.4 ms" in line
    assert "OTLP alone, which loses trace fields: 2.7" in line
    assert line.endswith("| ❌ |")


def test_the_report_and_the_checks(records: Path) -> None:
    goals.REPORT_RUN.write_text(REPORT)
    table = goals.goal_table({})
    assert row(table, "6. the report on 100k").endswith("| 1.35 s | ≤ 1.5 s | ✅ |")
    assert "100000: 0.29 s (0.01 s CPU)" in row(table, "6. alert check")
    assert "100000: 1.5 s" in row(table, "6. digest")


def test_ack_cells_count_a_request_not_acked(records: Path) -> None:
    def cell(ratio: float, statuses: dict[str, int]) -> dict[str, object]:
        figures = {"statuses": statuses, "front_cpu_ms_per_request": 3.0}
        bare = {"front_cpu_ms_per_request": 1.5}
        return {"p99_ratio": ratio, "bot": figures, "bare": bare}

    results = {"ack_latency": [cell(1.2, {"200": 500}), cell(1.5, {"200": 499, "TimeoutError": 1})]}
    table = goals.goal_table(results)
    assert "1 of 2 cells; 1 requests not acked" in row(table, "3. ack p99")
    assert row(table, "3. the front's CPU").endswith("| 2.0–2.0× | ≤ 2× | ✅ |")
