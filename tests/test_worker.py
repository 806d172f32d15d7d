"""The worker process: questions cross from the front to it and nothing is lost on the way
(a killed worker, SIGTERM to the whole process group)."""

from __future__ import annotations

import ast
import asyncio
import os
import signal
import sys

import pytest

from bot.runtime.worker_process import WorkerProcess, WorkerStartFailed
from devkit.bot_process import readiness
from devkit.conversation import final_answer, trace_id_of
from devkit.ids import new_id
from devkit.llm_api import LlmEmulator
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import dm
from devkit.slack_requests import SlackSender
from devkit.waiting import eventually
from tests.support.stack import Stack

pytestmark = pytest.mark.slow


async def ask(sender: SlackSender, channel: str) -> None:
    status, _ = await sender.event(dm(new_id("U"), channel, f"question in {channel}"))
    assert status == 200


async def test_a_killed_worker_is_replaced_and_questions_meanwhile_are_answered(
    stack: Stack, slack: SlackEmulator
) -> None:
    bot, sender = await stack.start_bot()
    before = new_id("D")
    await ask(sender, before)
    await final_answer(slack, before)
    (worker,) = bot.children()

    os.kill(worker, signal.SIGKILL)
    during = [new_id("D") for _ in range(5)]
    for channel in during:  # acked at once, whether the worker is back yet or not
        await ask(sender, channel)
    for channel in during:
        await final_answer(slack, channel)

    async def replaced() -> dict:
        ready = await readiness(bot.url)
        assert ready["worker"] == "running" and ready["worker_restarts"] == 1
        return ready

    await eventually(replaced, timeout_s=30)
    (new_worker,) = bot.children()
    assert new_worker != worker
    assert "the worker exited with -9" in bot.log()


async def test_sigterm_to_the_process_group_answers_every_acked_question_first(
    stack: Stack, slack: SlackEmulator, llm: LlmEmulator
) -> None:
    """Terminals and process managers signal the whole group: the worker must not die with
    the questions the front already acked."""
    bot, sender = await stack.start_bot()
    llm.delay_s = 0.5  # answers are still in flight when the signal comes
    channels = [new_id("D") for _ in range(30)]
    await asyncio.gather(*(ask(sender, c) for c in channels))

    bot.signal_group(signal.SIGTERM)
    assert await asyncio.to_thread(bot.wait, 60) == 0, bot.log()[-2000:]

    answers = [await final_answer(slack, c) for c in channels]
    await all_traced_after_a_restart(stack, answers)
    # The front's last words: the worker never restarted, and no question waits in the store.
    [summary] = [line for line in bot.log().splitlines() if " worker: {" in line]
    assert ast.literal_eval(summary.split(" worker: ", 1)[1])["worker_restarts"] == 0
    assert "wait in the store for the next start" not in bot.log()


def running(pid: int) -> bool:
    """The process exists and has not exited (an orphan's zombie has)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_with_the_front_killed_the_worker_finishes_its_answers_and_exits(
    stack: Stack, slack: SlackEmulator, llm: LlmEmulator
) -> None:
    bot, sender = await stack.start_bot()
    channels = [new_id("D") for _ in range(5)]
    llm.delay_s = 2.0  # the answers are being worked out when the front dies
    for channel in channels:
        await ask(sender, channel)
    (worker,) = bot.children()
    await eventually(lambda: _at_least(llm.requests, len(channels)), timeout_s=30)

    bot.signal(signal.SIGKILL)
    assert await asyncio.to_thread(bot.wait, 10) == -signal.SIGKILL
    answers = [await final_answer(slack, channel) for channel in channels]

    async def exited() -> bool:
        assert not running(worker)
        return True

    await eventually(exited, timeout_s=30)
    await all_traced_after_a_restart(stack, answers)


async def all_traced_after_a_restart(stack: Stack, answers: list[dict]) -> None:
    """Every answer's trace is on the tracking server, or waits in the store for the next
    start (stopping sends for a grace period only): started again, the bot sends the rest."""
    await stack.start_bot()
    tracking = stack.tracking()

    async def all_traced() -> bool:
        traced = [t.info.trace_id for t in await tracking.asearch()]
        assert {trace_id_of(a) for a in answers} == set(traced) and len(traced) == len(answers)
        return True

    await eventually(all_traced, timeout_s=60, interval_s=1.0)


async def _at_least(items: list, count: int) -> bool:
    return len(items) >= count


async def test_a_worker_that_exits_before_it_is_ready_fails_the_start() -> None:
    """The front exits 1 rather than ack questions nobody will answer (the worker says why
    on stderr: an unreachable tracking server, a bad configuration)."""
    script = "import sys; print('a library printing'); sys.exit(3)"
    link = WorkerProcess(None, command=(sys.executable, "-c", script))
    with pytest.raises(WorkerStartFailed, match="exited with 3 at start"):
        await link.start()
