"""Listeners never raise into Bolt: in Bolt 1.30 a listener that acked and then raised makes
the request answer 404 after 3 s. Failures are logged instead."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

log = logging.getLogger(__name__)
P = ParamSpec("P")


def logged_not_raised(listener: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[None]]:
    """Wrap a listener so an unexpected error is logged, not raised. Bolt still injects the
    listener's arguments (it reads the signature through `functools.wraps`)."""

    @functools.wraps(listener)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await listener(*args, **kwargs)
        except Exception:
            body: Any = kwargs.get("body") or {}
            kind = body.get("type") if isinstance(body, dict) else "?"
            log.exception("%s failed on a %s payload", listener.__name__, kind)
            ack: Any = kwargs.get("ack")
            if ack is not None and getattr(ack, "response", None) is None:
                await ack()  # answer Slack anyway: no retry storm, no 404

    return wrapper
