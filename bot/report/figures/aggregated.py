"""The report from the tracking server's aggregates (`QueryTraceMetrics`), when they are exact.

Requests whatever the number of answers (`POST /api/3.0/mlflow/traces/metrics`), each over
the traces that started in the window (and in the channel, if one is asked for), sent at
once:
- TRACES `trace_count` by day: the answers and the trend's answers;
- ASSESSMENTS `assessment_count` by name and value: the 👍/👎 and each rating's count and
  average (from the count of each stored value), and the bot's feedback summaries
  (bot/tracing/counted_feedback.py), which give the answers with feedback, the 👍/👎 of each
  channel and of each kind of conversation, and the candidates for the lowest-rated;
- ASSESSMENTS `assessment_count` of votes by day and value: the trend's 👍/👎;
- TRACES `trace_count` of each kind of conversation (the server cannot group by a tag).
Then one trace count per channel shown (its answers), and a search for the few lowest-rated
answers, by their summary's value, newest first (the only traces read). Summaries written
before they said where the question was asked cost one more request a kind: its votes.

The server counts every *valid* assessment of a name, whoever wrote it: a judge's
`user_feedback` counts there, not in the report. So the counts are used only when every
such assessment is one the summaries account for — the sum of the summaries' counts equals
the server's count of votes and ratings, and their 👍 and 👎 its 👍 and 👎 — and `NotExact`
is raised otherwise (a judge's or an MLflow UI user's assessment of those names, a summary
not yet written: answers rated before the summaries existed): the caller then reads the
window page by page, as before.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.report.figures.answers import low_rated, read_answer
from bot.report.figures.timeline import Counts, segments, timeline_and_trend
from bot.report.model import (
    LOWEST_COUNT,
    NEGATIVE_CHANNELS_COUNT,
    NOT_RECORDED,
    AnswerFeedback,
    ChannelFeedback,
    FeedbackReport,
    RatingSummary,
)
from bot.report.trace_records import AnswerQuery
from bot.tracing.counted_feedback import SUMMARY, Summary, rating_value_of
from bot.tracing.data_model import (
    CONVERSATION_KINDS,
    RATING_DIMENSIONS,
    RATINGS,
    TAG_CHANNEL,
    TAG_CONVERSATION_KIND,
    VOTE,
    rating_score,
)
from bot.tracing.trace_records import MetricPoint

if TYPE_CHECKING:
    from bot.report.trace_pages import TraceSource

COUNT = "COUNT"
NAME = "assessment_name"
VALUE = "assessment_value"
# The votes, counted by value (true: 👍, false: 👎).
VOTES_BY_VALUE: dict[str, Any] = {
    "dimensions": (VALUE,),
    "filters": (f"assessment.name = '{VOTE}'",),
}
TIME_BUCKET = "time_bucket"
NEWEST_FIRST = ["timestamp_ms DESC", "request_id DESC"]
# Requests sent at once (the server answers them in parallel threads).
PARALLEL_REQUESTS = NEGATIVE_CHANNELS_COUNT


class NotExact(Exception):
    """The server's aggregates would not give the report's numbers; the message says why."""


class _Metrics:
    """Requests for one report: its experiment, window and channel."""

    def __init__(self, source: TraceSource, experiment_id: str, query: AnswerQuery) -> None:
        self._source = source
        self._query = query
        self._base: dict[str, Any] = {
            "experiment_ids": [experiment_id],
            # The server's end is inclusive; the window's is not.
            "start_time_ms": query.window.start_ms,
            "end_time_ms": query.window.end_ms - 1,
            "aggregations": [{"aggregation_type": COUNT}],
        }

    def count(
        self,
        view: str,
        metric: str,
        *,
        dimensions: tuple[str, ...] = (),
        filters: tuple[str, ...] = (),
        over_time: bool = False,
        channel: str | None = None,
    ) -> list[MetricPoint]:
        channel = channel or self._query.channel
        if channel is not None:
            filters = (*filters, f"trace.tag.`{TAG_CHANNEL}` = '{channel}'")
        request = {
            **self._base,
            "view_type": view,
            "metric_name": metric,
            "dimensions": list(dimensions),
            "filters": list(filters),
        }
        if over_time:  # per timeline step (2 hours or a day)
            request["time_interval_seconds"] = int(self._query.window.step.total_seconds())
        return self._source.metric_points(request)


def aggregated_report(
    source: TraceSource, experiment_id: str, query: AnswerQuery, ui_base: str
) -> FeedbackReport:
    """The report from the server's aggregates; `NotExact` when they would differ from it."""
    metrics = _Metrics(source, experiment_id, query)
    window = query.window
    with ThreadPoolExecutor(PARALLEL_REQUESTS) as requests:
        answers_by_step_ = requests.submit(metrics.count, "TRACES", "trace_count", over_time=True)
        by_value_ = requests.submit(
            metrics.count, "ASSESSMENTS", "assessment_count", dimensions=(NAME, VALUE)
        )
        votes_by_step_ = requests.submit(
            metrics.count, "ASSESSMENTS", "assessment_count", over_time=True, **VOTES_BY_VALUE
        )
        answers_by_kind_ = {
            kind: requests.submit(metrics.count, "TRACES", "trace_count", filters=(_of_kind(kind),))
            for kind in CONVERSATION_KINDS
        }
        feedback = _Feedback.of(by_value_.result())
        shown = _most_negative_channels(feedback.summaries)
        answers_in_ = [
            requests.submit(metrics.count, "TRACES", "trace_count", channel=channel.channel)
            for channel in shown
        ]
        votes_by_kind_ = (
            None
            if all(summary.tells_kind for summary in feedback.summaries)
            else {
                kind: requests.submit(
                    metrics.count,
                    "ASSESSMENTS",
                    "assessment_count",
                    dimensions=VOTES_BY_VALUE["dimensions"],
                    filters=(*VOTES_BY_VALUE["filters"], _of_kind(kind)),
                )
                for kind in CONVERSATION_KINDS
            }
        )
        lowest = _lowest(source, experiment_id, query, feedback.summaries)
        answers_by_step, votes_by_step = answers_by_step_.result(), votes_by_step_.result()
        answers_by_kind = {kind: _total(asked.result()) for kind, asked in answers_by_kind_.items()}
        negative_channels = tuple(
            dataclasses.replace(channel, answers=_total(answers.result()))
            for channel, answers in zip(shown, answers_in_, strict=True)
        )
        votes_by_kind = (
            None
            if votes_by_kind_ is None
            else {kind: asked.result() for kind, asked in votes_by_kind_.items()}
        )

    by_step = Counts()
    for point in answers_by_step:
        by_step.add(window.step_of(_bucket_ms(point)), answers=_count(point))
    for point in votes_by_step:
        by_step.add(window.step_of(_bucket_ms(point)), *_vote(point))
    timeline, trend = timeline_and_trend(window, by_step)
    answers = by_step.total()[0]
    votes = feedback.votes
    by_kind = Counts()
    for kind, kind_answers in answers_by_kind.items():
        by_kind.add(kind, answers=kind_answers)
    by_kind.add(NOT_RECORDED, answers=answers - by_kind.total()[0])
    if votes_by_kind is None:  # the summaries say where each answer with feedback was asked
        for summary, n in feedback.summaries.items():
            by_kind.add(summary.kind or NOT_RECORDED, 0, summary.up * n, summary.down * n)
    else:
        for kind, points in votes_by_kind.items():
            for point in points:
                by_kind.add(kind, *_vote(point))
        _, up, down = by_kind.total()
        by_kind.add(NOT_RECORDED, 0, votes[True] - up, votes[False] - down)
    return FeedbackReport(
        window=window,
        channel=query.channel,
        experiment_id=experiment_id,
        answers=answers,
        answers_with_feedback=sum(n for s, n in feedback.summaries.items() if s.counted),
        up=votes[True],
        down=votes[False],
        ratings=feedback.ratings(),
        trend=trend,
        lowest=tuple(low_rated(answer, experiment_id, ui_base) for answer in lowest),
        negative_channels=negative_channels,
        timeline=timeline,
        segments=segments(by_kind),
    )


