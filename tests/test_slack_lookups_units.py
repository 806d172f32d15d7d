"""Slack out of reach (a closed port: the connection is refused) while the report looks up
links and channels, or while a reaction looks for its message: the report is still made, a
channel name is an answer that says why, a reaction is ignored (logged), nothing raises."""

from __future__ import annotations

import logging

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.feedback.reactions import Reaction, ReactionVotes
from bot.report.model import LowRatedAnswer
from bot.report.slack_lookups import ChannelLookupFailed, find_channel_id, permalinks
from bot.slack.answer_message import BotIdentity
from bot.storage.store import Store
from devkit.ports import free_port


@pytest.fixture
def unreachable_slack() -> AsyncWebClient:
    """(Without the client's retries: what is left once they are spent.)"""
    base_url = f"http://127.0.0.1:{free_port()}/api/"
    return AsyncWebClient(token="xoxb-test", base_url=base_url, retry_handlers=[])


def low_rated(trace_id: str) -> LowRatedAnswer:
    return LowRatedAnswer(
        trace_id, 1.0, 0, 1, 0, "why?", None, "C0123ABCD", "2.0", "1.0", 0, "http://ui/t"
    )


async def test_permalinks_with_slack_unreachable_are_left_out(
    unreachable_slack: AsyncWebClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bot.report.slack_lookups")
    assert await permalinks(unreachable_slack, [low_rated("tr-1"), low_rated("tr-2")]) == {}
    assert "no permalink for C0123ABCD/2.0" in caplog.text


async def test_a_channel_name_with_slack_unreachable_is_a_lookup_failure(
    unreachable_slack: AsyncWebClient,
) -> None:
    with pytest.raises(ChannelLookupFailed, match="Connect"):
        await find_channel_id(unreachable_slack, "general")


async def test_a_reaction_with_slack_unreachable_is_not_an_answer(
    unreachable_slack: AsyncWebClient, sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    votes = ReactionVotes(recorder=None, answers=sqlite_store)  # type: ignore[arg-type]
    reaction = Reaction("U1", "+1", "C0123ABCD", "2.0", added=True)
    outcome = await votes.handle(reaction, BotIdentity("UBOT", "BBOT", "ABOT"), unreachable_slack)
    assert outcome.what == "not an answer"
    assert "no message C0123ABCD:2.0" in caplog.text
