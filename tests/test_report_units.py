"""The report's parts on their own: windows, arguments, aggregation, rendering limits."""

from __future__ import annotations

import json
import random
import re
import tracemalloc
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow.entities import AssessmentSource, AssessmentSourceType, Feedback, TraceInfo
from mlflow.entities.trace_location import TraceLocation
from mlflow.entities.trace_state import TraceState
from mlflow.utils.proto_json_utils import message_to_json

from bot.report.args import ChannelRef, UsageError, parse_report_args
from bot.report.figures.answers import read_answer
from bot.report.figures.counting import ReportBuilder
from bot.report.model import LOWEST_COUNT, AnswerFeedback, Rating, Vote, percent
from bot.report.render.blocks import help_blocks, report_blocks
from bot.report.render.formats import render_text
from bot.report.render.wording import percent_text, trend_lines
from bot.report.trace_records import AnswerQuery
from bot.report.window import WindowError, parse_window
from bot.tracing.counted_feedback import CountedAssessment, Summary
from bot.tracing.data_model import CONVERSATION_KINDS
from bot.tracing.links import trace_url
from bot.tracing.trace_records import TraceRecord, trace_record
from config import load_tracking_settings
from devkit.slack_api import MESSAGE_BLOCKS_LIMIT, _validate_blocks
from devkit.slack_payloads import escaped_command_text

NOW = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)


# -- windows and arguments --------------------------------------------------------------------


def test_relative_windows_end_now() -> None:
    for spec, length in (("24h", timedelta(hours=24)), ("7d", timedelta(days=7))):
        window = parse_window(spec, NOW)
        assert (window.start, window.end) == (NOW - length, NOW)
    month = parse_window("30D", NOW)
    assert month.spec == "30d" and month.label == "the last 30 days"
    assert len(parse_window("24h", NOW).days()) == 2
    assert parse_window("7d", NOW).bucket == "day"


def test_a_date_range_is_inclusive_in_utc() -> None:
    window = parse_window("2026-11-01..2026-11-07", NOW)
    assert window.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 8, tzinfo=UTC)
    assert window.label == "2026-11-01 to 2026-11-07"
    assert len(window.days()) == 7
    assert parse_window("2026-11-01..2026-11-01").label == "2026-11-01"


def test_a_long_range_is_charted_by_week() -> None:
    window = parse_window("2026-01-01..2026-03-31")
    assert window.bucket == "week"
    buckets = window.buckets()
    assert buckets[0] == date(2025, 12, 29) and all(b.weekday() == 0 for b in buckets)
    assert window.bucket_of(int(datetime(2026, 3, 31, 12, tzinfo=UTC).timestamp() * 1000)) == (
        date(2026, 3, 30)
    )


@pytest.mark.parametrize(
    "text",
    ["3d", "", "2026-02-30..2026-03-01", "2026-03-02..2026-03-01", "2024-01-01..2025-01-02", "x"],
)
def test_what_is_not_a_window(text: str) -> None:
    with pytest.raises(WindowError):
        parse_window(text, NOW)


def test_a_range_may_span_366_days_and_no_more() -> None:
    longest = parse_window("2024-01-01..2024-12-31", NOW)  # a leap year: 366 days
    assert len(longest.days()) == 366 and longest.bucket == "week"
    with pytest.raises(WindowError, match="longer than 366 days"):
        parse_window("2024-01-01..2025-01-01", NOW)  # 367
    assert len(parse_window("2026-03-01..2026-03-31", NOW).days()) == 31
    assert parse_window("2026-03-01..2026-03-31", NOW).bucket == "day"
    assert parse_window("2026-03-01..2026-04-01", NOW).bucket == "week"  # 32 days


def test_report_arguments() -> None:
    default = parse_report_args("", NOW)
    assert default.window.spec == "7d" and default.channel is None and not default.help
    assert parse_report_args(" HELP ", NOW).help
    args = parse_report_args("<#C0123ABC|general> 30d", NOW)
    assert args.channel == ChannelRef("C0123ABC", "general") and args.window.spec == "30d"
    assert parse_report_args("#release-notes", NOW).channel == ChannelRef(None, "release-notes")
    assert parse_report_args("C0123ABC 24h", NOW).channel == ChannelRef("C0123ABC")
    assert parse_report_args("<#G0PRIV1>", NOW).channel == ChannelRef("G0PRIV1")


