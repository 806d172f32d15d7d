"""The report's trace search pages (bot/report/trace_pages.py, through the MLflow adapter
bot/tracing/rest.py), against a real MLflow server (it must see exactly what mlflow's own
client sees) and against a scripted one (errors, credentials, retries)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import mlflow
import pytest
from mlflow.entities import AssessmentSource, AssessmentSourceType, TraceInfo
from mlflow.tracing.client import TracingClient

from bot.report.trace_records import AnswerQuery, NoTraceMetrics, tracking_failure
from bot.report.window import parse_window
from bot.tracing.data_model import VOTE, WITHDRAWN_VOTE
from bot.tracing.rest import RequestBounds
from bot.tracing.trace_records import AssessmentRecord, TraceRecord
from devkit.ids import new_id
from devkit.mlflow_server import MlflowServer
from devkit.ports import free_port
from tests.support.mlflow_rest import source_at
from tests.support.report_seed import FeedbackSeeder
from tests.support.scripted_http import Scripted, scripted_server

WINDOW = parse_window("2021-06-01..2021-06-02")


@dataclass
class Seeded:
    experiment_name: str
    experiment_id: str
    channel: str  # 4 answers: exactly two pages of 2
    other: str  # 1 answer
    traces: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def seeded(mlflow_server: MlflowServer) -> Seeded:
    """Five answers in June 2021 in a separate experiment, with every kind of assessment."""
    name = f"trace-pages-{new_id('X').lower()}"
    seeder = FeedbackSeeder(mlflow_server.url, name)
    data = Seeded(name, seeder.experiment_id, new_id("C"), new_id("D"))
    for number in range(5):
        channel = data.other if number == 2 else data.channel
        data.traces.append(
            seeder.answer(
                started=datetime(2021, 6, 1, 9, number, 7, 123_000, tzinfo=UTC),
                channel=channel,
                asker=f"U{number}",
                question=f"question {number} ✓",
                answer=f"answer {number}",
                question_ts=f"1622538{number}00.000100",
                answer_ts=f"1622538{number}01.000200" if number != 4 else None,
            )
        )
    seeder.wait_exported()
    t = data.traces
    seeder.vote(t[0], "U1", up=True)
    seeder.change_vote(t[1], seeder.vote(t[1], "U2", up=True), "U2", up=False)
    seeder.rate(t[1], "U2", "accuracy", 2, " wrong ")
    seeder.change_rating(t[2], seeder.rate(t[2], "U3", "relevance", 1), "U3", 4)
    seeder.judge(t[3], up=False)
    mlflow.log_feedback(
        trace_id=t[3],
        name=WITHDRAWN_VOTE,
        value=True,
        source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="U4"),
    )
    return data


def record_of(info: TraceInfo) -> TraceRecord:
    """What the reader should make of a trace, from mlflow's own entity of it."""
    return TraceRecord(
        trace_id=info.trace_id,
        request_time_ms=info.request_time,
        client_request_id=info.client_request_id,
        request_preview=info.request_preview,
        response_preview=info.response_preview,
        tags=info.tags,
        metadata=info.trace_metadata,
        assessments=tuple(
            AssessmentRecord(
                name=a.name,
                value=getattr(a, "value", None),
                source_type=a.source.source_type,
                source_id=a.source.source_id or None,
                valid=a.valid is not False,
                rationale=getattr(a, "rationale", None) or None,
                create_time_ms=a.create_time_ms,
            )
            for a in info.assessments
        ),
    )


def with_mlflow_client(url: str, experiment_id: str, query: AnswerQuery) -> list[TraceRecord]:
    client, token, records = TracingClient(url), None, []
    while True:
        page = client.search_traces(
            locations=[experiment_id],
            filter_string=query.filter_string,
            max_results=500,
            include_spans=False,
            page_token=token,
        )
        records += [record_of(trace.info) for trace in page]
        token = page.token
        if not token:
            return records


