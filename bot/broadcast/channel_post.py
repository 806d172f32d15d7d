"""Posting in a channel once: every post carries its key in its message metadata, and a post
that may have been made already (an earlier attempt died between posting and recording it)
is first looked for in the channel's recent history, as answers are with their question's ts.

Slack's rate limits, 5xx and dropped connections are retried by the client, as for answers
(bot/slack/retries.py); what still fails is `PostFailed`, `for_good` when retrying cannot help
(an archived channel, a bot not in the channel, a wrong ID). Blocks with charts go where the
channel takes them; where Slack refuses them (`invalid_blocks`) the text form goes, and from
then on (bot/slack/surfaces.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.errors import SLACK_FAILURES, slack_error_reason
from bot.slack.surfaces import DataBlockSurfaces, Delivery, channel_surface

log = logging.getLogger(__name__)

EVENT_TYPE = "feedback_bot_broadcast"
HISTORY_LIMIT = 200
# Pages of history read while looking for an earlier post (a busy channel): 4,000 messages.
HISTORY_PAGES = 20
# Slack's answers that no retry can change.
FOR_GOOD = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "restricted_action",
        "msg_too_long",
        "no_text",
        "invalid_metadata_format",
    }
)
BLOCKS_REFUSED = frozenset({"invalid_blocks", "invalid_blocks_format"})
Blocks = Sequence[Block] | Sequence[Mapping[str, Any]]
# Which channels refused charts, for this process (bot/slack/surfaces.py).
SURFACES = DataBlockSurfaces()


class PostFailed(Exception):
    """Slack did not take the post; `for_good` when trying again cannot help."""

    def __init__(self, reason: str, *, for_good: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.for_good = for_good


def metadata(key: str) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE, "event_payload": {"key": key}}


def key_of(message: dict[str, Any]) -> str | None:
    """The broadcast key a message carries, if it is one of the bot's broadcasts."""
    meta = message.get("metadata")
    if not isinstance(meta, dict) or meta.get("event_type") != EVENT_TYPE:
        return None
    payload = meta.get("event_payload")
    key = payload.get("key") if isinstance(payload, dict) else None
    return key if isinstance(key, str) else None


async def find_post(
    client: AsyncWebClient, channel: str, key: str, *, since: float, thread_ts: str | None = None
) -> str | None:
    """The ts of the bot's post carrying `key` in `channel` (in the thread, if given), made
    after `since` (seconds since the epoch), or None. Page by page, newest first: a busy
    channel may have had many messages since (up to `HISTORY_PAGES` pages are read)."""
    cursor: str | None = None
    for _ in range(HISTORY_PAGES):
        try:
            if thread_ts is None:
                response = await client.conversations_history(
                    channel=channel,
                    oldest=f"{max(0.0, since - 60):.6f}",
                    limit=HISTORY_LIMIT,
                    include_all_metadata=True,
                    cursor=cursor,
                )
            else:
                response = await client.conversations_replies(
                    channel=channel,
                    ts=thread_ts,
                    limit=HISTORY_LIMIT,
                    include_all_metadata=True,
                    cursor=cursor,
                )
        except SLACK_FAILURES as error:
            reason = slack_error_reason(error)
            raise PostFailed(
                f"could not look for an earlier post: {reason}", for_good=False
            ) from error
        for message in response.get("messages") or []:
            if isinstance(message, dict) and key_of(message) == key:
                return str(message["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return None
    raise PostFailed(
        f"could not look for an earlier post: more than {HISTORY_PAGES} pages of history",
        for_good=False,
    )


async def post(
    client: AsyncWebClient,
    channel: str,
    key: str,
    text: str,
    blocks: Blocks | None = None,
    *,
    plain: Blocks | None = None,
    thread_ts: str | None = None,
) -> str:
    """Post the message carrying `key`; its ts. `blocks` where the channel takes them, else
    `plain` (the text form; default: the same blocks); blocks Slack refuses even so are left
    out, the text goes alone."""
    posted: list[str] = []

    async def attempt(these: Sequence[Mapping[str, Any]]) -> Delivery:
        try:
            posted.append(await _post(client, channel, key, text, these, thread_ts))
        except PostFailed as failed:
            if failed.reason in BLOCKS_REFUSED:
                return Delivery.REFUSED
            raise
        return Delivery.SENT

    rich = _dicts(blocks or [])
    text_form = _dicts(plain) if plain is not None else rich
    if await SURFACES.send(channel_surface(channel), rich, text_form, attempt) is Delivery.SENT:
        return posted[0]
    log.warning("Slack refused the blocks of %s: posted as text alone", key)
    return await _post(client, channel, key, text, None, thread_ts)


def _dicts(blocks: Blocks) -> list[dict[str, Any]]:
    return [dict(b) if isinstance(b, Mapping) else b.to_dict() for b in blocks]


async def update(
    client: AsyncWebClient,
    channel: str,
    ts: str,
    key: str,
    text: str,
    blocks: Blocks | None = None,
) -> None:
    """Replace the message in place (it keeps carrying `key`)."""
    try:
        await client.chat_update(
            channel=channel, ts=ts, text=text, blocks=_dicts(blocks or []), metadata=metadata(key)
        )
    except SLACK_FAILURES as error:
        raise _failed(error) from error


async def _post(
    client: AsyncWebClient,
    channel: str,
    key: str,
    text: str,
    blocks: Sequence[Mapping[str, Any]] | None,
    thread_ts: str | None,
) -> str:
    try:
        response = await client.chat_postMessage(
            channel=channel,
            text=text,
            blocks=[dict(b) for b in blocks] if blocks else None,
            metadata=metadata(key),
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
    except SLACK_FAILURES as error:
        raise _failed(error) from error
    return str(response["ts"])


def _failed(error: BaseException) -> PostFailed:
    reason = slack_error_reason(error)
    for_good = isinstance(error, SlackApiError) and reason in FOR_GOOD
    return PostFailed(reason, for_good=for_good)


async def post_once(
    client: AsyncWebClient,
    channel: str,
    key: str,
    text: str,
    blocks: Blocks | None = None,
    *,
    plain: Blocks | None = None,
    maybe_posted_since: float | None = None,
    thread_ts: str | None = None,
) -> str:
    """Post the message carrying `key`, unless an earlier attempt did (`maybe_posted_since`:
    when that attempt began, if there was one); its ts either way."""
    if maybe_posted_since is not None:
        found = await find_post(client, channel, key, since=maybe_posted_since, thread_ts=thread_ts)
        if found is not None:
            log.info("%s was posted by an earlier attempt (%s): not posted again", key, found)
            return found
    return await post(client, channel, key, text, blocks, plain=plain, thread_ts=thread_ts)
