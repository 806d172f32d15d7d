"""The Slack Web API and LLM emulators in a process of their own, for the ack-latency figure.

    nice -n 10 python -m bench.services BOT_TOKEN LLM_KEY

prints one JSON line ({"slack_api_url": …, "llm_base_url": …}) and serves until its stdin
closes. They stand in for Slack and the LLM provider, which are not on the bot's machine: at a
lower CPU priority here, their work does not take the cores the bot's acks are measured on.
"""

from __future__ import annotations

import asyncio
import json
import sys

from devkit.llm_api import LlmEmulator
from devkit.slack_api import SlackEmulator


async def serve(bot_token: str, llm_key: str) -> None:
    slack = SlackEmulator(bot_token=bot_token)
    llm = LlmEmulator(api_key=llm_key)
    await slack.start()
    await llm.start()
    print(json.dumps({"slack_api_url": slack.api_url, "llm_base_url": llm.base_url}), flush=True)
    try:
        await asyncio.to_thread(sys.stdin.read)  # until the benchmark closes it
    finally:
        await slack.stop()
        await llm.stop()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
