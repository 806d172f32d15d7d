"""The report from the tracking server's aggregates equals the report read page by page, figure
by figure, on the same answers; where the aggregates cannot be exact the report reads pages.

Feedback is written by the bot's own delivery code (`MlflowFeedbackWriter.apply`): votes,
changed votes and ratings, withdrawn reactions, each followed by the bot's summary.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import mlflow
import pytest
from mlflow.entities import AssessmentSource, AssessmentSourceType
from mlflow.tracing.client import TracingClient

from bot.feedback.delivery import MlflowFeedbackWriter, summary_feedback
from bot.feedback.intent import FeedbackIntent
from bot.report.export import answer_record, export_lines
from bot.report.figures.aggregated import NotExact, aggregated_report
from bot.report.figures.answers import read_answer
from bot.report.figures.counting import page_by_page_report
from bot.report.figures.report import compute_report
from bot.report.model import FeedbackReport
from bot.report.trace_pages import TraceSource
from bot.report.trace_records import AnswerQuery
from bot.report.window import parse_window
from bot.tracing.counted_feedback import SUMMARY, Summary
from bot.tracing.data_model import CONVERSATION_KINDS, VOTE, rating_value
from bot.tracing.rest import TRACE_METRICS, MlflowRest
from devkit.ids import new_id
from devkit.mlflow_server import MlflowServer
from devkit.ports import free_port
from tests.support.mlflow_rest import rest_at, source_at
from tests.support.report_seed import FeedbackSeeder

UI = "http://mlflow.example"
DAYS = parse_window("2021-07-01..2021-07-03")  # by day
WEEKS = parse_window("2021-06-01..2021-07-31")  # by week
MS = timedelta(milliseconds=1)


def at(day: int, hour: int = 0, month: int = 7) -> datetime:
    return datetime(2021, month, day, hour, tzinfo=UTC)


@dataclasses.dataclass
class Seeded:
    url: str
    experiment_name: str
    experiment_id: str
    channels: dict[str, str]
    traces: dict[str, str]


@pytest.fixture(scope="module", params=["summaries_tell_kind", "summaries_from_before"])
def seeded(mlflow_server: MlflowServer, request: pytest.FixtureRequest) -> Seeded:
    """The same answers and feedback twice: with the summaries the delivery writes (they say
    where each question was asked), and with each summary as a bot from before wrote it,
    without the kind (the server counts each kind's votes then)."""
    name = f"aggregated-{request.param}-{new_id('X').lower()}"
    seeder = FeedbackSeeder(mlflow_server.url, name)
    channels = {key: new_id("D" if key == "dm" else "C") for key in ("a", "b", "dm", "c", "d")}
    # Where they were asked ("d": before the bot recorded it).
    kinds = {"a": "public_channel", "b": "private_channel", "dm": "dm", "c": "assistant"}
    plan = {
        "a1": ("a", at(1)),  # the window's first millisecond
        "a2": ("a", at(1, 12)),
        "a3": ("b", at(2, 9)),
        "a4": ("b", at(2, 10)),
        "a5": ("dm", at(4) - MS),  # its last millisecond
        "a6": ("a", at(3, 15)),
        "a7": ("c", at(3, 16)),  # no feedback
        "a8": ("c", at(3, 17)),  # only a 👍
        "before": ("a", at(1) - MS),
        "after": ("b", at(4)),
        **{f"b{n}": ("d", at(2, 12 + n)) for n in range(1, 7)},
        "june": ("a", at(9, 8, month=6)),  # in the weekly window only
    }
    traces = {
        key: seeder.answer(
            started=started,
            channel=channels[channel],
            asker="U0",
            question=f"question {key}",
            answer=f"answer {key}",
            question_ts=f"1625000000.{number:06d}",
            answer_ts=f"1625000001.{number:06d}",
            kind=kinds.get(channel),
        )
        for number, (key, (channel, started)) in enumerate(plan.items())
    }
    seeder.wait_exported()
    writer = MlflowFeedbackWriter(mlflow_server.url)

    def give(key: str, user: str, name: str, value: bool | float | None, why: str = "") -> None:
        writer.apply(FeedbackIntent(traces[key], user, name, value, why or None))

    def vote(key: str, user: str, up: bool | None) -> None:
        give(key, user, VOTE, up)

    def rate(key: str, user: str, dimension: str, score: int, why: str = "") -> None:
        give(key, user, f"user_{dimension}", rating_value(score), why)

    vote("a1", "U1", True)
    vote("a1", "U2", True)
    vote("a1", "U3", False)
    rate("a1", "U1", "accuracy", 5)
    vote("a2", "U1", True)
    vote("a2", "U1", False)  # changed: the 👍 stays, invalid
    vote("a2", "U2", False)
    vote("a2", "U2", None)  # withdrawn
    vote("a3", "U1", False)
    rate("a3", "U1", "accuracy", 2, "wrong version")
    rate("a3", "U1", "helpfulness", 1, "useless")
    vote("a4", "U2", True)
    vote("a4", "U2", None)  # withdrawn: no feedback left
    vote("a5", "U4", False)
    rate("a5", "U4", "relevance", 3)
    rate("a5", "U4", "relevance", 4, "better on second look")
    rate("a6", "U5", "helpfulness", 2, "meh")
    vote("a8", "U5", True)
    for n in range(1, 7):  # the same score and 👎: only the newest are listed
        vote(f"b{n}", "U6", False)
    vote("b6", "U7", False)  # two 👎: listed first
    vote("before", "U1", False)
    vote("after", "U1", False)
    rate("after", "U1", "accuracy", 1)
    vote("june", "U1", True)
    rate("june", "U1", "relevance", 1)
    if request.param == "summaries_from_before":
        for trace_id in traces.values():
            _as_written_before_the_kind(seeder.client, trace_id)
    return Seeded(mlflow_server.url, name, seeder.experiment_id, channels, traces)


def _as_written_before_the_kind(client: TracingClient, trace_id: str) -> None:
    for assessment in client.get_trace_info(trace_id).assessments:
        if assessment.name == SUMMARY and assessment.valid is not False:
            said = Summary.parse(str(getattr(assessment, "value", "")))
            assert said is not None and said.tells_kind
            older = dataclasses.replace(said, kind=None, tells_kind=False)
            client.update_assessment(
                trace_id, str(assessment.assessment_id), summary_feedback(older)
            )


def both(seeded: Seeded, query: AnswerQuery) -> tuple[FeedbackReport, FeedbackReport]:
    source = source_at(seeded.url, seeded.experiment_name)
    return (
        aggregated_report(source, seeded.experiment_id, query, UI),
        page_by_page_report(source, seeded.experiment_id, query, UI),
    )


def assert_same(aggregated: FeedbackReport, pages: FeedbackReport) -> None:
    for figure in dataclasses.fields(FeedbackReport):
        name = figure.name
        assert getattr(aggregated, name) == getattr(pages, name), name
    assert aggregated.feedback_rate == pages.feedback_rate
    assert aggregated.positive_rate == pages.positive_rate


def test_the_aggregated_report_equals_the_page_by_page_one(seeded: Seeded) -> None:
    aggregated, pages = both(seeded, AnswerQuery(DAYS))
    assert_same(aggregated, pages)
    # The data exercises every figure (and its edge cases) for real.
    t = seeded.traces
    assert pages.answers == 14  # a1–a8, b1–b6; not "before" nor "after"
    assert pages.answers_with_feedback == 12  # not a4 (withdrawn) nor a7
    assert (pages.up, pages.down) == (3, 11)
    assert [r.count for r in pages.ratings] == [2, 2, 1]
    assert [b.answers for b in pages.trend] == [2, 8, 4]
    assert len(pages.timeline) == 3 and pages.timeline[0].start == at(1)
    assert [(p.answers, p.up, p.down) for p in pages.timeline] == [(2, 2, 2), (8, 0, 8), (4, 1, 1)]
    assert [(s.kind, s.answers, s.up, s.down) for s in pages.segments] == [
        ("dm", 1, 0, 1),
        ("private_channel", 2, 0, 1),
        ("public_channel", 3, 2, 2),
        ("assistant", 2, 1, 0),
        ("not_recorded", 6, 0, 7),
    ]
    assert [a.trace_id for a in pages.lowest] == [t["b6"], t["b5"], t["b4"], t["b3"], t["b2"]]
    channels = seeded.channels
    assert [c.channel for c in pages.negative_channels][:2] == [channels["d"], channels["a"]]


class MetricsCountingSource(TraceSource):
    """Counts the aggregate requests it sends (from the report's threads)."""

    def __init__(self, rest: MlflowRest, experiment_name: str) -> None:
        super().__init__(rest, experiment_name)
        self.sent = 0
        self._counting = threading.Lock()

    def metric_points(self, request: dict[str, Any]) -> Any:
        with self._counting:
            self.sent += 1
        return super().metric_points(request)


def test_the_summaries_count_each_kinds_votes_without_a_request(
    seeded: Seeded, request: pytest.FixtureRequest
) -> None:
    source = MetricsCountingSource(rest_at(seeded.url), seeded.experiment_name)
    report = aggregated_report(source, seeded.experiment_id, AnswerQuery(DAYS), UI)
    # Answers by day, feedback by name and value, votes by day, each kind's answers, each
    # channel's answers; each kind's votes when the summaries do not say where.
    sent = 3 + len(CONVERSATION_KINDS) + len(report.negative_channels)
    if "summaries_from_before" in request.node.callspec.id:
        sent += len(CONVERSATION_KINDS)
    assert source.sent == sent
    assert len(report.negative_channels) == 4


def test_weekly_and_single_channel_reports_are_equal_too(seeded: Seeded) -> None:
    aggregated, pages = both(seeded, AnswerQuery(WEEKS))
    assert_same(aggregated, pages)
    assert pages.window.bucket == "week" and pages.answers == 17
    for channel in seeded.channels.values():
        assert_same(*both(seeded, AnswerQuery(DAYS, channel)))


def test_a_days_report_is_drawn_per_two_hours_and_equal_too(seeded: Seeded) -> None:
    aggregated, pages = both(seeded, AnswerQuery(parse_window("2021-07-02..2021-07-02")))
    assert_same(aggregated, pages)
    assert len(pages.timeline) == 12 and pages.timeline[1].start == at(2, 2)
    assert [p.answers for p in pages.timeline if p.answers] == [
        1,
        1,
        1,
        2,
        2,
        1,
    ]  # 9, 10, 13, 14-15, 16-17, 18 h
    assert [b.answers for b in pages.trend] == [8]


def test_an_empty_window_is_equal(seeded: Seeded) -> None:
    assert_same(*both(seeded, AnswerQuery(parse_window("2020-01-01..2020-01-02"))))


class CountingSource(TraceSource):
    """Counts the traces it reads."""

    read = 0

    def pages(self, *args: Any, **kwargs: Any) -> Iterator[list[Any]]:
        for page in super().pages(*args, **kwargs):
            self.read += len(page)
            yield page


@pytest.mark.parametrize("negative_only", [False, True])
def test_export_reads_only_answers_with_feedback(seeded: Seeded, negative_only: bool) -> None:
    source = CountingSource(rest_at(seeded.url), seeded.experiment_name)
    query = AnswerQuery(DAYS)
    lines = list(export_lines(source, query, negative_only=negative_only))
    every = [
        read_answer(info) for page in source.pages(seeded.experiment_id, query) for info in page
    ]
    expected = [
        answer_record(a)
        for a in sorted(every, key=lambda a: (a.started_ms, a.trace_id), reverse=True)
        if a.has_feedback and (a.is_negative or not negative_only)
    ]
    assert [json.loads(line) for line in lines] == expected
    assert len(expected) == (11 if negative_only else 12)
    # Each search reads only answers with such feedback (a4's withdrawn vote and a7 are not
    # read; an answer found by two searches is read twice).
    read_by_export = source.read - len(every)
    t = seeded.traces
    assert 0 < read_by_export < 2 * len(expected)
    assert t["a7"] not in {a["trace_id"] for a in expected}


@pytest.fixture
def judged(mlflow_server: MlflowServer) -> Seeded:
    """A separate experiment where a judge and code scored answers under the bot's names."""
    name = f"judged-{new_id('X').lower()}"
    seeder = FeedbackSeeder(mlflow_server.url, name)
    channel = new_id("C")
    traces = {
        key: seeder.answer(
            started=at(day, 9),
            channel=channel,
            asker="U0",
            question=key,
            answer=key,
            question_ts=f"1625100000.00000{day}",
        )
        for day, key in ((1, "x1"), (2, "x2"))
    }
    seeder.wait_exported()
    seeder.vote(traces["x1"], "U1", up=True)
    seeder.rate(traces["x2"], "U1", "accuracy", 4)
    seeder.judge(traces["x1"], up=False)
    mlflow.log_feedback(
        trace_id=traces["x2"],
        name="user_accuracy",
        value=0.2,
        source=AssessmentSource(AssessmentSourceType.CODE, "a-scorer"),
    )
    return Seeded(mlflow_server.url, name, seeder.experiment_id, {"c": channel}, traces)


def test_judges_and_code_under_the_bots_names_send_the_report_to_pages(
    judged: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    source = source_at(judged.url, judged.experiment_name)
    query = AnswerQuery(DAYS)
    with pytest.raises(
        NotExact, match=r"4 valid votes and ratings on the server, 2 in the bot.s summaries"
    ):
        aggregated_report(source, judged.experiment_id, query, UI)
    caplog.set_level(logging.INFO, logger="bot.report.figures.report")
    report = compute_report(source, query, UI)
    assert report == page_by_page_report(source, judged.experiment_id, query, UI)
    assert (report.up, report.down, report.ratings[0].count) == (1, 0, 1)  # human only
    assert report.ratings[0].average == 4.0
    assert "reads every answer page by page" in caplog.text


class NoMetricsProxy:
    """A tracking server as an older MLflow: everything is passed on to a real one, except
    the trace metrics endpoint, which answers 404 ENDPOINT_NOT_FOUND."""

    def __init__(self, target: str) -> None:
        self.metrics_requests = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._pass_on(None)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.startswith(TRACE_METRICS):
                    proxy.metrics_requests += 1
                    self._answer(404, b'{"error_code": "ENDPOINT_NOT_FOUND", "message": "no"}')
                else:
                    self._pass_on(body)

            def _pass_on(self, body: bytes | None) -> None:
                request = urllib.request.Request(
                    target + self.path,
                    data=body,
                    method=self.command,
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=30) as response:
                    self._answer(response.status, response.read())

            def _answer(self, status: int, content: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def older_mlflow(mlflow_server: MlflowServer) -> Iterator[NoMetricsProxy]:
    proxy = NoMetricsProxy(mlflow_server.url)
    thread = threading.Thread(target=proxy.server.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.server.shutdown()
    proxy.server.server_close()


def test_a_server_without_trace_metrics_gets_the_page_reader_with_one_log_line(
    seeded: Seeded, older_mlflow: NoMetricsProxy, caplog: pytest.LogCaptureFixture
) -> None:
    source = source_at(older_mlflow.url, seeded.experiment_name)
    query = AnswerQuery(DAYS)
    expected = page_by_page_report(source, seeded.experiment_id, query, UI)
    with caplog.at_level(logging.WARNING, logger="bot.report.figures.report"):
        assert compute_report(source, query, UI) == expected
        asked = older_mlflow.metrics_requests
        assert compute_report(source, query, UI) == expected
    assert asked >= 1 and older_mlflow.metrics_requests == asked  # not asked again
    said = [r for r in caplog.records if "has no trace metrics" in r.getMessage()]
    assert len(said) == 1
