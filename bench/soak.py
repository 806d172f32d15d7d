"""`make soak`: an hour (SOAK_MINUTES) of steady use, with faults, looking for drift.

    python -m bench.soak --minutes 60 [--window-minutes 5]

The bot as real processes (front and worker, SQLite store) against the Slack and LLM emulators
and a real tracking server: 5 questions a second and 2 votes a second (on answers already
given), the tracking server restarted twice (at 30% and 60% of the run, 20 s down) and the
worker killed once (kill -9 at 45%: the front starts another). Every window it prints the RSS
of each process, the store's depth (questions, traces, feedback outbox), and the p99 of the
acks and of the answers (question sent → the answer's final message). At the end, once the
store has drained: every question answered exactly once, every answer's trace and every vote
on the tracking server, and the RSS growth after the first window (target ≤ 10%).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import secrets
import signal
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.goals import SOAK_RUN as RECORD
from bench.run import rss_mb
from devkit.bot_process import BotProcess, readiness
from devkit.conversation import trace_id_of
from devkit.llm_api import LlmEmulator
from devkit.mlflow_server import MlflowServer
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import dm, vote_click
from devkit.slack_requests import SlackSender
from devkit.traces import Tracking

RECORD_FROM_MINUTES = 10  # shorter runs are tries, not records
QUESTIONS_PER_S = 5.0
VOTES_PER_S = 2.0
DOWN_S = 20.0


@dataclass
class Window:
    started: float
    acks_ms: list[float] = field(default_factory=list)
    failed_acks: int = 0


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[max(0, round(0.99 * len(ordered)) - 1)], 1)


class Soak:
    def __init__(self, minutes: float, window_minutes: float, work: Path) -> None:
        self.seconds = minutes * 60
        self.window_s = window_minutes * 60
        self.work = work
        self.token = "xoxb-soak-" + secrets.token_hex(8)
        self.secret = "soak-" + secrets.token_hex(16)
        self.llm_key = "sk-soak-" + secrets.token_hex(8)
        self.asked: dict[str, float] = {}  # channel → when its question was sent
        self.expected_votes: dict[tuple[str, str], bool] = {}  # (trace, user) → 👍?
        self.windows: list[Window] = []
        self.rows: list[dict[str, Any]] = []
        self.events: list[str] = []
        self.printed: list[str] = []  # the run's table and totals: its record

    def say(self, line: str) -> None:
        print(line, flush=True)
        self.printed.append(line)

    async def run(self) -> bool:
        self.slack = SlackEmulator(bot_token=self.token)
        self.llm = LlmEmulator(api_key=self.llm_key)
        self.llm.delay_s, self.llm.tokens_per_s = 0.3, 50.0  # like a hosted model
        self.llm.fixed_answer = " ".join(f"word{i % 50}" for i in range(100))  # ~2 s streamed
        await self.slack.start()
        await self.llm.start()
        self.mlflow = MlflowServer(self.work / "mlflow", niceness=10)
        await asyncio.to_thread(self.mlflow.start)
        env = {
            "SLACK_BOT_TOKEN": self.token,
            "SLACK_SIGNING_SECRET": self.secret,
            "SLACK_API_URL": self.slack.api_url,
            "MLFLOW_TRACKING_URI": self.mlflow.url,
            "MLFLOW_EXPERIMENT_NAME": "soak",
            "OPENAI_BASE_URL": self.llm.base_url,
            "OPENAI_API_KEY": self.llm_key,
            "BOT_DATA_DIR": str(self.work / "bot-data"),
            "LOG_LEVEL": "WARNING",
        }
        self.bot = BotProcess(env, self.work / "bot.log")
        await asyncio.to_thread(self.bot.start)
        self.sender = SlackSender(self.bot.url, self.secret, "T0TEAM", "ABOT")
        try:
            await self.load()
            return await self.totals()
        finally:
            await self.sender.close()
            await asyncio.to_thread(self.bot.stop)
            await asyncio.to_thread(self.mlflow.stop)
            await self.slack.stop()
            await self.llm.stop()

    # -- the load, the faults, the windows -------------------------------------------------

    async def load(self) -> None:
        started = time.monotonic()
        self.windows.append(Window(started))
        faults = asyncio.create_task(self.faults(started))
        tasks: set[asyncio.Task[None]] = set()
        next_question, next_vote, i = started, started, 0
        self.say(
            "minute | RSS front / worker MB | questions / traces / outbox waiting "
            "| ack p99 ms | answer p99 s | events"
        )
        while (now := time.monotonic()) < started + self.seconds:
            if now >= self.windows[-1].started + self.window_s:
                await self.close_window(started)
                self.windows.append(Window(now))
            if now >= next_question:
                channel = f"DSOAK{i:06d}"
                i += 1
                self.asked[channel] = now
                tasks.add(
                    asyncio.create_task(
                        self.ack(
                            self.sender.event(dm(f"USOAK{i:06d}", channel, f"soak question {i}"))
                        )
                    )
                )
                next_question += 1 / QUESTIONS_PER_S
            if now >= next_vote:
                vote = self.vote()
                if vote is not None:
                    tasks.add(asyncio.create_task(self.ack(vote)))
                next_vote += 1 / VOTES_PER_S
            tasks = {t for t in tasks if not t.done()}
            await asyncio.sleep(max(0.0, min(next_question, next_vote) - time.monotonic()))
        await asyncio.gather(*tasks)
        faults.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await faults
        await self.close_window(started)

    def vote(self) -> Any:
        """A 👍 or 👎 by a new user on one of the last 200 questions' answers (None if none
        is answered yet)."""
        channels = list(self.asked)[-200:]
        random.shuffle(channels)
        for channel in channels[:20]:
            answers = [m for m in self.slack.bot_messages(channel) if m.get("metadata")]
            if answers:
                user = f"UVOTE{len(self.expected_votes):06d}"
                positive = random.random() < 0.7
                self.expected_votes[(trace_id_of(answers[0]), user)] = positive
                return self.sender.interaction(vote_click(self.slack, answers[0], user, positive))
        return None

    async def ack(self, call: Any) -> None:
        sent = time.monotonic()
        window = self.windows[-1]
        try:
            status, _ = await call
        except Exception:
            window.failed_acks += 1
            return
        if status != 200:
            window.failed_acks += 1
        window.acks_ms.append((time.monotonic() - sent) * 1000)

    async def faults(self, started: float) -> None:
        plan = [
            (0.30, "restart tracking server"),
            (0.45, "kill -9 the worker"),
            (0.60, "restart tracking server"),
        ]
        for at, fault in plan:
            await asyncio.sleep(max(0.0, started + at * self.seconds - time.monotonic()))
            minute = (time.monotonic() - started) / 60
            self.events.append(f"{minute:.1f}: {fault}")
            if fault.startswith("restart"):
                await asyncio.to_thread(self.mlflow.stop)
                await asyncio.sleep(DOWN_S)
                await asyncio.to_thread(self.mlflow.start)
            else:
                for pid in self.bot.children():
                    os.kill(pid, signal.SIGKILL)

    def answer_seconds(self, since: float, until: float) -> list[float]:
        """Sent → the final message (its metadata set), for questions sent in the window."""
        final: dict[str, float] = {}
        for call in self.slack.calls:
            if call.method in ("chat.stopStream", "chat.postMessage") and call.args.get("metadata"):
                final.setdefault(str(call.args.get("channel")), call.at)
        return [
            final[c] - sent
            for c, sent in self.asked.items()
            if since <= sent < until and c in final
        ]

    async def close_window(self, started: float) -> None:
        window = self.windows[-1]
        now = time.monotonic()
        state = await readiness(self.bot.url)
        assert self.bot.process is not None
        row = {
            "minute": round((now - started) / 60, 1),
            "front_mb": rss_mb(self.bot.process.pid),
            "worker_mb": sum(rss_mb(pid) for pid in self.bot.children()),
            "questions": state["questions"]["pending"] + state["questions"]["in_progress"],
            "traces": state["traces"]["waiting"],
            "outbox": state["outbox"]["pending"],
            "ack_p99_ms": p99(window.acks_ms),
            "failed_acks": window.failed_acks,
            # answers of questions asked in this window that are done by now
            "answer_p99_s": p99(self.answer_seconds(window.started, now)),
            "events": "; ".join(self.events),
        }
        self.events.clear()
        self.rows.append(row)
        self.say(
            f"{row['minute']:6} | {row['front_mb']} / {row['worker_mb']} "
            f"| {row['questions']} / {row['traces']} / {row['outbox']} "
            f"| {row['ack_p99_ms']} ({row['failed_acks']} failed) | {row['answer_p99_s']} "
            f"| {row['events']}"
        )

    # -- the totals --------------------------------------------------------------------------

    async def totals(self) -> bool:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            state = await readiness(self.bot.url)
            if (
                state["tasks_in_flight"] == 0
                and state["traces"]["waiting"] == 0
                and state["outbox"]["pending"] == 0
            ):
                break
            await asyncio.sleep(2)
        answers = {
            c: [m for m in self.slack.bot_messages(c) if m.get("metadata")] for c in self.asked
        }
        once = sum(len(a) == 1 for a in answers.values())
        traces = {trace_id_of(a[0]) for a in answers.values() if a}
        tracking = Tracking(self.mlflow.url, "soak")
        on_server = {t.info.trace_id for t in await tracking.asearch()}
        votes_found = 0
        by_trace: dict[str, dict[str, bool]] = {}
        for (trace_id, user), positive in self.expected_votes.items():
            by_trace.setdefault(trace_id, {})[user] = positive
        for trace_id, users in by_trace.items():
            seen = {
                a.source.source_id: getattr(a, "value", None)
                for a in await tracking.valid_assessments(trace_id, "user_feedback")
            }
            votes_found += sum(seen.get(u) == v for u, v in users.items())
        first, last = self.rows[0], self.rows[-1]
        growth = {
            name: round(100 * (last[f"{name}_mb"] / first[f"{name}_mb"] - 1), 1)
            for name in ("front", "worker")
        }
        checks = {
            f"questions answered exactly once: {once}/{len(self.asked)}": once == len(self.asked),
            f"traces on the server: {len(traces & on_server)}/{len(traces)}": traces <= on_server,
            f"votes on the server: {votes_found}/{len(self.expected_votes)}": votes_found
            == len(self.expected_votes),
            f"RSS growth after the first window: front {growth['front']}%, worker "
            f"{growth['worker']}% (≤ 10%)": max(growth.values()) <= 10,
            f"acks failed: {sum(r['failed_acks'] for r in self.rows)}": all(
                r["failed_acks"] == 0 for r in self.rows
            ),
        }
        self.say("\ntotals")
        for line, ok in checks.items():
            self.say(f"  {'✅' if ok else '❌'} {line}")
        every_ack = [ms for window in self.windows for ms in window.acks_ms]
        p50 = statistics.median(every_ack)
        self.say(f"  acks over the run: {len(every_ack)}, p50 {p50:.1f} ms")
        return all(checks.values())


def main() -> None:
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # The LLM emulator's stream to a worker killed mid-answer ends in a reset connection: its
    # traceback is the fault injected, not a finding.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 60)))
    parser.add_argument("--window-minutes", type=float, default=5.0)
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="soak-") as work:
        soak = Soak(args.minutes, args.window_minutes, Path(work))
        ok = asyncio.run(soak.run())
    if args.minutes >= RECORD_FROM_MINUTES:
        RECORD.write_text(
            f"(`make soak`, {args.minutes:g} minutes from {started}, {os.cpu_count()} cores, "
            f"load average {load_at_start:.1f} at the start, "
            f"{os.getloadavg()[0]:.1f} at the end)\n" + "\n".join(soak.printed) + "\n"
        )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
