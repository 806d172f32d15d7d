"""A bounded memory of recently seen keys (Slack event retries, duplicate deliveries)."""

from __future__ import annotations

import time
from collections import OrderedDict


class RecentKeys:
    def __init__(self, max_keys: int = 50_000, ttl_s: float = 3600.0) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._max_keys = max_keys
        self._ttl_s = ttl_s

    def first_time(self, key: str) -> bool:
        """True the first time `key` is offered (within the TTL), False afterwards."""
        now = time.monotonic()
        while self._seen:
            oldest, seen_at = next(iter(self._seen.items()))
            if now - seen_at < self._ttl_s and len(self._seen) < self._max_keys:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        self._seen[key] = now
        return True