def test_report_arguments_as_slack_sends_them_with_escaping_on() -> None:
    """The manifest turns on "Escape channels, users, and links": a known #name comes as
    <#C…|name> (the sandbox and the tests send it so), read without any look-up."""
    sent = escaped_command_text("30d #general", {"general": "C0GENERAL"}, {})
    assert sent == "30d <#C0GENERAL|general>"
    assert parse_report_args(sent, NOW).channel == ChannelRef("C0GENERAL", "general")
    assert escaped_command_text("#nope", {"general": "C0GENERAL"}, {}) == "#nope"
    assert escaped_command_text("@you & https://x.test/a", {}, {"you": "U0YOU"}) == (
        "<@U0YOU|you> &amp; <https://x.test/a>"
    )


@pytest.mark.parametrize(
    "text", ["7d 24h", "#a #b", "C0123ABC <#C0456DEF|x>", "tomorrow", "help 7d", "<@U123>"]
)
def test_bad_report_arguments(text: str) -> None:
    with pytest.raises(UsageError):
        parse_report_args(text, NOW)


def test_the_channel_filter_takes_ids_only() -> None:
    window = parse_window("7d", NOW)
    assert "tags.`slack.channel` = 'C0123ABC'" in AnswerQuery(window, "C0123ABC").filter_string
    with pytest.raises(ValueError, match="not a Slack channel ID"):
        _ = AnswerQuery(window, "C1' OR 1=1 --").filter_string


# -- one answer's feedback ----------------------------------------------------------------------


def _feedback(name: str, value: object, user: str = "U1", **extra: object) -> Feedback:
    source = AssessmentSource(AssessmentSourceType.HUMAN, user)
    feedback = Feedback(name=name, value=value, source=source, **extra)  # type: ignore[arg-type]
    feedback.create_time_ms = 1_700_000_000_000
    return feedback