@dataclasses.dataclass
class _Feedback:
    """What the assessments counted by name and value say: the votes, the ratings and the
    bot's summaries, checked to account for each other."""

    votes: Counter[bool]
    rating_counts: Counter[str]
    rating_totals: defaultdict[str, float]
    summaries: Counter[Summary]

    @classmethod
    def of(cls, by_value: list[MetricPoint]) -> _Feedback:
        """`NotExact` when the summaries do not account for every vote and rating counted."""
        feedback = cls(Counter(), Counter(), defaultdict(float), Counter())
        counted_here = 0
        for point in by_value:
            name, count = point.dimensions.get(NAME), _count(point)
            value = _json(point.dimensions.get(VALUE))
            if name == SUMMARY:
                summary = Summary.parse(value) if isinstance(value, str) else None
                if summary is None:
                    raise NotExact(f"a feedback summary the bot did not write: {value!r}")
                feedback.summaries[summary] += count
            elif name == VOTE:
                counted_here += count
                if isinstance(value, bool):
                    feedback.votes[value] += count
            elif name in RATINGS:
                counted_here += count
                stored = rating_value_of(value)
                if stored is not None:
                    dimension = RATING_DIMENSIONS[RATINGS.index(name)]
                    feedback.rating_counts[dimension] += count
                    feedback.rating_totals[dimension] += round(rating_score(stored), 3) * count
        summaries = feedback.summaries.items()
        summarized = sum(s.counted * n for s, n in summaries)
        if (
            summarized != counted_here
            or sum(s.up * n for s, n in summaries) != feedback.votes[True]
            or sum(s.down * n for s, n in summaries) != feedback.votes[False]
        ):
            raise NotExact(
                f"{counted_here} valid votes and ratings on the server, {summarized} in the "
                "bot's summaries (assessments of the same names by a judge or in MLflow's UI, "
                "or answers rated before the summaries)"
            )
        return feedback

    def ratings(self) -> tuple[RatingSummary, ...]:
        return tuple(
            RatingSummary.of(d, self.rating_counts[d], self.rating_totals[d])
            for d in RATING_DIMENSIONS
        )


