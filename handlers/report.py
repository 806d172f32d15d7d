"""`/feedback-report` → `FeedbackReportCommand` (authorization uses the `user_id` field only)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.report_command import COMMAND, FeedbackReportCommand, Invocation


def parse_invocation(command: dict[str, Any]) -> Invocation:
    return Invocation(
        user_id=str(command.get("user_id") or ""),
        text=str(command.get("text") or ""),
        response_url=str(command.get("response_url") or ""),
    )


def register(app: AsyncApp, reports: FeedbackReportCommand) -> None:
    @app.command(COMMAND)
    async def on_feedback_report(ack: AsyncAck, command: dict, client: AsyncWebClient) -> None:
        invocation = parse_invocation(command)
        first = await reports.first_answer(invocation, client)
        await ack(text=first.message.text, blocks=first.message.blocks, response_type="ephemeral")
        if first.report is not None and invocation.response_url:
            reports.build_later(first.report, invocation.response_url, client)
