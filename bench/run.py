"""`make bench`: the bot against the Slack and LLM emulators and a real MLflow server, measured.

Writes bench/results.json and BENCHMARKS.md. Every figure is measured in this one run, side by
side with its baseline where it has one, so a noisy machine cannot fake a win.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select

from bench.goals import (
    REPORT_RUN,
    SOAK_RUN,
    TRACE_SEND_RUN,
    ack_cell_ok,
    goal_table,
    overload_ok,
    unanswered,
)
from bot.storage.engine import driver_url
from bot.storage.schema import answers, feedback_latest, feedback_outbox, questions, seen_events
from bot.storage.schema import traces as kept_traces
from bot.storage.store import FILE_NAME
from devkit.bot_process import BotProcess, readiness
from devkit.conversation import final_answer, open_rating_modal, trace_id_of
from devkit.llm_api import LlmEmulator
from devkit.mlflow_server import MlflowServer
from devkit.ports import free_port
from devkit.postgres_server import PostgresServer
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import Workspace, dm, event_envelope, rating_submission, vote_click
from devkit.slack_requests import SlackSender
from devkit.traces import Tracking

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("event_callback", "block_actions", "view_submission")
FIGURES = ("overhead", "ttfw", "feedback", "ack", "overload", "burst", "outage", "report")
DATABASES = ("sqlite", "postgresql")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _ppid_and_cpu_s(pid: int) -> tuple[int, float]:
    """The process's parent and the CPU time (user + system) it has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    return _ppid_and_cpu_s(pid)[1]


async def listening(port: int, timeout_s: float = 30.0) -> None:
    """Once a process listens on `port` (on this host)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return


def listen_overflows() -> int:
    """How many times a listen queue was full and a new connection's SYN was dropped, so far:
    the kernel's count for this network namespace (every process's, not only the bot's)."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=True):
        if names.startswith("TcpExt:"):
            return int(dict(zip(names.split(), values.split(), strict=True))["ListenOverflows"])
    return 0


def tree_cpu_s(root: int) -> float:
    """The CPU time of `root` and of every process below it (a server and its workers)."""
    found: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):  # gone meanwhile
                found[int(entry.name)] = _ppid_and_cpu_s(int(entry.name))

    def below_root(pid: int) -> bool:
        while pid > 1:
            if pid == root:
                return True
            pid = found[pid][0] if pid in found else 0
        return False

    return sum(seconds for pid, (_, seconds) in found.items() if below_root(pid))


