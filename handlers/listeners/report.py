"""`/feedback-report` → `FeedbackReportCommand` (authorization uses the `user_id` field only)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.common.background import BackgroundTasks
from bot.report.args import COMMAND
from bot.report.command import FeedbackReportCommand, Invocation
from handlers.listeners.safety import logged_not_raised
from handlers.payload_values import slack_id


def parse_invocation(command: dict[str, Any]) -> Invocation:
    return Invocation(
        user_id=slack_id(command.get("user_id")) or "",  # an odd one is nobody's: refused
        text=str(command.get("text") or ""),
        response_url=str(command.get("response_url") or ""),
        channel_id=slack_id(command.get("channel_id")) or "",
    )


def register(app: AsyncApp, reports: FeedbackReportCommand, background: BackgroundTasks) -> None:
    @app.command(COMMAND)
    @logged_not_raised
    async def on_feedback_report(ack: AsyncAck, command: dict, client: AsyncWebClient) -> None:
        invocation = parse_invocation(command)
        reply = await reports.acknowledge(invocation, client)
        await ack(text=reply.message.text, blocks=reply.message.blocks, response_type="ephemeral")
        if reply.report is not None and invocation.response_url:
            background.spawn(
                reports.build_and_post(
                    reply.report, invocation.response_url, client, invocation.channel_id
                ),
                "feedback report",
            )
