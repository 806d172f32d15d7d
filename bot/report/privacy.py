"""The one privacy rule of posts that other people read (the digest, the alerts).

Such a post never quotes a question, answer or comment from a DM, a group DM or a private
channel other than the channel it is posted in, nor names such a conversation: an answer from
one shows as "a question in a private conversation" with only its trace link (its 👎 reasons
without their comments, no correction), and the channels' rows of such conversations are
added up into one unnamed row.

Where a question was asked is its trace's `slack.conversation_kind` tag. The rule fails
closed: only `public_channel` is public; every other kind, an unknown one, and a missing tag
(older traces) are private, unless the answer was given in the channel posted in. A channel
row is public only if the report's source saw that channel's answers tagged `public_channel`
(`public_channels`, bot/report/figures/public_channels.py).

The admins' own reports (ephemeral, the Home tab) are not posts others read: they are shown
whole, and never pass through here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from bot.report.model import ChannelFeedback, FeedbackReport, LowRatedAnswer, Reason, ReasonFigures
from bot.tracing.data_model import PUBLIC_CHANNEL

PRIVATE_QUESTION = "a question in a private conversation"
# The row that adds up the channels a post must not name.
PRIVATE_CONVERSATIONS = "private conversations"


def may_quote(kind: str | None, channel: str | None, posted_in: str) -> bool:
    """Whether a post in `posted_in` may quote an answer asked in `channel`, of `kind`."""
    return kind == PUBLIC_CHANNEL or (channel is not None and channel == posted_in)


def may_name(channel: str | None, public_channels: Collection[str], posted_in: str) -> bool:
    """Whether a post in `posted_in` may name `channel`."""
    return channel is not None and (channel == posted_in or channel in public_channels)


def for_channel(
    report: FeedbackReport,
    reasons: ReasonFigures,
    posted_in: str,
    public_channels: Collection[str],
) -> tuple[FeedbackReport, ReasonFigures]:
    """The report and its reasons as a post in `posted_in` may show them."""
    lowest = tuple(_answer(answer, posted_in) for answer in report.lowest)
    # Fail closed: what people wrote is shown only for answers the post may quote.
    quotable = {a.trace_id for a in report.lowest if may_quote(*_where(a), posted_in)}
    given = {
        trace_id: found if trace_id in quotable else tuple(_uncommented(r) for r in found)
        for trace_id, found in reasons.given.items()
    }
    corrections = {
        trace_id: found for trace_id, found in reasons.corrections.items() if trace_id in quotable
    }
    channel = report.channel
    if channel is not None and not may_name(channel, public_channels, posted_in):
        channel = PRIVATE_CONVERSATIONS
    shared = dataclasses.replace(
        report,
        channel=channel,
        lowest=lowest,
        negative_channels=_channels(report.negative_channels, public_channels, posted_in),
    )
    return shared, dataclasses.replace(reasons, given=given, corrections=corrections)


def _where(answer: LowRatedAnswer) -> tuple[str | None, str | None]:
    return answer.conversation_kind, answer.channel


def _answer(answer: LowRatedAnswer, posted_in: str) -> LowRatedAnswer:
    if may_quote(answer.conversation_kind, answer.channel, posted_in):
        return answer
    return dataclasses.replace(
        answer,
        question=PRIVATE_QUESTION,
        comment=None,
        channel=None,  # not named, and no link to its message (only members could open it)
        answer_ts=None,
        question_ts=None,
    )


def _uncommented(reason: Reason) -> Reason:
    return dataclasses.replace(reason, comment=None)


def _channels(
    rows: tuple[ChannelFeedback, ...], public_channels: Collection[str], posted_in: str
) -> tuple[ChannelFeedback, ...]:
    named = [row for row in rows if may_name(row.channel, public_channels, posted_in)]
    hidden = [row for row in rows if not may_name(row.channel, public_channels, posted_in)]
    if not hidden:
        return tuple(named)
    together = ChannelFeedback(
        PRIVATE_CONVERSATIONS,
        answers=sum(row.answers for row in hidden),
        up=sum(row.up for row in hidden),
        down=sum(row.down for row in hidden),
    )
    return tuple(sorted([*named, together], key=lambda c: (-c.down, c.up)))
