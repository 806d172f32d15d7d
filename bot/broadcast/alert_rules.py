"""When the positive rate is low enough to alert, and when it is back: one rule for the whole
bot and for each channel.

With at least `min_votes` votes in the window, the rate breaches when it is `drop` points or
more below the baseline's (a baseline with fewer than `min_votes` votes is not compared) or
under `floor`. An open incident closes only when the rate is `RECOVERY_MARGIN` points clear of
both limits: a rate wobbling around a limit does not open and close incident after incident.
With too few votes nothing is judged: an open incident stays open, none opens.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

RECOVERY_MARGIN = 5.0  # percentage points


@dataclass(frozen=True)
class Votes:
    up: int = 0
    down: int = 0

    @property
    def total(self) -> int:
        return self.up + self.down

    @property
    def rate(self) -> float | None:
        """The positive rate in percent, None without votes."""
        return 100.0 * self.up / self.total if self.total else None


@dataclass(frozen=True)
class Thresholds:
    min_votes: int
    drop: float  # points below the baseline
    floor: float  # percent


class Verdict(enum.Enum):
    LOW = "low"  # breaching: open an incident, or keep it open
    FINE = "fine"  # clear: none opens, an open one closes
    UNKNOWN = "unknown"  # too few votes to say: nothing changes


def limit(baseline: Votes, thresholds: Thresholds) -> float:
    """The rate below which the window breaches."""
    base = baseline.rate
    if base is None or baseline.total < thresholds.min_votes:
        return thresholds.floor
    return max(thresholds.floor, base - thresholds.drop)


def judge(window: Votes, baseline: Votes, thresholds: Thresholds, *, is_open: bool) -> Verdict:
    rate = window.rate
    if rate is None or window.total < thresholds.min_votes:
        return Verdict.UNKNOWN
    if is_open:
        recovered = rate >= limit(baseline, thresholds) + RECOVERY_MARGIN
        return Verdict.FINE if recovered else Verdict.LOW
    return Verdict.LOW if _breaches(rate, baseline, thresholds) else Verdict.FINE


def _breaches(rate: float, baseline: Votes, thresholds: Thresholds) -> bool:
    """Under the floor, or `drop` points or more under a baseline with enough votes."""
    if rate < thresholds.floor:
        return True
    base = baseline.rate
    return (
        base is not None
        and baseline.total >= thresholds.min_votes
        and base - rate >= thresholds.drop
    )