@pytest.mark.parametrize("page_size", [2, 3, 500])
def test_the_reader_sees_what_mlflows_client_sees(
    seeded: Seeded, mlflow_server: MlflowServer, page_size: int
) -> None:
    source = source_at(mlflow_server.url, seeded.experiment_name)
    assert source.experiment_id() == seeded.experiment_id
    query = AnswerQuery(WINDOW)
    pages = list(source.pages(seeded.experiment_id, query, page_size=page_size))
    expected = with_mlflow_client(mlflow_server.url, seeded.experiment_id, query)
    assert [record for page in pages for record in page] == expected
    assert {r.trace_id for r in expected} == set(seeded.traces)
    sizes = {2: [2, 2, 1], 3: [3, 2], 500: [5]}[page_size]
    assert [len(page) for page in pages] == sizes
    first = next(r for r in expected if r.trace_id == seeded.traces[0])
    assert WINDOW.start_ms < first.request_time_ms < WINDOW.end_ms
    assert [a.value for a in first.assessments if a.name == VOTE] == [True]


def test_pages_of_one_channel(seeded: Seeded, mlflow_server: MlflowServer) -> None:
    source = source_at(mlflow_server.url, seeded.experiment_name)
    query = AnswerQuery(WINDOW, seeded.channel)
    # Four answers in pages of two: the second page is full, and a third one is empty.
    pages = list(source.pages(seeded.experiment_id, query, page_size=2))
    assert [len(page) for page in pages] in ([2, 2], [2, 2, 0])
    ids = [record.trace_id for page in pages for record in page]
    assert sorted(ids) == sorted(t for i, t in enumerate(seeded.traces) if i != 2)
    assert ids == [
        r.trace_id for r in with_mlflow_client(mlflow_server.url, seeded.experiment_id, query)
    ]
    other = list(source.pages(seeded.experiment_id, AnswerQuery(WINDOW, seeded.other)))
    assert [[r.trace_id for r in page] for page in other] == [[seeded.traces[2]]]


def test_a_server_that_is_down() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(Exception) as raised:
        list(
            source_at(dead, bounds=RequestBounds(timeout_s=3, retries=0)).pages(
                "1", AnswerQuery(WINDOW)
            )
        )
    reason = tracking_failure(raised.value)
    assert reason is not None and reason.startswith("the MLflow tracking server did not answer")
    assert "Connection refused" in reason


# -- a scripted server ---------------------------------------------------------------------------


@pytest.fixture
def scripted() -> Iterator[tuple[str, Scripted]]:
    with scripted_server() as script:
        yield script.url, script


def page(traces: list[dict], token: str | None = None) -> tuple[int, bytes]:
    return 200, json.dumps(
        {"traces": traces, **({"next_page_token": token} if token else {})}
    ).encode()


TRACE = {"trace_id": "tr-1", "request_time": "2021-06-01T09:00:07.123456789Z", "tags": {}}


def read_all(url: str) -> list[list[TraceRecord]]:
    return list(source_at(url).pages("7", AnswerQuery(WINDOW), page_size=1))


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ((200, b"<html>proxy error</html>"), "not JSON"),
        ((200, b"[1, 2]"), "not a JSON object"),
        ((200, b'{"traces": {"trace_id": "tr-1"}}'), "without a list of traces"),
        (page([{"request_time": "2021-06-01T09:00:07Z"}]), "without a trace_id"),
        (page([{**TRACE, "request_time": "yesterday"}]), "'yesterday' is not a timestamp"),
        (page([{**TRACE, "tags": {"a": 1}}]), "tags is not a map of strings"),
        (page([{**TRACE, "assessments": [{"valid": "no"}]}]), "valid that is not a boolean"),
        ((404, b"<html>not found</html>"), "failed with status 404"),
        ((403, b'{"error_code": "PERMISSION_DENIED", "message": "no"}'), "PERMISSION_DENIED: no"),
    ],
)
def test_an_unexpected_answer_is_reported_plainly(
    scripted: tuple[str, Scripted], answer: tuple[int, bytes], said: str
) -> None:
    url, script = scripted
    script.answers = [page([TRACE], "next"), answer]
    with pytest.raises(Exception) as raised:
        read_all(url)
    reason = tracking_failure(raised.value)
    assert reason is not None and reason.startswith("the MLflow tracking server did not answer")
    assert said in reason


