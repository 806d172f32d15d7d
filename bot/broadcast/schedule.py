"""When the digest is due: FEEDBACK_DIGEST_CRON in FEEDBACK_TIMEZONE, read by cronsim.

A digest covers a period: from the cron time before it to its own cron time (`Period`).
Times are aware datetimes; the cron is evaluated in the configured zone (so `0 9 * * MON`
is 09:00 local time, summer and winter), and periods are compared and stored in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from cronsim import CronSim

# A digest later than this after its time (everything was down) is skipped, not posted.
MAX_LATE = timedelta(days=1)

KEY_TIME = "%Y-%m-%dT%H:%M:%SZ"  # how a period's ends are written in its key
OLD_KEY_TIME = "%Y-%m-%dT%H:%MZ"  # … and were, before keys had seconds


@dataclass(frozen=True)
class Period:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive: the cron time the digest is for

    @property
    def key(self) -> str:
        """What names the period in the store and in the message's metadata: to the second,
        so two `digest --now` within a minute of each other are two periods."""
        return f"{self.start:{KEY_TIME}}..{self.end:{KEY_TIME}}"


def end_in_key(key: str) -> datetime | None:
    """The end of the period a key names (a `Period.key`, maybe prefixed), None if unreadable."""
    end = key.rsplit("..", 1)[-1]
    for written in (KEY_TIME, OLD_KEY_TIME):
        try:
            return datetime.strptime(end, written).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class DigestSchedule:
    cron: str
    zone: tzinfo

    def latest(self, now: datetime) -> datetime | None:
        """The latest cron time at or before `now` (UTC), None if there is none within a year."""
        local = now.astimezone(self.zone) + timedelta(seconds=1)  # `now` itself counts
        times = CronSim(self.cron, local.replace(microsecond=0), reverse=True)
        found = next(times, None)
        return None if found is None else found.astimezone(UTC)

    def before(self, time: datetime) -> datetime | None:
        """The cron time before `time` (UTC)."""
        times = CronSim(self.cron, time.astimezone(self.zone), reverse=True)
        found = next(times, None)
        return None if found is None else found.astimezone(UTC)

    def after(self, now: datetime) -> datetime | None:
        """The next cron time after `now` (UTC)."""
        found = next(CronSim(self.cron, now.astimezone(self.zone)), None)
        return None if found is None else found.astimezone(UTC)

    def due(self, now: datetime) -> Period | None:
        """The period whose digest is due at `now`: the one ending at the latest cron time."""
        end = self.latest(now)
        if end is None:
            return None
        start = self.before(end)
        return Period(start or end - timedelta(days=7), end)

    def now_period(self, now: datetime, last_end: datetime | None) -> Period:
        """`digest --now`: since the last digest's end, else since the latest cron time
        (a week if that is now), up to `now`."""
        start = last_end or self.latest(now) or now - timedelta(days=7)
        if start >= now:
            start = self.before(now) or now - timedelta(days=7)
        return Period(start.astimezone(UTC), now.astimezone(UTC))
