"""The pipe between the front and its worker process: wake-ups, not work.

Work crosses in the store (bot/storage/store.py); the pipe only says that there is some, and
carries the worker's start-up and counters back. One JSON object per line, each a frozen
dataclass below (`encode` / `decode`):

Front → worker (its stdin):  Wake("questions") | Wake("feedback") | Wake("jobs") | Stop()
Worker → front (its stdout): Ready() | Counters({...})

Anything else on the worker's stdout (a library printing) is not decoded by the front.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Literal

# An orderly stop: the worker gives its answers in flight this long, then sends the traces
# waiting in the store, drains the outbox and runs the jobs due, each for at most
# OUTBOX_DRAIN_S (what is left waits for the next start); the front waits for all of it.
ANSWERS_GRACE_S = 20.0
OUTBOX_DRAIN_S = 10.0
STOP_WITHIN_S = ANSWERS_GRACE_S + 3 * OUTBOX_DRAIN_S + 10.0
# What a standalone worker (no pipe: `python -m bot worker`) logs once it is ready instead.
WORKER_READY = "worker ready: taking questions from the shared store"


@dataclass(frozen=True)
class Wake:
    """The store holds new work of this kind."""

    topic: Literal["questions", "feedback", "jobs"]


@dataclass(frozen=True)
class Stop:
    """An orderly stop: the input closes next; finish, flush, drain the outbox."""


@dataclass(frozen=True)
class Ready:
    """The worker is connected to the tracking server and working."""


@dataclass(frozen=True)
class Counters:
    """The worker's trace export counters, when they change."""

    values: dict[str, int] = field(default_factory=dict)


PipeMessage = Wake | Stop | Ready | Counters
_KINDS: dict[str, type[PipeMessage]] = {
    kind.__name__: kind for kind in (Wake, Stop, Ready, Counters)
}
_TOPICS = ("questions", "feedback", "jobs")


def encode(message: PipeMessage) -> bytes:
    fields = {"kind": type(message).__name__, **dataclasses.asdict(message)}
    return json.dumps(fields).encode() + b"\n"


def decode(line: bytes) -> PipeMessage:
    """The message on `line`; ValueError if it is not one."""
    fields = json.loads(line)
    if not isinstance(fields, dict):
        raise ValueError("not a JSON object")
    kind = _KINDS.get(str(fields.pop("kind", "")))
    if kind is None:
        raise ValueError("not a pipe message")
    try:
        message = kind(**fields)
    except TypeError as error:
        raise ValueError(f"not a {kind.__name__}: {error}") from error
    if isinstance(message, Wake) and message.topic not in _TOPICS:
        raise ValueError(f"wake for an unknown topic: {message.topic!r}")
    if isinstance(message, Counters) and not all(
        isinstance(v, int) for v in message.values.values()
    ):
        raise ValueError("counters must be integers")
    return message
