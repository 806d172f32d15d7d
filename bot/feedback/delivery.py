"""Delivering outbox entries to MLflow: log, override or leave alone, and retry until done.

Rules for one (trace, user, assessment name):
- no valid assessment from the user yet → `log_feedback`;
- a valid one with the same value and rationale → nothing (a repeated click changes nothing);
- a valid one with another value → `override_feedback` (the old one stays, `valid=False`),
  passing the HUMAN source again (without it the new one would be CODE);
- a withdrawal (value None) → the user's valid vote is renamed `user_feedback_withdrawn`: no
  valid vote of theirs remains (MLflow offers no way to mark one invalid other than overriding
  it with another valid one), and the withdrawn vote stays on the trace for audit.
Corrections (`expected_response`, bot/tracing/data_model.py) are Expectation assessments:
the first is logged (`log_expectation`'s assessment); a changed one is logged anew and the
earlier one renamed `expected_response_withdrawn` (metadata `replaced_by`); an emptied one is
renamed so too. MLflow 3.17.2 has no override for expectations: mlflow-tracing has
`override_feedback` only, and the server drops an Expectation's `overrides` on the way in
(`Expectation.from_proto`), so the earlier one would stay valid; deleting it instead would
lose what the user said. The new one names the one it replaced in its metadata (`replaces`).
A retried delivery recognises its own earlier write by the intent ID in the assessment's
metadata, so a crash between "sent" and "marked done" creates no duplicate.
After every delivery (whatever its outcome, so a retry mends a crash in between) the trace's
feedback summary (`slack_bot_feedback`, bot/tracing/counted_feedback.py) is brought in line
with the assessments that count: the report aggregates it on the tracking server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import mlflow
from mlflow.entities import (
    Assessment,
    AssessmentSource,
    AssessmentSourceType,
    Expectation,
    Feedback,
)
from mlflow.exceptions import MlflowException
from mlflow.tracing.client import TracingClient

from bot.feedback.intent import FeedbackIntent
from bot.feedback.outbox import Outbox, OutboxEntry
from bot.storage.queue import Failure, Wakeup, backoff_s, drain, holding, stop_consuming
from bot.storage.store import lease_owner
from bot.tracing.counted_feedback import (
    SUMMARY,
    SUMMARY_MEANING,
    SUMMARY_SOURCE_ID,
    SUMMARY_SOURCE_TYPE,
    Summary,
    counted,
)
from bot.tracing.data_model import (
    DATASET_ADD,
    EXPECTATIONS,
    MEANING_KEY,
    TAG_CHANNEL,
    TAG_CONVERSATION_KIND,
    WITHDRAWN_CORRECTION,
    WITHDRAWN_VOTE,
    meaning,
)
from bot.tracing.server_errors import failure_of, trace_not_found
from bot.tracing.server_watch import TrackingServerWatch

log = logging.getLogger(__name__)

INTENT_KEY = "slack_bot.intent_id"
# How long a deliverer holds the entries it claimed (renewed while it sends them): another
# deliverer takes them once this runs out after the first one died.
CLAIM_LEASE_S = 60.0
# With nothing due, look again after this at the latest (a missed wake-up; on a shared store,
# feedback another instance's front took, which wakes no deliverer here: the worker passes less).
IDLE_LOOK_S = 60.0
# A dataset add waits for the other feedback of its trace, looking again this often at most.
DATASET_ADD_WAIT_S = 5.0


class TraceNotFound(Exception):
    """The trace is not on the server (yet: export is asynchronous)."""


class PermanentFailure(Exception):
    """The server refused the write for a reason retrying will not fix."""


def human(user_id: str) -> AssessmentSource:
    return AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id=user_id)


class MlflowFeedbackWriter:
    """Blocking MLflow calls for one intent; run it in a worker thread."""

    def __init__(
        self, tracking_uri: str, add_to_dataset: Callable[[str, str], str] | None = None
    ) -> None:
        """`add_to_dataset(trace_id, by)` adds an answer to the evaluation dataset (wired by
        the runtime: bot/dataset/ is a domain of its own); it raises `TraceNotFound` or
        `PermanentFailure` as this writer does."""
        self._client = TracingClient(tracking_uri)
        self._add_to_dataset = add_to_dataset

    def apply(self, intent: FeedbackIntent) -> str:
        """Bring MLflow in line with the intent; what was done is returned."""
        if intent.name == DATASET_ADD:
            if self._add_to_dataset is None:
                raise PermanentFailure("this worker has no evaluation dataset")
            return self._add_to_dataset(intent.trace_id, intent.user_id)
        try:
            outcome = self._apply(intent)
            self.summarize(intent.trace_id)
            return outcome
        except MlflowException as error:
            if trace_not_found(error):
                raise TraceNotFound(str(error)) from error
            if failure_of(error) is Failure.REFUSED:
                raise PermanentFailure(f"{error.error_code}: {error}") from error
            raise  # unreachable, 5xx, timeouts, the bot's credentials refused: retried

    def _apply(self, intent: FeedbackIntent) -> str:
        mine = self._valid_assessments_of(intent)
        if intent.name in EXPECTATIONS:
            return self._expect(intent, mine)
        if any((a.metadata or {}).get(INTENT_KEY) == intent.intent_id for a in mine):
            return "already delivered"
        metadata = {
            **intent.metadata,
            INTENT_KEY: intent.intent_id,
            MEANING_KEY: meaning(intent.name, intent.value),
        }
        if intent.value is None:
            for assessment in mine:
                self._withdraw(intent.trace_id, assessment, metadata)
            return "withdrawn" if mine else "nothing to withdraw"
        current = mine[-1] if mine else None
        if current is None:
            mlflow.log_feedback(
                trace_id=intent.trace_id,
                name=intent.name,
                value=intent.value,
                rationale=intent.rationale,
                source=human(intent.user_id),
                metadata=metadata,
            )
            return "logged"
        if _same(current, intent):
            return "unchanged"
        mlflow.override_feedback(
            trace_id=intent.trace_id,
            assessment_id=str(current.assessment_id),
            value=intent.value,
            rationale=intent.rationale,
            source=human(intent.user_id),
            metadata=metadata,
        )
        return "overridden"

    def _expect(self, intent: FeedbackIntent, mine: list[Assessment]) -> str:
        """A correction: the user's one valid expectation gets the intent's value (logged anew
        unless it has it already), every other valid one of theirs is withdrawn. Each step
        can be repeated: a retry after a crash in between finishes the work."""
        metadata = {**intent.metadata, INTENT_KEY: intent.intent_id}
        kept: Assessment | None = None
        outcome = "withdrawn" if mine else "nothing to withdraw"
        if intent.value is not None:
            ours = [a for a in mine if (a.metadata or {}).get(INTENT_KEY) == intent.intent_id]
            same = ours or [a for a in mine if _same(a, intent)]
            kept = same[-1] if same else None
            outcome = "unchanged" if kept is not None else "overridden" if mine else "logged"
            if kept is None:
                replaces = {"replaces": str(mine[-1].assessment_id)} if mine else {}
                kept = self._client.log_assessment(
                    intent.trace_id,
                    Expectation(
                        name=intent.name,
                        value=intent.value,
                        source=human(intent.user_id),
                        metadata={**metadata, **replaces},
                    ),
                )
        for earlier in mine:
            if kept is None or earlier.assessment_id != kept.assessment_id:
                replaced = {"replaced_by": str(kept.assessment_id)} if kept is not None else {}
                self._withdraw(intent.trace_id, earlier, {**metadata, **replaced})
        return outcome

    def summarize(self, trace_id: str) -> None:
        """Bring the trace's feedback summary in line with the assessments on it now."""
        info = self._client.get_trace_info(trace_id)
        found = (
            counted(
                a.name, getattr(a, "value", None), a.source.source_type, a.source.source_id, a.valid
            )
            for a in info.assessments
        )
        now = summary_feedback(
            Summary.of(
                (a for a in found if a is not None),
                info.tags.get(TAG_CHANNEL),
                info.tags.get(TAG_CONVERSATION_KIND),
            )
        )
        summaries = [a for a in info.assessments if a.name == SUMMARY and a.valid is not False]
        if not summaries:
            mlflow.log_assessment(trace_id, now)
        elif (getattr(summaries[0], "value", None), summaries[0].rationale) != (
            now.value,
            now.rationale,
        ):
            self._client.update_assessment(trace_id, str(summaries[0].assessment_id), now)
        for duplicate in summaries[1:]:  # two instances delivered to one trace at once
            self._client.delete_assessment(trace_id, str(duplicate.assessment_id))

    def _valid_assessments_of(self, intent: FeedbackIntent) -> list[Assessment]:
        info = self._client.get_trace_info(intent.trace_id)
        found = [
            a
            for a in info.assessments
            if a.name == intent.name
            and a.valid is not False
            and a.source.source_type == AssessmentSourceType.HUMAN
            and a.source.source_id == intent.user_id
        ]
        return sorted(found, key=lambda a: a.create_time_ms or 0)

    def _withdraw(self, trace_id: str, assessment: Assessment, metadata: dict[str, str]) -> None:
        audit = {
            **(assessment.metadata or {}),
            **metadata,
            "withdrawn_from": assessment.name,
            MEANING_KEY: meaning(
                WITHDRAWN_CORRECTION if isinstance(assessment, Expectation) else WITHDRAWN_VOTE,
                getattr(assessment, "value", None),
            ),
        }
        withdrawn: Assessment
        if isinstance(assessment, Expectation):
            withdrawn = Expectation(
                name=WITHDRAWN_CORRECTION,
                value=assessment.value,
                source=assessment.source,
                metadata=audit,
            )
        else:
            assert isinstance(assessment, Feedback)
            withdrawn = Feedback(
                name=WITHDRAWN_VOTE,
                value=assessment.value,
                source=assessment.source,
                rationale=assessment.rationale,
                metadata=audit,
            )
        self._client.update_assessment(trace_id, str(assessment.assessment_id), withdrawn)


