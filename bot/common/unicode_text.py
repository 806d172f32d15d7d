"""Text as valid Unicode, whatever arrived.

JSON can carry lone surrogates (`"\\ud800"`), which no encoder downstream accepts (log files,
HTTP bodies, MLflow): each becomes U+FFFD.
"""

from __future__ import annotations

import re

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def valid_unicode(text: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", text)
