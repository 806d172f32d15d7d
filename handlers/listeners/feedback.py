"""👍/👎 clicks, "Rate in detail" and the rating modal's submission → `FeedbackRecorder`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.common.background import BackgroundTasks
from bot.feedback.intent import is_trace_id
from bot.feedback.recorder import FeedbackRecorder, InvalidFeedback
from bot.slack.answer_message import (
    FEEDBACK_ACTION_ID,
    NEGATIVE_PREFIX,
    POSITIVE_PREFIX,
    RATE_ACTION_ID,
    BotIdentity,
    answer_trace,
)
from bot.slack.ephemeral import tell
from bot.slack.errors import SLACK_FAILURES, slack_error_reason
from handlers.checks.signing import TamperedMetadata
from handlers.listeners.reasons import ReasonFollowUp
from handlers.listeners.safety import logged_not_raised
from handlers.payload_values import slack_id, slack_ts
from handlers.views.rating_modal import (
    CALLBACK_ID,
    FORM_ERROR_BLOCK_ID,
    MetadataSigner,
    RatingForm,
    RatingTarget,
    rating_view,
    read_submission,
)

log = logging.getLogger(__name__)

NOT_OUR_ANSWER = "I can only record feedback on my own answers."
NO_TRACE = "Sorry, I can't tell which answer this was, so I couldn't record your feedback."
FORM_EXPIRED = "This rating form can't be used any more. Please use “Rate in detail” again."


@dataclass(frozen=True)
class Click:
    user_id: str
    channel: str | None
    message_ts: str | None
    thread_ts: str | None
    trace_id: str | None
    problem: str | None = None


def read_click(body: dict[str, Any], context: AsyncBoltContext) -> Click:
    """Who clicked, on which answer; `problem` says why it can't be recorded."""
    user = body.get("user") or {}
    user_id = slack_id(user.get("id")) or ""
    message = body.get("message") or {}
    container = body.get("container") or {}
    channel = slack_id(container.get("channel_id")) or slack_id(
        (body.get("channel") or {}).get("id")
    )
    message_ts = slack_ts(message.get("ts")) or slack_ts(container.get("message_ts"))
    click = Click(user_id, channel, message_ts, slack_ts(message.get("thread_ts")), None)
    if not message:
        return _problem(click, NO_TRACE)
    bot = BotIdentity(context.bot_user_id, context.bot_id, slack_id(body.get("api_app_id")))
    action = (body.get("actions") or [{}])[0]
    answer = answer_trace(message, bot, action.get("value") if isinstance(action, dict) else None)
    if not answer.ours:
        return _problem(click, NOT_OUR_ANSWER)
    if not is_trace_id(answer.trace_id):
        return _problem(click, NO_TRACE)
    return Click(user_id, click.channel, click.message_ts, click.thread_ts, answer.trace_id)


def _problem(click: Click, problem: str) -> Click:
    return Click(click.user_id, click.channel, click.message_ts, click.thread_ts, None, problem)


def _vote_of(body: dict[str, Any]) -> bool | None:
    value = str(((body.get("actions") or [{}])[0]).get("value") or "")
    if value.startswith(POSITIVE_PREFIX):
        return True
    if value.startswith(NEGATIVE_PREFIX):
        return False
    return None


async def _tell(
    client: AsyncWebClient, click: Click | RatingTarget, user_id: str, text: str
) -> None:
    await tell(client, click.channel, user_id, text, thread_ts=click.thread_ts)


def register(
    app: AsyncApp,
    recorder: FeedbackRecorder,
    signer: MetadataSigner,
    follow_up: ReasonFollowUp,
    background: BackgroundTasks,
) -> None:
    """Each listener returns as soon as Slack can be answered (the intent committed first);
    messages to the user and the modal go out in the background. A vote is confirmed by the
    button's own selected state: a 👍 gets no message, a new 👎 the reason follow-up."""

    @app.action(FEEDBACK_ACTION_ID)
    @logged_not_raised
    async def on_vote(
        ack: AsyncAck, body: dict, context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        click = read_click(body, context)
        positive = _vote_of(body)
        if not click.user_id or click.trace_id is None or positive is None:
            await ack()
            log.warning(
                "vote not recorded (%s): user=%r", click.problem or "bad value", click.user_id
            )
            background.spawn(
                _tell(client, click, click.user_id, click.problem or NO_TRACE), "tell the user"
            )
            return
        try:
            result = await recorder.vote(
                click.trace_id, click.user_id, positive, channel=click.channel
            )
        except InvalidFeedback as error:
            await ack()
            log.warning("vote refused: %s", error)
            background.spawn(_tell(client, click, click.user_id, NO_TRACE), "tell the user")
            return
        await ack()
        if result.wants_reason:
            background.spawn(
                follow_up.ask(
                    client, click.trace_id, click.user_id, click.channel, click.thread_ts
                ),
                "ask for a reason",
            )

    async def open_rating(click: Click, trigger_id: str, client: AsyncWebClient) -> None:
        assert click.trace_id is not None
        target = RatingTarget(
            click.trace_id, click.channel or "", click.message_ts or "", click.thread_ts
        )
        current = await recorder.current_ratings(click.trace_id, click.user_id)
        try:
            await client.views_open(
                trigger_id=trigger_id, view=rating_view(target, current, signer)
            )
        except SLACK_FAILURES as error:
            log.warning("could not open the rating modal: %s", slack_error_reason(error))

    @app.action(RATE_ACTION_ID)
    @logged_not_raised
    async def on_rate_in_detail(
        ack: AsyncAck, body: dict, context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        await ack()
        click = read_click(body, context)
        trigger_id = body.get("trigger_id")
        if click.trace_id is None or not click.user_id or not isinstance(trigger_id, str):
            log.warning("rating not opened (%s)", click.problem or "no trigger or user")
            background.spawn(
                _tell(client, click, click.user_id, click.problem or NO_TRACE), "tell the user"
            )
            return
        background.spawn(open_rating(click, trigger_id, client), "open the rating modal")

    @app.view(CALLBACK_ID)
    @logged_not_raised
    async def on_rating_submitted(ack: AsyncAck, body: dict, client: AsyncWebClient) -> None:
        user_id = slack_id((body.get("user") or {}).get("id"))
        view = body.get("view") or {}
        form = read_submission((view.get("state") or {}).get("values"))
        if not isinstance(form, RatingForm):
            await ack(response_action="errors", errors=form)
            return
        try:
            target = signer.load(view.get("private_metadata"))
        except TamperedMetadata as error:
            log.warning("rating refused, private_metadata rejected (%s) from %r", error, user_id)
            await ack(response_action="errors", errors={FORM_ERROR_BLOCK_ID: FORM_EXPIRED})
            return
        if user_id is None:
            log.warning("rating refused: no user in the submission")
            await ack(response_action="errors", errors={FORM_ERROR_BLOCK_ID: FORM_EXPIRED})
            return
        await recorder.rate_and_correct(
            target.trace_id,
            user_id,
            form.scores,
            form.comment,
            form.correction,
            channel=target.channel,
        )
        await ack()
        background.spawn(
            _tell(client, target, user_id, "Thanks — your rating is recorded."), "tell the user"
        )
