"""The messages sent to the model: system prompt, thread history, question, within a budget."""

from __future__ import annotations

from dataclasses import dataclass

from bot.llm.client import ChatMessage

TRIM_MARK = "\n[…question trimmed to fit the model's context…]"


@dataclass(frozen=True)
class Prompt:
    messages: list[ChatMessage]
    dropped_history: int  # earlier thread messages left out to fit the budget
    question_trimmed: bool


def with_viewing_note(system_prompt: str, viewing: str | None) -> str:
    """The system prompt, told where the user is (in Slack's assistant panel)."""
    if viewing is None:
        return system_prompt
    return f"{system_prompt}\n\nThe user is viewing {viewing} in Slack while asking."


def build_prompt(
    system_prompt: str, history: list[ChatMessage], question: str, budget_chars: int
) -> Prompt:
    """Fit the conversation into `budget_chars`: drop the oldest history first, then trim the
    question (keeping its start, where people state what they want)."""
    room = budget_chars - len(system_prompt)
    kept: list[ChatMessage] = []
    used = len(question)
    for message in reversed(history):
        if used + len(message["content"]) > room:
            break
        kept.append(message)
        used += len(message["content"])
    kept.reverse()
    trimmed = False
    if len(question) > room:
        question = question[: max(0, room - len(TRIM_MARK))] + TRIM_MARK
        trimmed = True
    messages: list[ChatMessage] = [{"role": "system", "content": system_prompt}]
    messages += kept
    messages.append({"role": "user", "content": question})
    return Prompt(messages, len(history) - len(kept), trimmed)
