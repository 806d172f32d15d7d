"""The digest's and the alerts' pure parts, alone: their settings, the digest's schedule, the
alert rule with its hysteresis, and the privacy rule applied to a report before it is posted
in a channel (the end-to-end checks are in tests/test_digest.py and tests/test_alerts.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.broadcast.alert_rules import RECOVERY_MARGIN, Thresholds, Verdict, Votes, judge
from bot.broadcast.schedule import DigestSchedule, Period, end_in_key
from bot.report.model import (
    ChannelFeedback,
    Correction,
    FeedbackReport,
    LowRatedAnswer,
    RatingSummary,
    Reason,
    ReasonFigures,
)
from bot.report.privacy import PRIVATE_CONVERSATIONS, PRIVATE_QUESTION, for_channel
from bot.report.render.blocks import report_blocks
from bot.report.window import parse_window
from config import ConfigError, load_settings
from config.broadcast_values import duration_text

BASE = {
    "slack_bot_token": "xoxb-test",
    "slack_signing_secret": "secret",
    "mlflow_tracking_uri": "http://127.0.0.1:1",
}


# -- settings ------------------------------------------------------------------------------


def test_the_digest_and_alert_settings_have_the_documented_defaults() -> None:
    settings = load_settings(**BASE)
    assert settings.feedback_digest_channel is None
    assert settings.feedback_alert_channel is None
    assert settings.feedback_digest_cron == "0 9 * * MON"
    assert settings.feedback_timezone == "UTC"
    assert settings.feedback_alert_every == 300
    assert settings.feedback_alert_window == 86400
    assert settings.feedback_alert_baseline == 7 * 86400
    assert settings.feedback_alert_min_votes == 20
    assert settings.feedback_alert_drop == 15
    assert settings.feedback_alert_floor == 50


def test_the_values_are_read_as_people_write_them() -> None:
    settings = load_settings(
        **BASE,
        feedback_digest_channel=" C0DIGEST ",
        feedback_digest_cron="30  8 * * 1-5",
        feedback_timezone="Europe/Warsaw",
        feedback_alert_channel="G0ALERTS",
        feedback_alert_every="90s",
        feedback_alert_window="12h",
        feedback_alert_baseline="2w",
        feedback_alert_floor="40%",
        feedback_alert_drop="7.5",
    )
    assert settings.feedback_digest_channel == "C0DIGEST"
    assert settings.feedback_digest_cron == "30 8 * * 1-5"
    assert settings.feedback_zone == ZoneInfo("Europe/Warsaw")
    assert (settings.feedback_alert_every, settings.feedback_alert_window) == (90, 12 * 3600)
    assert settings.feedback_alert_baseline == 14 * 86400
    assert (settings.feedback_alert_floor, settings.feedback_alert_drop) == (40, 7.5)
    assert load_settings(**BASE, feedback_digest_channel="").feedback_digest_channel is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("feedback_digest_cron", "0 9 * *"),
        ("feedback_digest_cron", "0 9 * * MON 2027"),
        ("feedback_digest_cron", "61 9 * * *"),
        ("feedback_digest_cron", "0 9 * * FUNDAY"),
        ("feedback_timezone", "Mars/Olympus"),
        ("feedback_timezone", "CEST+2"),
        ("feedback_alert_every", "5 minutes"),
        ("feedback_alert_every", "0s"),
        ("feedback_alert_every", "-5m"),
        ("feedback_alert_window", "10s"),
        ("feedback_alert_baseline", "forever"),
        ("feedback_digest_channel", "#feedback-digest"),
        ("feedback_digest_channel", "general"),
        ("feedback_alert_channel", "U0123ABCD"),
        ("feedback_alert_floor", "150%"),
        ("feedback_alert_floor", "half"),
        ("feedback_alert_drop", "0"),
        ("feedback_alert_min_votes", "0"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(**BASE, **{variable: value})
    message = str(refused.value)
    assert message.startswith(f"{variable.upper()} is invalid"), message
    assert len(message.splitlines()) == 1


def test_durations_read_back_as_written() -> None:
    assert [duration_text(s) for s in (300, 86400, 7 * 86400, 90, 1.5)] == [
        "5m",
        "1d",
        "1w",
        "90s",
        "1.5s",
    ]


# -- the schedule --------------------------------------------------------------------------

WARSAW = ZoneInfo("Europe/Warsaw")


def test_the_due_period_ends_at_the_latest_cron_time_in_the_configured_zone() -> None:
    weekly = DigestSchedule("0 9 * * MON", WARSAW)
    monday_nine = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 09:00 in Warsaw (winter)
    assert weekly.due(monday_nine) == Period(monday_nine - timedelta(days=7), monday_nine)
    assert weekly.due(monday_nine - timedelta(seconds=1)) == Period(
        monday_nine - timedelta(days=14), monday_nine - timedelta(days=7)
    )
    assert weekly.due(monday_nine).key == "2026-11-30T08:00:00Z..2026-12-07T08:00:00Z"
    assert weekly.after(monday_nine) == monday_nine + timedelta(days=7)


def test_the_cron_keeps_local_time_across_a_daylight_saving_change() -> None:
    weekly = DigestSchedule("0 9 * * MON", WARSAW)
    # Summer time ends on 2026-10-25: 09:00 local is 07:00 UTC before, 08:00 UTC after.
    period = weekly.due(datetime(2026, 10, 26, 12, tzinfo=UTC))
    assert period == Period(
        datetime(2026, 10, 19, 7, tzinfo=UTC), datetime(2026, 10, 26, 8, tzinfo=UTC)
    )


def test_digest_now_covers_the_time_since_the_last_digest() -> None:
    weekly = DigestSchedule("0 9 * * MON", UTC)
    now = datetime(2026, 12, 9, 15, 30, tzinfo=UTC)
    last = datetime(2026, 12, 7, 9, tzinfo=UTC)
    assert weekly.now_period(now, last) == Period(last, now)
    assert weekly.now_period(now, None) == Period(last, now)  # the latest cron time
    assert weekly.now_period(last, None) == Period(last - timedelta(days=7), last)


@pytest.mark.parametrize(
    "key", ["digest:2026-11-30T09:00Z..2026-12-07T09:00Z", "digest:a..2026-12-07T09:00:00Z"]
)
def test_the_last_digests_end_is_read_from_its_key_with_or_without_seconds(key: str) -> None:
    assert end_in_key(key) == datetime(2026, 12, 7, 9, tzinfo=UTC)
    assert end_in_key("digest:garbled") is None


# -- the alert rule ------------------------------------------------------------------------

RULE = Thresholds(min_votes=20, drop=15, floor=50)


def votes(rate: float, total: int = 100) -> Votes:
    up = round(total * rate / 100)
    return Votes(up, total - up)


@pytest.mark.parametrize(
    ("now", "baseline", "verdict"),
    [
        (votes(80), votes(90), Verdict.FINE),  # 10 points down: under the drop
        (votes(75), votes(90), Verdict.LOW),  # 15 points down
        (votes(49), votes(50), Verdict.LOW),  # under the floor
        (votes(50), votes(50), Verdict.FINE),  # at the floor is not under it
        (votes(30, total=19), votes(90), Verdict.UNKNOWN),  # too few votes to judge
        (votes(60), votes(95, total=10), Verdict.FINE),  # a thin baseline is not compared
        (votes(40), Votes(), Verdict.LOW),  # no baseline: the floor still counts
    ],
)
def test_the_rate_breaches_on_a_drop_or_under_the_floor(
    now: Votes, baseline: Votes, verdict: Verdict
) -> None:
    assert judge(now, baseline, RULE, is_open=False) is verdict


def test_an_open_incident_closes_only_clear_of_the_limit() -> None:
    baseline = votes(90)  # limit 75
    states = []
    is_open = False
    for rate in (80, 74, 76, 74, 76, 79, 80, 77, 74):
        verdict = judge(votes(rate), baseline, RULE, is_open=is_open)
        if verdict is Verdict.LOW:
            is_open = True
        elif verdict is Verdict.FINE:
            is_open = False
        states.append(is_open)
    # Opens at 74, stays open while it wobbles around 75, closes at 80 (75 + margin).
    assert RECOVERY_MARGIN == 5
    assert states == [False, True, True, True, True, True, False, False, True]
    assert judge(votes(10, total=5), baseline, RULE, is_open=True) is Verdict.UNKNOWN


# -- privacy -------------------------------------------------------------------------------

WINDOW = parse_window("2026-11-30..2026-12-06")
POSTED_IN = "C0DIGEST"


def low(trace_id: str, channel: str | None, kind: str | None, question: str) -> LowRatedAnswer:
    return LowRatedAnswer(
        trace_id=trace_id,
        score=1.0,
        up=0,
        down=1,
        ratings=1,
        question=question,
        comment=f"comment on {question}",
        channel=channel,
        answer_ts="1700000000.000200",
        question_ts="1700000000.000100",
        started_ms=WINDOW.start_ms,
        trace_url=f"http://mlflow/#/experiments/1/traces?selectedEvaluationId={trace_id}",
        conversation_kind=kind,
    )


ANSWERS = (
    low("t-public", "C0PUBLIC", "public_channel", "public question"),
    low("t-dm", "D0DM", "dm", "dm secret"),
    low("t-group", "G0GROUP", "group_dm", "group dm secret"),
    low("t-private", "C0PRIVATE", "private_channel", "private channel secret"),
    low("t-assistant", "D0PANEL", "assistant", "assistant panel secret"),
    low("t-unknown", "C0WHO", "unknown", "unknown kind secret"),
    low("t-untagged", "C0OLD", None, "untagged older secret"),
    low("t-odd", "C0ODD", "something_new", "unheard-of kind secret"),
    low("t-here", POSTED_IN, "private_channel", "asked where the digest goes"),
)
SECRETS = [a.question for a in ANSWERS if "secret" in a.question]


def report() -> tuple[FeedbackReport, ReasonFigures]:
    channels = tuple(
        ChannelFeedback(c, answers=3, up=1, down=2)
        for c in ("C0PUBLIC", "D0DM", "C0PRIVATE", POSTED_IN)
    )
    built = FeedbackReport(
        window=WINDOW,
        channel=None,
        experiment_id="1",
        answers=40,
        answers_with_feedback=20,
        up=10,
        down=10,
        ratings=(RatingSummary("accuracy", 1, 1.0),),
        trend=(),
        lowest=ANSWERS,
        negative_channels=channels,
    )
    reasons = ReasonFigures(
        counts=(("inaccurate", 3),),
        given={
            a.trace_id: (Reason("U1", "inaccurate", f"reason for {a.question}", 0),)
            for a in ANSWERS
        },
        corrected=len(ANSWERS),
        corrections={
            a.trace_id: (Correction("U2", f"correction for {a.question}", 0),) for a in ANSWERS
        },
    )
    return built, reasons


def test_only_public_answers_and_those_of_the_channel_posted_in_are_quoted() -> None:
    shared, reasons = for_channel(*report(), POSTED_IN, public_channels={"C0PUBLIC"})
    quoted = {a.trace_id: a for a in shared.lowest}
    assert quoted["t-public"] == ANSWERS[0]
    assert quoted["t-here"] == ANSWERS[-1]
    for answer in ANSWERS[1:-1]:
        hidden = quoted[answer.trace_id]
        assert hidden.question == PRIVATE_QUESTION
        assert (hidden.comment, hidden.channel, hidden.answer_ts, hidden.question_ts) == (
            None,
            None,
            None,
            None,
        )
        assert hidden.trace_url == answer.trace_url  # the trace link stays
        assert [r.comment for r in reasons.given[answer.trace_id]] == [None]
        assert answer.trace_id not in reasons.corrections
    assert reasons.given["t-public"][0].comment == "reason for public question"
    assert set(reasons.corrections) == {"t-public", "t-here"}


def test_channels_a_post_may_not_name_are_added_up_unnamed() -> None:
    shared, _ = for_channel(*report(), POSTED_IN, public_channels={"C0PUBLIC"})
    rows = {row.channel: (row.answers, row.up, row.down) for row in shared.negative_channels}
    assert rows == {
        "C0PUBLIC": (3, 1, 2),
        POSTED_IN: (3, 1, 2),
        PRIVATE_CONVERSATIONS: (6, 2, 4),
    }
    # Posted elsewhere, with no channel known to be public: none is named.
    scoped, _ = for_channel(*report(), "C0ELSEWHERE", public_channels=set())
    assert {row.channel for row in scoped.negative_channels} == {PRIVATE_CONVERSATIONS}


def test_the_rendered_post_holds_no_private_text() -> None:
    shared, reasons = for_channel(*report(), POSTED_IN, public_channels={"C0PUBLIC"})
    rendered = json.dumps([b.to_dict() for b in report_blocks(shared, {}, reasons)])
    for secret in SECRETS:
        assert secret not in rendered
    for channel in ("D0DM", "G0GROUP", "C0PRIVATE", "D0PANEL", "C0WHO", "C0OLD", "C0ODD"):
        assert channel not in rendered
    assert "public question" in rendered and "asked where the digest goes" in rendered
    assert PRIVATE_QUESTION in rendered
    # The admins' own report is not passed through the rule: it shows everything.
    whole = json.dumps([b.to_dict() for b in report_blocks(*report()[:1], {}, report()[1])])
    assert all(secret in whole for secret in SECRETS)
