"""The digest, end to end on real parts: a tracking server with seeded answers, the Slack
emulator, and the store on PostgreSQL (two instances) or SQLite. Time is the test's clock:
the schedule is evaluated at the times the test sets, nothing sleeps until a cron time.

- exactly once per period with two instances on one PostgreSQL, and with a restart across
  the period boundary (and one more than a day late: skipped with a log line);
- a crash between posting and recording: the next instance finds the post, does not repeat it;
- Slack refusing the post: retried, logged once, posted once; an archived channel: given up;
- no text of a DM, group DM or private channel in the post.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from bot.broadcast import digest as digest_module
from bot.broadcast.channel_post import key_of
from bot.broadcast.digest import LEASE_S, RETRY_S, Digest
from bot.broadcast.report_message import ChannelReports
from bot.broadcast.schedule import DigestSchedule
from bot.report.privacy import PRIVATE_QUESTION
from bot.storage.broadcasts import POSTED, Broadcasts
from bot.storage.store import Store
from config import load_tracking_settings
from devkit.bot_process import BotProcess, clean_environment
from devkit.ids import new_id
from devkit.mlflow_server import MlflowServer
from devkit.slack_api import SlackEmulator
from sandbox import DIGEST_CHANNEL_ID
from sandbox.server import Sandbox
from tests.support.broadcast import Clock, Seeded, everything_posted, seed_every_kind, slack_client
from tests.support.browser import chromium_page, screenshot
from tests.support.report_seed import FeedbackSeeder
from tests.support.suite import ROOT_DIR

# Weekly on Mondays at 09:00 in Warsaw (08:00 UTC in winter).
CRON = "0 9 * * MON"
ZONE = "Europe/Warsaw"
T1 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
T2 = T1 + timedelta(days=7)
T3 = T2 + timedelta(days=7)


@pytest.fixture(scope="module")
def experiment(mlflow_server: MlflowServer) -> tuple[str, Seeded]:
    """Answers in the week before T1 and in the week before T2, from every kind of place."""
    name = f"digest-{new_id('X').lower()}"
    seeder = FeedbackSeeder(mlflow_server.url, name)
    seeded = seed_every_kind(seeder, T1 - timedelta(days=2))
    seed_every_kind(seeder, T2 - timedelta(days=3), seeded)
    seeder.wait_exported()
    return name, seeded


class Instance:
    """One instance of the bot, as far as the digest goes: its own store connection, owner
    and Slack client."""

    def __init__(self, digest: Digest, store: Store) -> None:
        self.digest = digest
        self.store = store

    async def close(self) -> None:
        await self.store.close()


@pytest.fixture
async def instances(
    mlflow_server: MlflowServer,
    slack: SlackEmulator,
    experiment: tuple[str, Seeded],
    tmp_path,
) -> AsyncIterator:
    opened: list[Instance] = []
    channel = new_id("C")
    slack.add_channel(channel, f"feedback-digest-{channel.lower()}")
    tracking = load_tracking_settings(
        mlflow_tracking_uri=mlflow_server.url, mlflow_experiment_name=experiment[0]
    )

    async def start(clock: Clock, database_url: str | None, owner: str) -> Instance:
        store = await Store.open(tmp_path, durable=False, database_url=database_url)
        client = slack_client(slack)
        digest = Digest(
            Broadcasts(store),
            ChannelReports(tracking, client),
            client,
            channel,
            DigestSchedule(CRON, __import__("zoneinfo").ZoneInfo(ZONE)),
            owner,
            clock,
        )
        instance = Instance(digest, store)
        opened.append(instance)
        return instance

    start.channel = channel  # type: ignore[attr-defined]
    yield start
    for instance in opened:
        await instance.close()


def digests(slack: SlackEmulator, channel: str) -> list[str]:
    return [str(key_of(m)) for m in slack.bot_messages(channel)]


async def test_two_instances_on_one_postgresql_post_each_digest_once(
    instances, database_url: str, slack: SlackEmulator, experiment: tuple[str, Seeded]
) -> None:
    channel = instances.channel
    clock = Clock(T1.timestamp() + 5)
    a = await instances(clock, database_url, "host-a:1")
    b = await instances(clock, database_url, "host-b:1")
    for _ in range(3):
        await asyncio.gather(a.digest.run_due(), b.digest.run_due())
    assert digests(slack, channel) == ["digest:2026-11-16T08:00:00Z..2026-11-23T08:00:00Z"]
    clock.set(T1 + timedelta(days=3))
    await asyncio.gather(a.digest.run_due(), b.digest.run_due())
    assert len(digests(slack, channel)) == 1
    clock.set(T2 + timedelta(minutes=1))
    for _ in range(3):
        await asyncio.gather(a.digest.run_due(), b.digest.run_due())
    assert digests(slack, channel) == [
        "digest:2026-11-16T08:00:00Z..2026-11-23T08:00:00Z",
        "digest:2026-11-23T08:00:00Z..2026-11-30T08:00:00Z",
    ]
    first = slack.bot_messages(channel)[0]
    assert first["text"].startswith("Feedback digest: Feedback report for 2026-11-16 to 2026-11-23")
    assert "7 answers" in first["text"]  # the first week's, not the second's


async def test_a_restart_across_the_period_boundary_posts_once_and_skips_a_day_late(
    instances, database_url: str, slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    channel = instances.channel
    clock = Clock((T1 + timedelta(hours=1)).timestamp())
    before = await instances(clock, database_url, "host-a:1")
    await before.digest.run_due()
    await before.close()  # down across T2 …
    clock.set(T2 + timedelta(hours=3))  # … and up again three hours late
    after = await instances(clock, database_url, "host-a:2")
    await after.digest.run_due()
    await after.digest.run_due()
    assert digests(slack, channel) == [
        "digest:2026-11-16T08:00:00Z..2026-11-23T08:00:00Z",
        "digest:2026-11-23T08:00:00Z..2026-11-30T08:00:00Z",
    ]
    await after.close()
    clock.set(T3 + timedelta(hours=25))  # down for more than a day after T3
    late = await instances(clock, database_url, "host-a:3")
    with caplog.at_level(logging.WARNING, logger=digest_module.__name__):
        await late.digest.run_due()
        await late.digest.run_due()
    assert len(digests(slack, channel)) == 2
    skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 1
    assert "2026-11-30T08:00:00Z..2026-12-07T08:00:00Z" in skipped[0].getMessage()


class CrashAfterPosting(Broadcasts):
    """An instance that dies between posting the digest and recording it."""

    async def finish(self, key: str, owner: str, state: str, now: float, **kw: object) -> None:
        if state == POSTED:
            raise SystemExit("killed between the post and its record")
        await super().finish(key, owner, state, now, **kw)  # type: ignore[arg-type]


async def test_a_crash_between_posting_and_recording_does_not_post_twice(
    instances, slack: SlackEmulator
) -> None:
    channel = instances.channel
    clock = Clock(T1.timestamp() + 5)
    doomed = await instances(clock, None, "host-a:1")
    doomed.digest._broadcasts = CrashAfterPosting(doomed.store)
    with pytest.raises(SystemExit):
        await doomed.digest.run_due()
    await doomed.close()
    assert len(digests(slack, channel)) == 1
    for n in range(450):  # a busy channel: the post is pages back in its history
        slack.add_user_message(channel, "U0CHATTY", f"chatter {n}")
    restarted = await instances(clock, None, "host-a:2")
    await restarted.digest.run_due()  # the claim is still held: nothing
    clock.now += LEASE_S + 1  # the dead holder's claim ran out
    await restarted.digest.run_due()
    await restarted.digest.run_due()
    assert len(digests(slack, channel)) == 1
    key = digests(slack, channel)[0]
    state = await Broadcasts(restarted.store).state(key)
    assert state == (POSTED, slack.bot_messages(channel)[0]["ts"])


async def test_slack_refusing_the_post_is_retried_logged_once_and_posted_once(
    instances, slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    channel = instances.channel
    clock = Clock(T1.timestamp() + 5)
    instance = await instances(clock, None, "host-a:1")
    slack.fail("chat.postMessage", status=503, times=6)  # more than the client's 2 retries
    with caplog.at_level(logging.WARNING, logger=digest_module.__name__):
        for _ in range(2):  # the client retries, the digest tries again after RETRY_S
            await instance.digest.run_due()
            assert digests(slack, channel) == []
            clock.now += RETRY_S / 2
            await instance.digest.run_due()  # not yet
            clock.now += RETRY_S / 2
        await instance.digest.run_due()
    assert len(digests(slack, channel)) == 1
    assert len([r for r in caplog.records if "could not be posted yet" in r.getMessage()]) == 1


async def test_an_archived_channel_is_given_up_at_once_and_logged_once(
    instances, slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    channel = instances.channel
    slack.add_channel(channel, "archived-digest", archived=True)
    clock = Clock(T1.timestamp() + 5)
    instance = await instances(clock, None, "host-a:1")
    with caplog.at_level(logging.WARNING, logger=digest_module.__name__):
        for _ in range(3):
            await instance.digest.run_due()
            clock.now += RETRY_S + 1
    posts = [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == channel]
    assert len(posts) == 1
    assert len([r for r in caplog.records if "is_archived" in r.getMessage()]) == 1


async def test_the_digest_quotes_no_private_conversation(
    instances, slack: SlackEmulator, experiment: tuple[str, Seeded]
) -> None:
    _, seeded = experiment
    channel = instances.channel
    instance = await instances(Clock(T1.timestamp() + 5), None, "host-a:1")
    assert await instance.digest.run_due() is not None
    posted = everything_posted(slack)
    assert PRIVATE_QUESTION in posted
    assert seeded.public_questions[0] in posted
    leaked = [secret for secret in seeded.secrets + seeded.private_channels if secret in posted]
    assert leaked == []
    assert channel in posted


async def run_bot(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """`python -m bot …` as an operator runs it (the emulators answer from this loop)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT_DIR,
        env=clean_environment(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_digest_now_posts_one_at_once_and_the_next_continues_from_it(
    bot_env: dict[str, str], slack: SlackEmulator, tmp_path
) -> None:
    channel = new_id("C")
    slack.add_channel(channel, "feedback-digest-now")
    env = {**bot_env, "FEEDBACK_DIGEST_CHANNEL": channel, "BOT_DATA_DIR": str(tmp_path)}
    code, output = await run_bot("digest", env=env)
    assert code == 0 and f"next digest in {channel}" in output, output
    assert slack.bot_messages(channel) == []
    code, output = await run_bot("digest", "--now", env=env)
    assert code == 0 and "digest posted" in output, output
    [posted] = slack.bot_messages(channel)
    assert posted["text"].startswith("Feedback digest: Feedback report for")
    code, output = await run_bot("digest", "--now", env=env)
    assert code == 0, output
    first, second = (str(key_of(m)) for m in slack.bot_messages(channel))
    assert first.rsplit("..", 1)[1] == second.split(":", 1)[1].split("..")[0]


async def test_two_digests_now_in_the_minute_of_the_cron_time_are_two_periods(
    instances, slack: SlackEmulator
) -> None:
    """The period's key is to the second: `--now` at 08:00:10 and again at 08:00:40 (the
    cron time is 08:00 UTC) were once one key, and the second was refused as posted."""
    clock = Clock(T1.timestamp() + 10)
    instance = await instances(clock, None, "host-a:1")
    assert await instance.digest.post_now() is not None
    clock.now += 30
    assert await instance.digest.post_now() is not None
    first, second = digests(slack, instances.channel)
    assert first == "digest:2026-11-23T08:00:00Z..2026-11-23T08:00:10Z"
    assert second == "digest:2026-11-23T08:00:10Z..2026-11-23T08:00:40Z"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FEEDBACK_DIGEST_CRON", "0 9 * *"),
        ("FEEDBACK_TIMEZONE", "Europe/Atlantis"),
        ("FEEDBACK_ALERT_EVERY", "5 minutes"),
        ("FEEDBACK_DIGEST_CHANNEL", "#feedback-digest"),
    ],
)
async def test_a_malformed_setting_stops_start_up_with_2_naming_it(
    bot_env: dict[str, str], variable: str, value: str
) -> None:
    code, output = await run_bot(env={**bot_env, variable: value})
    assert code == 2, output
    assert f"configuration error: {variable} is invalid" in output


