"""Recording feedback (fast layer): the recorder's rules and the outbox's coalescing, on a
real SQLite store in a temporary directory, with no MLflow."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.feedback.intent import FeedbackIntent
from bot.feedback.outbox import Outbox, OutboxEntry
from bot.feedback.recorder import (
    COMMENT_MAX_CHARS,
    CurrentRatings,
    FeedbackRecorder,
    InvalidFeedback,
)
from bot.storage.store import Store, StoreUnavailable
from bot.tracing.data_model import (
    CORRECTION,
    CORRECTION_MAX_CHARS,
    DATASET_ADD,
    RATING_DIMENSIONS,
    REASON,
    SCORES,
    VOTE,
    rating_score,
    rating_value,
)
from devkit.ids import new_trace_id

ME = "unit-deliverer"


async def due(outbox: Outbox, limit: int, *, ignore_backoff: bool = False) -> list[OutboxEntry]:
    """What a deliverer would take now (claimed, then let go: these tests look, not send)."""
    entries = await outbox.claim_due(ME, 60, limit, ignore_backoff=ignore_backoff)
    await outbox.release(ME)
    return entries


@dataclass
class Recording:
    recorder: FeedbackRecorder
    outbox: Outbox
    wakes: list[None]

    async def pending(self) -> dict[str, FeedbackIntent]:
        return {e.intent.name: e.intent for e in await due(self.outbox, 100, ignore_backoff=True)}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path)
    yield opened
    await opened.close()


@pytest.fixture
async def recording(store: Store) -> AsyncIterator[Recording]:
    outbox = Outbox(store)
    wakes: list[None] = []
    yield Recording(FeedbackRecorder(outbox, lambda: wakes.append(None)), outbox, wakes)


# -- the rating scale -------------------------------------------------------------------------


def test_scores_are_stored_as_fifths_and_read_back_as_scores() -> None:
    assert list(SCORES) == [1, 2, 3, 4, 5]
    assert [rating_value(s) for s in range(1, 6)] == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert [round(rating_score(rating_value(s))) for s in range(1, 6)] == [1, 2, 3, 4, 5]


# -- votes ------------------------------------------------------------------------------------


async def test_a_vote_is_committed_with_its_origin_and_channel_and_wakes_delivery(
    recording: Recording,
) -> None:
    trace_id = new_trace_id()
    result = await recording.recorder.vote(trace_id, "U1", False, channel="C1")
    assert result.changed and len(recording.wakes) == 1
    vote = (await recording.pending())[VOTE]
    assert (vote.trace_id, vote.user_id, vote.value, vote.rationale) == (
        trace_id,
        "U1",
        False,
        None,
    )
    assert vote.metadata == {"origin": "button", "slack.channel": "C1"}


async def test_the_same_vote_again_changes_nothing_and_the_other_one_replaces_it(
    recording: Recording,
) -> None:
    trace_id = new_trace_id()
    await recording.recorder.vote(trace_id, "U1", True)
    again = await recording.recorder.vote(trace_id, "U1", True, origin="reaction")
    assert not again.changed and len(recording.wakes) == 1
    other = await recording.recorder.vote(trace_id, "U1", False)
    assert other.changed and len(recording.wakes) == 2
    [entry] = await due(recording.outbox, 10)
    assert entry.intent.value is False and entry.version == 2
    assert "slack.channel" not in entry.intent.metadata


async def test_votes_of_other_users_or_answers_are_kept_apart(recording: Recording) -> None:
    first, second = new_trace_id(), new_trace_id()
    await recording.recorder.vote(first, "U1", True)
    assert (await recording.recorder.vote(first, "U2", True)).changed
    assert (await recording.recorder.vote(second, "U1", True)).changed
    assert len(await due(recording.outbox, 10)) == 3


async def test_removing_a_reaction_withdraws_only_the_vote_that_reaction_made(
    recording: Recording,
) -> None:
    trace_id = new_trace_id()
    recorder = recording.recorder
    assert not await recorder.withdraw_reaction(trace_id, "U1", True)  # nothing to withdraw
    await recorder.vote(trace_id, "U1", True, origin="reaction")
    assert not await recorder.withdraw_reaction(trace_id, "U1", False)  # the other emoji
    assert await recorder.withdraw_reaction(trace_id, "U1", True, channel="C9")
    vote = (await recording.pending())[VOTE]
    assert vote.value is None and vote.metadata == {"origin": "reaction", "slack.channel": "C9"}
    assert len(recording.wakes) == 2
    await recorder.vote(trace_id, "U1", True, origin="reaction")
    await recorder.vote(trace_id, "U1", True)  # the same vote by button: no change
    await recorder.vote(trace_id, "U1", False)  # a click replaces the reaction
    assert not await recorder.withdraw_reaction(trace_id, "U1", True)
    assert (await recording.pending())[VOTE].value is False


@pytest.mark.parametrize(
    ("trace_id", "user_id"),
    [("tr-" + "0" * 31, "U1"), ("TR-" + "a" * 32, "U1"), ("tr-" + "g" * 32, "U1"), (None, "U1")],
)
async def test_feedback_on_what_is_not_a_trace_id_or_by_nobody_is_refused(
    recording: Recording, trace_id: object, user_id: str
) -> None:
    with pytest.raises(InvalidFeedback):
        await recording.recorder.vote(trace_id, user_id, True)  # type: ignore[arg-type]
    with pytest.raises(InvalidFeedback):
        await recording.recorder.vote(new_trace_id(), "", True)
    with pytest.raises(InvalidFeedback):
        await recording.recorder.withdraw_reaction(new_trace_id(), None, True)  # type: ignore[arg-type]
    assert await due(recording.outbox, 10) == [] and recording.wakes == []


# -- ratings ----------------------------------------------------------------------------------


async def test_a_rating_is_one_intent_per_dimension_with_the_comment_as_rationale(
    recording: Recording,
) -> None:
    trace_id = new_trace_id()
    await recording.recorder.rate(
        trace_id, "U1", {"accuracy": 1, "helpfulness": 3, "relevance": 5}, "  ok  ", channel="C1"
    )
    pending = await recording.pending()
    assert set(pending) == {f"user_{d}" for d in RATING_DIMENSIONS}
    assert pending["user_accuracy"].value == pytest.approx(0.2)
    assert pending["user_relevance"].value == pytest.approx(1.0)
    assert {i.rationale for i in pending.values()} == {"ok"}
    assert all(i.metadata == {"origin": "modal", "slack.channel": "C1"} for i in pending.values())
    assert len(recording.wakes) == 1


async def test_a_comment_is_trimmed_cut_to_its_limit_and_blank_is_none(
    recording: Recording,
) -> None:
    scores = dict.fromkeys(RATING_DIMENSIONS, 4)
    trace_id = new_trace_id()
    await recording.recorder.rate(trace_id, "U1", scores, " " + "c" * (COMMENT_MAX_CHARS + 5))
    assert (await recording.pending())["user_accuracy"].rationale == "c" * COMMENT_MAX_CHARS
    await recording.recorder.rate(trace_id, "U1", scores, " \n ")
    assert (await recording.pending())["user_accuracy"].rationale is None


@pytest.mark.parametrize(
    "scores",
    [
        {"accuracy": 3, "helpfulness": 3},
        {"accuracy": 3, "helpfulness": 3, "relevance": 3, "tone": 3},
        {"accuracy": 0, "helpfulness": 3, "relevance": 3},
        {"accuracy": 6, "helpfulness": 3, "relevance": 3},
        {"accuracy": "3", "helpfulness": 3, "relevance": 3},
        {"accuracy": 2.5, "helpfulness": 3, "relevance": 3},
    ],
)
async def test_a_rating_that_is_not_three_scores_from_1_to_5_is_refused(
    recording: Recording, scores: dict[str, int]
) -> None:
    with pytest.raises(InvalidFeedback):
        await recording.recorder.rate(new_trace_id(), "U1", scores, None)
    assert await due(recording.outbox, 10) == [] and recording.wakes == []


async def test_the_latest_rating_prefills_and_a_vote_does_not(recording: Recording) -> None:
    trace_id = new_trace_id()
    recorder = recording.recorder
    assert await recorder.current_ratings(trace_id, "U1") == CurrentRatings({}, None)
    await recorder.vote(trace_id, "U1", True)
    assert await recorder.current_ratings(trace_id, "U1") == CurrentRatings({}, None)
    await recorder.rate(trace_id, "U1", {"accuracy": 2, "helpfulness": 4, "relevance": 5}, "a")
    assert await recorder.current_ratings(trace_id, "U1") == CurrentRatings(
        {"accuracy": 2, "helpfulness": 4, "relevance": 5}, "a"
    )
    await recorder.rate(trace_id, "U1", {"accuracy": 3, "helpfulness": 4, "relevance": 1}, None)
    assert await recorder.current_ratings(trace_id, "U1") == CurrentRatings(
        {"accuracy": 3, "helpfulness": 4, "relevance": 1}, None
    )
    assert await recorder.current_ratings(trace_id, "U2") == CurrentRatings({}, None)


# -- the outbox's coalescing --------------------------------------------------------------------


async def test_a_newer_intent_replaces_the_pending_one_and_an_older_delivery_keeps_it(
    recording: Recording,
) -> None:
    outbox = recording.outbox
    trace_id = new_trace_id()
    await outbox.submit([FeedbackIntent(trace_id, "U1", VOTE, True)])
    [older] = await due(outbox, 10)
    newer_intent = FeedbackIntent(trace_id, "U1", VOTE, False)
    await outbox.submit([newer_intent])
    [newer] = await due(outbox, 10)
    assert (newer.id, newer.version) == (older.id, older.version + 1)
    assert newer.intent.intent_id == newer_intent.intent_id
    assert not await outbox.delivered(older, ME)  # the older value reached MLflow: not enough
    assert [e.intent.value for e in await due(outbox, 10)] == [False]
    assert await outbox.delivered(newer, ME)
    assert await due(outbox, 10) == []
    assert (await outbox.latest(trace_id, "U1"))[VOTE].value is False  # kept once delivered


async def test_a_retry_waits_its_delay_and_a_dead_entry_waits_to_be_revived(
    recording: Recording,
) -> None:
    outbox = recording.outbox
    await outbox.submit([FeedbackIntent(new_trace_id(), "U1", VOTE, True)])
    [entry] = await due(outbox, 10)
    assert await outbox.next_due_in() == 0
    await outbox.retry_later(entry, ME, "tracking server down", 60)
    assert await due(outbox, 10) == []
    assert 55 < (await outbox.next_due_in() or 0) <= 60
    [waiting] = await due(outbox, 10, ignore_backoff=True)
    assert waiting.attempts == 1
    await outbox.mark_dead(waiting, ME, "trace not found")
    stats = await outbox.stats()
    assert (stats.pending, stats.dead, stats.dead_reasons) == (0, 1, {"trace not found": 1})
    assert await due(outbox, 10, ignore_backoff=True) == [] and await outbox.next_due_in() is None
    assert await outbox.retry_dead() == 1
    [revived] = await due(outbox, 10)
    assert revived.attempts == 0 and (await outbox.stats()).dead == 0


async def test_a_new_intent_revives_a_dead_entry_of_its_key(recording: Recording) -> None:
    outbox = recording.outbox
    trace_id = new_trace_id()
    await outbox.submit([FeedbackIntent(trace_id, "U1", VOTE, True)])
    [entry] = await due(outbox, 10)
    await outbox.mark_dead(entry, ME, "gone")
    await outbox.submit([FeedbackIntent(trace_id, "U1", VOTE, False)])
    [again] = await due(outbox, 10)
    assert again.intent.value is False and (await outbox.stats()).dead == 0


async def test_the_backlog_is_timed_from_the_oldest_intent_and_reasons_are_cut(
    recording: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    outbox = recording.outbox
    assert (await outbox.stats()).oldest_pending_age_s is None
    await outbox.submit([FeedbackIntent(new_trace_id(), "U1", VOTE, True)])
    clock[0] = 1_005.0
    await outbox.submit([FeedbackIntent(new_trace_id(), "U1", VOTE, False)])
    clock[0] = 1_012.345
    stats = await outbox.stats()
    assert stats.as_dict() == {
        "pending": 2,
        "dead": 0,
        "oldest_pending_age_s": 12.3,
        "dead_reasons": {},
    }
    first, second = await due(outbox, 10)
    assert (first.created_at, second.created_at) == (1_000.0, 1_005.0)
    await outbox.mark_dead(first, ME, "r" * 600)
    stats = await outbox.stats()
    assert stats.dead_reasons == {"r" * 500: 1} and stats.oldest_pending_age_s == 7.3


# -- 👎 reasons ---------------------------------------------------------------------------------


async def test_a_new_thumbs_down_wants_a_reason_until_one_is_given(store: Store) -> None:
    outbox = Outbox(store)
    wakes: list[None] = []
    recorder = FeedbackRecorder(outbox, lambda: wakes.append(None), ("inaccurate", "other"))
    trace_id = new_trace_id()
    assert not (await recorder.vote(trace_id, "U1", True)).wants_reason
    down = await recorder.vote(trace_id, "U1", False)
    assert down.changed and down.wants_reason
    assert not (await recorder.vote(trace_id, "U1", False)).wants_reason  # the same again
    await recorder.reason(trace_id, "U1", "inaccurate", "  wrong year  ", channel="C1")
    [reason] = [e.intent for e in await due(outbox, 10) if e.intent.name == REASON]
    assert (reason.value, reason.rationale) == ("inaccurate", "wrong year")
    assert reason.metadata == {"origin": "follow-up", "slack.channel": "C1"}
    assert len(wakes) == 3
    await recorder.vote(trace_id, "U1", True)
    assert not (await recorder.vote(trace_id, "U1", False)).wants_reason  # one was given
    assert (await recorder.vote(new_trace_id(), "U1", False)).wants_reason  # another answer


async def test_a_reason_not_offered_is_refused(store: Store) -> None:
    outbox = Outbox(store)
    recorder = FeedbackRecorder(outbox, lambda: None, ("inaccurate",))
    with pytest.raises(InvalidFeedback):
        await recorder.reason(new_trace_id(), "U1", "zzz", None)
    with pytest.raises(InvalidFeedback):
        await recorder.reason("tr-x", "U1", "inaccurate", None)
    assert await due(outbox, 10) == []
    await recorder.reason(new_trace_id(), "U1", "inaccurate", " ", origin="modal")
    [entry] = await due(outbox, 10)
    assert entry.intent.rationale is None and entry.intent.metadata == {"origin": "modal"}


# -- corrections --------------------------------------------------------------------------------


async def test_a_correction_is_kept_as_typed_once_and_an_emptied_one_withdraws_it(
    recording: Recording,
) -> None:
    trace_id, typed = new_trace_id(), " Say <@U9> *42*\x07\n"
    recorder = recording.recorder
    assert not await recorder.correct(trace_id, "U1", None)  # nothing to withdraw
    assert not await recorder.correct(trace_id, "U1", "  ")
    assert recording.wakes == []
    assert await recorder.correct(trace_id, "U1", typed, channel="C1", origin="follow-up modal")
    assert not await recorder.correct(trace_id, "U1", typed)  # the same again
    assert len(recording.wakes) == 1
    pending = (await recording.pending())[CORRECTION]
    assert (pending.value, pending.user_id) == (typed, "U1")
    assert pending.metadata == {"origin": "follow-up modal", "slack.channel": "C1"}
    assert await recorder.current_correction(trace_id, "U1") == typed
    assert await recorder.current_correction(trace_id, "U2") is None
    assert (await recorder.current_ratings(trace_id, "U1")).correction == typed

    assert await recorder.correct(trace_id, "U1", "")
    assert (await recording.pending())[CORRECTION].value is None
    assert await recorder.current_correction(trace_id, "U1") is None


async def test_a_correction_over_the_limit_or_not_text_is_refused(recording: Recording) -> None:
    trace_id = new_trace_id()
    assert await recording.recorder.correct(trace_id, "U1", "x" * CORRECTION_MAX_CHARS)
    with pytest.raises(InvalidFeedback):
        await recording.recorder.correct(trace_id, "U1", "x" * (CORRECTION_MAX_CHARS + 1))
    with pytest.raises(InvalidFeedback):
        await recording.recorder.correct(trace_id, "U1", 42)  # type: ignore[arg-type]
    with pytest.raises(InvalidFeedback):
        await recording.recorder.correct("tr-nope", "U1", "text")


def gone_after_the_first_commit(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The store fails every transaction after the first (a crash, a database going away);
    the transactions tried are listed (the first one's work, then each refused one's)."""
    run, tried = store.run, list[Any]()

    async def first_only(work: Any) -> Any:
        tried.append(work)
        if len(tried) > 1:
            raise StoreUnavailable("gone after the first commit")
        return await run(work)

    monkeypatch.setattr(store, "run", first_only)
    return tried


