"""Traces sent several to a request (each one's info, then their spans in one OTLP request)
show on a real tracking server exactly as a trace sent alone, the way the bot sent each
before (info, then its own spans): span names, types, inputs and outputs, previews, tags,
metadata, token usage, and the assessments logged afterwards."""

from __future__ import annotations

import json

import mlflow
from mlflow.entities import AssessmentSource, AssessmentSourceType
from mlflow.tracing.client import TracingClient
from mlflow.utils.rest_utils import get_error_code

from bot.tracing.durable_export import TraceSender
from devkit.mlflow_server import MlflowServer
from devkit.trace_samples import make_traces
from devkit.traces import differences, send_one_at_a_time, server_view


def trace_id(trace_json: str) -> str:
    return str(json.loads(trace_json)["info"]["trace_id"])


def test_a_trace_sent_with_others_shows_as_one_sent_alone(mlflow_server: MlflowServer) -> None:
    mlflow.set_tracking_uri(mlflow_server.url)
    client = TracingClient(mlflow_server.url)
    # The same answer twice (same question, user, channel, model reply), and three others.
    (alone,) = make_traces("trace-sending", 1, "same")
    (grouped,) = make_traces("trace-sending", 1, "same")
    others = make_traces("trace-sending", 3, "other")

    send_one_at_a_time(client, alone)
    outcomes = TraceSender(mlflow_server.url).send_many([others[0], grouped, *others[1:]])
    assert outcomes == [None] * 4
    for sent in (alone, grouped):  # a vote afterwards, on each
        mlflow.log_feedback(
            trace_id=trace_id(sent),
            name="user_feedback",
            value=True,
            source=AssessmentSource(AssessmentSourceType.HUMAN, "U000000"),
        )

    shown_alone = server_view(client, trace_id(alone))
    shown_grouped = server_view(client, trace_id(grouped))
    assert differences(shown_alone, shown_grouped) == []
    # Not a comparison of two empty views: what the bot sets is there.
    info = shown_grouped["info"]
    assert info["tags"]["slack.channel"] == "D000000"
    assert info["trace_metadata"]["mlflow.trace.user"] == "U000000"
    assert info["client_request_id"] == "D000000:1700000000.000000"
    assert info["request_preview"].startswith("same question 0")
    assert json.loads(info["trace_metadata"]["mlflow.trace.tokenUsage"])["total_tokens"] == 320
    assert [(s["name"], s["parent"]) for s in shown_grouped["spans"]] == [
        ("slack_answer", None),
        ("openai", "slack_answer"),
    ]
    assert [a["assessment_name"] for a in info["assessments"]] == ["user_feedback"]
    # The clock is the answer's, as kept.
    kept = mlflow.entities.Trace.from_json(grouped).info
    on_server = client.get_trace_info(trace_id(grouped))
    assert (on_server.request_time, on_server.execution_duration) == (
        kept.request_time,
        kept.execution_duration,
    )
    for other in others:  # the others arrived whole too
        assert len(client.get_trace(trace_id(other)).data.spans) == 2


def test_a_group_failed_as_a_whole_is_sent_trace_by_trace(mlflow_server: MlflowServer) -> None:
    """A failure of the group's spans right after the server took each trace's info (a proxy
    refusing a request too large: its 413 reaches MLflow's client as a 500) is tried again
    trace by trace: no trace waits or is refused for the company it was sent in."""
    mlflow.set_tracking_uri(mlflow_server.url)
    client = TracingClient(mlflow_server.url)
    traces = make_traces("trace-sending-split", 3, "split")
    sender = TraceSender(mlflow_server.url)
    real_log_spans = sender._client.log_spans
    requests: list[int] = []

    def refuse_groups(location: str, spans: list[mlflow.entities.Span]) -> list:
        requests.append(len({s.trace_id for s in spans}))
        if len(requests) == 1:
            raise mlflow.exceptions.MlflowException(
                "API request to endpoint /v1/traces failed with error code 413 != 200",
                error_code=get_error_code(413),
            )
        return real_log_spans(location, spans)

    sender._client.log_spans = refuse_groups  # type: ignore[method-assign]
    assert sender.send_many(traces) == [None] * 3
    assert requests == [3, 1, 1, 1]
    for sent in traces:
        assert len(client.get_trace(trace_id(sent)).data.spans) == 2
