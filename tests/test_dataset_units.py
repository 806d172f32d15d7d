"""The dataset record of an answer's trace, the selections, and the CLI's arguments (fast)."""

from __future__ import annotations

import argparse
import io

import pytest
from mlflow.entities import (
    AssessmentSource,
    Expectation,
    Feedback,
    Span,
    Trace,
    TraceData,
    TraceInfo,
    TraceLocation,
    TraceState,
)
from mlflow.entities.span import create_mlflow_span
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext

from bot.dataset.records import NotAnAnswer, dataset_record, feedback_of, guidelines
from bot.dataset.writer import Selection
from bot.ops.dataset_cli import Progress, since_ms

TRACE_ID = "tr-" + "a" * 32


def human(user: str) -> AssessmentSource:
    return AssessmentSource(source_type="HUMAN", source_id=user)


def vote(user: str, up: bool, **extra: object) -> Feedback:
    return Feedback(name="user_feedback", value=up, source=human(user), **extra)  # type: ignore[arg-type]


def correction(user: str, text: str, at_ms: int, valid: bool = True) -> Expectation:
    found = Expectation(
        name="expected_response",
        value=text,
        source=human(user),
        create_time_ms=at_ms,
        last_update_time_ms=at_ms,
    )
    found.valid = valid
    return found


def reason(user: str, key: str, comment: str | None = None, at_ms: int = 1) -> Feedback:
    return Feedback(
        name="user_feedback_reason",
        value=key,
        rationale=comment,
        source=human(user),
        create_time_ms=at_ms,
        last_update_time_ms=at_ms,
    )


def info(*assessments: object) -> TraceInfo:
    return TraceInfo(
        trace_id=TRACE_ID,
        trace_location=TraceLocation.from_experiment_id("1"),
        request_time=1,
        state=TraceState.OK,
        trace_metadata={"mlflow.trace.session": "D1:1.2"},
        tags={"slack.channel": "D1"},
        assessments=list(assessments),  # type: ignore[arg-type]
    )


def root(inputs: object, outputs: object) -> Span:
    context = SpanContext(trace_id=1, span_id=2, is_remote=False)
    otel = ReadableSpan(
        name="slack_answer",
        context=context,
        parent=None,
        attributes={
            "mlflow.traceRequestId": f'"{TRACE_ID}"',
            "mlflow.spanInputs": __import__("json").dumps(inputs),
            "mlflow.spanOutputs": __import__("json").dumps(outputs),
        },
        start_time=1,
        end_time=2,
    )
    return create_mlflow_span(otel, TRACE_ID)


def test_corrections_newest_first_reasons_only_of_thumbs_down_voters() -> None:
    said = feedback_of(
        info(
            vote("U1", False),
            vote("U2", True),
            reason("U1", "outdated", "moved in May", at_ms=5),
            reason("U2", "inaccurate", at_ms=6),  # U2's vote is 👍: it does not count
            correction("U1", "old text", 10),
            correction("U3", "newer text", 20),
            correction("U4", "overridden", 30, valid=False),
        )
    )
    assert (said.up, said.down) == (1, 1)
    assert said.reasons == (("outdated", "moved in May"),)
    assert said.corrections == ("newer text", "old text")
    assert said.negative and said.corrected


def test_guidelines_name_each_rule_once_with_the_comments() -> None:
    rules = guidelines(
        [("inaccurate", None), ("inaccurate", "wrong date"), ("my_reason", None), ("other", "x")]
    )
    assert rules == [
        "The answer is factually accurate.",
        "The answer takes this user feedback into account: wrong date",
        "The answer avoids what people flagged as “my reason”.",
        "The answer takes this user feedback into account: x",
    ]


def test_a_record_holds_the_root_spans_inputs_and_outputs_and_the_expectations() -> None:
    inputs = {"question": "And now?", "history": [{"role": "user", "content": "Hi <@U9>"}]}
    trace = Trace(
        info(vote("U1", False), correction("U2", "Say *42*\x07", 3)),
        TraceData([root(inputs, {"answer": "No."})]),
    )
    record = dataset_record(trace, "U0ADMIN")
    assert record["inputs"] == inputs
    assert record["outputs"] == {"answer": "No."}
    assert record["expectations"] == {"expected_response": "Say *42*\x07"}
    assert record["source"] == {
        "source_type": "TRACE",
        "source_data": {"trace_id": TRACE_ID, "session_id": "D1:1.2"},
    }
    assert record["tags"] == {
        "votes.up": "0",
        "votes.down": "1",
        "reasons": "",
        "corrections": "1",
        "added_by": "U0ADMIN",
        "mlflow.user": "U0ADMIN",
        "slack.channel": "D1",
    }
    failed = Trace(info(), TraceData([root({"question": "q"}, {"error": "LLM down"})]))
    with pytest.raises(NotAnAnswer):
        dataset_record(failed, "U0ADMIN")


def test_selections_take_answers_with_feedback_negative_or_corrected_only() -> None:
    liked, disliked = feedback_of(info(vote("U1", True))), feedback_of(info(vote("U1", False)))
    corrected, silent = feedback_of(info(correction("U1", "x", 1))), feedback_of(info())
    everything = Selection(0)
    assert [everything.takes(s) for s in (liked, disliked, corrected, silent)] == [
        True,
        True,
        True,
        False,
    ]
    assert [Selection(0, negative_only=True).takes(s) for s in (liked, disliked)] == [
        False,
        True,
    ]
    assert [Selection(0, corrected_only=True).takes(s) for s in (disliked, corrected)] == [
        False,
        True,
    ]
    assert Selection(5, "C0HELP").filter_string == (
        "trace.timestamp_ms >= 5 AND tags.`slack.channel` = 'C0HELP'"
    )
    with pytest.raises(ValueError):
        Selection(0, "general' OR 1=1")


def test_since_reads_hours_and_days_and_refuses_the_rest() -> None:
    assert since_ms("24h", now_s=100_000.0) == (100_000 - 86_400) * 1000
    assert since_ms("7d", now_s=1_000_000.0) == (1_000_000 - 7 * 86_400) * 1000
    for bad in ("0d", "7x", "d", "-1d", "7 d days"):
        with pytest.raises(argparse.ArgumentTypeError):
            since_ms(bad)


def test_the_progress_bar_shows_on_a_terminal_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    shown, piped = Terminal(), io.StringIO()
    for stream in (shown, piped):
        bar = Progress(4, stream)
        bar.show(2)
        bar.done()
    assert shown.getvalue() == "\r[" + "#" * 15 + "-" * 15 + "] 2/4\n"
    assert piped.getvalue() == ""
