"""Answers and feedback written straight to the tracking server, shaped like the bot's.

Each answer is a trace with an AGENT root span started at a chosen time (in the past), the
bot's tags, metadata, client request ID and previews; votes and ratings are HUMAN
assessments logged and overridden with the mlflow APIs the feedback capture uses, each
followed by the bot's feedback summary (as its delivery writes it); a judge's vote is not.
"""

from __future__ import annotations

import time
from datetime import datetime

import mlflow
from mlflow.entities import AssessmentSource, AssessmentSourceType, SpanType
from mlflow.tracing.client import TracingClient
from mlflow.tracing.provider import with_active_span

from bot.feedback.delivery import MlflowFeedbackWriter
from bot.tracing.data_model import (
    REASON,
    TAG_ANSWER_TS,
    TAG_CHANNEL,
    TAG_CHANNEL_TYPE,
    TAG_CONVERSATION_KIND,
    TAG_TEAM,
    VOTE,
)
from bot.tracing.data_model import rating_value as stored_rating


def human(user: str) -> AssessmentSource:
    return AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id=user)


class FeedbackSeeder:
    def __init__(self, tracking_uri: str, experiment_name: str) -> None:
        mlflow.set_tracking_uri(tracking_uri)
        self.client = TracingClient(tracking_uri)
        self.summaries = MlflowFeedbackWriter(tracking_uri)
        self.experiment_id = str(mlflow.set_experiment(experiment_name).experiment_id)
        self._pending: list[str] = []

    def answer(
        self,
        *,
        started: datetime,
        channel: str,
        asker: str,
        question: str,
        answer: str,
        question_ts: str,
        answer_ts: str | None = None,
        kind: str | None = None,
    ) -> str:
        """One answer's trace, started at `started`; its trace ID is returned."""
        start_ns = int(started.timestamp() * 1e9)
        root = mlflow.start_span_no_context(
            name="slack_answer",
            span_type=SpanType.AGENT,
            inputs={"question": question},
            start_time_ns=start_ns,
            experiment_id=self.experiment_id,
        )
        tags = {
            TAG_TEAM: "T0TEAM",
            TAG_CHANNEL: channel,
            TAG_CHANNEL_TYPE: "im" if channel.startswith("D") else "channel",
        }
        if answer_ts:
            tags[TAG_ANSWER_TS] = answer_ts
        if kind:
            tags[TAG_CONVERSATION_KIND] = kind
        with with_active_span(root):
            mlflow.update_current_trace(
                user=asker,
                session_id=f"{channel}:{question_ts}",
                client_request_id=f"{channel}:{question_ts}",
                request_preview=question,
                response_preview=answer,
                tags=tags,
            )
        root.set_outputs({"answer": answer})
        root.end(end_time_ns=start_ns + 1_500_000_000)
        self._pending.append(root.trace_id)
        return root.trace_id

    def wait_exported(self, timeout_s: float = 30.0) -> None:
        """Block until every answer written so far is on the server."""
        mlflow.flush_trace_async_logging()
        deadline = time.monotonic() + timeout_s
        for trace_id in self._pending:
            while True:
                try:
                    self.client.get_trace_info(trace_id)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        self._pending.clear()

    def vote(self, trace_id: str, user: str, up: bool) -> str:
        return self._log(trace_id, VOTE, up, user, None)

    def rate(self, trace_id: str, user: str, dimension: str, score: int, comment: str = "") -> str:
        return self._log(trace_id, f"user_{dimension}", stored_rating(score), user, comment)

    def reason(self, trace_id: str, user: str, reason: str, comment: str = "") -> str:
        return self._log(trace_id, REASON, reason, user, comment)

    def change_reason(self, trace_id: str, assessment_id: str, user: str, reason: str) -> str:
        return self._override(trace_id, assessment_id, reason, user)

    def change_vote(self, trace_id: str, assessment_id: str, user: str, up: bool) -> str:
        return self._override(trace_id, assessment_id, up, user)

    def change_rating(self, trace_id: str, assessment_id: str, user: str, score: int) -> str:
        return self._override(trace_id, assessment_id, stored_rating(score), user)

    def judge(self, trace_id: str, up: bool) -> None:
        """A non-human vote (an LLM judge's): never counted by the report."""
        mlflow.log_feedback(
            trace_id=trace_id,
            name=VOTE,
            value=up,
            source=AssessmentSource(source_type=AssessmentSourceType.LLM_JUDGE, source_id="judge"),
        )

    def _log(self, trace_id: str, name: str, value: object, user: str, comment: str | None) -> str:
        feedback = mlflow.log_feedback(
            trace_id=trace_id,
            name=name,
            value=value,  # type: ignore[arg-type]
            rationale=comment or None,
            source=human(user),
            metadata={TAG_CHANNEL: "seeded"},
        )
        self.summaries.summarize(trace_id)
        return str(feedback.assessment_id)

    def _override(self, trace_id: str, assessment_id: str, value: object, user: str) -> str:
        feedback = mlflow.override_feedback(
            trace_id=trace_id,
            assessment_id=assessment_id,
            value=value,  # type: ignore[arg-type]
            source=human(user),
        )
        self.summaries.summarize(trace_id)
        return str(feedback.assessment_id)
