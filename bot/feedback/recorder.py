"""Recording votes and ratings: the small interface the Slack handlers call.

It takes plain values and knows nothing of Slack. Intents are committed to the outbox
(durable), and the worker's deliverer (bot/feedback/delivery.py), woken by `wake`, brings
MLflow in line with them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from bot.feedback.intent import FeedbackIntent, FeedbackValue, is_trace_id
from bot.feedback.outbox import Outbox
from bot.tracing.data_model import (
    CORRECTION,
    CORRECTION_MAX_CHARS,
    DATASET_ADD,
    HIGHEST_SCORE,
    LOWEST_SCORE,
    RATING_DIMENSIONS,
    REASON,
    SCORES,
    VOTE,
    rating_score,
    rating_value,
)

log = logging.getLogger(__name__)

COMMENT_MAX_CHARS = 2000


class InvalidFeedback(ValueError):
    """Feedback that cannot be recorded (unknown trace ID, score out of range, …)."""


@dataclass(frozen=True)
class CurrentRatings:
    scores: dict[str, int]  # dimension → 1..5
    comment: str | None
    correction: str | None = None  # what the user said the answer should have said


@dataclass(frozen=True)
class VoteResult:
    changed: bool  # False: the same vote was already recorded
    # A new 👎 from someone who has given no reason for this answer yet: ask them why.
    wants_reason: bool = False


class FeedbackRecorder:
    def __init__(
        self,
        outbox: Outbox,
        wake: Callable[[], None],
        reasons: Collection[str] = (),
        *,
        auto_add: str = "off",
    ) -> None:
        """`reasons`: the keys a 👎 reason may have; `auto_add` (DATASET_AUTO_ADD): which
        answers are added to the evaluation dataset as their feedback lands (`corrected`: on
        a correction; `negative`: on a correction or a 👎; `off`: none)."""
        self._outbox = outbox
        self._wake = wake
        self._reasons = frozenset(reasons)
        self._auto_add = auto_add

    async def vote(
        self,
        trace_id: str,
        user_id: str,
        positive: bool | None,
        *,
        channel: str | None = None,
        origin: str = "button",
    ) -> VoteResult:
        """👍 (True), 👎 (False) or a withdrawn vote (None) by `user_id` on the answer."""
        _check(trace_id, user_id)
        auto_add = positive is False and self._auto_add == "negative"
        changed = await self._outbox.submit_unless(
            _intent(trace_id, user_id, VOTE, positive, None, channel, origin),
            unless=lambda latest: latest is not None and latest.value == positive,
            also=self._auto_added(trace_id) if auto_add else (),
        )
        if not changed:
            return VoteResult(changed=False)
        self._wake()
        wants_reason = positive is False and REASON not in await self._outbox.latest(
            trace_id, user_id
        )
        return VoteResult(changed=True, wants_reason=wants_reason)

    async def reason(
        self,
        trace_id: str,
        user_id: str,
        reason: str,
        comment: str | None,
        *,
        channel: str | None = None,
        origin: str = "follow-up",
    ) -> None:
        """Why the user's 👎: one of the configured reason keys, and an optional comment. A
        later reason replaces an earlier one; it counts while the user's vote is 👎."""
        _check(trace_id, user_id)
        if reason not in self._reasons:
            raise InvalidFeedback(f"{reason!r} is not one of the reasons offered")
        comment = _comment(comment)
        await self._submit([_intent(trace_id, user_id, REASON, reason, comment, channel, origin)])

    async def withdraw_reaction(
        self, trace_id: str, user_id: str, positive: bool, *, channel: str | None = None
    ) -> bool:
        """A removed 👍/👎 reaction: withdraw the vote it made, unless something later (a
        button click, the other reaction) replaced it. True if a vote was withdrawn."""
        _check(trace_id, user_id)
        withdrawn = await self._outbox.submit_unless(
            _intent(trace_id, user_id, VOTE, None, None, channel, "reaction"),
            unless=lambda latest: (
                latest is None or latest.origin != "reaction" or latest.value != positive
            ),
        )
        if withdrawn:
            self._wake()
        return withdrawn

    async def rate(
        self,
        trace_id: str,
        user_id: str,
        scores: dict[str, int],
        comment: str | None,
        *,
        channel: str | None = None,
    ) -> None:
        """A detailed rating: one score (`SCORES`) per dimension, and an optional comment."""
        await self._submit(self._rating(trace_id, user_id, scores, comment, channel))

    async def correct(
        self,
        trace_id: str,
        user_id: str,
        text: str | None,
        *,
        channel: str | None = None,
        origin: str = "modal",
    ) -> bool:
        """What the answer should have said, by `user_id` (the text as typed); empty or None
        withdraws the user's earlier correction. The same text again changes nothing. True if
        something changed."""
        return await self._correct(trace_id, user_id, text, channel, origin)

    async def rate_and_correct(
        self,
        trace_id: str,
        user_id: str,
        scores: dict[str, int],
        comment: str | None,
        correction: str | None,
        *,
        channel: str | None = None,
    ) -> bool:
        """The rating modal submitted: `rate` and `correct` (origin "modal") in one commit,
        each checked before anything is; True if the correction changed something."""
        rating = self._rating(trace_id, user_id, scores, comment, channel)
        changed = await self._correct(trace_id, user_id, correction, channel, "modal", rating)
        if not changed:
            self._wake()  # the rating's intents
        return changed

    def _rating(
        self,
        trace_id: str,
        user_id: str,
        scores: dict[str, int],
        comment: str | None,
        channel: str | None,
    ) -> list[FeedbackIntent]:
        _check(trace_id, user_id)
        if set(scores) != set(RATING_DIMENSIONS):
            raise InvalidFeedback(f"ratings need exactly {', '.join(RATING_DIMENSIONS)}")
        for dimension, score in scores.items():
            if not isinstance(score, int) or score not in SCORES:
                raise InvalidFeedback(f"{dimension} must be {LOWEST_SCORE} to {HIGHEST_SCORE}")
        comment = _comment(comment)
        return [
            _intent(trace_id, user_id, f"user_{d}", rating_value(s), comment, channel, "modal")
            for d, s in scores.items()
        ]

    async def _correct(
        self,
        trace_id: str,
        user_id: str,
        text: str | None,
        channel: str | None,
        origin: str,
        with_rating: Sequence[FeedbackIntent] = (),
    ) -> bool:
        """`correct`, committed with `with_rating` (committed whether or not the correction
        changes anything)."""
        _check(trace_id, user_id)
        if text is not None and not isinstance(text, str):
            raise InvalidFeedback("a correction is text")
        value = text if text and text.strip() else None
        if value is not None and len(value) > CORRECTION_MAX_CHARS:
            raise InvalidFeedback(f"a correction is at most {CORRECTION_MAX_CHARS} characters")
        auto_add = value is not None and self._auto_add in ("corrected", "negative")
        changed = await self._outbox.submit_unless(
            _intent(trace_id, user_id, CORRECTION, value, None, channel, origin),
            unless=lambda latest: (latest.value if latest is not None else None) == value,
            also=self._auto_added(trace_id) if auto_add else (),
            always=with_rating,
        )
        if changed:
            self._wake()
        return changed

    def _auto_added(self, trace_id: str) -> tuple[FeedbackIntent]:
        """The dataset add `DATASET_AUTO_ADD` asks for, committed with the feedback that
        caused it (a crash between two commits would keep the 👎 and lose the add for good:
        the same 👎 again changes nothing)."""
        return (_dataset_add(trace_id, f"auto:{self._auto_add}", "auto"),)

    async def add_to_dataset(self, trace_id: str, by: str, *, origin: str = "report") -> None:
        """Add the answer to the evaluation dataset (again: its record is updated), once the
        feedback before it on the trace is delivered; `by`: who asked."""
        _check(trace_id, by)
        await self._submit([_dataset_add(trace_id, by, origin)])

    async def in_dataset(self, trace_id: str) -> bool:
        """Whether anyone asked for the answer to be added to the dataset."""
        return await self._outbox.anyone_gave(trace_id, DATASET_ADD)

    async def current_correction(self, trace_id: str, user_id: str) -> str | None:
        """The user's own correction of this answer (to pre-fill a modal)."""
        found = (await self._outbox.latest(trace_id, user_id)).get(CORRECTION)
        return found.value if found is not None and isinstance(found.value, str) else None

    async def current_ratings(self, trace_id: str, user_id: str) -> CurrentRatings:
        """The user's latest ratings and correction of this answer (to pre-fill the modal)."""
        latest = await self._outbox.latest(trace_id, user_id)
        scores: dict[str, int] = {}
        comment = None
        for dimension in RATING_DIMENSIONS:
            intent = latest.get(f"user_{dimension}")
            if intent is not None and isinstance(intent.value, float | int):
                scores[dimension] = round(rating_score(float(intent.value)))
                comment = comment or intent.rationale
        correction = latest.get(CORRECTION)
        text = correction.value if correction is not None else None
        return CurrentRatings(scores, comment, text if isinstance(text, str) else None)

    async def _submit(self, intents: list[FeedbackIntent]) -> None:
        await self._outbox.submit(intents)
        self._wake()


def _check(trace_id: str, user_id: str) -> None:
    if not is_trace_id(trace_id):
        raise InvalidFeedback("not an answer's trace ID")
    if not isinstance(user_id, str) or not user_id:
        raise InvalidFeedback("no user")


def _comment(comment: str | None) -> str | None:
    return (comment or "").strip()[:COMMENT_MAX_CHARS] or None


def _dataset_add(trace_id: str, by: str, origin: str) -> FeedbackIntent:
    return FeedbackIntent(trace_id, by, DATASET_ADD, True, None, {"origin": origin})


def _intent(
    trace_id: str,
    user_id: str,
    name: str,
    value: FeedbackValue,
    rationale: str | None,
    channel: str | None,
    origin: str,
) -> FeedbackIntent:
    metadata = {"origin": origin}
    if channel:
        metadata["slack.channel"] = channel
    return FeedbackIntent(trace_id, user_id, name, value, rationale, metadata)