class Bench:
    """One run of the figures with the store on `database`: SQLite in `BOT_DATA_DIR`, or a
    throwaway PostgreSQL cluster on this machine (devkit/postgres_server.py)."""

    def __init__(self, args: argparse.Namespace, work: Path, database: str = "sqlite") -> None:
        self.args = args
        self.work = work
        self.database = database
        self.postgres: PostgresServer | None = None
        self.token = "xoxb-bench-" + secrets.token_hex(8)
        self.secret = "bench-" + secrets.token_hex(16)
        self.llm_key = "sk-bench-" + secrets.token_hex(8)
        self.results: dict[str, Any] = {}

    async def run(self) -> dict[str, Any]:
        self.slack = SlackEmulator(bot_token=self.token)
        self.llm = LlmEmulator(api_key=self.llm_key)
        await self.slack.start()
        await self.llm.start()
        # A stand-in for a remote tracking server: at a lower CPU priority, its trace
        # ingestion does not take the cores the bot's acks are measured on (BENCHMARKS.md).
        self.mlflow = MlflowServer(self.work / "mlflow", niceness=10)
        await asyncio.to_thread(self.mlflow.start)
        if self.database == "postgresql":
            self.postgres = PostgresServer()
            await asyncio.to_thread(self.postgres.start)
        self.experiment = "bench"
        env = {
            "SLACK_BOT_TOKEN": self.token,
            "SLACK_SIGNING_SECRET": self.secret,
            "SLACK_API_URL": self.slack.api_url,
            "MLFLOW_TRACKING_URI": self.mlflow.url,
            "MLFLOW_EXPERIMENT_NAME": self.experiment,
            "OPENAI_BASE_URL": self.llm.base_url,
            "OPENAI_API_KEY": self.llm_key,
            "BOT_DATA_DIR": str(self.work / "bot-data"),
            "LOG_LEVEL": "WARNING",
            **self.database_env("bot"),
        }
        self.bot_env = env
        self.bot = BotProcess(env, self.work / "bot.log")
        await asyncio.to_thread(self.bot.start)
        self.sender = SlackSender(self.bot.url, self.secret, "T0TEAM", "ABOT")
        try:
            await asyncio.sleep(2)
            self.results["memory_idle_mb"] = self.bot_rss_mb()
            figures = self.args.figures
            if "overhead" in figures:
                await self.per_answer_overhead()
            if "ttfw" in figures:
                await self.time_to_first_word()
            if "feedback" in figures:
                await self.feedback_latency()
            if "ack" in figures:
                await self.ack_latency()
            if "overload" in figures:
                await self.overload()
            if "burst" in figures:
                await self.burst()
            if "outage" in figures:
                await self.outage()
            self.results["memory_after_load_mb"] = self.bot_rss_mb()
        finally:
            await self.sender.close()
            await asyncio.to_thread(self.bot.stop)
            await asyncio.to_thread(self.mlflow.stop)
            if self.postgres is not None:
                await asyncio.to_thread(self.postgres.remove)
            await self.slack.stop()
            await self.llm.stop()
        return self.results

    def database_env(self, name: str) -> dict[str, str]:
        """`DATABASE_URL` of a new database `name` on the run's PostgreSQL (none on SQLite)."""
        if self.postgres is None:
            return {}
        if name != "bot":  # the cluster starts with `bot`
            self.postgres.sql(f"CREATE DATABASE {name}")
        return {"DATABASE_URL": self.postgres.url.rsplit("/", 1)[0] + "/" + name}

    def bot_rss_mb(self) -> dict[str, float]:
        """RSS of the bot's processes: the front and the answer worker it started."""
        assert self.bot.process is not None
        front = rss_mb(self.bot.process.pid)
        workers = [rss_mb(pid) for pid in self.bot.children()]
        return {"front": front, "worker": sum(workers), "total": round(front + sum(workers), 1)}

    # -- 2. per-answer overhead ---------------------------------------------------------------

    def cpu_by_process(self) -> dict[str, float]:
        assert self.bot.process is not None and self.mlflow.process is not None
        return {
            "front": cpu_s(self.bot.process.pid),
            "worker": sum(map(cpu_s, self.bot.children())),
            "tracking server": tree_cpu_s(self.mlflow.process.pid),
        }

    async def per_answer_overhead(self) -> None:
        overheads: list[float] = []
        cpu_before = self.cpu_by_process()
        for i in range(self.args.answers):
            channel = f"DOVER{i:05d}"
            event = dm(f"UOVER{i:05d}", channel, f"overhead question {i}")
            sent = time.monotonic()
            await self.sender.event(event)
            await final_answer(self.slack, channel)
            stop = next(
                c for c in self.slack.calls_to("chat.stopStream") if c.args["channel"] == channel
            )
            _, llm_in, llm_out = next(
                s for s in self.llm.served if s[0] == f"overhead question {i}"
            )
            overheads.append((stop.at - sent - (llm_out - llm_in)) * 1000)
        # Sending their traces is these answers' work too: the CPU is counted once it is done
        # (polled twice a second: each look costs the front a few store reads).
        while (await readiness(self.bot.url))["traces"]["waiting"] > 0:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        cpu_after = self.cpu_by_process()
        overheads.sort()
        self.results["per_answer_overhead_ms"] = {
            "answers": len(overheads),
            "p50": round(statistics.median(overheads), 2),
            "p90": round(overheads[int(len(overheads) * 0.9) - 1], 2),
            "cpu_ms_per_answer": {
                name: round((cpu_after[name] - cpu_before[name]) * 1000 / len(overheads), 2)
                for name in cpu_before
            },
        }

    # -- time to first word, against a model that streams like a hosted one -------------------

    async def time_to_first_word(self) -> None:
        """Questions at `--ttfw-rate` a second for `--ttfw-seconds`, in DMs and in assistant
        threads (alternately), against an LLM emulator with a hosted model's pace: the first
        token after `--llm-ttft-s`, then `--llm-tokens-per-s`, `--answer-tokens` tokens an
        answer. Per question: sent → the first Slack call that shows text (`chat.startStream`,
        `chat.appendStream` or a posted message), minus the model's own time to first token;
        in assistant threads, sent → "thinking…" (`assistant.threads.setStatus`); and the
        Slack calls each answer made. With `--ttfw-baseline TREE`, a second bot runs from that
        checkout (e.g. a `git worktree` of main) beside this one, on its own store, and the
        questions alternate between the two in pairs (a DM, an assistant thread): both under
        the same load, in one run."""
        args = self.args
        self.llm.delay_s, self.llm.tokens_per_s = args.llm_ttft_s, args.llm_tokens_per_s
        self.llm.fixed_answer = " ".join(f"word{i % 50}" for i in range(args.answer_tokens))
        bots = [(self.bot, self.sender)]
        baseline = None
        if args.ttfw_baseline is not None:
            baseline = BotProcess(
                {**self.bot_env, "BOT_DATA_DIR": str(self.work / "bot-data-baseline")},
                self.work / "bot-baseline.log",
                source=args.ttfw_baseline,
            )
            await asyncio.to_thread(baseline.start)
            bots.append((baseline, SlackSender(baseline.url, self.secret, "T0TEAM", "ABOT")))
        try:
            for bot, _ in bots:
                await self.bot_idle(bot.url)
            count = int(args.ttfw_rate * args.ttfw_seconds)
            asked: list[tuple[int, str, str, float]] = []  # (bot, channel, kind, sent)
            started = time.monotonic()
            for i in range(count):
                await asyncio.sleep(max(0.0, started + i / args.ttfw_rate - time.monotonic()))
                which = (i // 2) % len(bots)
                sender = bots[which][1]
                channel, user = f"DTTFW{i:05d}", f"UTTFW{i:05d}"
                if i % 2:  # the assistant panel: a thread Slack starts, then the question in it
                    opened = self.slack.start_assistant_thread(channel, user, None)
                    thread_ts = opened["assistant_thread"]["thread_ts"]
                    await sender.event(opened)
                    message = self.slack.add_user_message(
                        channel, user, f"ttfw question {i}", thread_ts=thread_ts
                    )
                    event = dm(
                        user,
                        channel,
                        f"ttfw question {i}",
                        thread_ts=thread_ts,
                        ts=message["ts"],
                        event_ts=message["ts"],
                    )
                    sent = time.monotonic()
                    await sender.event(event)
                    asked.append((which, channel, "assistant", sent))
                else:
                    sent = time.monotonic()
                    await sender.event(dm(user, channel, f"ttfw question {i}"))
                    asked.append((which, channel, "dm", sent))
            for _, channel, _, _ in asked:
                await final_answer(self.slack, channel)
        finally:
            if baseline is not None:
                await bots[1][1].close()
                await asyncio.to_thread(baseline.stop)
        figures = [
            self.first_word_figures(
                [
                    (i, channel, kind, sent)
                    for i, (b, channel, kind, sent) in enumerate(asked)
                    if b == which
                ]
            )
            for which in range(len(bots))
        ]
        self.llm.reset()
        self.results["time_to_first_word_ms"] = {
            "questions": count,
            "rate": args.ttfw_rate,
            "llm": {
                "ttft_s": args.llm_ttft_s,
                "tokens_per_s": args.llm_tokens_per_s,
                "answer_tokens": args.answer_tokens,
            },
            **figures[0],
        }
        if baseline is not None:
            self.results["time_to_first_word_ms"]["baseline"] = {
                "tree": str(args.ttfw_baseline),
                **figures[1],
            }
        print(
            json.dumps({"time_to_first_word_ms": self.results["time_to_first_word_ms"]}), flush=True
        )

    def first_word_figures(self, asked: list[tuple[int, str, str, float]]) -> dict[str, Any]:
        """The first-word figures of the questions `asked`: (number, channel, kind, sent)."""
        first_word: list[float] = []
        pickup: list[float] = []  # sent → the model asked: ack, hand-over, status, prompt
        thinking: list[float] = []
        calls: list[int] = []
        appends: list[int] = []
        for i, channel, kind, sent in asked:
            mine = [
                c
                for c in self.slack.calls
                if channel in (c.args.get("channel"), c.args.get("channel_id")) and c.at >= sent
            ]
            shown = min(
                c.at
                for c in mine
                if (
                    c.method in ("chat.startStream", "chat.appendStream")
                    and c.args.get("markdown_text")
                )
                or (c.method == "chat.postMessage" and c.args.get("metadata"))
            )
            received, first_token = self.llm.first_piece[f"ttfw question {i}"]
            first_word.append((shown - sent - (first_token - received)) * 1000)
            pickup.append((received - sent) * 1000)
            if kind == "assistant":
                status = [
                    c.at
                    for c in mine
                    if c.method == "assistant.threads.setStatus" and c.args.get("status")
                ]
                thinking.append((min(status) - sent) * 1000 if status else float("inf"))
            calls.append(len(mine))
            appends.append(sum(c.method == "chat.appendStream" for c in mine))
        first_word.sort()
        pickup.sort()
        thinking.sort()
        return {
            "p50": round(statistics.median(first_word), 1),
            "p99": round(first_word[max(0, round(0.99 * len(first_word)) - 1)], 1),
            "model_asked_p50": round(statistics.median(pickup), 1),
            "model_asked_p99": round(pickup[max(0, round(0.99 * len(pickup)) - 1)], 1),
            "thinking_p50": round(statistics.median(thinking), 1),
            "thinking_max": round(thinking[-1], 1),
            "slack_calls_per_answer": round(statistics.median(calls), 1),
            "appends_per_answer": round(statistics.median(appends), 1),
        }

    # -- 4. feedback ------------------------------------------------------------------------

    async def feedback_latency(self) -> None:
        tracking = Tracking(self.mlflow.url, self.experiment)
        visible: list[float] = []
        traced: list[float] = []
        for i in range(self.args.clicks_visible):
            channel = f"DFEED{i:05d}"
            await self.sender.event(dm(f"UASK{i:05d}", channel, f"feedback question {i}"))
            answer = await final_answer(self.slack, channel)
            answered = time.monotonic()
            trace_id = trace_id_of(answer)
            await tracking.wait_for_trace(trace_id)  # polls every 0.2 s
            traced.append((time.monotonic() - answered) * 1000)
            user = f"UFEED{i:05d}"
            clicked = time.monotonic()
            await self.sender.interaction(vote_click(self.slack, answer, user, positive=True))
            # MLflow has no notifications: poll it.
            while not await tracking.valid_assessments(trace_id, "user_feedback"):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            visible.append((time.monotonic() - clicked) * 1000)
        self.results["click_to_mlflow_ms"] = {
            "clicks": len(visible),
            "p50": round(statistics.median(visible), 1),
            "max": round(max(visible), 1),
        }
        self.results["answer_to_trace_ms"] = {
            "answers": len(traced),
            "p50": round(statistics.median(traced), 1),
            "max": round(max(traced), 1),
        }

    # -- 1. ack latency, bot vs bare app ----------------------------------------------------

    async def templates(self) -> dict[str, Path]:
        channel = "DTEMPLATE"
        await self.sender.event(dm("UTEMPLATE", channel, "template question"))
        answer = await final_answer(self.slack, channel)
        click = vote_click(self.slack, answer, "UTEMPLATE", positive=True)
        view = await open_rating_modal(self.sender, self.slack, answer, "UTEMPLATE")

        submission = rating_submission(
            view, "UTEMPLATE", {"accuracy": "4", "helpfulness": "4", "relevance": "4"}, "fine"
        )
        envelope = event_envelope(Workspace.of(self.slack), dm("UTEMPLATE", "D0", "q"), "Ev0")
        paths = {}
        for kind, payload in zip(KINDS, (envelope, click, submission), strict=True):
            path = self.work / f"{kind}.json"
            path.write_text(json.dumps(payload))
            paths[kind] = path
        return paths

    async def load(self, url: str, kind: str, rate: float, template: Path) -> dict[str, Any]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.load",
            url,
            self.secret,
            kind,
            str(rate),
            str(self.args.seconds),
            str(template),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate()
        return dict(json.loads(out))

    @contextlib.asynccontextmanager
    async def stand_ins(self) -> AsyncIterator[StandIns]:
        """The Slack and LLM emulators in a process of their own at nice 10 (bench/services.py)
        and the bare Bolt app beside them, for the figures that put the bot under load."""
        services = await asyncio.create_subprocess_exec(
            *("nice", "-n", "10", sys.executable, "-m", "bench.services"),
            *(self.token, self.llm_key),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert services.stdout is not None and services.stdin is not None
        urls = json.loads(await services.stdout.readline())
        port = free_port()
        bare = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.bare_app",
            cwd=ROOT,
            env={
                **os.environ,
                "SLACK_BOT_TOKEN": self.token,
                "SLACK_SIGNING_SECRET": self.secret,
                "SLACK_API_URL": urls["slack_api_url"],
                "PORT": str(port),
            },
        )
        try:
            await listening(port)  # the first load's first requests were refused
            yield StandIns(services, urls, bare, f"http://127.0.0.1:{port}/slack/events")
        finally:
            bare.terminate()
            await bare.wait()
            services.stdin.close()
            await services.wait()

    def bot_on(self, stand_ins: StandIns, name: str) -> BotProcess:
        """A bot of its own (store `name`, SQLite or a new PostgreSQL database) on the
        stand-ins' emulators."""
        return BotProcess(
            {
                **self.bot_env,
                "SLACK_API_URL": stand_ins.urls["slack_api_url"],
                "OPENAI_BASE_URL": stand_ins.urls["llm_base_url"],
                "BOT_DATA_DIR": str(self.work / f"bot-data-{name}"),
                **self.database_env(name),
            },
            self.work / f"bot-{name}.log",
        )

    async def ack_latency(self) -> None:
        """Figure 1. Slack, the LLM and the tracking server are not on the bot's machine in
        production; here their stand-ins run at a lower CPU priority (bench/services.py, the
        MLflow server), so their work for the bot's answers does not take the cores its acks
        are measured on. The load generator, the bot and the bare app run at normal priority."""
        templates = await self.templates()  # answers, clicks and a modal made with the first bot
        rows = []
        async with self.stand_ins() as stand_ins:
            bot = self.bot_on(stand_ins, "ack")
            try:
                await asyncio.to_thread(bot.start)
                bot_url = bot.url + "/slack/events"
                for kind in self.args.kinds:
                    for rate in self.args.rates:
                        # Each run starts once the bot has answered the last load's questions
                        # (else the next run pays for them). Clicks may still be on their way
                        # to MLflow, in the lower-priority worker.
                        await self.bot_idle(bot.url)
                        assert bot.process is not None
                        ours = await self.served_load(
                            bot_url, bot.process.pid, kind, rate, templates[kind]
                        )
                        await self.bot_idle(bot.url)
                        baseline = await self.bare_load(stand_ins, kind, rate, templates[kind])
                        rows.append(
                            {
                                "kind": kind,
                                "offered_rps": rate,
                                "bot": ours,
                                "bare": baseline,
                                "p99_ratio": round(ours["p99_ms"] / baseline["p99_ms"], 2),
                            }
                        )
                        print(json.dumps(rows[-1]), flush=True)
            finally:
                await asyncio.to_thread(bot.stop)
        self.results["ack_latency"] = rows

    async def bare_load(
        self, stand_ins: StandIns, kind: str, rate: float, template: Path
    ) -> dict[str, Any]:
        """The load on the bare Bolt app, with its front's CPU per request."""
        return await self.served_load(stand_ins.bare_url, stand_ins.bare.pid, kind, rate, template)

    async def served_load(
        self, url: str, front_pid: int, kind: str, rate: float, template: Path
    ) -> dict[str, Any]:
        """The load on `url`, with the CPU per request of the process serving it."""
        before = cpu_s(front_pid)
        figures = await self.load(url, kind, rate, template)
        figures["front_cpu_ms_per_request"] = round(
            (cpu_s(front_pid) - before) * 1000 / figures["requests"], 2
        )
        return figures

    async def bot_idle(self, bot_url: str, timeout_s: float = 180.0) -> None:
        """Wait until the bot has no answer or task in flight, then 1 s more."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (await readiness(bot_url))["tasks_in_flight"] == 0:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)

    # -- 7. past the ack table's rates ------------------------------------------------------

    async def overload(self) -> None:
        """Figure 7: each kind at `--overload-rate` a second for `--seconds`, past the ack
        table's rates: first on the bare Bolt app, then on a bot of its own (a fresh store:
        every row it holds is this load's). Then whether anything the bot acked was lost:
        each request is unique (bench/load.py: questions in channels `DLOAD<i>`, clicks and
        submissions by users `ULOAD<i>`, spread over `OVERLOAD_ANSWERS` answers made for this
        figure), so the store's rows and the tracking server's traces and assessments are
        counted exactly. The backlog's drain is timed on the bot's `/readyz` from the load's
        last reply, for at most `--overload-drain-s`: what is not on the server by then is
        counted where it waits (in the store, not dead)."""
        args = self.args
        channels = [f"DOVL{n:03d}" for n in range(OVERLOAD_ANSWERS)]
        for n, channel in enumerate(channels):
            await self.sender.event(dm("UTEMPLATE", channel, f"overload answer {n}"))
        made = [await final_answer(self.slack, channel) for channel in channels]
        trace_ids = [trace_id_of(answer) for answer in made]
        tracking = Tracking(self.mlflow.url, self.experiment)
        for trace_id in trace_ids:  # votes on them are delivered at once, not after a retry
            await tracking.wait_for_trace(trace_id, timeout_s=120)
        views = [await open_rating_modal(self.sender, self.slack, a, "UTEMPLATE") for a in made]
        scores: dict[str, str | None] = {"accuracy": "4", "helpfulness": "4", "relevance": "4"}
        payloads: dict[str, Any] = {
            "event_callback": event_envelope(
                Workspace.of(self.slack), dm("UTEMPLATE", "D0", "q"), "Ev0"
            ),
            "block_actions": [vote_click(self.slack, a, "UTEMPLATE") for a in made],
            "view_submission": [
                rating_submission(view, "UTEMPLATE", scores, "fine") for view in views
            ],
        }
        rows = []
        async with self.stand_ins() as stand_ins:
            for kind in args.kinds:
                template = self.work / f"overload-{kind}.json"
                template.write_text(json.dumps(payloads[kind]))
                rows.append(await self.overload_kind(stand_ins, kind, template, set(trace_ids)))
                print(json.dumps(rows[-1]), flush=True)
        self.results["overload"] = {
            "rate": args.overload_rate,
            "seconds": args.seconds,
            "drain_bound_s": args.overload_drain_s,
            "answers_voted_on": OVERLOAD_ANSWERS,
            "rows": rows,
        }

    async def overload_kind(
        self, stand_ins: StandIns, kind: str, template: Path, trace_ids: set[str]
    ) -> dict[str, Any]:
        rate = self.args.overload_rate
        load_before = os.getloadavg()[0]
        overflows = listen_overflows()
        bare = await self.bare_load(stand_ins, kind, rate, template)
        bare["listen_overflows"] = listen_overflows() - overflows
        name = f"overload_{kind}"
        bot = self.bot_on(stand_ins, name)
        await asyncio.to_thread(bot.start)
        try:
            await self.bot_idle(bot.url)
            assert bot.process is not None
            since = f"trace.timestamp_ms >= {int(time.time() * 1000)}"
            overflows = listen_overflows()
            ours = await self.served_load(
                bot.url + "/slack/events", bot.process.pid, kind, rate, template
            )
            ours["listen_overflows"] = listen_overflows() - overflows
            load_after = os.getloadavg()[0]
            drained = await self.drain_times(bot.url, self.args.overload_drain_s)
            # What waits in the store first, then what the server has: a row delivered in
            # between is counted twice (never lost), none is missed.
            stored = await asyncio.to_thread(store_rows, self.store_url(name), kind, trace_ids)
            tracking = Tracking(self.mlflow.url, self.experiment)
            on_server: list[Any]
            if kind == "event_callback":
                on_server = [t.info.trace_id for t in await tracking.asearch(since)]
                posted = await stand_ins.answers_posted("DLOAD")
            else:
                on_server = await asyncio.to_thread(load_assessments, tracking, trace_ids)
                posted = None
        finally:
            # Killed, not stopped: an orderly stop would drain for up to a minute more, and
            # the figure is done with this bot (its store is thrown away with the run's).
            with contextlib.suppress(ProcessLookupError):
                bot.signal_group(signal.SIGKILL)
            await asyncio.to_thread(bot.stop)
        return {
            "kind": kind,
            "offered_rps": rate,
            "load_average": [round(load_before, 1), round(load_after, 1)],
            "bot": ours,
            "bare": bare,
            "drained": drained,
            **lost_or_kept(kind, ours, stored, on_server, posted),
        }

    def store_url(self, name: str) -> str:
        """The SQLAlchemy URL of the store of the bot `bot_on(…, name)` started."""
        if self.postgres is None:
            return f"sqlite:///{self.work / f'bot-data-{name}' / FILE_NAME}"
        return driver_url(self.postgres.url.rsplit("/", 1)[0] + "/" + name)

    async def drain_times(self, bot_url: str, bound_s: float) -> dict[str, Any]:
        """Seconds from now until the bot's questions are answered, its outbox is empty and its
        traces are on the tracking server (each None if not within `bound_s`), and what still
        waited when it stopped looking (polled every 0.5 s on `/readyz`)."""
        started = time.monotonic()
        after: dict[str, float | None] = {"answered": None, "outbox": None, "traces": None}
        state: dict[str, Any] = {}
        while True:
            state = await readiness(bot_url)
            waiting = {
                "answered": state["questions"]["pending"] + state["questions"]["in_progress"],
                "outbox": state["outbox"]["pending"],
                "traces": state["traces"]["waiting"],
            }
            elapsed = time.monotonic() - started
            for what, left in waiting.items():
                if left == 0 and after[what] is None:
                    after[what] = round(elapsed, 1)
            if all(v is not None for v in after.values()) or elapsed > bound_s:
                break
            await asyncio.sleep(0.5)
        return {
            "after_s": after,
            "waiting_at_end": waiting,
            "dead": {"traces": state["traces"]["dead"], "outbox": state["outbox"]["dead"]},
        }

    # -- 3. burst ---------------------------------------------------------------------------

    async def burst(self) -> None:
        self.results["burst"] = await self.one_burst([self.sender], "DBURST")
        if self.postgres is None:
            return
        # The same burst spread over two instances on the one database (as a load balancer
        # would): on a 2-core machine this shows the overhead of sharing and that every
        # question is answered once, not a speed-up.
        second = BotProcess(
            {**self.bot_env, "BOT_DATA_DIR": str(self.work / "bot-data-2")}, self.work / "bot-2.log"
        )
        await asyncio.to_thread(second.start)
        sender = SlackSender(second.url, self.secret, "T0TEAM", "ABOT")
        try:
            await self.bot_idle(self.bot.url)
            self.results["burst_two_instances"] = await self.one_burst(
                [self.sender, sender], "DTWO"
            )
        finally:
            await sender.close()
            await asyncio.to_thread(second.stop)

    # -- 6. the tracking server down -----------------------------------------------------------

    async def outage(self) -> None:
        """The tracking server down for `--outage-seconds` while questions arrive at
        `--outage-rate` a second: every answer's trace waits in the store; once the server is
        back, how many reach it and how long the store takes to drain."""
        seconds, rate = self.args.outage_seconds, self.args.outage_rate
        await self.bot_idle(self.bot.url)
        await asyncio.to_thread(self.mlflow.stop)
        started = time.monotonic()
        channels = [f"DOUT{i:05d}" for i in range(int(seconds * rate))]
        for i, channel in enumerate(channels):
            await self.sender.event(dm(f"UOUT{i:05d}", channel, f"outage question {i}"))
            await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.monotonic()))
        answers = [await final_answer(self.slack, channel) for channel in channels]
        await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))
        waiting = (await readiness(self.bot.url))["traces"]["waiting"]
        await asyncio.to_thread(self.mlflow.start)
        back = time.monotonic()
        while (await readiness(self.bot.url))["traces"]["waiting"] > 0:
            if time.monotonic() - back > 600:
                break
            await asyncio.sleep(0.5)
        drained_in_s = time.monotonic() - back
        tracking = Tracking(self.mlflow.url, self.experiment)
        on_server = {t.info.trace_id for t in await tracking.asearch()}
        self.results["outage"] = {
            "seconds": seconds,
            "rate": rate,
            "answers": len(answers),
            "waiting_when_back": waiting,
            "traces_on_server": len({trace_id_of(a) for a in answers} & on_server),
            "drained_in_s": round(drained_in_s, 1),
        }

    async def one_burst(self, senders: list[SlackSender], prefix: str) -> dict[str, Any]:
        """`--burst` questions at once, spread over `senders` in turn."""
        tracking = Tracking(self.mlflow.url, self.experiment)
        channels = [f"{prefix}{i:05d}" for i in range(self.args.burst)]
        # The burst's traces: those that started from now on (the earlier figures' bots are
        # idle or stopped, and traced into the same experiment).
        since = f"trace.timestamp_ms >= {int(time.time() * 1000)}"
        started = time.monotonic()
        await asyncio.gather(
            *(
                senders[i % len(senders)].event(dm(f"U{prefix}{i:05d}", c, f"burst {i}"))
                for i, c in enumerate(channels)
            )
        )
        answers = [await final_answer(self.slack, channel) for channel in channels]
        answered = time.monotonic() - started
        expected = {trace_id_of(answer) for answer in answers}
        deadline = time.monotonic() + 180
        found: set[str] = set()
        while time.monotonic() < deadline:
            found = {t.info.trace_id for t in await tracking.asearch(since)}
            if expected <= found:
                break
            await asyncio.sleep(1)
        exported = time.monotonic() - started
        answers_posted = sum(
            len([m for m in self.slack.bot_messages(c) if m.get("metadata")]) for c in channels
        )
        return {
            "questions": self.args.burst,
            "instances": len(senders),
            "answered_in_s": round(answered, 1),
            "traces_exported_in_s": round(exported, 1),
            "traces_on_server": len(expected & found),
            "answers_posted": answers_posted,  # one per question: none twice
            "other_traces_in_window": len(found - expected),
        }


@dataclass(frozen=True)
class StandIns:
    """The Slack and LLM emulators' process (bench/services.py) and the bare Bolt app."""

    services: asyncio.subprocess.Process
    urls: dict[str, str]
    bare: asyncio.subprocess.Process
    bare_url: str

    async def answers_posted(self, prefix: str) -> dict[str, int]:
        """What the bot posted as answers in the channels starting with `prefix`."""
        assert self.services.stdin is not None and self.services.stdout is not None
        self.services.stdin.write(f"answers {prefix}\n".encode())
        await self.services.stdin.drain()
        return dict(json.loads(await self.services.stdout.readline()))


# The overload figure's votes and ratings are spread over this many answers (one answer
# with thousands of votes is not what a workspace does, and its deliveries go one at a time).
OVERLOAD_ANSWERS = 50
LOAD_USERS = "ULOAD%"  # bench/load.py's users, one a request
LOAD_CHANNELS = "DLOAD%"  # bench/load.py's channels, one a question


def store_rows(url: str, kind: str, trace_ids: Iterable[str]) -> dict[str, Any]:
    """What the overload's bot holds in its store (`url`) of the load: for questions, the
    questions taken (their event keys), the answers posted and the traces waiting; for votes
    and ratings, the load's users' latest intents and those still waiting in the outbox, as
    (trace, user, name) keys."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if kind == "event_callback":
                dead = kept_traces.c.dead_reason.is_not(None)
                return {
                    "taken": conn.execute(select(func.count()).select_from(seen_events)).scalar(),
                    "queued": conn.execute(select(func.count()).select_from(questions)).scalar(),
                    "answered": [
                        tuple(row)
                        for row in conn.execute(
                            select(answers.c.channel, answers.c.trace_id).where(
                                answers.c.channel.like(LOAD_CHANNELS)
                            )
                        )
                    ],
                    "waiting": set(
                        conn.execute(select(kept_traces.c.trace_id).where(~dead)).scalars()
                    ),
                    "dead": conn.execute(
                        select(func.count()).select_from(kept_traces).where(dead)
                    ).scalar(),
                }
            outbox = feedback_outbox.c
            mine = [outbox.user_id.like(LOAD_USERS), outbox.trace_id.in_(list(trace_ids))]
            key = (outbox.trace_id, outbox.user_id, outbox.name)
            waiting = conn.execute(select(*key).where(*mine, outbox.dead_reason.is_(None)))
            given_up = conn.execute(
                select(func.count())
                .select_from(feedback_outbox)
                .where(*mine, outbox.dead_reason.is_not(None))
            )
            latest = feedback_latest.c
            return {
                "waiting": {tuple(row) for row in waiting},
                "dead": given_up.scalar(),
                "latest": {
                    tuple(row)
                    for row in conn.execute(
                        select(latest.trace_id, latest.user_id, latest.name).where(
                            latest.user_id.like(LOAD_USERS),
                            latest.trace_id.in_(list(trace_ids)),
                        )
                    )
                },
            }
    finally:
        engine.dispose()


def load_assessments(tracking: Tracking, trace_ids: Iterable[str]) -> list[tuple[str, str, str]]:
    """The valid HUMAN assessments by bench/load.py's users on these traces, as (trace, user,
    name), one per assessment: a key twice is a vote or rating delivered twice."""
    found = []
    for trace_id in trace_ids:
        for a in tracking.client.get_trace_info(trace_id).assessments:
            user = a.source.source_id or ""
            human = a.source.source_type == "HUMAN"
            if a.valid is not False and human and user.startswith("ULOAD"):
                found.append((trace_id, user, a.name))
    return found


def lost_or_kept(
    kind: str,
    load: dict[str, Any],
    stored: dict[str, Any],
    on_server: list[Any],
    posted: dict[str, int] | None,
) -> dict[str, Any]:
    """Whether every request the bot acked with 200 is in its store and, from there, on the
    tracking server exactly once or still waiting in the store (not dead)."""
    acked = load["statuses"].get("200", 0)
    if kind == "event_callback":
        answered = {trace for _, trace in stored["answered"]}
        server = set(on_server) & answered
        channels = {channel for channel, _ in stored["answered"]}
        return {
            "acked": acked,
            "in_store": stored["taken"],
            "answered": len(channels),
            "answered_twice": len(stored["answered"]) - len(channels),
            "still_queued": stored["queued"],
            "slack_answers": posted,
            "on_server": len(server),
            "on_server_twice": 0,  # a trace ID is the server's key: it cannot be there twice
            "waiting": len(answered - server),
            "dead": stored["dead"],
            "lost": max(0, acked - stored["taken"])
            + max(0, stored["taken"] - len(channels) - stored["queued"])
            + len(answered - server - stored["waiting"]),
        }
    users = {user for _, user, _ in stored["latest"]}
    server = set(on_server)
    return {
        "acked": acked,
        "in_store": len(users),
        "intents": len(stored["latest"]),
        "on_server": len(server & stored["latest"]),
        "on_server_twice": len(on_server) - len(server),
        "waiting": len(stored["waiting"] - server),
        "dead": stored["dead"],
        "lost": max(0, acked - len(users)) + len(stored["latest"] - server - stored["waiting"]),
    }


def memory(rss: dict[str, float]) -> str:
    return f"{rss['total']} MB ({rss['front']} + {rss['worker']})"


# Event ack and view_submission p99 (ms) at 50 / 100 / 200 req/s in earlier `make bench` runs,
# for BENCHMARKS.md to show beside this run's (issue 14 asks for the figures before the store).
PREVIOUS_ACK_P99 = {
    "before the store (10 s a load)": {
        "event_callback": (28.84, 24.66, 67.25),
        "view_submission": (38.97, 75.97, 375.18),
    },
    "the store's first version": {
        "event_callback": (12.3, 41.44, 85.26),
        "view_submission": (17.08, 17.24, 190.28),
    },
}
# What bench/dataset_bench.py printed in its last run (1,000 answers into the evaluation
# dataset: seeding them takes minutes, so it is a run of its own too).
DATASET_RUN = ROOT / "bench" / "dataset_results.txt"


def previous_ack(results: dict[str, Any]) -> list[str]:
    now: dict[str, list[float]] = {}
    for row in results.get("ack_latency", []):
        now.setdefault(row["kind"], []).append(row["bot"]["p99_ms"])
    lines = [
        "",
        "The same p99s in earlier runs, ms at 50 / 100 / 200 req/s (this run's above):",
        "",
        "| run | event_callback | view_submission |",
        "|---|---|---|",
    ]
    for run, kinds in PREVIOUS_ACK_P99.items():
        lines.append(
            f"| {run} | {' / '.join(map(str, kinds['event_callback']))} "
            f"| {' / '.join(map(str, kinds['view_submission']))} |"
        )
    lines.append(
        f"| this run | {' / '.join(map(str, now.get('event_callback', [])))} "
        f"| {' / '.join(map(str, now.get('view_submission', [])))} |"
    )
    return lines


def markdown(results: dict[str, Any], args: argparse.Namespace, seconds: float) -> str:
    def mark(ok: bool) -> str:
        return "✅" if ok else "❌"

    machine = results.get("machine", {})  # where the figures were measured

    lines = [
        "# Benchmarks",
        "",
        f"Command: `make bench` (`python -m bench.run`), {seconds:.0f} s in all. "
        f"Machine: {machine.get('platform', platform.platform())}, "
        f"{machine.get('cores', os.cpu_count())} cores, "
        f"Python {platform.python_version()}.",
        "The bot runs as real processes (front and worker) against the Slack and LLM "
        "emulators (zero-latency LLM) and a real MLflow server (sqlite); load comes from a "
        "separate open-loop process. Figure 1: the stand-ins for remote services run at "
        "nice 10 (see the notes).",
        "",
        *goal_table(results),
        "",
        "## Ack latency: the bot against a bare Bolt app on the same server stack",
        "",
        f"{args.seconds:g} s per load; target: bot p99 ≤ 2× bare p99, no request timed out; "
        "the front's CPU per request ≤ 2× the bare app's (reported).",
        "",
        "| kind | offered req/s | bot achieved | bot p50 ms | bot p99 ms "
        "| bare p50 ms | bare p99 ms | p99 ratio | front CPU ms/req: bot / bare | |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results.get("ack_latency", []):
        bot, bare = row["bot"], row["bare"]
        cpu = (
            f"{bot['front_cpu_ms_per_request']} / {bare['front_cpu_ms_per_request']}"
            if "front_cpu_ms_per_request" in bot
            else "—"
        )
        lines.append(
            f"| {row['kind']} | {row['offered_rps']:g} | {bot['achieved_rps']} | {bot['p50_ms']} "
            f"| {bot['p99_ms']} | {bare['p50_ms']} | {bare['p99_ms']} | {row['p99_ratio']} "
            f"| {cpu} | {mark(ack_cell_ok(row))} |"
        )
    lines += previous_ack(results)
    for store, figures in (("SQLite", results), ("PostgreSQL", results.get("postgresql", {}))):
        if "overload" in figures:
            lines += overload_table(figures["overload"], store)
    overhead = results["per_answer_overhead_ms"]
    feedback = results["click_to_mlflow_ms"]
    burst = results["burst"]
    traced = results["answer_to_trace_ms"]
    block50 = next(
        (
            r["bot"]
            for r in results.get("ack_latency", [])
            if r["kind"] == "block_actions" and r["offered_rps"] == 50
        ),
        None,
    )
    lines += [
        "",
        "## The other figures",
        "",
        "| figure | measured | target | |",
        "|---|---|---|---|",
        f"| per-answer overhead (event → final post, minus the LLM's time), median | "
        f"{overhead['p50']} ms (p90 {overhead['p90']} ms, {overhead['answers']} answers) | ≤ 5 ms "
        f"| {mark(overhead['p50'] <= 5)} |",
        "| CPU per answer in that run: front / worker / tracking server | "
        + " / ".join(f"{ms} ms" for ms in overhead.get("cpu_ms_per_answer", {}).values())
        + " | (reported) | |",
        f"| burst: {burst['questions']} questions at once → traces on the server | "
        f"{burst['traces_on_server']} (answered in {burst['answered_in_s']} s, all traces on "
        f"the server after {burst.get('traces_exported_in_s', '?')} s) | "
        f"{burst['questions']} | {mark(burst['traces_on_server'] == burst['questions'])} |",
    ]
    ttfw = results.get("time_to_first_word_ms")
    if ttfw is not None:
        llm = ttfw["llm"]
        lines += [
            f"| time to first word at {ttfw['rate']:g} questions/s (sent → first text in Slack, "
            f"minus the model's {llm['ttft_s']:g} s to first token; {llm['tokens_per_s']:g} "
            f"tokens/s), p50 / p99 | {ttfw['p50']} / {ttfw['p99']} ms | ≤ 30 / ≤ 100 ms "
            f"| {mark(ttfw['p50'] <= 30 and ttfw['p99'] <= 100)} |",
            f'| assistant panel: sent → "thinking…", p50 / max | {ttfw["thinking_p50"]} / '
            f"{ttfw['thinking_max']} ms | ≤ 300 ms | {mark(ttfw['thinking_max'] <= 300)} |",
            f"| Slack calls / chat.appendStream calls for a {llm['answer_tokens']}-token answer "
            f"| {ttfw['slack_calls_per_answer']} / {ttfw['appends_per_answer']} | (reported) | |",
        ]
    outage = results.get("outage")
    if outage is not None:
        lines.append(
            f"| tracking server down {outage['seconds']:g} s under {outage['rate']:g} answers/s → "
            f"traces on the server once it is back | {outage['traces_on_server']}/"
            f"{outage['answers']} ({outage['waiting_when_back']} waited in the store; drained "
            f"{outage['drained_in_s']} s after it came back) | {outage['answers']} | "
            f"{mark(outage['traces_on_server'] == outage['answers'])} |"
        )
    if block50 is not None:
        lines.append(
            f"| click → durable in the outbox (ack after commit), p99 at 50 clicks/s | "
            f"{block50['p99_ms']} ms | ≤ 20 ms | {mark(block50['p99_ms'] <= 20)} |"
        )
    lines += [
        f"| click → visible in MLflow, median | {feedback['p50']} ms ({feedback['clicks']} clicks)"
        " | (reported) | |",
        f"| answer posted → its trace on the server, median | {traced['p50']} ms "
        f"({traced['answers']} answers, polled every 0.2 s) | (reported) | |",
        f"| bot RSS idle, front + worker | {memory(results['memory_idle_mb'])} | ≤ 150 MB "
        f"| {mark(results['memory_idle_mb']['total'] <= 150)} |",
        f"| bot RSS after the load runs | {memory(results['memory_after_load_mb'])} "
        "| (reported) | |",
        "",
        f"## The feedback report on {results['report']['sizes']} seeded answers, in this run",
        "",
        "`bench/report_bench.py`: the report (the server's aggregates) against the page-by-page "
        "reader, on the same answers; target ≤ 1.5 s for 100k.",
        "",
        "```text",
        *results["report"]["lines"],
        "```",
    ]
    if REPORT_RUN.exists():
        lines += [
            "",
            "## The feedback report on 10k and 100k answers "
            "(`make bench-report`, its last run of its own: the goal table's figure)",
            "",
            "```text",
            *REPORT_RUN.read_text().rstrip().splitlines(),
            "```",
        ]
    if DATASET_RUN.exists():
        lines += [
            "",
            "## The bulk add of 1,000 answers to the evaluation dataset "
            "(`bench/dataset_bench.py`, a run of its own)",
            "",
            "```text",
            *DATASET_RUN.read_text().rstrip().splitlines(),
            "```",
            "",
            "`python -m bot dataset add` reads the answers 100 at a time and upserts 100 records "
            "a request; the baseline adds one answer at a time (a read of its info, one of its "
            "spans, an upsert), as one click of the report's button does.",
        ]
    lines += [
        "",
        "## The digest and alert checks on 10k and 100k answers",
        "",
        "`make bench-report` times them on the same seeded answers as the report (its "
        '`alert check` and `digest` lines above); what a check sends and costs: "The digest '
        'and the alerts (issue 24)" in the notes below.',
    ]
    for title, record in (
        ("Sending traces: the options (`python -m bench.trace_send_bench`)", TRACE_SEND_RUN),
        ("Steady for an hour (`make soak`)", SOAK_RUN),
    ):
        if record.exists():
            lines += [
                "",
                f"## {title}, a run of its own",
                "",
                "```text",
                *record.read_text().rstrip().splitlines(),
                "```",
            ]
    if "postgresql" in results:
        lines += ["", *side_by_side(results, results["postgresql"])]
    notes = ROOT / "bench" / "notes.md"
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    return "\n".join(lines) + "\n"


def overload_table(figure: dict[str, Any], store: str) -> list[str]:
    """Figure 7 as a table: each kind past the ack table's rates, the bot beside the bare app,
    and what became of every request the bot acked."""
    lines = [
        "",
        f"## Overload: {figure['rate']:g} req/s ({store})",
        "",
        f"Each kind at {figure['rate']:g} req/s for {figure['seconds']:g} s, on the bare Bolt app "
        "and then on a bot of its own (a fresh store). Targets: bot p99 < 1 s, and nothing "
        "lost: every request acked with 200 in the store, and from there on the tracking "
        "server exactly once or still waiting in the store (never dead). The backlog is "
        f"watched for at most {figure['drain_bound_s']:g} s after the load's last reply "
        "(`/readyz`); what the single-worker tracking server has not taken by then is counted "
        f"where it waits. Votes and ratings are spread over {figure['answers_voted_on']} "
        "answers, one user a request.",
        "",
        "| kind | bot achieved | bot p50 / p99 ms | not acked | bare achieved, p50 / p99 ms "
        "| acked → in the store | on the server once / waiting / dead / lost "
        "| drained after the load | load avg | |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in figure["rows"]:
        bot, bare = row["bot"], row["bare"]
        not_acked = unanswered(bot)
        twice = row["on_server_twice"] + row.get("answered_twice", 0)
        lines.append(
            f"| {row['kind']} | {bot['achieved_rps']}/s | {bot['p50_ms']} / {bot['p99_ms']} "
            f"| {not_acked} | {bare['achieved_rps']}/s, {bare['p50_ms']} / {bare['p99_ms']} "
            f"| {row['acked']} → {row['in_store']}{intents(row)} "
            f"| {row['on_server']} / {row['waiting']} / {row['dead']} / {row['lost']}"
            f"{f' ({twice} twice)' if twice else ''} "
            f"| {drained(row, figure['drain_bound_s'])} "
            f"| {' → '.join(map(str, row['load_average']))} "
            f"| {'✅' if overload_ok(row) else '❌'} |"
        )
    return lines


def intents(row: dict[str, Any]) -> str:
    """A rating is several intents (one an assessment): the server's counts are of those."""
    many = row.get("intents", row["in_store"]) != row["in_store"]
    return f" ({row['intents']} intents)" if many else ""


