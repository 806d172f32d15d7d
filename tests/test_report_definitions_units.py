"""What the report counts and how its arguments read (fast layer): one answer's feedback read
from a trace record, and the words a person gets back for arguments it does not take."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.report.args import ChannelRef, UsageError, parse_report_args
from bot.report.figures.answers import read_answer
from bot.report.window import WindowError, parse_window, utc_iso
from bot.tracing.trace_records import AssessmentRecord, TraceRecord

NOW = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)


def _assessment(name: str, value: object, **extra: object) -> AssessmentRecord:
    fields: dict[str, object] = {
        "name": name,
        "value": value,
        "source_type": "HUMAN",
        "source_id": "U1",
        "valid": True,
        "rationale": None,
        "create_time_ms": 1_700_000_000_000,
        **extra,
    }
    return AssessmentRecord(**fields)  # type: ignore[arg-type]


def _record(*assessments: AssessmentRecord, **extra: object) -> TraceRecord:
    fields: dict[str, object] = {
        "trace_id": "tr-" + "a" * 32,
        "request_time_ms": 1_700_000_000_123,
        "client_request_id": "C1:1700000000.000100",
        "request_preview": "What is MLflow?",
        "response_preview": "A platform.",
        "tags": {"slack.channel": "C1", "slack.answer_ts": "1700000001.000200"},
        "metadata": {"mlflow.trace.user": "U9", "mlflow.trace.session": "C1:1700000000.000100"},
        "assessments": assessments,
        **extra,
    }
    return TraceRecord(**fields)  # type: ignore[arg-type]


# -- one answer -------------------------------------------------------------------------------


def test_an_answer_is_read_with_where_and_by_whom_it_was_asked() -> None:
    answer = read_answer(_record())
    assert (answer.trace_id, answer.started_ms) == ("tr-" + "a" * 32, 1_700_000_000_123)
    assert (answer.channel, answer.asker, answer.session) == ("C1", "U9", "C1:1700000000.000100")
    assert (answer.question, answer.answer) == ("What is MLflow?", "A platform.")
    assert (answer.question_ts, answer.answer_ts) == ("1700000000.000100", "1700000001.000200")
    assert answer.votes == () and answer.ratings == () and not answer.has_feedback


def test_absent_fields_are_none_and_previews_empty() -> None:
    answer = read_answer(
        _record(
            tags={},
            metadata={"mlflow.trace.session": ""},
            client_request_id=None,
            request_preview=None,
            response_preview=None,
        )
    )
    assert (answer.channel, answer.asker, answer.session, answer.answer_ts) == (None,) * 4
    assert (answer.question, answer.answer, answer.question_ts) == ("", "", None)


@pytest.mark.parametrize(
    ("request_id", "question_ts"),
    [("C1:1.2", "1.2"), ("a:b:1.2", "1.2"), ("C1:", None), ("no-colon", None), ("", None)],
)
def test_the_questions_ts_is_the_last_part_of_the_request_id(
    request_id: str, question_ts: str | None
) -> None:
    assert read_answer(_record(client_request_id=request_id)).question_ts == question_ts


def test_mlflows_json_previews_are_unwrapped_and_other_text_kept() -> None:
    answer = read_answer(
        _record(
            request_preview=json.dumps({"question": "Why?", "answer": "no"}),
            response_preview=json.dumps({"answer": "Because."}),
        )
    )
    assert (answer.question, answer.answer) == ("Why?", "Because.")
    for kept in ("{not json", json.dumps({"question": 3}), json.dumps(["question"]), "plain"):
        assert read_answer(_record(request_preview=kept)).question == kept


def test_valid_human_votes_and_ratings_count_and_nothing_else() -> None:
    answer = read_answer(
        _record(
            _assessment("user_feedback", True),
            _assessment("user_feedback", False, source_id="U2"),
            _assessment("user_feedback", False, valid=False, source_id="U3"),
            _assessment("user_feedback", False, source_type="LLM_JUDGE", source_id="judge"),
            _assessment("user_feedback", True, source_id=""),
            _assessment("user_feedback", 1, source_id="U4"),  # not a bool
            _assessment("user_accuracy", 0.2, rationale="  wrong  ", source_id="U5"),
            _assessment("user_relevance", 1.0, rationale=" ", source_id="U6"),
            _assessment("user_helpfulness", 0.6, source_type="CODE", source_id="code"),
            _assessment("user_tone", 0.8, source_id="U7"),  # not one of the bot's names
        )
    )
    assert [(v.user, v.positive) for v in answer.votes] == [("U1", True), ("U2", False)]
    ratings = [(r.user, r.dimension, r.score, r.comment) for r in answer.ratings]
    assert ratings == [("U5", "accuracy", 1.0, "wrong"), ("U6", "relevance", 5.0, None)]


@pytest.mark.parametrize(
    ("stored", "score"),
    [(0.2, 1.0), (1.0, 5.0), (0.4444, 2.222), (1, 5.0), (0.00004, 0.0)],
)
def test_a_stored_rating_is_read_on_the_1_to_5_scale(stored: float, score: float) -> None:
    [rating] = read_answer(_record(_assessment("user_accuracy", stored))).ratings
    assert rating.score == score and rating.comment is None


@pytest.mark.parametrize("stored", [0, 0.0, -0.2, 1.0001, 2, float("nan"), float("inf"), True, "1"])
def test_what_is_no_stored_rating_is_ignored(stored: object) -> None:
    assert read_answer(_record(_assessment("user_accuracy", stored))).ratings == ()


# -- arguments and windows: the words a person gets back -----------------------------------------


def test_the_default_and_help_windows_are_the_last_7_days_from_now() -> None:
    for args in (parse_report_args("", NOW), parse_report_args("help", NOW)):
        assert (args.window.start, args.window.end) == (NOW - timedelta(days=7), NOW)
    assert parse_report_args("#general", NOW).window.end == NOW
    assert parse_report_args("30d", NOW).window.end == NOW


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("#a #b", "give at most one channel"),
        ("7d 24h", "'24h' is not understood (the window is already given)"),
        ("3d", "'3d' is not a window: use 24h, 7d, 30d or YYYY-MM-DD..YYYY-MM-DD"),
        ("2026-02-30..2026-03-01", "'2026-02-30..2026-03-01' holds a date that does not exist"),
        ("2026-03-02..2026-03-01", "'2026-03-02..2026-03-01' ends before it starts"),
        ("2024-01-01..2025-01-01", "'2024-01-01..2025-01-01' is longer than 366 days"),
    ],
)
def test_arguments_it_does_not_take_are_explained(text: str, says: str) -> None:
    with pytest.raises(UsageError) as error:
        parse_report_args(text, NOW)
    assert str(error.value) == says


def test_a_window_error_names_what_was_typed() -> None:
    with pytest.raises(WindowError, match=r"^'9d' is not a window") as error:
        parse_window(" 9d ", NOW)
    assert "YYYY-MM-DD..YYYY-MM-DD" in str(error.value)


def test_a_channel_link_without_a_name_and_a_private_channel_id() -> None:
    assert parse_report_args("<#C0123ABC>", NOW).channel == ChannelRef("C0123ABC", None)
    assert parse_report_args("G0PRIV12", NOW).channel == ChannelRef("G0PRIV12")


def test_times_are_written_in_utc() -> None:
    assert utc_iso(0) == "1970-01-01T00:00:00+00:00"
    assert utc_iso(1_700_000_000_123) == "2023-11-14T22:13:20.123000+00:00"
