"""The "Rate in detail" modal: its view, its signed private metadata, and reading a submission."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.feedback.intent import is_trace_id
from bot.feedback.recorder import CurrentRatings
from bot.tracing.data_model import RATING_DIMENSIONS, SCALE_TEXT, SCORES
from handlers.checks.signing import Signer, TamperedMetadata
from handlers.views.modal_inputs import (
    as_object,
    comment_input,
    correction_input,
    read_comment,
    read_correction,
    selected_value,
)

CALLBACK_ID = "answer_rating"
SCORE_ACTION_ID = "score"

SCORE_WORDS = dict(zip(SCORES, ("Poor", "Fair", "Good", "Very good", "Excellent"), strict=True))
SCORE_LABELS = {score: f"{score} · {word}" for score, word in SCORE_WORDS.items()}
# A form-wide error (an expired or tampered form) shows on the form's first field.
FORM_ERROR_BLOCK_ID = RATING_DIMENSIONS[0]
DIMENSION_LABELS = {
    "accuracy": ("Accuracy", "Is the answer correct?"),
    "helpfulness": ("Helpfulness", "Did it help you get your job done?"),
    "relevance": ("Relevance", "Does it answer what you asked?"),
}


@dataclass(frozen=True)
class RatingTarget:
    """Which answer the modal rates, and where to confirm."""

    trace_id: str
    channel: str
    message_ts: str
    thread_ts: str | None = None


class MetadataSigner:
    """Signs the modal's private_metadata so a submission can't redirect a rating."""

    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, b"rating-modal-v1")

    def dump(self, target: RatingTarget) -> str:
        body = {"t": target.trace_id, "c": target.channel, "m": target.message_ts}
        if target.thread_ts:
            body["h"] = target.thread_ts
        return self._signer.dump(body)

    def load(self, private_metadata: object) -> RatingTarget:
        body = self._signer.load(private_metadata)
        try:
            target = RatingTarget(str(body["t"]), str(body["c"]), str(body["m"]), body.get("h"))
        except KeyError as error:
            raise TamperedMetadata(str(error)) from None
        if not is_trace_id(target.trace_id):
            raise TamperedMetadata("not a trace ID")
        return target


def rating_view(target: RatingTarget, current: CurrentRatings, signer: MetadataSigner) -> View:
    blocks: list[Any] = [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Rate this answer from {SCORES[0]} ({SCORE_WORDS[SCORES[0]].lower()}) "
                    f"to {SCORES[-1]} ({SCORE_WORDS[SCORES[-1]].lower()}). "
                    + ("Your earlier ratings are filled in." if current.scores else "")
                )
            ]
        )
    ]
    options = [Option(value=str(score), label=label) for score, label in SCORE_LABELS.items()]
    for dimension in RATING_DIMENSIONS:
        label, hint = DIMENSION_LABELS[dimension]
        score = current.scores.get(dimension)
        blocks.append(
            InputBlock(
                block_id=dimension,
                label=label,
                hint=hint,
                element=StaticSelectElement(
                    action_id=SCORE_ACTION_ID,
                    placeholder=f"Choose {SCALE_TEXT}",
                    options=options,
                    initial_option=options[score - 1] if score else None,
                ),
            )
        )
    blocks.append(comment_input("What was good or missing? (optional)", current.comment or None))
    blocks.append(correction_input(current.correction))
    return View(
        type="modal",
        callback_id=CALLBACK_ID,
        title="Rate this answer",
        submit="Submit rating",
        close="Cancel",
        private_metadata=signer.dump(target),
        blocks=blocks,
    )


@dataclass(frozen=True)
class RatingForm:
    scores: dict[str, int]
    comment: str | None
    correction: str | None = None  # None: none given (an earlier one is withdrawn)


def read_submission(state_values: object) -> RatingForm | dict[str, str]:
    """The scores, comment and correction of a submitted view, or errors per block_id."""
    values = as_object(state_values)
    scores: dict[str, int] = {}
    errors: dict[str, str] = {}
    for dimension in RATING_DIMENSIONS:
        raw = selected_value(values, dimension, SCORE_ACTION_ID)
        if not isinstance(raw, str) or raw not in {str(score) for score in SCORES}:
            errors[dimension] = f"Please choose a score from {SCORES[0]} to {SCORES[-1]}."
        else:
            scores[dimension] = int(raw)
    comment = read_comment(values, errors)
    correction = read_correction(values, errors)
    if errors:
        return errors
    return RatingForm(scores, comment, correction)