def drained(row: dict[str, Any], bound_s: float) -> str:
    """How long the backlog of one overload row took to drain, or what still waited."""
    after, left = row["drained"]["after_s"], row["drained"]["waiting_at_end"]

    def part(what: str, label: str, unit: str) -> str:
        if after[what] is not None:
            return f"{label} in {after[what]:g} s"
        return f"{left[what]} {unit} waiting after {bound_s:g} s"

    if row["kind"] == "event_callback":
        answered = part("answered", "answered", "questions")
        return f"{answered}; {part('traces', 'traces sent', 'traces')}"
    return part("outbox", "outbox empty", "intents")


def side_by_side(sqlite: dict[str, Any], postgresql: dict[str, Any]) -> list[str]:
    """The figures the store is on the path of, with the store on SQLite and on PostgreSQL
    (a throwaway cluster on the same machine, fsync off: bench/notes.md)."""

    def ack_p99(results: dict[str, Any], kind: str, rate: float) -> str:
        rows = [
            r["bot"]["p99_ms"]
            for r in results.get("ack_latency", [])
            if r["kind"] == kind and r["offered_rps"] == rate
        ]
        return f"{rows[0]} ms" if rows else "—"

    def burst(figure: dict[str, Any] | None) -> str:
        if figure is None:
            return "—"
        return (
            f"{figure['traces_on_server']}/{figure['questions']} traces, "
            f"{figure.get('answers_posted', '?')} answers, answered in {figure['answered_in_s']} s"
            f", traced in {figure.get('traces_exported_in_s', '?')} s"
        )

    rates = sorted({r["offered_rps"] for r in sqlite.get("ack_latency", [])})
    lines = [
        "## The store on SQLite and on PostgreSQL, side by side",
        "",
        "The same figures in the same run, the store on SQLite (`BOT_DATA_DIR`) and then on "
        "PostgreSQL (`DATABASE_URL`, a local cluster with fsync off). Two instances: the same "
        "burst spread over two bot processes on the one database; on this 2-core machine that "
        "shows the cost of sharing and that each question is answered once, not a speed-up.",
        "",
        "| figure | SQLite | PostgreSQL |",
        "|---|---|---|",
    ]
    for rate in rates:
        lines.append(
            f"| event ack p99 at {rate:g}/s | {ack_p99(sqlite, 'event_callback', rate)} "
            f"| {ack_p99(postgresql, 'event_callback', rate)} |"
        )
    lines += [
        f"| click → durable p99 at 50/s | {ack_p99(sqlite, 'block_actions', 50)} "
        f"| {ack_p99(postgresql, 'block_actions', 50)} |",
        f"| per-answer overhead, median | {sqlite['per_answer_overhead_ms']['p50']} ms "
        f"| {postgresql['per_answer_overhead_ms']['p50']} ms |",
        f"| burst, one instance | {burst(sqlite.get('burst'))} "
        f"| {burst(postgresql.get('burst'))} |",
        f"| burst, two instances | — | {burst(postgresql.get('burst_two_instances'))} |",
    ]
    return lines


