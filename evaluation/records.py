"""A dataset record's `inputs` as the question the bot answers in a replay.

A record holds what the model was asked, as the answer's root span recorded it: `question`
(the text) and, when the question came in a thread, `history` (the earlier messages,
`{"role": "user" | "assistant", "content": text}`). Other keys are kept in the record and
ignored here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.answering.answerer import Question
from bot.llm.client import ChatMessage

# Who asks, and where, in a replay: no Slack user or channel (the trace's tags say so).
REPLAY_USER = "make-eval"
REPLAY_CHANNEL = "eval"
ROLES = ("user", "assistant")


class BadRecord(ValueError):
    """The record's inputs cannot be asked again; the message says what is wrong."""


def replay_question(inputs: Mapping[str, object], replay_id: str) -> Question:
    """The question in `inputs`, asked in a replay of its own (`replay_id`: its session)."""
    text = inputs.get("question")
    if not isinstance(text, str) or not text.strip():
        raise BadRecord("its inputs have no `question` text")
    return Question(
        text=text,
        user_id=REPLAY_USER,
        team_id=None,
        channel_id=REPLAY_CHANNEL,
        channel_type=REPLAY_CHANNEL,
        message_ts=replay_id,
        thread_ts=replay_id,
        history=_history(inputs.get("history")),
    )


@dataclass(frozen=True)
class Selection:
    replayed: list[int]  # positions of the records to replay
    skipped: list[str]  # the others: which record, and why it cannot be asked


def select(records: Sequence[Mapping[str, object]], limit: int | None = None) -> Selection:
    """The first `limit` records (all: None), those that can be asked again."""
    replayed, skipped = [], []
    for position, record in enumerate(records[:limit]):
        inputs = record.get("inputs")
        try:
            replay_question(inputs if isinstance(inputs, Mapping) else {}, "check")
        except BadRecord as why:
            skipped.append(f"record {record.get('dataset_record_id') or position + 1}: {why}")
        else:
            replayed.append(position)
    return Selection(replayed, skipped)


def _history(raw: object) -> list[ChatMessage]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadRecord("its `history` is not a list of messages")
    messages: list[ChatMessage] = []
    for message in raw:
        if not (
            isinstance(message, Mapping)
            and message.get("role") in ROLES
            and isinstance(message.get("content"), str)
        ):
            raise BadRecord("a message of its `history` is not {role: user|assistant, content}")
        content = message["content"]
        if message["role"] == "user":
            messages.append(ChatMessage(role="user", content=content))
        else:
            messages.append(ChatMessage(role="assistant", content=content))
    return messages
