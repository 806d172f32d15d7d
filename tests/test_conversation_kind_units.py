"""Where a question was asked (`slack.conversation_kind`): from the event's channel_type, else
from `conversations.info` (cached), and "unknown" rather than a guess."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.answering.conversation_kind import ConversationKinds, kind_from_info
from bot.tracing.data_model import CONVERSATION_KINDS
from devkit.ids import new_id
from devkit.slack_api import SlackEmulator


def client_for(slack: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)


def test_the_kinds_are_the_ones_the_digest_relies_on() -> None:
    assert CONVERSATION_KINDS == (
        "dm",
        "group_dm",
        "private_channel",
        "public_channel",
        "assistant",
        "unknown",
    )


@pytest.mark.parametrize(
    ("info", "kind"),
    [
        ({"is_im": True}, "dm"),
        ({"is_mpim": True, "is_group": True, "is_private": True}, "group_dm"),
        ({"is_channel": True, "is_private": True}, "private_channel"),
        ({"is_group": True}, "private_channel"),
        ({"is_channel": True, "is_private": False}, "public_channel"),
        ({"is_channel": True}, "unknown"),  # not said to be public: not taken for public
        ({"id": "C1", "name": "c1"}, "unknown"),
        ({"is_im": "yes"}, "unknown"),
    ],
)
def test_conversations_info_is_read_strictly(info: dict, kind: str) -> None:
    assert kind_from_info(info) == kind


async def test_the_events_channel_type_needs_no_call(slack: SlackEmulator) -> None:
    kinds, client, before = ConversationKinds(), client_for(slack), len(slack.calls)
    types = {
        "im": "dm",
        "mpim": "group_dm",
        "group": "private_channel",
        "channel": "public_channel",
    }
    for channel_type, kind in types.items():
        assert await kinds.kind_of(client, new_id("C"), channel_type) == kind
    assert len(slack.calls) == before


async def test_a_mention_asks_slack_once_per_channel(slack: SlackEmulator) -> None:
    private, public = new_id("C"), new_id("C")
    slack.add_channel(private, "secret-plans", private=True)
    slack.add_channel(public, "general-talk")
    kinds, client = ConversationKinds(), client_for(slack)
    for _ in range(3):
        assert await kinds.kind_of(client, private, "") == "private_channel"
        assert await kinds.kind_of(client, public, "") == "public_channel"
    asked = [c.args["channel"] for c in slack.calls_to("conversations.info")]
    assert asked.count(private) == 1 and asked.count(public) == 1


async def test_slack_refusing_gives_unknown_and_is_asked_again(slack: SlackEmulator) -> None:
    channel = new_id("C")
    slack.add_channel(channel, "somewhere")
    kinds, client = ConversationKinds(), client_for(slack)
    slack.fail("conversations.info", error="missing_scope")
    assert await kinds.kind_of(client, channel, "") == "unknown"
    assert await kinds.kind_of(client, channel, "") == "public_channel"


async def test_a_channel_slack_says_nothing_about_is_unknown(slack: SlackEmulator) -> None:
    # The emulator answers an unlisted C… channel with its ID and name only.
    assert await ConversationKinds().kind_of(client_for(slack), new_id("C"), "") == "unknown"


async def test_the_cache_forgets_after_its_time(slack: SlackEmulator) -> None:
    channel = new_id("C")
    slack.add_channel(channel, "turned-private")
    kinds, client = ConversationKinds(ttl_s=0.0), client_for(slack)
    assert await kinds.kind_of(client, channel, "") == "public_channel"
    slack.add_channel(channel, "turned-private", private=True)
    assert await kinds.kind_of(client, channel, "") == "private_channel"
