"""An answer's trace as a dataset record (the shape: bot/dataset/__init__.py), and which
answers a selection takes (negative, corrected). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mlflow.entities import Assessment, Trace, TraceInfo

from bot.tracing.counted_feedback import NEGATIVE_RATING, counted, from_people
from bot.tracing.data_model import CORRECTION, REASON, TAG_CHANNEL

TRACE_SOURCE = "TRACE"
SESSION_KEY = "mlflow.trace.session"
MLFLOW_USER = "mlflow.user"
# The rule each default 👎 reason stands for; another is named by its key's words.
REASON_GUIDELINES = {
    "inaccurate": "The answer is factually accurate.",
    "incomplete": "The answer is complete: it covers everything the question asks.",
    "not_what_i_asked": "The answer addresses what was actually asked.",
    "outdated": "The answer uses current, up-to-date information.",
    "inappropriate": "The answer is appropriate for a workplace.",
    "other": "",  # its comment says what
}


class NotAnAnswer(ValueError):
    """The trace holds no question and answer to keep (no root span inputs or outputs)."""


@dataclass(frozen=True)
class Feedback:
    """What people said about one answer, from its trace's valid HUMAN assessments."""

    up: int
    down: int
    low_ratings: int  # ratings at or below NEGATIVE_RATING
    reasons: tuple[tuple[str, str | None], ...]  # (reason key, comment), of 👎 votes only
    corrections: tuple[str, ...]  # newest first

    @property
    def negative(self) -> bool:
        return self.down > 0 or self.low_ratings > 0 or bool(self.reasons)

    @property
    def corrected(self) -> bool:
        return bool(self.corrections)


def feedback_of(info: TraceInfo) -> Feedback:
    up = down = low = 0
    downvoters: set[str] = set()
    reasons: list[tuple[int, str, str, str | None]] = []
    corrections: list[tuple[int, str]] = []
    for a in info.assessments:
        source = (a.valid, a.source.source_type, a.source.source_id)
        value = _value(a)
        if a.name == CORRECTION:
            if from_people(*source) and isinstance(value, str) and value.strip():
                corrections.append((_time(a), value))
            continue
        if a.name == REASON:
            if from_people(*source) and isinstance(value, str) and value:
                comment = (a.rationale or "").strip() or None
                reasons.append((_time(a), str(a.source.source_id), value, comment))
            continue
        found = counted(a.name, value, *source[1:], a.valid)
        if found is None:
            continue
        if found.positive is True:
            up += 1
        elif found.positive is False:
            down += 1
            downvoters.add(found.user)
        elif found.score <= NEGATIVE_RATING:
            low += 1
    counting = sorted((r for r in reasons if r[1] in downvoters), key=lambda r: r[0])
    return Feedback(
        up=up,
        down=down,
        low_ratings=low,
        reasons=tuple((key, comment) for _, _, key, comment in counting),
        corrections=tuple(text for _, text in sorted(corrections, key=lambda c: -c[0])),
    )


def guidelines(reasons: Iterable[tuple[str, str | None]]) -> list[str]:
    """The rules the 👎 reasons and their comments stand for, each once, in order given."""
    rules: list[str] = []
    for key, comment in reasons:
        rule = REASON_GUIDELINES.get(key)
        if rule is None:
            rule = f"The answer avoids what people flagged as “{key.replace('_', ' ')}”."
        if comment:
            rules.append(f"The answer takes this user feedback into account: {comment}")
        if rule:
            rules.append(rule)
    return list(dict.fromkeys(rules))


def dataset_record(trace: Trace, added_by: str) -> dict[str, Any]:
    """The answer's record; `NotAnAnswer` if the trace holds no question and answer."""
    root = next((s for s in trace.data.spans if s.parent_id is None), None)
    inputs = root.inputs if root is not None else None
    outputs = root.outputs if root is not None else None
    if not isinstance(inputs, dict) or not inputs.get("question"):
        raise NotAnAnswer(f"trace {trace.info.trace_id} holds no question")
    if not isinstance(outputs, dict) or "answer" not in outputs:
        raise NotAnAnswer(f"trace {trace.info.trace_id} holds no answer")
    said = feedback_of(trace.info)
    expectations: dict[str, Any] = {}
    if said.corrections:
        expectations["expected_response"] = said.corrections[0]
        if len(said.corrections) > 1:
            expectations["expected_responses"] = list(said.corrections)
    rules = guidelines(said.reasons)
    if rules:
        expectations["guidelines"] = rules
    source_data = {"trace_id": trace.info.trace_id}
    if session := trace.info.trace_metadata.get(SESSION_KEY):
        source_data["session_id"] = session
    tags = {
        "votes.up": str(said.up),
        "votes.down": str(said.down),
        "reasons": ",".join(dict.fromkeys(key for key, _ in said.reasons)),
        "corrections": str(len(said.corrections)),
        "added_by": added_by,
        MLFLOW_USER: added_by,
    }
    if channel := trace.info.tags.get(TAG_CHANNEL):
        tags["slack.channel"] = channel
    return {
        "inputs": inputs,
        "outputs": outputs,
        "expectations": expectations,
        "source": {"source_type": TRACE_SOURCE, "source_data": source_data},
        "tags": tags,
    }


def _value(assessment: Assessment) -> Any:
    return getattr(assessment, "value", None)


def _time(assessment: Assessment) -> int:
    return assessment.last_update_time_ms or assessment.create_time_ms or 0
