"""The "Rate in detail" modal: its view, its signed private metadata, and reading a submission."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.common.unicode_text import valid_unicode
from bot.feedback.intent import is_trace_id
from bot.feedback.recorder import COMMENT_MAX_CHARS, CurrentRatings
from bot.tracing.data_model import RATING_DIMENSIONS

CALLBACK_ID = "answer_rating"
SCORE_ACTION_ID = "score"
COMMENT_BLOCK_ID = "comment"
COMMENT_ACTION_ID = "comment"

SCORE_LABELS = {1: "1 · Poor", 2: "2 · Fair", 3: "3 · Good", 4: "4 · Very good", 5: "5 · Excellent"}
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


class TamperedMetadata(ValueError):
    pass


class MetadataSigner:
    """Signs the modal's private_metadata so a submission can't redirect a rating."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"rating-modal-v1", hashlib.sha256).digest()

    def dump(self, target: RatingTarget) -> str:
        body = {"t": target.trace_id, "c": target.channel, "m": target.message_ts}
        if target.thread_ts:
            body["h"] = target.thread_ts
        text = json.dumps(body, separators=(",", ":"), sort_keys=True)
        return json.dumps({"p": body, "s": self._sign(text)}, separators=(",", ":"))

    def load(self, private_metadata: object) -> RatingTarget:
        try:
            wrapper = json.loads(str(private_metadata))
            body, signature = wrapper["p"], wrapper["s"]
            text = json.dumps(body, separators=(",", ":"), sort_keys=True)
            if not isinstance(signature, str) or not hmac.compare_digest(
                signature, self._sign(text)
            ):
                raise TamperedMetadata("bad signature")
            target = RatingTarget(str(body["t"]), str(body["c"]), str(body["m"]), body.get("h"))
        except (ValueError, KeyError, TypeError) as error:
            raise TamperedMetadata(str(error)) from None
        if not is_trace_id(target.trace_id):
            raise TamperedMetadata("not a trace ID")
        return target

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()


def rating_view(target: RatingTarget, current: CurrentRatings, signer: MetadataSigner) -> View:
    blocks: list[Any] = [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Rate this answer from 1 (poor) to 5 (excellent). "
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
                    placeholder="Choose 1–5",
                    options=options,
                    initial_option=options[score - 1] if score else None,
                ),
            )
        )
    blocks.append(
        InputBlock(
            block_id=COMMENT_BLOCK_ID,
            label="Comment",
            optional=True,
            element=PlainTextInputElement(
                action_id=COMMENT_ACTION_ID,
                multiline=True,
                max_length=COMMENT_MAX_CHARS,
                placeholder="What was good or missing? (optional)",
                initial_value=current.comment or None,
            ),
        )
    )
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


def read_submission(state_values: object) -> RatingForm | dict[str, str]:
    """The scores and comment of a submitted view, or errors per block_id."""
    values = _object(state_values)
    scores: dict[str, int] = {}
    errors: dict[str, str] = {}
    for dimension in RATING_DIMENSIONS:
        field = _object(_object(values.get(dimension)).get(SCORE_ACTION_ID))
        raw = _object(field.get("selected_option")).get("value")
        if not isinstance(raw, str) or raw not in {"1", "2", "3", "4", "5"}:
            errors[dimension] = "Please choose a score from 1 to 5."
        else:
            scores[dimension] = int(raw)
    comment = _object(_object(values.get(COMMENT_BLOCK_ID)).get(COMMENT_ACTION_ID)).get("value")
    if comment is not None and not isinstance(comment, str):
        errors[COMMENT_BLOCK_ID] = "The comment must be text."
    elif comment and len(comment) > COMMENT_MAX_CHARS:
        errors[COMMENT_BLOCK_ID] = (
            f"Please keep the comment to {COMMENT_MAX_CHARS} characters or fewer."
        )
    if errors:
        return errors
    return RatingForm(scores, valid_unicode(comment) if comment else None)


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
