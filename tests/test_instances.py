"""Several instances on one PostgreSQL act as one bot: an event and its retry sent to two
instances are answered once; the question of an instance killed mid-answer is answered by
another once its lease runs out; votes coalesce across instances and outlive the one that took
them (real processes, a real PostgreSQL, emulators, faults injected, counts asserted)."""

from __future__ import annotations

import asyncio
import re
import signal
import uuid

import pytest

from bot.answering.slack_reply import INTERRUPTED_NOTE
from devkit.bot_process import BotProcess, readiness, readyz
from devkit.conversation import dm, trace_id_of
from devkit.ids import new_id
from devkit.llm_api import LlmEmulator
from devkit.postgres_server import PostgresServer
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import vote_click
from devkit.slack_requests import SlackSender
from devkit.waiting import eventually
from tests.support.answered import LONG_ANSWER, all_answered, assert_answered_once, kill_9
from tests.support.stack import Stack, answers_for, assert_exactly

pytestmark = pytest.mark.slow

TRACES_SENT = re.compile(r"worker stopped; trace export: .*'traces_sent': (\d+)")
LEASE_S = 5  # the least QUESTION_LEASE_S allows: a dead instance's questions wait this long


@pytest.fixture
def shared(stack: Stack, database_url: str) -> Stack:
    """The stack's instances keep their store in one PostgreSQL database."""
    stack.env["DATABASE_URL"] = database_url
    stack.env["QUESTION_LEASE_S"] = str(LEASE_S)
    return stack


async def start_instance(stack: Stack, *args: str) -> tuple[BotProcess, SlackSender]:
    """One more instance on the shared database (`python -m bot` and `args`), with a
    `BOT_DATA_DIR` of its own (as on a platform where each instance has a disk of its own)."""
    stack.env["BOT_DATA_DIR"] = str(stack.root / f"{stack.experiment}-{len(stack.bots)}-data")
    return await stack.start_bot(*args)


async def test_an_event_to_one_instance_and_its_retry_to_another_are_answered_once(
    shared: Stack, slack: SlackEmulator
) -> None:
    a, to_a = await start_instance(shared)
    b, to_b = await start_instance(shared)
    channels = [new_id("D") for _ in range(5)]
    for channel in channels:
        event, event_id = dm(new_id("U"), channel, "asked once"), f"Ev{uuid.uuid4().hex[:10]}"
        assert (await to_a.event(event, event_id=event_id))[0] == 200
        assert (await to_b.event(event, event_id=event_id, retry_num=1))[0] == 200
    await all_answered(a)
    await all_answered(b)
    assert_answered_once(slack, channels)


async def test_a_question_of_an_instance_killed_mid_answer_is_answered_once_by_another(
    shared: Stack, slack: SlackEmulator, llm: LlmEmulator
) -> None:
    llm.fixed_answer, llm.chunk_delay_s = LONG_ANSWER, 0.5  # ~6 s per answer
    a, to_a = await start_instance(shared)
    channels = [new_id("D") for _ in range(3)]
    for channel in channels:
        assert (await to_a.event(dm(new_id("U"), channel, "asked of A")))[0] == 200

    def streaming_everywhere() -> bool:
        appended = {call.args["ts"] for call in slack.calls_to("chat.appendStream")}
        return all(
            any(m.get("streaming") and m["ts"] in appended for m in slack.bot_messages(c))
            for c in channels
        )

    await slack.wait_for(streaming_everywhere, timeout=30)
    b, _ = await start_instance(shared)  # running before A dies: it takes A's questions
    await asyncio.to_thread(kill_9, a)
    llm.chunk_delay_s = 0.0

    await all_answered(b)
    assert_answered_once(slack, channels)
    for channel in channels:  # A's stream: closed by B, saying the answer follows
        (interrupted,) = [m for m in slack.bot_messages(channel) if not m.get("metadata")]
        assert interrupted["text"].endswith(INTERRUPTED_NOTE)
    assert b.log().count("taken again (attempt 2)") == len(channels)


