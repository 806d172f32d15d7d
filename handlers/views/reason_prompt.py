"""The "What went wrong?" follow-up after a 👎, and its "Tell us more" modal.

The follow-up is an ephemeral message only the voter sees; each button carries a signed
`ReasonTarget` (which answer, whose 👎, where, when asked), so a click is recorded only for
the person who was asked, on an answer of ours, while the follow-up is fresh. The modal's
private_metadata carries the same target and the follow-up's `response_url`, through which
the submission replaces the follow-up with a thank-you.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    Option,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.feedback.intent import is_trace_id
from handlers.checks.signing import Signer, TamperedMetadata
from handlers.payload_values import slack_id, slack_ts
from handlers.views.modal_inputs import (
    as_object,
    comment_input,
    correction_input,
    read_comment,
    read_correction,
    selected_value,
)

QUESTION = "What went wrong?"
REASON_ACTION_PREFIX = "feedback_reason:"
REASON_ACTION = re.compile("^" + re.escape(REASON_ACTION_PREFIX))
MORE_ACTION_ID = "feedback_reason_more"
PROMPT_BLOCK_ID = "feedback_reason"
CALLBACK_ID = "feedback_reason"
REASON_BLOCK_ID = "reason"
REASON_ACTION_ID = "reason"
# A follow-up older than this is stale: its clicks record nothing.
FOLLOW_UP_TTL_S = 24 * 3600


@dataclass(frozen=True)
class ReasonTarget:
    """Whose 👎 on which answer the follow-up asks about, and where it was shown."""

    trace_id: str
    user_id: str
    channel: str
    thread_ts: str | None
    asked_at: int  # Unix seconds


class ReasonSigner:
    def __init__(self, secret: str, ttl_s: float = FOLLOW_UP_TTL_S) -> None:
        self._signer = Signer(secret, b"reason-follow-up-v1")
        self._ttl_s = ttl_s

    def dump(self, target: ReasonTarget, **extra: str) -> str:
        body: dict[str, Any] = {
            "t": target.trace_id,
            "u": target.user_id,
            "c": target.channel,
            "a": target.asked_at,
            **extra,
        }
        if target.thread_ts:
            body["h"] = target.thread_ts
        return self._signer.dump(body)

    def load(self, text: object) -> tuple[ReasonTarget, dict[str, Any]]:
        """The target, and the rest of the signed body; `TamperedMetadata` if forged or stale."""
        body = self._signer.load(text)
        asked_at = body.get("a")
        target = ReasonTarget(
            trace_id=str(body.get("t")),
            user_id=slack_id(body.get("u")) or "",
            channel=slack_id(body.get("c")) or "",
            thread_ts=slack_ts(body.get("h")),
            asked_at=asked_at if isinstance(asked_at, int) else 0,
        )
        if not is_trace_id(target.trace_id) or not target.user_id or not target.channel:
            raise TamperedMetadata("not a follow-up")
        if time.time() - target.asked_at > self._ttl_s:
            raise TamperedMetadata("the follow-up is stale")
        return target, body


def follow_up_blocks(
    target: ReasonTarget, reasons: Mapping[str, str], signer: ReasonSigner
) -> list[Block]:
    """The question, a button per reason, and "Tell us more"."""
    buttons = [
        ButtonElement(
            text=label,
            action_id=REASON_ACTION_PREFIX + key,
            value=signer.dump(target, r=key),
        )
        for key, label in reasons.items()
    ]
    buttons.append(
        ButtonElement(text="Tell us more…", action_id=MORE_ACTION_ID, value=signer.dump(target))
    )
    return [
        SectionBlock(text=f"*{QUESTION}* Your 👎 is recorded; a reason helps us fix it."),
        ActionsBlock(block_id=PROMPT_BLOCK_ID, elements=buttons),
    ]


def reason_view(
    target: ReasonTarget,
    reasons: Mapping[str, str],
    response_url: str,
    signer: ReasonSigner,
    correction: str | None = None,
) -> View:
    """The modal: the reasons as a required choice, an optional comment, and the optional
    correction (pre-filled with the user's own)."""
    return View(
        type="modal",
        callback_id=CALLBACK_ID,
        title="What went wrong?",
        submit="Send",
        close="Cancel",
        private_metadata=signer.dump(target, url=response_url),
        blocks=[
            InputBlock(
                block_id=REASON_BLOCK_ID,
                label="Reason",
                element=StaticSelectElement(
                    action_id=REASON_ACTION_ID,
                    placeholder="Choose a reason",
                    options=[Option(value=key, label=label) for key, label in reasons.items()],
                ),
            ),
            comment_input("What was wrong or missing? (optional)"),
            correction_input(correction),
        ],
    )


@dataclass(frozen=True)
class ReasonForm:
    reason: str
    comment: str | None
    correction: str | None = None  # None: none given (an earlier one is withdrawn)


def read_reason_submission(
    state_values: object, reasons: Mapping[str, str]
) -> ReasonForm | dict[str, str]:
    """The chosen reason, comment and correction of a submitted view, or errors per block_id."""
    values = as_object(state_values)
    reason = selected_value(values, REASON_BLOCK_ID, REASON_ACTION_ID)
    errors: dict[str, str] = {}
    if not isinstance(reason, str) or reason not in reasons:
        errors[REASON_BLOCK_ID] = "Please choose a reason."
    comment = read_comment(values, errors)
    correction = read_correction(values, errors)
    if errors:
        return errors
    return ReasonForm(str(reason), comment, correction)


def thanks_text(label: str) -> str:
    return f"Thanks — noted: *{label}*."