def report_figures(sizes: str) -> list[str]:
    """Figure 5: bench/report_bench.py (its own servers, seeded answers), its printed lines."""
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "report_bench.py"),
            "--sizes",
            sizes,
            "--repeat",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    start = done.stdout.find("\n  answers  ")  # the table and what follows it
    lines = done.stdout[start:].strip("\n").splitlines() if start >= 0 else []
    return lines or [f"report benchmark failed: {done.stderr.strip()[-300:]}"]


def main() -> None:
    # SIGTERM (a timeout, Ctrl-C's cousin) unwinds like Ctrl-C: every `finally` stops the bot,
    # the servers and the emulators it started, instead of leaving them loading the machine.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="per offered load")
    parser.add_argument("--rates", type=float, nargs="+", default=[50, 100, 200])
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--clicks-visible", type=int, default=30)
    parser.add_argument("--ttfw-rate", type=float, default=10.0, help="questions a second")
    parser.add_argument("--ttfw-seconds", type=float, default=20.0)
    parser.add_argument(
        "--ttfw-baseline",
        type=lambda tree: Path(tree).resolve(),
        help="a checkout (e.g. a git worktree of main) whose bot runs beside this one (ttfw)",
    )
    parser.add_argument("--llm-ttft-s", type=float, default=0.3, help="the model's first token")
    parser.add_argument("--llm-tokens-per-s", type=float, default=50.0)
    parser.add_argument("--answer-tokens", type=int, default=400)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--outage-seconds", type=float, default=60.0)
    parser.add_argument("--outage-rate", type=float, default=10.0, help="answers a second")
    parser.add_argument(
        "--overload-rate", type=float, default=400.0, help="req/s of each kind, past the ack table"
    )
    parser.add_argument(
        "--overload-drain-s",
        type=float,
        default=30.0,
        help="how long the overload figure waits for the bot's backlog to drain, per kind",
    )
    parser.add_argument("--report-sizes", default="10000,100000")
    parser.add_argument(
        "--figures",
        nargs="+",
        choices=FIGURES,
        default=list(FIGURES),
        help="a part of the run (while working on one figure; BENCHMARKS.md wants them all)",
    )
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument(
        "--database",
        choices=(*DATABASES, "both"),
        default="both",
        help="where the bot keeps its store: BENCHMARKS.md wants both, side by side",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="keep bench/results.json, redo the report"
    )
    args = parser.parse_args()
    started = time.monotonic()
    results_path = ROOT / "bench" / "results.json"
    if args.report_only:
        results = json.loads(results_path.read_text())
    else:
        databases = DATABASES if args.database == "both" else (args.database,)
        runs = {}
        with tempfile.TemporaryDirectory(prefix="bench-") as work:
            for database in databases:
                (Path(work) / database).mkdir()
                runs[database] = asyncio.run(Bench(args, Path(work) / database, database).run())
        results = {**runs[databases[0]], "store": databases[0]}
        if len(runs) > 1:
            results["postgresql"] = runs["postgresql"]
    if "report" in args.figures:
        lines = report_figures(args.report_sizes)
        results["report"] = {"sizes": args.report_sizes, "lines": lines}
    partial = (
        set(args.figures) != set(FIGURES)
        or set(args.kinds) != set(KINDS)
        or args.database != "both"
    )
    if partial and not args.report_only:
        print(json.dumps(results, indent=2))  # a partial run does not replace the record
        return
    elapsed = time.monotonic() - started + (results.get("seconds", 0) if args.report_only else 0)
    if not args.report_only or "machine" not in results:
        results["machine"] = {"platform": platform.platform(), "cores": os.cpu_count()}
    results["seconds"] = round(elapsed, 1)
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    (ROOT / "BENCHMARKS.md").write_text(markdown(results, args, elapsed))
    print((ROOT / "BENCHMARKS.md").read_text())


if __name__ == "__main__":
    main()
