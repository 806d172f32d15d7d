"""After a 👎: the "What went wrong?" follow-up, its buttons, and its modal → `FeedbackRecorder`."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from logging import WARNING
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.common.background import BackgroundTasks
from bot.feedback.recorder import FeedbackRecorder, InvalidFeedback
from bot.slack.ephemeral import tell
from bot.slack.errors import SLACK_FAILURES, slack_error_reason
from bot.slack.response_url import replace_original
from handlers.checks.signing import TamperedMetadata
from handlers.listeners.safety import logged_not_raised
from handlers.payload_values import slack_id
from handlers.views.reason_prompt import (
    CALLBACK_ID,
    MORE_ACTION_ID,
    QUESTION,
    REASON_ACTION,
    ReasonForm,
    ReasonSigner,
    ReasonTarget,
    follow_up_blocks,
    read_reason_submission,
    reason_view,
    thanks_text,
)

log = logging.getLogger(__name__)

EXPIRED = "This question has expired, but your 👎 is recorded. Thanks!"


@dataclass(frozen=True)
class ReasonFollowUp:
    """Asking for a reason: on or off (`FEEDBACK_ASK_REASON`), the reasons offered
    (`FEEDBACK_REASONS`, key → label), and the signer of the follow-up's values."""

    enabled: bool
    reasons: dict[str, str]
    signer: ReasonSigner

    async def ask(
        self,
        client: AsyncWebClient,
        trace_id: str,
        user_id: str,
        channel: str | None,
        thread_ts: str | None,
    ) -> None:
        """Show the voter alone the follow-up, in the answer's thread."""
        if not self.enabled or not channel:
            return
        target = ReasonTarget(trace_id, user_id, channel, thread_ts, int(time.time()))
        blocks = follow_up_blocks(target, self.reasons, self.signer)
        await tell(client, channel, user_id, QUESTION, thread_ts=thread_ts, blocks=blocks)


def register(
    app: AsyncApp,
    recorder: FeedbackRecorder,
    follow_up: ReasonFollowUp,
    background: BackgroundTasks,
) -> None:
    reasons = follow_up.reasons

    def read_target(body: dict[str, Any], signed: object) -> tuple[ReasonTarget, dict] | None:
        """The follow-up's target, if it is genuine, fresh, and its voter's own click."""
        user_id = slack_id((body.get("user") or {}).get("id"))
        try:
            target, extra = follow_up.signer.load(signed)
        except TamperedMetadata as error:
            log.warning("reason refused (%s) from %r", error, user_id)
            return None
        if user_id != target.user_id:
            log.warning("reason refused: %r clicked %r's follow-up", user_id, target.user_id)
            return None
        return target, extra

    async def record(
        target: ReasonTarget, form: ReasonForm, origin: str, *, with_correction: bool = False
    ) -> bool:
        """The reason (and, from the modal, the correction: an empty one withdraws)."""
        try:
            await recorder.reason(
                target.trace_id,
                target.user_id,
                form.reason,
                form.comment,
                channel=target.channel,
                origin=origin,
            )
            if with_correction:
                await recorder.correct(
                    target.trace_id,
                    target.user_id,
                    form.correction,
                    channel=target.channel,
                    origin=origin,
                )
        except InvalidFeedback as error:
            log.warning("reason refused: %s", error)
            return False
        return True

    async def thank(response_url: object, form: ReasonForm) -> None:
        if isinstance(response_url, str) and response_url:
            text = thanks_text(reasons[form.reason])
            await replace_original(response_url, text, what="the thanks", failure_level=WARNING)

    @app.action(REASON_ACTION)
    @logged_not_raised
    async def on_reason(ack: AsyncAck, body: dict) -> None:
        action = (body.get("actions") or [{}])[0]
        read = read_target(body, action.get("value"))
        if read is None:
            await ack()
            return
        form = ReasonForm(str(read[1].get("r")), None)
        recorded = await record(read[0], form, "follow-up")
        await ack()
        response_url = body.get("response_url")
        if recorded:
            background.spawn(thank(response_url, form), "thank for the reason")
        else:
            background.spawn(expire(response_url), "expire the follow-up")

    async def expire(response_url: object) -> None:
        if isinstance(response_url, str) and response_url:
            await replace_original(
                response_url, EXPIRED, what="an expired follow-up", failure_level=WARNING
            )

    async def open_modal(
        target: ReasonTarget, trigger_id: str, response_url: str, client: AsyncWebClient
    ) -> None:
        correction = await recorder.current_correction(target.trace_id, target.user_id)
        view = reason_view(target, reasons, response_url, follow_up.signer, correction)
        try:
            await client.views_open(trigger_id=trigger_id, view=view)
        except SLACK_FAILURES as error:
            log.warning("could not open the reason modal: %s", slack_error_reason(error))

    @app.action(MORE_ACTION_ID)
    @logged_not_raised
    async def on_tell_more(ack: AsyncAck, body: dict, client: AsyncWebClient) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        read = read_target(body, action.get("value"))
        trigger_id, response_url = body.get("trigger_id"), body.get("response_url")
        if read is None or not isinstance(trigger_id, str):
            return
        url = response_url if isinstance(response_url, str) else ""
        background.spawn(open_modal(read[0], trigger_id, url, client), "open the reason modal")

    @app.view(CALLBACK_ID)
    @logged_not_raised
    async def on_reason_submitted(ack: AsyncAck, body: dict) -> None:
        view = body.get("view") or {}
        form = read_reason_submission((view.get("state") or {}).get("values"), reasons)
        if not isinstance(form, ReasonForm):
            await ack(response_action="errors", errors=form)
            return
        read = read_target(body, view.get("private_metadata"))
        if read is None or not await record(read[0], form, "follow-up modal", with_correction=True):
            await ack(response_action="errors", errors={"reason": EXPIRED})
            return
        await ack()
        background.spawn(thank(read[1].get("url"), form), "thank for the reason")