def _trace_info(assessments: list[Feedback], **extra: object) -> TraceInfo:
    return TraceInfo(
        trace_id="tr-1",
        trace_location=TraceLocation.from_experiment_id("1"),
        request_time=1_600_000_000_000,
        state=TraceState.OK,
        assessments=assessments,  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


def as_served(info: TraceInfo) -> TraceRecord:
    """`info` as the tracking server's search sends it (its JSON), read by the report."""
    return trace_record(json.loads(message_to_json(info.to_proto())))


def test_only_valid_human_votes_and_ratings_count() -> None:
    invalid = _feedback("user_feedback", True)
    invalid.valid = False
    judge = Feedback(
        name="user_feedback",
        value=False,
        source=AssessmentSource(AssessmentSourceType.LLM_JUDGE, "judge"),
    )
    answer = read_answer(
        as_served(
            _trace_info(
                [
                    invalid,
                    judge,
                    _feedback("user_feedback", False),
                    _feedback("user_feedback", "yes"),  # not a vote
                    _feedback("user_accuracy", 0.4, rationale=" wrong "),
                    _feedback("user_accuracy", 7.0),  # not a stored rating
                    _feedback("user_helpfulness", True),  # not a stored rating
                    _feedback("user_tone", 0.2),  # not one of the bot's names
                ],
                client_request_id="C0123:1712345678.000100",
                request_preview='{"question": "what?"}',
                response_preview="plain answer",
                tags={"slack.channel": "C0123", "slack.answer_ts": "1712345679.000200"},
                trace_metadata={"mlflow.trace.user": "U9"},
            )
        )
    )
    assert answer.votes == (Vote("U1", False, 1_700_000_000_000),)
    assert answer.ratings == (Rating("U1", "accuracy", 2.0, "wrong", 1_700_000_000_000),)
    assert (answer.question, answer.answer) == ("what?", "plain answer")
    assert (answer.question_ts, answer.answer_ts) == ("1712345678.000100", "1712345679.000200")
    assert (answer.channel, answer.asker) == ("C0123", "U9")
    assert answer.score == 1.5 and answer.is_negative and answer.comment == "wrong"


def test_numbers_read_with_at_most_one_decimal() -> None:
    assert percent(2, 3) == 66.7 and percent(1, 8) == 12.5 and percent(0, 0) is None
    assert [percent_text(v) for v in (66.7, 100.0, 0.0, None)] == ["66.7%", "100%", "0%", "–"]


def test_trace_links_use_the_ui_route_of_mlflow_3() -> None:
    assert trace_url("http://mlflow:5000/", "7", "tr-abc") == (
        "http://mlflow:5000/#/experiments/7/traces?selectedEvaluationId=tr-abc"
    )


def test_report_links_open_the_mlflow_ui_url_when_it_is_set() -> None:
    tracking = "http://10.0.0.5:5000"
    assert load_tracking_settings(mlflow_tracking_uri=tracking).mlflow_ui_base == tracking
    settings = load_tracking_settings(
        mlflow_tracking_uri=tracking, mlflow_ui_url="https://mlflow.example.com/ui/"
    )
    builder = ReportBuilder(AnswerQuery(WINDOW), "4", settings.mlflow_ui_base)
    builder.add(_answer(1, [False], [1.0], "C1"))
    [low] = builder.build().lowest
    assert low.trace_url == (
        "https://mlflow.example.com/ui/#/experiments/4/traces?selectedEvaluationId=tr-000001"
    )


# -- aggregation ------------------------------------------------------------------------------

WINDOW = parse_window("2026-11-01..2026-11-07")


def _answer(number: int, votes: list[bool], scores: list[float], channel: str) -> AnswerFeedback:
    return AnswerFeedback(
        trace_id=f"tr-{number:06d}",
        started_ms=WINDOW.start_ms + number * 1000,
        channel=channel,
        asker="U1",
        session=None,
        question=f"question {number} " + "x" * 500,
        answer="answer",
        answer_ts=None,
        question_ts=None,
        votes=tuple(Vote(f"U{i}", up, 0) for i, up in enumerate(votes)),
        ratings=tuple(Rating("U1", "accuracy", s, f"comment {number}", 0) for s in scores),
    )


answers_strategy = st.lists(
    st.tuples(
        st.lists(st.booleans(), max_size=3),
        st.lists(st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0]), max_size=3),
        st.sampled_from(["C1", "C2", "C3", "D1", "C4", "C5", "C6"]),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(answers_strategy)
def test_the_report_counts_like_a_brute_force_count(data: list) -> None:
    answers = [_answer(n, v, s, channel) for n, (v, s, channel) in enumerate(data)]
    builder = ReportBuilder(AnswerQuery(WINDOW), "1", "http://ui")
    for answer in answers:
        builder.add(answer)
    report = builder.build()
    assert report.answers == len(answers)
    assert report.answers_with_feedback == sum(a.has_feedback for a in answers)
    assert (report.up, report.down) == (sum(a.up for a in answers), sum(a.down for a in answers))
    assert sum(b.answers for b in report.trend) == len(answers)
    low = sorted(
        (a for a in answers if a.score is not None and a.score < 3),
        key=lambda a: (a.score, -a.down, -a.started_ms),
    )[:LOWEST_COUNT]
    assert [a.trace_id for a in report.lowest] == [a.trace_id for a in low]
    assert all(len(a.question) <= 200 for a in report.lowest)
    by_down = sorted({a.channel for a in answers if a.down and a.channel}, key=str)
    assert {c.channel for c in report.negative_channels} <= set(by_down)
    assert len(report.negative_channels) == min(5, len(by_down))
    downs = [c.down for c in report.negative_channels]
    assert downs == sorted(downs, reverse=True)


def test_memory_does_not_grow_with_the_number_of_answers() -> None:
    def peak(count: int) -> int:
        rng = random.Random(1)
        builder = ReportBuilder(AnswerQuery(WINDOW), "1", "http://ui")
        tracemalloc.start()
        for number in range(count):
            builder.add(
                _answer(number % 500_000, [rng.random() < 0.7], [rng.choice([1.0, 4.0])], "C1")
            )
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(2_000), peak(40_000)
    assert large < small * 1.5 + 50_000


# -- rendering --------------------------------------------------------------------------------


def _big_report() -> tuple:
    window = parse_window("2025-11-27..2026-11-26")  # 366 days: 53 weeks
    builder = ReportBuilder(AnswerQuery(window), "1", "http://ui")
    for number in range(300):
        answer = _answer(number, [False, False], [1.0], f"C{number % 9}")
        evil = "<!channel> & *bold* `code` " + "y" * 300
        builder.add(
            AnswerFeedback(
                **{
                    **answer.__dict__,
                    "started_ms": window.start_ms + number * 86_400_000,
                    "question": evil,
                    "ratings": (Rating("U1", "accuracy", 1.0, evil, 0),),
                }
            )
        )
    return builder.build(), window


def test_the_largest_report_fits_slack_limits() -> None:
    report, window = _big_report()
    assert window.bucket == "week" and len(report.trend) == 53
    links = {a.trace_id: "https://slack.test/archives/C1/p1" for a in report.lowest}
    blocks = [block.to_dict() for block in report_blocks(report, links)]
    assert len(blocks) <= MESSAGE_BLOCKS_LIMIT
    _validate_blocks(blocks, MESSAGE_BLOCKS_LIMIT)
    for block in blocks:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
    text = "\n".join(str(b) for b in blocks)
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp;" in text
    _validate_blocks([b.to_dict() for b in help_blocks("usage")], MESSAGE_BLOCKS_LIMIT)


def test_the_trend_is_a_fixed_width_table() -> None:
    report, window = _big_report()
    lines = trend_lines(report.trend, window.bucket)
    assert lines[0].startswith("week of")
    assert len({len(line) for line in lines[1:] if line.rstrip().endswith("%")}) == 1
    assert "No answers" not in render_text(report)
    empty = ReportBuilder(AnswerQuery(WINDOW), None, "http://ui").build()
    assert "No answers in this window." in render_text(empty)


async def test_the_workspace_admin_check_refuses_odd_user_ids_without_raising(slack) -> None:  # type: ignore[no-untyped-def]
    """Found by fuzzing: a huge, non-ID user_id made users.info fail with a non-JSON 400."""
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.report.access import ReportAccess
    from tests.support.suite import BOT_TOKEN

    access = ReportAccess([], allow_workspace_admins=True)
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    assert await access.allows(client, "[-1.9e+266, " + "¥" * 9000) is False
    assert await access.allows(client, "") is False
    assert await access.allows(client, "UNKNOWN1") is False


@settings(max_examples=200, deadline=None)
@given(
    votes=st.lists(st.booleans(), max_size=6),
    scores=st.lists(st.integers(1, 5), max_size=6),
    channel=st.sampled_from([None, "C0123ABCD", "D0ABC"]),
    kind=st.sampled_from([None, *CONVERSATION_KINDS]),
)
def test_a_feedback_summary_reads_back_as_written_and_agrees_with_the_answer(
    votes: list[bool], scores: list[int], channel: str | None, kind: str | None
) -> None:
    """The bot's summary of an answer (written by the delivery, aggregated by the report) holds
    exactly what the report reads from the answer itself."""
    found = [CountedAssessment(f"U{n}", positive=v) for n, v in enumerate(votes)]
    found += [CountedAssessment("U9", dimension="accuracy", score=float(s)) for s in scores]
    summary = Summary.of(found, channel, kind)
    assert Summary.parse(summary.value) == summary
    assert (summary.channel, summary.kind, summary.tells_kind) == (channel, kind, True)
    answer = AnswerFeedback(
        trace_id="tr-1",
        started_ms=0,
        channel=channel,
        asker=None,
        session=None,
        question="",
        answer="",
        answer_ts=None,
        question_ts=None,
        votes=tuple(Vote(f"U{n}", v, 0) for n, v in enumerate(votes)),
        ratings=tuple(Rating("U9", "accuracy", float(s), None, 0) for s in scores),
    )
    assert (summary.counted, summary.up, summary.down) == (
        len(votes) + len(scores),
        answer.up,
        answer.down,
    )
    low = answer.score is not None and answer.score < 3
    assert summary.score == (answer.score if low else None)
    if low:
        pattern = summary.rank_pattern.replace("%", ".*").replace("_", ".")
        assert re.fullmatch(pattern, json.dumps(summary.value))
        other = Summary.of([*found, CountedAssessment("U8", positive=False)], channel, kind)
        assert not re.fullmatch(pattern, json.dumps(other.value))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1 0 1",
        "a 0 1 C1",
        "1 0 1 C1 low x 1",
        "1 0 1 C1 low 1.0 2",
        "1 0 1 C1 lounge",  # not a kind
        "1 0 1 C1 dm low 1.0 2",
        "1 0 1 C1 dm dm",
    ],
)
def test_a_summary_the_bot_did_not_write_is_not_read(value: str) -> None:
    assert Summary.parse(value) is None


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("1 1 0 C1", Summary(1, 1, 0, "C1", None, None, tells_kind=False)),
        ("1 0 1 - low 1.0 1", Summary(1, 0, 1, None, 1.0, None, tells_kind=False)),
        ("0 0 0 C1 public_channel", Summary(0, 0, 0, "C1", None, "public_channel")),
        ("1 0 1 D1 - low 1.0 1", Summary(1, 0, 1, "D1", 1.0, None)),
    ],
)
def test_a_summary_written_before_it_told_the_kind_is_read_as_not_telling(
    value: str, read: Summary
) -> None:
    assert Summary.parse(value) == read
    assert read.value == value  # written back as it was


def test_a_kind_that_is_not_one_of_the_bots_is_not_said() -> None:
    summary = Summary.of([CountedAssessment("U1", positive=True)], "C1", "a kind of its own")
    assert (summary.value, summary.kind) == ("1 1 0 C1 -", None)
    assert "(a conversation not recorded)" in summary.rationale
