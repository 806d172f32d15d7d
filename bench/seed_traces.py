"""Bulk-write answers with feedback into an MLflow server's SQLite store (for the benchmark).

Runs with the *full* mlflow of `.venv-mlflow` (the tracking server's own storage code), so
10k answers take seconds instead of one HTTP call each. The rows are those
`SqlAlchemyStore.start_trace` writes (trace info, tags, metadata, assessments), shaped like
the bot's: tags `slack.channel`/`slack.conversation_kind`/`slack.answer_ts`, the asker,
previews; 👍/👎 and ratings as HUMAN feedback, some votes changed (the old one kept with
`valid=False`), and the bot's feedback summary on each answer with feedback (as its delivery
writes it).

    .venv-mlflow/bin/python bench/seed_traces.py DB_URI ARTIFACT_ROOT EXPERIMENT_ID COUNT
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from pathlib import Path

from mlflow.entities import AssessmentSource, Feedback
from mlflow.store.tracking.dbmodels.models import (
    SqlAssessments,
    SqlTraceInfo,
    SqlTraceMetadata,
    SqlTraceTag,
)
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bot.tracing.counted_feedback import (
    SUMMARY,
    SUMMARY_SOURCE_ID,
    SUMMARY_SOURCE_TYPE,
    Summary,
    counted,
)

CHUNK = 2000
CHANNELS = [f"C{n:08d}" for n in range(20)] + [f"D{n:08d}" for n in range(5)]
HOUR_MS = 3600 * 1000
# Answers from 6 days and 23 hours ago to 1 hour ago: all inside a `7d` report run within the
# next hour.
SPREAD_MS = (7 * 24 - 2) * HOUR_MS


def _kind_of(channel: str) -> str:
    """Where a seeded channel's questions were asked: most channels public, some private;
    DMs and the assistant panel."""
    number = int(channel[1:])
    if channel.startswith("C"):
        return "public_channel" if number < 15 else "private_channel"
    return "dm" if number < 3 else "assistant"


KIND_OF = {channel: _kind_of(channel) for channel in CHANNELS}


def _row(
    trace_id: str,
    name: str,
    value: object,
    user: str,
    at_ms: int,
    overrides: str | None = None,
    source_type: str = "HUMAN",
) -> SqlAssessments:
    """One feedback row (HUMAN unless said), as the server stores it."""
    feedback = Feedback(
        name=name,
        value=value,  # type: ignore[arg-type]
        source=AssessmentSource(source_type=source_type, source_id=user),
        trace_id=trace_id,
        rationale="not what I asked" if value is False or value == 0.2 else None,
        metadata={"slack.channel": "seeded"},
        overrides=overrides,
    )
    feedback.create_time_ms = feedback.last_update_time_ms = at_ms
    return SqlAssessments.from_mlflow_entity(feedback)


def _summary(
    trace_id: str, channel: str, kind: str, rows: list[SqlAssessments], at_ms: int
) -> SqlAssessments:
    """The bot's summary of the feedback rows."""
    found = (
        counted(r.name, r.to_mlflow_entity().value, r.source_type, r.source_id, r.valid)
        for r in rows
    )
    summary = Summary.of((a for a in found if a is not None), channel, kind)
    return _row(
        trace_id, SUMMARY, summary.value, SUMMARY_SOURCE_ID, at_ms, None, SUMMARY_SOURCE_TYPE
    )


def _assessments(trace_id: str, started_ms: int, rng: random.Random) -> list[SqlAssessments]:
    rows: list[SqlAssessments] = []
    at = started_ms + 60_000
    if rng.random() < 0.45:
        user = f"U{rng.randrange(200):05d}"
        up = rng.random() < 0.75
        if rng.random() < 0.1:  # a changed vote: the first stays, invalid
            old = _row(trace_id, "user_feedback", not up, user, at)
            old.valid = False
            rows.append(old)
            rows.append(_row(trace_id, "user_feedback", up, user, at + 1000, old.assessment_id))
        else:
            rows.append(_row(trace_id, "user_feedback", up, user, at))
    if rng.random() < 0.15:
        user = f"U{rng.randrange(200):05d}"
        for dimension in ("accuracy", "helpfulness", "relevance"):
            score = rng.randint(1, 5)
            rows.append(_row(trace_id, f"user_{dimension}", score / 5, user, at + 2000))
    return rows


def seed(db_uri: str, artifact_root: str, experiment_id: str, count: int, now_ms: int) -> None:
    store = SqlAlchemyStore(db_uri, artifact_root)
    experiment = store.get_experiment(experiment_id)
    rng = random.Random(42)
    for first in range(0, count, CHUNK):
        with store.ManagedSessionMaker() as session:
            for _ in range(first, min(count, first + CHUNK)):
                trace_id = "tr-" + uuid.uuid4().hex
                started = now_ms - HOUR_MS - rng.randrange(SPREAD_MS)
                channel = rng.choice(CHANNELS)
                kind = KIND_OF[channel]
                question_ts = f"{started / 1000:.6f}"
                info = SqlTraceInfo(
                    request_id=trace_id,
                    experiment_id=experiment_id,
                    timestamp_ms=started,
                    execution_time_ms=1500,
                    status="OK",
                    client_request_id=f"{channel}:{question_ts}",
                    request_preview=f"How do I configure thing number {rng.randrange(10**6)}?",
                    response_preview="You open the settings and ... " * 10,
                    trace_name="slack_answer",
                )
                info.tags = [
                    SqlTraceTag(request_id=trace_id, key="slack.channel", value=channel),
                    SqlTraceTag(request_id=trace_id, key="slack.team", value="T0BENCH"),
                    SqlTraceTag(
                        request_id=trace_id,
                        key="slack.channel_type",
                        value="im" if channel.startswith("D") else "channel",
                    ),
                    SqlTraceTag(request_id=trace_id, key="slack.conversation_kind", value=kind),
                    SqlTraceTag(
                        request_id=trace_id,
                        key="slack.answer_ts",
                        value=f"{started / 1000 + 2:.6f}",
                    ),
                    store._get_trace_artifact_location_tag(experiment, trace_id),
                ]
                info.request_metadata = [
                    SqlTraceMetadata(request_id=trace_id, key=k, value=v)
                    for k, v in (
                        ("mlflow.trace.user", f"U{rng.randrange(500):05d}"),
                        ("mlflow.trace.session", f"{channel}:{question_ts}"),
                        ("mlflow.trace_schema.version", "3"),
                        ("mlflow.trace.infoFinalized", "true"),
                    )
                ]
                info.assessments = _assessments(trace_id, started, rng)
                if info.assessments:
                    info.assessments.append(
                        _summary(trace_id, channel, kind, info.assessments, started + 3000)
                    )
                for row in info.assessments:
                    row.experiment_id = int(experiment_id)
                    row.trace_timestamp_ms = started
                session.add(info)


def main() -> None:
    db_uri, artifact_root, experiment_id, count = sys.argv[1:5]
    started = time.monotonic()
    seed(db_uri, artifact_root, experiment_id, int(count), int(time.time() * 1000))
    print(f"seeded {count} traces in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
