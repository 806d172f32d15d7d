"""What the bot's modals share: the optional comment, and reading a submission's values."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement

from bot.common.unicode_text import valid_unicode
from bot.feedback.recorder import COMMENT_MAX_CHARS

COMMENT_BLOCK_ID = "comment"
COMMENT_ACTION_ID = "comment"


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


def read_comment(values: dict[str, Any], errors: dict[str, str]) -> str | None:
    """The submitted comment (None if empty); a problem with it goes into `errors`."""
    comment = as_object(as_object(values.get(COMMENT_BLOCK_ID)).get(COMMENT_ACTION_ID)).get("value")
    if comment is not None and not isinstance(comment, str):
        errors[COMMENT_BLOCK_ID] = "The comment must be text."
    elif comment and len(comment) > COMMENT_MAX_CHARS:
        errors[COMMENT_BLOCK_ID] = (
            f"Please keep the comment to {COMMENT_MAX_CHARS} characters or fewer."
        )
    else:
        return valid_unicode(comment) if comment else None
    return None


def selected_value(values: dict[str, Any], block_id: str, action_id: str) -> object:
    """The value of the option chosen in a select (None if none)."""
    field = as_object(as_object(values.get(block_id)).get(action_id))
    return as_object(field.get("selected_option")).get("value")


def as_object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