async def test_a_rating_form_is_its_scores_and_its_correction_in_one_commit(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rating modal's scores, comment and correction: the store fails every transaction
    after the first, and all of them are kept (the front commits a submission once)."""
    outbox, wakes = Outbox(store), list[None]()
    recording = Recording(FeedbackRecorder(outbox, lambda: wakes.append(None)), outbox, wakes)
    trace_id, run = new_trace_id(), store.run
    transactions = gone_after_the_first_commit(store, monkeypatch)
    scores = {"accuracy": 2, "helpfulness": 4, "relevance": 5}
    assert await recording.recorder.rate_and_correct(
        trace_id, "U1", scores, " meh ", "Say 42.", channel="C1"
    )
    monkeypatch.setattr(store, "run", run)
    pending = await recording.pending()
    assert set(pending) == {*(f"user_{d}" for d in RATING_DIMENSIONS), CORRECTION}
    assert pending["user_helpfulness"].value == pytest.approx(0.8)
    assert (pending[CORRECTION].value, pending["user_accuracy"].rationale) == ("Say 42.", "meh")
    assert all(i.metadata == {"origin": "modal", "slack.channel": "C1"} for i in pending.values())
    assert len(transactions) == 1 and len(wakes) == 1


async def test_a_rating_form_with_the_same_correction_again_keeps_the_new_scores(
    recording: Recording,
) -> None:
    trace_id, recorder = new_trace_id(), recording.recorder
    first = {"accuracy": 2, "helpfulness": 4, "relevance": 5}
    assert await recorder.rate_and_correct(trace_id, "U1", first, None, "Say 42.")
    assert not await recorder.rate_and_correct(trace_id, "U1", first, None, "Say 42.")
    assert not await recorder.rate_and_correct(trace_id, "U2", first, None, None)  # none given
    second = {"accuracy": 5, "helpfulness": 4, "relevance": 5}
    assert not await recorder.rate_and_correct(trace_id, "U1", second, "ok", "Say 42.")
    assert await recorder.current_ratings(trace_id, "U1") == CurrentRatings(second, "ok", "Say 42.")
    assert await recorder.current_ratings(trace_id, "U2") == CurrentRatings(first, None)
    assert len(recording.wakes) == 4  # a rating is always new feedback to deliver
    assert await recorder.rate_and_correct(trace_id, "U1", second, "ok", None)  # withdrawn
    assert (await recorder.current_ratings(trace_id, "U1")).correction is None


@pytest.mark.parametrize(
    ("scores", "correction"),
    [
        ({"accuracy": 3, "helpfulness": 3}, "Say 42."),
        ({"accuracy": 3, "helpfulness": 3, "relevance": 3}, "x" * (CORRECTION_MAX_CHARS + 1)),
        ({"accuracy": 3, "helpfulness": 3, "relevance": 3}, 42),
    ],
)
async def test_a_rating_form_with_either_part_refused_commits_neither(
    recording: Recording, scores: dict[str, int], correction: Any
) -> None:
    with pytest.raises(InvalidFeedback):
        await recording.recorder.rate_and_correct(new_trace_id(), "U1", scores, "c", correction)
    assert await due(recording.outbox, 10) == [] and recording.wakes == []


@pytest.mark.parametrize("kind", ["vote", "correction"])
async def test_an_automatic_dataset_add_is_committed_with_the_feedback_that_caused_it(
    store: Store, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The store fails every transaction after the feedback's own (a crash, a database going
    away): the add that DATASET_AUTO_ADD asks for is kept all the same, since the same 👎 or
    correction again would change nothing and never ask for it again."""
    outbox = Outbox(store)
    recorder = FeedbackRecorder(outbox, lambda: None, auto_add="negative")
    trace_id, run = new_trace_id(), store.run
    gone_after_the_first_commit(store, monkeypatch)
    with pytest.raises(StoreUnavailable):  # whatever comes after the first commit fails
        if kind == "vote":
            await recorder.vote(trace_id, "U1", False)
            await recorder.vote(trace_id, "U1", False)  # the same 👎 again: a read, refused
        else:
            await recorder.correct(trace_id, "U1", "Say 42.")
            await recorder.correct(trace_id, "U1", "Say 42.")
    monkeypatch.setattr(store, "run", run)
    names = {e.intent.name for e in await due(outbox, 100, ignore_backoff=True)}
    assert names == {VOTE if kind == "vote" else CORRECTION, DATASET_ADD}
