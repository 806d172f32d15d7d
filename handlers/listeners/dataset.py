"""The report's "Add to dataset" button → `FeedbackRecorder.add_to_dataset` (admins only).

A click is answered within Slack's 3 s: the add is committed to the store (the worker adds
the answer to the evaluation dataset, through tracking-server outages), then Slack is acked,
then the report is redrawn with the button reading "In dataset ✓". A forged value, or a click
by someone who is not a feedback admin, adds nothing and gets a short private note.
"""

from __future__ import annotations

import logging
from logging import WARNING

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.common.background import BackgroundTasks
from bot.feedback.recorder import FeedbackRecorder, InvalidFeedback
from bot.report.command import FeedbackReportCommand
from bot.slack.ephemeral import tell
from bot.slack.response_url import replace_original
from handlers.checks.signing import TamperedMetadata
from handlers.listeners.safety import logged_not_raised
from handlers.payload_values import slack_id, slack_ts
from handlers.views.dataset_button import ADD_ACTION_ID, DatasetButtonSigner

log = logging.getLogger(__name__)

NOT_ADMIN = "Only the bot's feedback admins can add answers to the evaluation dataset."
FORGED = "This button can't be used. Please run the report again."
ADDED = "Added to the evaluation dataset ✓ (it shows up in MLflow in a moment)."


def register(
    app: AsyncApp,
    recorder: FeedbackRecorder,
    reports: FeedbackReportCommand,
    signer: DatasetButtonSigner,
    background: BackgroundTasks,
) -> None:
    @app.action(ADD_ACTION_ID)
    @logged_not_raised
    async def on_add_to_dataset(ack: AsyncAck, body: dict, client: AsyncWebClient) -> None:
        user_id = slack_id((body.get("user") or {}).get("id")) or ""
        container = body.get("container") or {}
        channel = slack_id(container.get("channel_id"))
        thread_ts = slack_ts(container.get("thread_ts"))
        action = (body.get("actions") or [{}])[0]
        response_url = body.get("response_url")

        async def say(text: str) -> None:
            await tell(client, channel, user_id, text, thread_ts=thread_ts)

        try:
            trace_id, report_id = signer.load(action.get("value"))
        except TamperedMetadata as error:
            await ack()
            log.warning("dataset add refused, value rejected (%s) from %r", error, user_id)
            background.spawn(say(FORGED), "tell the user")
            return
        if not await reports.access.allows(client, user_id):
            await ack()
            log.warning("dataset add refused: %r is not a feedback admin", user_id)
            background.spawn(say(NOT_ADMIN), "tell the user")
            return
        try:
            await recorder.add_to_dataset(trace_id, user_id)
        except InvalidFeedback as error:
            await ack()
            log.warning("dataset add refused: %s", error)
            background.spawn(say(FORGED), "tell the user")
            return
        await ack()
        log.info("%s asked to add %s to the evaluation dataset", user_id, trace_id)

        async def redraw() -> None:
            shown = await reports.shown_as_added(report_id, trace_id)
            if shown is not None and isinstance(response_url, str) and response_url:
                await replace_original(
                    response_url,
                    shown.text,
                    shown.blocks,
                    what="the report with its answer added",
                    failure_level=WARNING,
                )
            else:  # a report this process did not post (another instance, a restart)
                await say(ADDED)

        background.spawn(redraw(), "show the answer as added")