def _most_negative_channels(summaries: Counter[Summary]) -> list[ChannelFeedback]:
    """The channels with the most 👎 (their answers still to be counted)."""
    up: Counter[str] = Counter()
    down: Counter[str] = Counter()
    for summary, n in summaries.items():
        if summary.channel:
            up[summary.channel] += summary.up * n
            down[summary.channel] += summary.down * n
    shown = sorted((c for c in down if down[c]), key=lambda c: (-down[c], up[c], c))
    return [ChannelFeedback(c, 0, up[c], down[c]) for c in shown[:NEGATIVE_CHANNELS_COUNT]]


def _lowest(
    source: TraceSource, experiment_id: str, query: AnswerQuery, summaries: Counter[Summary]
) -> list[AnswerFeedback]:
    """The lowest-rated answers: the summaries say which scores and 👎 counts they have, and
    how many answers have each; only the newest answers of the lowest of those are read."""
    ranks: Counter[tuple[float, int]] = Counter()
    for summary, n in summaries.items():
        if summary.score is not None:
            ranks[(summary.score, -summary.down)] += n
    lowest: list[AnswerFeedback] = []
    for score, minus_down in sorted(ranks):
        wanted = min(LOWEST_COUNT - len(lowest), ranks[(score, minus_down)])
        rank = Summary(0, 0, -minus_down, None, score)
        search = f"{query.filter_string} AND feedback.`{SUMMARY}` LIKE '{rank.rank_pattern}'"
        pages = source.pages(experiment_id, search, wanted, order_by=NEWEST_FIRST)
        try:
            matching = (
                answer
                for page in pages
                for answer in map(read_answer, page)
                # (MLflow also finds the traces of a session with a session-level assessment.)
                if answer.score == score and answer.down == -minus_down
            )
            found = list(itertools.islice(matching, wanted))
        finally:
            pages.close()
        if len(found) < wanted:
            raise NotExact("fewer answers with a summary than the server counted")
        lowest += found
        if len(lowest) == LOWEST_COUNT:
            break
    return lowest


def _of_kind(kind: str) -> str:
    """The filter for the traces of answers asked in that kind of conversation."""
    return f"trace.tag.`{TAG_CONVERSATION_KIND}` = '{kind}'"


def _vote(point: MetricPoint) -> tuple[int, int, int]:
    """(0, 👍, 👎) of a count of votes by value."""
    vote = _json(point.dimensions.get(VALUE))
    if not isinstance(vote, bool):
        return 0, 0, 0
    return (0, _count(point), 0) if vote else (0, 0, _count(point))


def _total(points: list[MetricPoint]) -> int:
    return sum(map(_count, points))


def _count(point: MetricPoint) -> int:
    return round(point.values.get(COUNT, 0.0))


def _json(text: str | None) -> object:
    try:
        return json.loads(text) if text is not None else None
    except ValueError:
        return None


def _bucket_ms(point: MetricPoint) -> int:
    return int(datetime.fromisoformat(point.dimensions[TIME_BUCKET]).timestamp() * 1000)