async def test_postgres_restarted_under_load_loses_and_duplicates_nothing(
    stack: Stack, slack: SlackEmulator, llm: LlmEmulator
) -> None:
    """Questions keep coming to two instances while their PostgreSQL restarts, and answers
    stream through the restart: an event the store cannot take is refused with a 5xx (Slack
    sends it again), never acked and lost; once the database is back every question is
    answered once and traced once."""
    llm.fixed_answer, llm.chunk_delay_s = "an answer in a few pieces " * 4, 0.3  # ~1.5 s each
    database = PostgresServer()
    await asyncio.to_thread(database.start)
    try:
        stack.env["DATABASE_URL"] = database.url
        stack.env["QUESTION_LEASE_S"] = str(LEASE_S)  # an answer the outage broke: retaken
        instances = [await start_instance(stack), await start_instance(stack)]
        channels = [new_id("D") for _ in range(40)]
        refused: list[int] = []

        async def ask_until_acked(n: int, channel: str) -> None:
            """As Slack does: the same event again (a retry) until it is acked."""
            await asyncio.sleep(n * 0.15)  # ~6 s of steady load
            event, event_id = dm(new_id("U"), channel, "asked"), f"Ev{uuid.uuid4().hex[:10]}"
            for attempt in range(60):
                _, sender = instances[(n + attempt) % 2]
                status, _ = await sender.event(event, event_id=event_id, retry_num=attempt or None)
                if status == 200:
                    return
                assert status >= 500, status
                refused.append(status)
                await asyncio.sleep(0.5)
            raise AssertionError(f"{channel} was never acked")

        asking = asyncio.gather(*(ask_until_acked(n, c) for n, c in enumerate(channels)))
        await asyncio.sleep(2.0)
        await asyncio.to_thread(database.stop)
        status, ready = await readyz(instances[0][0].url)
        assert status == 503 and ready["store"].startswith("unavailable"), ready
        await asyncio.sleep(2.0)
        await asyncio.to_thread(database.start)
        assert (await readyz(instances[1][0].url))[0] == 200  # a fresh connection, no stale one
        await asking

        assert refused, "no event was refused while the database was down"
        for bot, _ in instances:
            await all_answered(bot)
        answers = assert_answered_once(slack, channels)
        tracking = stack.tracking()

        async def all_traced_once() -> bool:
            traced = [t.info.trace_id for t in await tracking.asearch()]
            assert len(traced) == len(set(traced))
            missing = {trace_id_of(a) for a in answers} - set(traced)
            assert not missing, f"{len(missing)} of 40 answers have no trace on the server"
            return True

        await eventually(all_traced_once, timeout_s=60, interval_s=1.0)
        for bot, _ in instances:
            await asyncio.to_thread(bot.stop)
        sent = [int(n) for bot, _ in instances for n in TRACES_SENT.findall(bot.log())]
        # No trace sent twice. (Counted from the workers' exit lines: a count can only be short
        # of the traces, never over, if a worker restarted while the database was down.)
        assert sum(sent) <= len(channels), f"traces sent per worker: {sent}"
    finally:
        await stack.close()
        await asyncio.to_thread(database.remove)


async def test_web_and_worker_process_types_answer_on_one_database(
    shared: Stack, slack: SlackEmulator
) -> None:
    """`python -m bot web` only acks and keeps; `python -m bot worker` answers what any front
    kept, and stops in order on SIGTERM."""
    web, to_web = await start_instance(shared, "web")
    worker, _ = await start_instance(shared, "worker")
    channels = [new_id("D") for _ in range(5)]
    for channel in channels:
        assert (await to_web.event(dm(new_id("U"), channel, "asked of the web")))[0] == 200
    await all_answered(web)
    assert_answered_once(slack, channels)
    assert web.children() == []  # no worker process of its own
    assert (await readiness(web.url))["worker"] == "separate"
    worker.signal(signal.SIGTERM)
    assert await asyncio.to_thread(worker.wait, 60) == 0


async def test_an_instance_stays_ready_while_the_tracking_server_is_down(stack: Stack) -> None:
    """Behind a load balancer every instance would leave rotation at once: what the server
    cannot take waits in the store, so only the store decides readiness."""
    bot, _ = await start_instance(stack)
    await asyncio.to_thread(stack.server.stop)
    try:
        status, ready = await readyz(bot.url)
        assert status == 200, ready
        assert (ready["tracking_server"], ready["store"]) == ("unreachable", "available")
    finally:
        await asyncio.to_thread(stack.server.start)


async def test_votes_through_two_instances_coalesce_and_outlive_the_instance_that_took_them(
    shared: Stack, slack: SlackEmulator
) -> None:
    """👍 through A then 👎 through B: one valid vote, 👎. A vote queued by instances that
    stopped while the tracking server was down is delivered by one started later with an
    empty `BOT_DATA_DIR`."""
    tracking = shared.tracking()
    a, to_a = await start_instance(shared)
    b, to_b = await start_instance(shared)
    (answer,) = await answers_for(to_a, slack, 1, tracking)
    trace_id, user = trace_id_of(answer), new_id("U")
    assert (await to_a.interaction(vote_click(slack, answer, user, True)))[0] == 200
    assert (await to_b.interaction(vote_click(slack, answer, user, False)))[0] == 200
    expected: dict[tuple[str, str, str], object] = {(trace_id, user, "user_feedback"): False}
    await assert_exactly(tracking, expected)

    await asyncio.to_thread(shared.server.stop)
    late = new_id("U")
    assert (await to_b.interaction(vote_click(slack, answer, late, True)))[0] == 200
    for instance in (a, b):
        instance.signal(signal.SIGTERM)
        assert await asyncio.to_thread(instance.wait, 90) == 0
    await asyncio.to_thread(shared.server.start)

    await start_instance(shared)  # a disk of its own, empty
    expected[(trace_id, late, "user_feedback")] = True
    await assert_exactly(tracking, expected, timeout_s=90)
