"""Trace infos and trace metrics as the bot reads them from MLflow's REST API: plain values,
read straight from the JSON (without mlflow's JSON → protobuf → entities, which took more
client CPU than the server took to answer: bench/notes.md), so the modules that only name
them don't load mlflow's client. Anything MLflow's API never sends is an `UnexpectedAnswer`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.tracing.rest_errors import UnexpectedAnswer

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class AssessmentRecord:
    """An assessment as the bot reads it; absent fields have protobuf's defaults, as in
    mlflow's entities (`valid` is true unless stored false)."""

    name: str
    value: Any  # the feedback's (or an expectation's) JSON value; None when it has none
    source_type: str | None  # "HUMAN", "LLM_JUDGE", "CODE", …
    source_id: str | None
    valid: bool
    rationale: str | None  # a feedback's only, as in mlflow's entities
    create_time_ms: int


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """A trace's info as the bot reads it (mlflow's `TraceInfo`, minus what it ignores)."""

    trace_id: str
    request_time_ms: int
    client_request_id: str | None
    request_preview: str | None
    response_preview: str | None
    tags: dict[str, str]
    metadata: dict[str, str]
    assessments: tuple[AssessmentRecord, ...]


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One data point of the tracking server's trace metrics: its group, and its values by
    aggregation ("COUNT", "AVG", …)."""

    dimensions: dict[str, str]
    values: dict[str, float]


def metric_point(point: object) -> MetricPoint:
    """A data point of a QueryTraceMetrics answer as a `MetricPoint`."""
    dimensions = point.get("dimensions") or {} if isinstance(point, dict) else None
    values = point.get("values") or {} if isinstance(point, dict) else None
    if (
        not isinstance(dimensions, dict)
        or not isinstance(values, dict)
        or not all(isinstance(v, str) for v in dimensions.values())
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values.values())
    ):
        raise UnexpectedAnswer("a trace metrics data point of an unknown shape")
    return MetricPoint(dimensions, {key: float(value) for key, value in values.items()})


def trace_record(trace: object) -> TraceRecord:
    """A trace info of the REST API (a TraceInfoV3 as JSON) as a `TraceRecord`."""
    if not isinstance(trace, dict):
        raise UnexpectedAnswer("a trace that is not a JSON object")
    trace_id = trace.get("trace_id")
    if not isinstance(trace_id, str) or not trace_id:
        raise UnexpectedAnswer("a trace without a trace_id")
    assessments = trace.get("assessments", ())
    if not isinstance(assessments, list | tuple):
        raise UnexpectedAnswer(f"trace {trace_id}: assessments that are not a list")
    return TraceRecord(
        trace_id=trace_id,
        request_time_ms=_timestamp_ms(trace.get("request_time"), trace_id),
        client_request_id=_optional_str(trace, "client_request_id", trace_id),
        request_preview=_optional_str(trace, "request_preview", trace_id),
        response_preview=_optional_str(trace, "response_preview", trace_id),
        tags=_string_map(trace, "tags", trace_id),
        metadata=_string_map(trace, "trace_metadata", trace_id),
        assessments=tuple(_assessment(a, trace_id) for a in assessments),
    )


def _assessment(assessment: object, trace_id: str) -> AssessmentRecord:
    if not isinstance(assessment, dict):
        raise UnexpectedAnswer(f"trace {trace_id}: an assessment that is not a JSON object")
    source = assessment.get("source") or {}
    feedback = assessment.get("feedback")
    if not isinstance(source, dict) or not isinstance(feedback, dict | None):
        raise UnexpectedAnswer(f"trace {trace_id}: an assessment of an unknown shape")
    valid = assessment.get("valid", True)
    rationale = _optional_str(assessment, "rationale", trace_id) if feedback is not None else None
    if not isinstance(valid, bool):
        raise UnexpectedAnswer(f"trace {trace_id}: an assessment's valid that is not a boolean")
    return AssessmentRecord(
        name=_optional_str(assessment, "assessment_name", trace_id) or "",
        value=feedback.get("value") if feedback is not None else _expectation_value(assessment),
        source_type=_optional_str(source, "source_type", trace_id),
        source_id=_optional_str(source, "source_id", trace_id) or None,
        valid=valid,
        rationale=rationale or None,
        create_time_ms=_timestamp_ms(assessment.get("create_time"), trace_id),
    )


def _expectation_value(assessment: dict[str, Any]) -> Any:
    """An expectation's value (mlflow's entities read it like a feedback's); None otherwise."""
    expectation = assessment.get("expectation")
    if not isinstance(expectation, dict):
        return None
    serialized = expectation.get("serialized_value")
    if isinstance(serialized, dict) and isinstance(serialized.get("value"), str):
        try:
            return json.loads(serialized["value"])
        except ValueError:
            return None
    return expectation.get("value")


def _optional_str(data: dict[str, Any], key: str, trace_id: str) -> str | None:
    value = data.get(key)
    if not isinstance(value, str | None):
        raise UnexpectedAnswer(f"trace {trace_id}: {key} is not a string")
    return value


def _string_map(data: dict[str, Any], key: str, trace_id: str) -> dict[str, str]:
    value = data.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise UnexpectedAnswer(f"trace {trace_id}: {key} is not a map of strings")
    return value


def _timestamp_ms(value: object, trace_id: str) -> int:
    """Milliseconds since the epoch of an RFC 3339 timestamp as protobuf writes it (rounded
    down, as `Timestamp.ToMilliseconds`); 0 when absent, as for an unset protobuf field."""
    if value is None:
        return 0
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise UnexpectedAnswer(f"trace {trace_id}: {value!r} is not a timestamp")
    return (moment - _EPOCH) // _MILLISECOND