async def test_the_sandboxs_button_runs_the_digest_into_its_feedback_digest_channel(
    mlflow_server: MlflowServer, experiment: tuple[str, Seeded], tmp_path
) -> None:
    token, secret = "xoxb-sandbox-digest", "sandbox-digest-secret"
    sandbox = Sandbox(
        bot_url="http://127.0.0.1:9",
        bot_token=token,
        signing_secret=secret,
        digest_command=[sys.executable, "-m", "bot", "digest", "--now"],
        digest_env={
            "SLACK_BOT_TOKEN": token,
            "SLACK_SIGNING_SECRET": secret,
            "MLFLOW_TRACKING_URI": mlflow_server.url,
            "MLFLOW_EXPERIMENT_NAME": experiment[0],
            "FEEDBACK_DIGEST_CHANNEL": DIGEST_CHANNEL_ID,
            "BOT_DATA_DIR": str(tmp_path),
            "OLLAMA_URL": "",
        },
    )
    url = await sandbox.start()  # the page, and the Web API the digest posts through
    try:
        listed = {c["id"]: c for c in sandbox.state()["conversations"]}
        assert listed[DIGEST_CHANNEL_ID]["name"] == "feedback-digest"
        assert listed[DIGEST_CHANNEL_ID]["digest"] is True
        async with chromium_page() as page:
            await page.goto(url)
            await page.click(f"[data-conversation={DIGEST_CHANNEL_ID}]")
            await page.get_by_role("button", name="Run the digest now").click()
            await expect(page.locator("#digest-result")).to_contain_text(
                "digest posted", timeout=60_000
            )
            await expect(page.locator("#messages")).to_contain_text("Feedback report")
            await screenshot(page, "sandbox-digest.png")
        [posted] = sandbox.slack.bot_messages(DIGEST_CHANNEL_ID)
        assert posted["text"].startswith("Feedback digest:")
        assert any(b.get("type") == "header" for b in posted["blocks"])
    finally:
        await sandbox.stop()


