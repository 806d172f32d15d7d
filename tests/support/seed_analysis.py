"""The analysis this product grew from: `analyze_user_feedback` and `analyze_ratings`, copied
as first written, to compare the bot's data and report with what that analysis expects."""

from __future__ import annotations

from mlflow.tracing.client import TracingClient


def analyze_user_feedback(client: TracingClient, traces: list) -> dict[str, float]:
    """The seed's function, as written there (with `trace.info.assessments`, where MLflow 3
    keeps them): every assessment counts, overridden and non-human ones too, and the positive
    rate is divided by the traces with any assessment."""
    total_traces = len(traces)
    traces_with_feedback = positive_count = negative_count = 0
    for trace in traces:
        trace_detail = client.get_trace(trace.info.trace_id)
        if trace_detail.info.assessments:
            traces_with_feedback += 1
            for assessment in trace_detail.info.assessments:
                if assessment.name == "user_feedback":
                    if assessment.value:
                        positive_count += 1
                    else:
                        negative_count += 1
    if traces_with_feedback > 0:
        feedback_rate = (traces_with_feedback / total_traces) * 100
        positive_rate = (positive_count / traces_with_feedback) * 100
    else:
        feedback_rate = positive_rate = 0
    return {
        "total_traces": total_traces,
        "traces_with_feedback": traces_with_feedback,
        "feedback_rate": feedback_rate,
        "positive_rate": positive_rate,
        "positive_count": positive_count,
        "negative_count": negative_count,
    }


def analyze_ratings(client: TracingClient, traces: list) -> dict[str, float]:
    """The seed's function: the mean stored value (0–1) of every `user_*` rating, valid or not."""
    ratings_by_dimension: dict[str, list[float]] = {}
    for trace in traces:
        trace_detail = client.get_trace(trace.info.trace_id)
        for assessment in trace_detail.info.assessments:
            if assessment.name.startswith("user_") and assessment.name != "user_feedback":
                dimension = assessment.name.replace("user_", "")
                ratings_by_dimension.setdefault(dimension, []).append(assessment.value)
    return {d: sum(s) / len(s) for d, s in ratings_by_dimension.items() if s}