def test_the_requests_are_mlflows_with_its_credentials(
    scripted: tuple[str, Scripted], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, script = scripted
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "secret-token")
    script.answers = [page([TRACE], "p2"), page([{**TRACE, "trace_id": "tr-2"}])]
    pages = read_all(url)
    assert [[r.trace_id for r in p] for p in pages] == [["tr-1"], ["tr-2"]]
    assert pages[0][0].request_time_ms % 1000 == 123  # rounded down, as protobuf does
    first, second = script.requests
    assert first.headers["Authorization"] == "Bearer secret-token"
    assert "mlflow" in first.headers["User-Agent"]
    assert first.body == {
        "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "7"}}],
        "filter": AnswerQuery(WINDOW).filter_string,
        "max_results": 1,
    }
    assert second.body == {**first.body, "page_token": "p2"}

    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ada")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "pw")
    script.answers = [page([TRACE])]
    read_all(url)
    assert script.requests[-1].headers["Authorization"] == "Basic YWRhOnB3"


def test_a_transient_failure_is_retried_as_the_settings_say(
    scripted: tuple[str, Scripted],
) -> None:
    url, script = scripted
    source = source_at(url, bounds=RequestBounds(timeout_s=5, retries=1, backoff_s=0, jitter_s=0))
    script.answers = [(503, b"busy"), page([TRACE])]
    assert [len(p) for p in source.pages("7", AnswerQuery(WINDOW))] == [1]
    script.answers = [(503, b"busy"), (503, b"still busy")]
    with pytest.raises(Exception) as raised:
        list(source.pages("7", AnswerQuery(WINDOW)))
    assert "failed with status 503" in str(tracking_failure(raised.value))
    assert len(script.requests) == 4 and script.answers == []


def points(data_points: list[dict], token: str | None = None) -> tuple[int, bytes]:
    body = {"data_points": data_points, **({"next_page_token": token} if token else {})}
    return 200, json.dumps(body).encode()


POINT = {"metric_name": "trace_count", "dimensions": {"time_bucket": "2021-06-01"}, "values": {}}


def test_trace_metrics_are_read_page_by_page_with_mlflows_credentials(
    scripted: tuple[str, Scripted], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, script = scripted
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "secret-token")
    script.answers = [
        points([{**POINT, "values": {"COUNT": 2.0}}], "p2"),
        points([{**POINT, "dimensions": {}, "values": {"COUNT": 3}}]),
    ]
    found = source_at(url).metric_points({"view_type": "TRACES"})
    assert [(p.dimensions, p.values) for p in found] == [
        ({"time_bucket": "2021-06-01"}, {"COUNT": 2.0}),
        ({}, {"COUNT": 3.0}),
    ]
    first, second = script.requests
    assert first.headers["Authorization"] == "Bearer secret-token"
    assert first.body == {"view_type": "TRACES", "max_results": 1000}
    assert second.body == {**first.body, "page_token": "p2"}


@pytest.mark.parametrize(
    ("answer", "no_endpoint"),
    [
        ((404, b'{"error_code": "ENDPOINT_NOT_FOUND", "message": "no"}'), True),
        ((404, b"<html>not found</html>"), True),
        ((405, b"<html>method not allowed</html>"), True),
        ((404, b'{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no"}'), False),
        ((400, b'{"error_code": "INVALID_PARAMETER_VALUE", "message": "no"}'), True),
        ((403, b'{"error_code": "PERMISSION_DENIED", "message": "no"}'), False),
        ((200, b'{"data_points": [{"values": {"COUNT": "2"}}]}'), False),
    ],
)
def test_a_server_without_the_trace_metrics_the_report_needs_is_told_apart(
    scripted: tuple[str, Scripted], answer: tuple[int, bytes], no_endpoint: bool
) -> None:
    url, script = scripted
    script.answers = [answer]
    with pytest.raises(Exception) as raised:
        source_at(url).metric_points({"view_type": "TRACES"})
    assert isinstance(raised.value, NoTraceMetrics) is no_endpoint
    assert tracking_failure(raised.value) is not None
