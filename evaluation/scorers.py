"""The scorers of `make eval` (full mlflow).

Always, in code: `no_error` (the answer path did not fail: the trace is not in error) and
`not_empty` (the answer has text). Without an LLM: `similarity` to the record's
`expected_response` (records with a correction only; see similarity.py). With an LLM: MLflow's
judges on the configured endpoint: `correctness` against `expected_response`,
`follows_guidelines` for records with `guidelines`, and `relevance` of every answer to its
question. A scorer that does not apply to a record returns None (no assessment).
"""

from __future__ import annotations

from typing import Any

from mlflow.entities import Feedback, Trace, TraceState
from mlflow.genai.scorers import (
    Correctness,
    ExpectationsGuidelines,
    RelevanceToQuery,
    Scorer,
    scorer,
)

from evaluation.similarity import overlap

EXPECTED = "expected_response"
GUIDELINES = "guidelines"
SIMILARITY = "similarity"


@scorer(name="no_error")
def no_error(trace: Trace | None) -> Feedback:
    if trace is None:
        return Feedback(value=False, rationale="no trace was recorded")
    if trace.info.state == TraceState.ERROR:
        return Feedback(value=False, rationale=_error_of(trace))
    return Feedback(value=True)


@scorer(name="not_empty")
def not_empty(outputs: Any) -> bool:
    return isinstance(outputs, str) and bool(outputs.strip())


def similarity_scorer(min_similarity: float) -> Scorer:
    @scorer(name=SIMILARITY, pass_if=lambda value: value >= min_similarity)
    def similarity(outputs: Any, expectations: dict[str, Any] | None) -> Feedback | None:
        expected = (expectations or {}).get(EXPECTED)
        if not isinstance(expected, str) or not expected.strip():
            return None
        found = overlap(outputs if isinstance(outputs, str) else "", expected)
        return Feedback(
            value=round(found.score, 3),
            rationale=f"{found.found} of the {found.expected} words of the expected response",
        )

    return similarity


def code_scorers(min_similarity: float) -> list[Scorer]:
    return [no_error, not_empty, similarity_scorer(min_similarity)]


def judge_scorers(model_uri: str) -> list[Scorer]:
    """MLflow's judges on `model_uri` (e.g. `openai:/gpt-4o-mini`, at OPENAI_API_BASE)."""
    relevant = RelevanceToQuery(name="relevance", model=model_uri)

    @scorer(name="relevance")
    def relevance(inputs: dict[str, Any], outputs: Any) -> Feedback:
        return relevant(inputs=inputs, outputs=outputs)

    return [
        no_error,
        not_empty,
        _where_expected(EXPECTED, Correctness(name="correctness", model=model_uri)),
        _where_expected(
            GUIDELINES, ExpectationsGuidelines(name="follows_guidelines", model=model_uri)
        ),
        relevance,
    ]


def _where_expected(expectation: str, judge: Scorer) -> Scorer:
    """`judge`, on the records that have `expectation` only."""

    @scorer(name=judge.name)
    def judged(
        inputs: dict[str, Any], outputs: Any, expectations: dict[str, Any] | None
    ) -> Feedback | None:
        expected = (expectations or {}).get(expectation)
        if not expected:
            return None
        return judge(inputs=inputs, outputs=outputs, expectations={expectation: expected})

    return judged


def _error_of(trace: Trace) -> str:
    spans = trace.data.spans if trace.data else []
    root = next((span for span in spans if span.parent_id is None), None)
    outputs = root.outputs if root is not None else None
    if isinstance(outputs, dict) and outputs.get("error"):
        return f"the answer path failed: {outputs['error']}"
    return "the answer path failed"
