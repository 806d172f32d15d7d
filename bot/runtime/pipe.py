"""The lines between the front and its worker process: one JSON object per line.

Front → worker (the worker's stdin):
    {"id": 7, "question": {...}}   answer this message (bot/answering/incoming.py)
    {"wake": "feedback"}           the outbox holds something new: deliver it
    {"stop": true}                 an orderly stop: the input closes next; drain the outbox
Worker → front (the worker's stdout):
    {"ready": true}                connected to the tracking server, working
    {"read": 7}                    question 7 is taken (sent before answering begins)
    {"done": 7}                    question 7 is answered (or failed, apologised for)
    {"counters": {...}}            its trace export counters, when they change

Anything else on the worker's stdout (a library printing) is ignored by the front.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from bot.answering.incoming import IncomingMessage

WAKE_FEEDBACK = b'{"wake": "feedback"}\n'
STOP = b'{"stop": true}\n'

# An orderly stop: the worker gives its answers in flight this long, flushes their traces,
# then drains the outbox this long; the front waits for all of it, with room for the flush.
ANSWERS_GRACE_S = 20.0
OUTBOX_DRAIN_S = 10.0
STOP_WITHIN_S = ANSWERS_GRACE_S + OUTBOX_DRAIN_S + 10.0


def question_line(question_id: int, message: IncomingMessage) -> bytes:
    fields = {"id": question_id, "question": dataclasses.asdict(message)}
    return json.dumps(fields, ensure_ascii=False).encode() + b"\n"


def reply_line(fields: dict[str, Any]) -> str:
    return json.dumps(fields) + "\n"


def parse_line(line: bytes) -> dict[str, Any]:
    """The object on `line`; ValueError if it is not one."""
    fields = json.loads(line)
    if not isinstance(fields, dict):
        raise ValueError("not a JSON object")
    return fields


def question_of(fields: dict[str, Any]) -> tuple[int, IncomingMessage]:
    """The question in a `{"id": …, "question": …}` line; ValueError if it is not one."""
    try:
        question_id = fields["id"]
        message = IncomingMessage(**fields["question"])
    except (KeyError, TypeError) as error:
        raise ValueError(f"not a question: {error}") from error
    if not isinstance(question_id, int):
        raise ValueError("not a question: its id is not a number")
    return question_id, message
