"""The digest: the feedback report for the period since the last one, posted in
FEEDBACK_DIGEST_CHANNEL on FEEDBACK_DIGEST_CRON (bot/broadcast/schedule.py).

Exactly once per period, whatever the number of instances and restarts: the period's key is
claimed in the store (bot/storage/broadcasts.py) before anything is built; an instance that
takes over a claim whose holder died first looks for the post in the channel (the key is in
its metadata). A digest found late (everything was down at its time) is posted if it is less
than a day late, else skipped with a log line. A post Slack refuses is tried again every
`RETRY_S` while the period is less than a day late (logged on the first failure and when it
is given up), or given up at once when retrying cannot help (an archived channel).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from slack_sdk.web.async_client import AsyncWebClient

from bot.broadcast.channel_post import PostFailed, post_once
from bot.broadcast.report_message import ChannelReports
from bot.broadcast.schedule import MAX_LATE, DigestSchedule, Period, end_in_key
from bot.report.trace_records import tracking_failure
from bot.report.window import ReportWindow
from bot.storage.broadcasts import CLAIMED, FAILED, POSTED, SKIPPED, Broadcasts, Claim

log = logging.getLogger(__name__)

KIND = "digest"
LEASE_S = 600.0  # building and posting a report takes far less
RETRY_S = 60.0
TITLE = "Feedback digest"


class Digest:
    def __init__(
        self,
        broadcasts: Broadcasts,
        reports: ChannelReports,
        client: AsyncWebClient,
        channel: str,
        schedule: DigestSchedule,
        owner: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._broadcasts = broadcasts
        self._reports = reports
        self._client = client
        self.channel = channel
        self.schedule = schedule
        self._owner = owner
        self._clock = clock
        self._settled: str | None = None  # a period known to be done: not claimed again

    async def run_due(self) -> str | None:
        """Post the digest due now if no instance has (the message's ts if this one did)."""
        now = self._clock()
        period = self.schedule.due(datetime.fromtimestamp(now, UTC))
        if period is None:
            return None
        key = _key(period)
        if key == self._settled:
            return None
        claim = await self._broadcasts.claim(key, KIND, self.channel, self._owner, LEASE_S, now)
        if claim is None:
            state = await self._broadcasts.state(key)
            if state is not None and state[0] != CLAIMED:
                self._settled = key  # posted, skipped or given up, here or elsewhere
            return None
        late_s = now - period.end.timestamp()
        if late_s > MAX_LATE.total_seconds():
            log.warning(
                "the digest for %s was due %.1f hours ago (nothing ran then): skipped",
                period.key,
                late_s / 3600,
            )
            await self._broadcasts.finish(claim.key, self._owner, SKIPPED, now, error="late")
            return None
        return await self._post(claim, period, now)

    async def post_now(self) -> str | None:
        """`python -m bot digest --now`: the digest since the last one, posted at once."""
        now = self._clock()
        last = await self._broadcasts.latest_key(KIND)
        last_end = end_in_key(last) if last else None
        period = self.schedule.now_period(datetime.fromtimestamp(now, UTC), last_end)
        claim = await self._broadcasts.claim(
            _key(period), KIND, self.channel, self._owner, LEASE_S, now
        )
        if claim is None:
            log.warning("the digest for %s is posted or being posted: not again", period.key)
            return None
        return await self._post(claim, period, now, give_up=True)

    async def _post(
        self, claim: Claim, period: Period, now: float, *, give_up: bool = False
    ) -> str | None:
        window = ReportWindow(period.start, period.end, _spec(period, self.schedule))
        try:
            shared = await self._reports.build(window, posted_in=self.channel)
            ts = await post_once(
                self._client,
                self.channel,
                claim.key,
                f"{TITLE}: {shared.text}",
                shared.charted,
                plain=shared.blocks,
                maybe_posted_since=claim.created_at if claim.attempts > 1 else None,
            )
        except PostFailed as failed:
            await self._failed(claim, period, failed.reason, for_good=failed.for_good or give_up)
            return None
        except Exception as error:
            reason = tracking_failure(error) or f"{type(error).__name__}: {error}"
            await self._failed(claim, period, reason, for_good=give_up)
            return None
        await self._broadcasts.finish(claim.key, self._owner, POSTED, self._clock(), message_ts=ts)
        log.info("digest for %s posted in %s (%s)", period.key, self.channel, ts)
        return ts

    async def _failed(self, claim: Claim, period: Period, reason: str, *, for_good: bool) -> None:
        now = self._clock()
        too_late = now + RETRY_S - period.end.timestamp() > MAX_LATE.total_seconds()
        if for_good or too_late:
            log.error(
                "the digest for %s was not posted in %s: %s", period.key, self.channel, reason
            )
            await self._broadcasts.finish(claim.key, self._owner, FAILED, now, error=reason)
            return
        if claim.attempts == 1:  # logged once; the retries are quiet until given up
            log.warning(
                "the digest for %s could not be posted yet (%s); trying again every %.0f s",
                period.key,
                reason,
                RETRY_S,
            )
        await self._broadcasts.try_again_at(claim.key, self._owner, reason, now + RETRY_S)


def _key(period: Period) -> str:
    return f"{KIND}:{period.key}"


def _spec(period: Period, schedule: DigestSchedule) -> str:
    """The window's name in the report: its first and last local day."""
    first = period.start.astimezone(schedule.zone).date()
    last = period.end.astimezone(schedule.zone).date()
    return f"{first}..{last}"
