"""One person's feedback on one answer, as plain values."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

# None withdraws a vote (a removed reaction); a str is a 👎 reason's key.
FeedbackValue = bool | float | str | None

TRACE_ID = re.compile(r"^tr-[0-9a-f]{32}$")


def is_trace_id(value: object) -> bool:
    return isinstance(value, str) and TRACE_ID.match(value) is not None


@dataclass(frozen=True)
class FeedbackIntent:
    trace_id: str
    user_id: str
    name: str
    value: FeedbackValue
    rationale: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # Written into the assessment's metadata, so a retried delivery can recognise its own work.
    intent_id: str = field(default_factory=lambda: uuid.uuid4().hex)
