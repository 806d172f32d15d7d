"""`python -m sandbox`: the local Slack sandbox, as `make run` starts it.

Environment: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (the same as the bot's), SANDBOX_BOT_URL
(the bot's base URL), SANDBOX_PORT (default 3100), SANDBOX_HOST (default 127.0.0.1),
SANDBOX_MLFLOW_URL (a link on the page, to MLFLOW_EXPERIMENT_NAME's traces once it exists),
SANDBOX_TRACKING_URI (the tracking server "Run the digest now" reads; unset: no such button).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from sandbox import DIGEST_CHANNEL_ID
from sandbox.server import Sandbox


async def serve() -> None:
    env = os.environ
    sandbox = Sandbox(
        bot_url=env.get("SANDBOX_BOT_URL", "http://127.0.0.1:3000").rstrip("/"),
        bot_token=env["SLACK_BOT_TOKEN"],
        signing_secret=env["SLACK_SIGNING_SECRET"],
        mlflow_url=env.get("SANDBOX_MLFLOW_URL") or None,
        mlflow_experiment=env.get("MLFLOW_EXPERIMENT_NAME") or "slack-genai-bot",
        digest_command=[sys.executable, "-m", "bot", "digest", "--now"]
        if env.get("SANDBOX_TRACKING_URI")
        else None,
        digest_env={
            "MLFLOW_TRACKING_URI": env.get("SANDBOX_TRACKING_URI", ""),
            "FEEDBACK_DIGEST_CHANNEL": env.get("FEEDBACK_DIGEST_CHANNEL") or DIGEST_CHANNEL_ID,
            "SLACK_APP_TOKEN": "",
        },
    )
    url = await sandbox.start(
        env.get("SANDBOX_HOST", "127.0.0.1"), int(env.get("SANDBOX_PORT", "3100"))
    )
    logging.getLogger("sandbox").info("Slack sandbox on %s (Web API at %s/api/)", url, url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await sandbox.stop()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox: %(message)s")
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        if not os.environ.get(name):
            print(
                f"{name} is not set: the sandbox signs and checks with the bot's", file=sys.stderr
            )
            return 2
    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
