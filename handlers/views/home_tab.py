"""The App Home tab as Slack views (`views.publish`): the admins' report with its window and
channel picker and "Refresh", or, for everyone else, what the bot is and how to use it.

The admins' view carries its choice in `private_metadata` ("7d|C0123"), so that a click
changes only what it is about. It is published with charts where the Home tab takes them,
else (and from then on, in this process) in the report's text form.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ChannelSelectElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.report.home import HOME_WINDOWS, AdminHome, HomeChoice, HomeContent, MemberHome
from bot.report.render.blocks import report_blocks
from bot.report.render.wording import plural
from bot.report.window import parse_window
from bot.slack.data_blocks import ToDict, block_dicts
from bot.slack.errors import SLACK_FAILURES, slack_error_reason
from bot.slack.surfaces import HOME, DataBlockSurfaces, Delivery

log = logging.getLogger(__name__)

ACTION_PREFIX = "home_"
WINDOW_ACTION = "home_window"
CHANNEL_ACTION = "home_channel"
ALL_CHANNELS_ACTION = "home_all_channels"
REFRESH_ACTION = "home_refresh"
PICKER_BLOCK_ID = "home_picker"

ABOUT = (
    "I answer questions with a large language model, right here in Slack. Every answer can "
    "be rated, and the ratings are how the team that runs me learns where I help and where "
    "I get things wrong."
)
HOW_TO_ASK = (
    "*How to ask*\n"
    "• Send me a direct message, or open me in the assistant panel (the ✨ button).\n"
    "• In a channel, mention me: `@GenAI Bot how do I …?` — I answer in a thread, and "
    "follow-ups in that thread need no new mention."
)
HOW_TO_RATE = (
    "*How to rate an answer*\n"
    "• 👍 or 👎 under the answer (or react with :+1: / :-1:).\n"
    "• After a 👎 I ask what went wrong: one click tells us.\n"
    "• *Rate* opens a short form: accuracy, helpfulness and relevance from 1 to 5, and a "
    "comment if you like."
)


def choice_of(metadata: str) -> HomeChoice:
    """The choice a published view carries (the default one if it carries none)."""
    window, _, channel = (metadata or "").partition("|")
    try:
        return HomeChoice(window or HomeChoice().window, channel or None)
    except ValueError:
        return HomeChoice()


def metadata_of(choice: HomeChoice) -> str:
    return f"{choice.window}|{choice.channel or ''}"


def home_view(content: HomeContent, *, charts: bool) -> dict[str, Any]:
    """The Home tab's view; `charts`: the report with Slack's chart and table blocks."""
    if isinstance(content, MemberHome):
        return {"type": "home", "blocks": block_dicts(_member_blocks(content))}
    blocks: list[ToDict] = [*_picker(content.choice), _updated(content)]
    if content.built is None:
        text = f"Sorry, the report could not be built: {content.error}."
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    else:
        built = content.built
        blocks += report_blocks(built.report, built.permalinks, built.reasons, charts=charts)
    return {
        "type": "home",
        "private_metadata": metadata_of(content.choice),
        "blocks": block_dicts(blocks),
    }


async def publish_home(
    client: AsyncWebClient, user_id: str, content: HomeContent, surfaces: DataBlockSurfaces
) -> Delivery:
    """Publish `content` as `user_id`'s Home tab: with charts where the Home tab takes them."""

    async def publish(blocks: Sequence[Mapping[str, Any]]) -> Delivery:
        view = {**plain, "blocks": [dict(block) for block in blocks]}
        try:
            await client.views_publish(user_id=user_id, view=view)
        except SLACK_FAILURES as error:
            reason = slack_error_reason(error)
            if isinstance(error, SlackApiError) and reason == "invalid_blocks":
                return Delivery.REFUSED
            log.warning("could not publish the Home tab of %s: %s", user_id, reason)
            return Delivery.FAILED
        return Delivery.SENT

    plain = home_view(content, charts=False)
    rich = home_view(content, charts=True)
    return await surfaces.send(HOME, rich["blocks"], plain["blocks"], publish)


def _member_blocks(content: MemberHome) -> list[ToDict]:
    rated = (
        f"You have rated *{plural(content.rated, 'answer')}*. Thank you!"
        if content.rated
        else "You have not rated an answer yet: your first 👍 or 👎 helps."
    )
    return [
        HeaderBlock(text="Hi, I'm the GenAI Bot"),
        SectionBlock(text=MarkdownTextObject(text=ABOUT)),
        SectionBlock(text=MarkdownTextObject(text=HOW_TO_ASK)),
        SectionBlock(text=MarkdownTextObject(text=HOW_TO_RATE)),
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text=rated)),
    ]


def _picker(choice: HomeChoice) -> list[ToDict]:
    options = [
        Option(value=window, text=parse_window(window).label.capitalize())
        for window in HOME_WINDOWS
    ]
    elements: list[Any] = [
        StaticSelectElement(
            action_id=WINDOW_ACTION,
            placeholder="Window",
            options=options,
            initial_option=next(o for o in options if o.value == choice.window),
        ),
        ChannelSelectElement(
            action_id=CHANNEL_ACTION,
            placeholder="All channels",
            initial_channel=choice.channel,
        ),
    ]
    if choice.channel is not None:
        elements.append(ButtonElement(action_id=ALL_CHANNELS_ACTION, text="All channels"))
    elements.append(
        ButtonElement(action_id=REFRESH_ACTION, text="Refresh", style="primary", value="refresh")
    )
    return [ActionsBlock(block_id=PICKER_BLOCK_ID, elements=elements)]


def _updated(content: AdminHome) -> ContextBlock:
    at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(content.built_at))
    wait = round(content.next_refresh_s)
    later = f" · Refresh builds it again in {wait} s" if wait > 1 else ""
    return ContextBlock(elements=[MarkdownTextObject(text=f"Built {at}{later}")])