async def test_the_digest_draws_charts_and_falls_back_to_text_where_the_channel_refuses_them(
    instances, slack: SlackEmulator
) -> None:
    channel = instances.channel
    clock = Clock(T1.timestamp() + 5)
    charted = await instances(clock, None, "host-a:1")
    await charted.digest.run_due()
    [with_charts] = slack.bot_messages(channel)
    kinds = {block["type"] for block in with_charts["blocks"]}
    assert "data_visualization" in kinds and "data_table" in kinds

    other = new_id("C")
    slack.add_channel(other, "refuses-charts")
    charted.digest.channel = other
    slack.data_blocks_refused_by.add("chat.postMessage")
    try:
        clock.set(T2 + timedelta(minutes=1))
        await charted.digest.run_due()
        clock.set(T3 + timedelta(minutes=1))
        await charted.digest.run_due()
    finally:
        slack.data_blocks_refused_by.discard("chat.postMessage")
    texts = slack.bot_messages(other)
    assert len(texts) == 2
    for message in texts:
        assert not {"data_visualization", "data_table"} & {b["type"] for b in message["blocks"]}
        assert message["text"].startswith("Feedback digest:")
    assert slack.data_blocks_refusals.count("chat.postMessage") == 1  # remembered for it


async def test_the_bots_worker_posts_the_digest_and_checks_the_alerts(
    bot_env: dict[str, str], slack: SlackEmulator, tmp_path
) -> None:
    """The real bot: its worker runs the schedule (every minute here: the latest minute's
    digest is due at start) and the alert check (no votes: nothing to say)."""
    digest, alerts = new_id("C"), new_id("C")
    slack.add_channel(digest, "feedback-digest-worker")
    slack.add_channel(alerts, "feedback-alerts-worker")
    env = {
        **bot_env,
        "BOT_DATA_DIR": str(tmp_path),
        "FEEDBACK_DIGEST_CHANNEL": digest,
        "FEEDBACK_DIGEST_CRON": "* * * * *",
        "FEEDBACK_ALERT_CHANNEL": alerts,
        "FEEDBACK_ALERT_EVERY": "1s",
    }
    process = BotProcess(env, tmp_path / "bot.log")
    await asyncio.to_thread(process.start)
    try:
        [posted] = await slack.wait_for(lambda: slack.bot_messages(digest) or None, timeout=60)
        assert posted["text"].startswith("Feedback digest:")
        assert str(key_of(posted)).startswith("digest:")
        await asyncio.sleep(3)  # a few alert checks (every second) and digest ticks more
    finally:
        await asyncio.to_thread(process.stop)
    assert len(slack.bot_messages(digest)) in (1, 2)  # a minute may have turned meanwhile
    assert slack.bot_messages(alerts) == []
    assert "Traceback" not in process.log()
