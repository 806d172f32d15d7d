"""The alerts, end to end on real parts: a tracking server with seeded votes, the Slack
emulator, the store. Time is the test's clock (the window ends at its `now`).

- a drop raises one message, updated in place when the figures change, answered once in its
  thread when the rate is back, with no other message between;
- a channel's own drop alerts for that channel; a private one is not named or quoted;
- work waiting in the store too long: one alert, one "cleared" reply.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.broadcast.alert_rules import Thresholds
from bot.broadcast.alerts import ALL, OPS, AlertPolicy, Alerts, Backlog, incident_key
from bot.broadcast.channel_post import key_of
from bot.broadcast.report_message import ChannelReports
from bot.report.privacy import PRIVATE_QUESTION
from bot.storage.broadcasts import CLOSED, Broadcasts
from bot.storage.store import Store
from config import load_tracking_settings
from devkit.ids import new_id
from devkit.mlflow_server import MlflowServer
from devkit.slack_api import SlackEmulator
from tests.support.broadcast import Clock, everything_posted, slack_client
from tests.support.report_seed import FeedbackSeeder

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
EVERY_S = 300.0
POLICY = dict(every_s=EVERY_S, window_s=86400.0, baseline_s=7 * 86400.0)
RULE = Thresholds(min_votes=20, drop=15, floor=50)


class Votes:
    """Answers with votes in one channel, seeded at a time."""

    def __init__(self, seeder: FeedbackSeeder) -> None:
        self.seeder = seeder

    def add(
        self,
        channel: str,
        at: datetime,
        up: int,
        down: int,
        *,
        kind: str = "public_channel",
        question: Callable[[int], str] = lambda n: f"question {n}",
    ) -> None:
        traces = [
            self.seeder.answer(
                started=at + timedelta(seconds=n),
                channel=channel,
                asker="UASKER",
                question=question(n),
                answer=f"answer {n}",
                question_ts=f"{at.timestamp() + n:.6f}",
                kind=kind,
            )
            for n in range(up + down)
        ]
        self.seeder.wait_exported()
        for n, trace_id in enumerate(traces):
            self.seeder.vote(trace_id, f"UVOTER{n}", up=n < up)


@pytest.fixture
async def alerts(
    mlflow_server: MlflowServer, slack: SlackEmulator, tmp_path
) -> AsyncIterator[tuple[Alerts, Clock, Votes, list[Backlog]]]:
    name = f"alerts-{new_id('X').lower()}"
    seeder = FeedbackSeeder(mlflow_server.url, name)
    channel = new_id("C")
    slack.add_channel(channel, f"feedback-alerts-{channel.lower()}")
    store = await Store.open(tmp_path, durable=False)
    client = slack_client(slack)
    tracking = load_tracking_settings(
        mlflow_tracking_uri=mlflow_server.url, mlflow_experiment_name=name
    )
    clock = Clock(NOW.timestamp())
    backlog = [Backlog(None, "nothing")]

    async def waiting() -> Backlog:
        return backlog[-1]

    checker = Alerts(
        Broadcasts(store),
        ChannelReports(tracking, client),
        client,
        AlertPolicy(channel=channel, thresholds=RULE, **POLICY),
        waiting,
        "host-a:1",
        clock,
    )
    yield checker, clock, Votes(seeder), backlog
    await store.close()


def top_level(slack: SlackEmulator, channel: str) -> list[dict]:
    return [m for m in slack.bot_messages(channel) if "thread_ts" not in m]


def replies(slack: SlackEmulator, channel: str) -> list[dict]:
    return [m for m in slack.bot_messages(channel) if "thread_ts" in m]


def updates(slack: SlackEmulator, channel: str) -> list[dict]:
    return [c.args for c in slack.calls_to("chat.update") if c.args.get("channel") == channel]


async def next_check(checker: Alerts, clock: Clock) -> None:
    clock.now += EVERY_S
    assert await checker.run_due()


async def test_a_drop_is_one_message_updated_then_closed_once_on_recovery(
    alerts, slack: SlackEmulator
) -> None:
    checker, clock, votes, _ = alerts
    channel = checker.policy.channel
    a, b = new_id("C"), new_id("C")
    votes.add(a, NOW - timedelta(days=3), up=20, down=5)  # baseline 80%: alerts under 65%
    votes.add(a, NOW - timedelta(hours=2), up=0, down=11)
    votes.add(b, NOW - timedelta(hours=2), up=0, down=11)  # 0% of 22 (11 a channel: too few)
    assert await checker.run_due()
    assert not await checker.run_due()  # one check an interval
    [alert] = top_level(slack, channel)
    assert key_of(alert) is not None and key_of(alert).startswith(f"{ALL}@")
    assert "0.0%" in alert["text"] and "all channels" in alert["text"]
    await next_check(checker, clock)  # nothing changed: nothing sent
    assert (len(slack.bot_messages(channel)), updates(slack, channel)) == (1, [])

    votes.add(b, NOW - timedelta(hours=1), up=3, down=0)  # 12% now: the figures change
    await next_check(checker, clock)
    assert len(slack.bot_messages(channel)) == 1
    [updated] = updates(slack, channel)
    assert updated["ts"] == alert["ts"] and "12.0%" in updated["text"]

    votes.add(b, NOW - timedelta(minutes=30), up=60, down=0)  # 74% ≥ 65 + 5: recovered
    await next_check(checker, clock)
    await next_check(checker, clock)
    assert len(top_level(slack, channel)) == 1
    [recovered] = replies(slack, channel)
    assert recovered["thread_ts"] == alert["ts"] and recovered["text"].startswith("Recovered")
    assert len(updates(slack, channel)) == 2
    assert slack.find_message(channel, alert["ts"])["text"].startswith("Recovered")
    incident = await checker._broadcasts.incident(ALL)
    assert incident is not None and incident.state == CLOSED


async def test_a_private_channels_drop_alerts_without_naming_or_quoting_it(
    alerts, slack: SlackEmulator
) -> None:
    checker, _, votes, _ = alerts
    channel = checker.policy.channel
    public, private = new_id("C"), new_id("C")
    secret = new_id("secret").lower()
    votes.add(public, NOW - timedelta(hours=3), up=30, down=0)
    votes.add(
        private,
        NOW - timedelta(hours=2),
        up=0,
        down=25,
        kind="private_channel",
        question=lambda n: f"{secret} question {n}",
    )
    assert await checker.run_due()
    [alert] = top_level(slack, channel)  # the channel's; all channels: 30 of 55, over 50%
    assert key_of(alert) == incident_key(f"rate:{private}", NOW.timestamp())
    posted = everything_posted(slack)
    assert "a private conversation" in alert["text"]
    assert PRIVATE_QUESTION in posted
    assert secret not in posted and private not in posted


async def test_work_waiting_too_long_alerts_once_and_clears_once(
    alerts, slack: SlackEmulator
) -> None:
    checker, clock, _, backlog = alerts
    channel = checker.policy.channel
    backlog.append(Backlog(300.0, "3 trace(s), 0 feedback entries, 0 question(s)"))
    await next_check(checker, clock)
    assert slack.bot_messages(channel) == []
    backlog.append(Backlog(700.0, "9 trace(s), 1 feedback entries, 0 question(s)"))
    for _ in range(3):
        await next_check(checker, clock)
    [alert] = slack.bot_messages(channel)
    assert key_of(alert).startswith(f"{OPS}@") and "9 trace(s)" in alert["text"]
    backlog.append(Backlog(None, "nothing"))
    for _ in range(2):
        await next_check(checker, clock)
    [cleared] = replies(slack, channel)
    assert cleared["thread_ts"] == alert["ts"] and cleared["text"].startswith("Cleared")
    assert len(top_level(slack, channel)) == 1
