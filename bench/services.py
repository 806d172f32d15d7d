"""The Slack Web API and LLM emulators in a process of their own, for the ack and overload
figures.

    nice -n 10 python -m bench.services BOT_TOKEN LLM_KEY

prints one JSON line ({"slack_api_url": …, "llm_base_url": …}) and serves until its stdin
closes. A line `answers PREFIX` on its stdin is answered with one JSON line: what the bot
posted as answers in the channels whose ID starts with PREFIX (`answers_posted`).
They stand in for Slack and the LLM provider, which are not on the bot's machine: at a lower
CPU priority here, their work does not take the cores the bot's acks are measured on.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from devkit.llm_api import LlmEmulator
from devkit.slack_api import SlackEmulator


async def serve(bot_token: str, llm_key: str) -> None:
    slack = SlackEmulator(bot_token=bot_token)
    llm = LlmEmulator(api_key=llm_key)
    await slack.start()
    await llm.start()
    print(json.dumps({"slack_api_url": slack.api_url, "llm_base_url": llm.base_url}), flush=True)
    try:
        while line := await asyncio.to_thread(sys.stdin.readline):  # until it is closed
            words = line.split()
            if words[:1] == ["answers"] and len(words) == 2:
                print(json.dumps(answers_posted(slack, words[1])), flush=True)
    finally:
        await slack.stop()
        await llm.stop()


def answers_posted(slack: SlackEmulator, prefix: str) -> dict[str, Any]:
    """The bot's answers (messages with the answer's metadata) in the channels starting with
    `prefix`: how many channels have one, how many in all, how many channels have more."""
    per_channel = [
        sum(1 for m in slack.bot_messages(channel) if m.get("metadata"))
        for channel in list(slack.messages)
        if channel.startswith(prefix)
    ]
    return {
        "channels": sum(1 for n in per_channel if n),
        "answers": sum(per_channel),
        "channels_answered_twice": sum(1 for n in per_channel if n > 1),
    }


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