def _same(current: Assessment, intent: FeedbackIntent) -> bool:
    value = getattr(current, "value", None)
    return value == intent.value and (current.rationale or None) == (intent.rationale or None)


@dataclass(frozen=True)
class RetryPolicy:
    trace_wait_s: float = 3600.0  # how long a trace may take to appear before giving up
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def delay(self, attempts: int) -> float:
        return backoff_s(attempts, self.base_delay_s, self.max_delay_s)


class FeedbackDeliverer:
    """A background task sending the outbox to MLflow. Traces are handled concurrently, so a
    trace that never appears holds back nothing else. It claims what it sends (as `owner`,
    for `lease_s`, renewed while it sends): deliverers sharing one store never send one entry
    at once."""

    def __init__(
        self,
        outbox: Outbox,
        writer: MlflowFeedbackWriter,
        policy: RetryPolicy | None = None,
        concurrency: int = 8,
        batch: int = 200,
        *,
        watch: TrackingServerWatch | None = None,
        owner: str | None = None,
        lease_s: float = CLAIM_LEASE_S,
        idle_look_s: float = IDLE_LOOK_S,
    ) -> None:
        self._outbox = outbox
        self._owner = owner or lease_owner()
        self._lease_s = lease_s
        self._idle_look_s = idle_look_s
        self._draining = False
        self._watch = watch
        self._writer = writer
        self._policy = policy or RetryPolicy()
        self._slots = asyncio.Semaphore(concurrency)
        self._batch = batch
        self._wake = Wakeup()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._watch is not None:
            self._watch.when_back(self._server_back)
        self._task = asyncio.create_task(self._run(), name="feedback-deliverer")

    async def _server_back(self) -> None:
        self.wake()

    def wake(self) -> None:
        self._wake.wake()

    async def stop(self) -> None:
        """Stop sending; what this deliverer still holds is released for any to take."""
        await stop_consuming(
            self._task, lambda: self._outbox.release(self._owner), "feedback entries"
        )
        self._task = None

    async def drain(self, timeout_s: float) -> bool:
        """Deliver everything pending now, ignoring backoff (once the batch in flight is
        done: the background loop takes nothing more); True if nothing is left."""
        self._draining = True
        self.wake()
        return await drain(
            lambda: self._claim(ignore_backoff=True),
            self._deliver_and_pause,
            timeout_s,
            in_flight=self._task,
        )

    async def _deliver_and_pause(self, entries: Sequence[OutboxEntry]) -> bool:
        """A batch while draining, then a pause: what failed is due again at once."""
        await self._deliver_batch(list(entries))
        await asyncio.sleep(0.2)
        return True

    async def _claim(self, *, ignore_backoff: bool = False) -> list[OutboxEntry]:
        return await self._outbox.claim_due(
            self._owner, self._lease_s, self._batch, ignore_backoff=ignore_backoff
        )

    async def _run(self) -> None:
        while not self._draining:
            try:
                entries = await self._claim()
                if entries:
                    await self._deliver_batch(entries)
                    continue
                wait_s = await self._outbox.next_due_in()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("feedback delivery loop failed; retrying in 5 s")
                wait_s = 5.0
            self._wake.clear()
            if self._draining:
                return
            await self._wake.wait(
                self._idle_look_s if wait_s is None else min(wait_s, self._idle_look_s)
            )

    async def _deliver_batch(self, entries: list[OutboxEntry]) -> None:
        by_trace: dict[str, list[OutboxEntry]] = defaultdict(list)
        # A dataset add goes last on its trace: its record takes what came before it.
        for entry in sorted(entries, key=lambda e: e.intent.name == DATASET_ADD):
            by_trace[entry.intent.trace_id].append(entry)
        claimed = {entry.id for entry in entries}
        async with holding(
            claimed, self._lease_s, self._renew, self._release, "feedback entries"
        ) as in_hand:
            outcomes = await asyncio.gather(
                *(self._deliver_trace(group, in_hand) for group in by_trace.values()),
                return_exceptions=True,  # the claims of the others are renewed till they end
            )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _renew(self, ids: list[int]) -> None:
        await self._outbox.extend_claims(self._owner, ids, self._lease_s)

    async def _release(self, ids: list[int]) -> None:
        await self._outbox.release(self._owner, ids)

    async def _deliver_trace(self, entries: list[OutboxEntry], in_hand: set[int]) -> None:
        async with self._slots:
            for i, entry in enumerate(entries):  # in order, one at a time per trace
                delivered = await self._deliver(entry)
                in_hand.discard(entry.id)
                if not delivered:  # the rest of this trace is tried again with it
                    rest = [later.id for later in entries[i + 1 :]]
                    in_hand.difference_update(rest)
                    await self._outbox.release(self._owner, rest)
                    return

    async def _deliver(self, entry: OutboxEntry) -> bool:
        intent = entry.intent
        if intent.name == DATASET_ADD and await self._outbox.others_waiting(entry):
            # The record takes the trace's feedback as it is: let what waits land first.
            delay = min(self._policy.delay(entry.attempts), DATASET_ADD_WAIT_S)
            await self._outbox.retry_later(entry, self._owner, "feedback waits first", delay)
            return False
        try:
            outcome = await asyncio.to_thread(self._writer.apply, intent)
        except TraceNotFound:
            age = time.time() - entry.created_at
            if age > self._policy.trace_wait_s:
                log.warning(
                    "dropping feedback on trace %s by %s: the trace never appeared (%.0f s)",
                    intent.trace_id,
                    intent.user_id,
                    age,
                )
                await self._outbox.mark_dead(entry, self._owner, "trace not found")
            else:
                await self._outbox.retry_later(
                    entry, self._owner, "trace not found", self._policy.delay(entry.attempts)
                )
            return False
        except PermanentFailure as error:
            log.error("feedback on trace %s refused: %s", intent.trace_id, error)
            await self._outbox.mark_dead(entry, self._owner, f"refused: {error}")
            return True
        except Exception as error:
            delay = self._policy.delay(entry.attempts)
            if self._watch is not None:
                await self._watch.unreachable(error)  # one line while it stays away
            else:
                log.warning("tracking server unavailable (%s)", str(error)[:200])
            log.debug("feedback on trace %s: retry in %.1f s", intent.trace_id, delay)
            await self._outbox.retry_later(entry, self._owner, f"unavailable: {error}", delay)
            return False
        if self._watch is not None:
            await self._watch.reachable()
        await self._outbox.delivered(entry, self._owner)
        log.info(
            "feedback %s on %s by %s: %s", intent.name, intent.trace_id, intent.user_id, outcome
        )
        return True


def summary_feedback(summary: Summary) -> Feedback:
    """The summary as the assessment the bot writes."""
    return Feedback(
        name=SUMMARY,
        value=summary.value,
        rationale=summary.rationale,
        source=AssessmentSource(SUMMARY_SOURCE_TYPE, SUMMARY_SOURCE_ID),
        metadata={MEANING_KEY: SUMMARY_MEANING},
    )
