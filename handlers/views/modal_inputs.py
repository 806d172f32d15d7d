"""What the bot's modals share: the optional comment and correction, and reading a
submission's values."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement

from bot.common.unicode_text import valid_unicode
from bot.feedback.recorder import COMMENT_MAX_CHARS
from bot.tracing.data_model import CORRECTION_MAX_CHARS

COMMENT_BLOCK_ID = "comment"
COMMENT_ACTION_ID = "comment"
CORRECTION_BLOCK_ID = "correction"
CORRECTION_ACTION_ID = "correction"
CORRECTION_LABEL = "What should the answer have said?"


def comment_input(placeholder: str, initial: str | None = None) -> InputBlock:
    return InputBlock(
        block_id=COMMENT_BLOCK_ID,
        label="Comment",
        optional=True,
        element=PlainTextInputElement(
            action_id=COMMENT_ACTION_ID,
            multiline=True,
            max_length=COMMENT_MAX_CHARS,
            placeholder=placeholder,
            initial_value=initial or None,
        ),
    )


def correction_input(initial: str | None = None) -> InputBlock:
    """The correction: what the answer should have said (pre-filled with the user's own)."""
    return InputBlock(
        block_id=CORRECTION_BLOCK_ID,
        label=CORRECTION_LABEL,
        hint="Kept with the answer as the expected response, to test the bot against. "
        "Empty it to take yours back.",
        optional=True,
        element=PlainTextInputElement(
            action_id=CORRECTION_ACTION_ID,
            multiline=True,
            max_length=CORRECTION_MAX_CHARS,
            placeholder="The answer you expected (optional)",
            initial_value=initial or None,
        ),
    )


def read_comment(values: dict[str, Any], errors: dict[str, str]) -> str | None:
    """The submitted comment (None if empty); a problem with it goes into `errors`."""
    return _read_text(
        values, errors, COMMENT_BLOCK_ID, COMMENT_ACTION_ID, COMMENT_MAX_CHARS, "comment"
    )


def read_correction(values: dict[str, Any], errors: dict[str, str]) -> str | None:
    """The submitted correction as typed (None if empty: the user's correction is withdrawn);
    a problem with it goes into `errors`."""
    text = _read_text(
        values, errors, CORRECTION_BLOCK_ID, CORRECTION_ACTION_ID, CORRECTION_MAX_CHARS, "answer"
    )
    return text if text and text.strip() else None


def _read_text(
    values: dict[str, Any],
    errors: dict[str, str],
    block_id: str,
    action_id: str,
    limit: int,
    what: str,
) -> str | None:
    text = as_object(as_object(values.get(block_id)).get(action_id)).get("value")
    if text is not None and not isinstance(text, str):
        errors[block_id] = f"The {what} must be text."
    elif text and len(text) > limit:
        errors[block_id] = f"Please keep the {what} to {limit} characters or fewer."
    else:
        return valid_unicode(text) if text else None
    return None


def selected_value(values: dict[str, Any], block_id: str, action_id: str) -> object:
    """The value of the option chosen in a select (None if none)."""
    field = as_object(as_object(values.get(block_id)).get(action_id))
    return as_object(field.get("selected_option")).get("value")


def as_object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
