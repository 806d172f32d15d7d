"""A bare Bolt app with empty listeners, on the bot's own HTTP front: the baseline for ack latency.

Run: python -m bench.bare_app (reads SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL, PORT).
"""

from __future__ import annotations

import asyncio
import os
import signal

from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime.http_front import SlackHttpServer, listening_site


def bare_app(token: str, signing_secret: str, api_url: str) -> AsyncApp:
    app = AsyncApp(
        client=AsyncWebClient(token=token, base_url=api_url),
        signing_secret=signing_secret,
        raise_error_for_unhandled_request=False,
    )

    @app.event("message")
    async def on_message() -> None:
        return None

    @app.event("app_mention")
    async def on_mention() -> None:
        return None

    @app.action("answer_feedback")
    async def on_vote(ack: AsyncAck) -> None:
        await ack()

    @app.view("answer_rating")
    async def on_rating(ack: AsyncAck) -> None:
        await ack()

    return app


async def main() -> None:
    secret = os.environ["SLACK_SIGNING_SECRET"]
    app = bare_app(os.environ["SLACK_BOT_TOKEN"], secret, os.environ["SLACK_API_URL"])
    runner = web.AppRunner(SlackHttpServer(app, secret).web_app(), access_log=None)
    await runner.setup()
    await listening_site(runner, "127.0.0.1", int(os.environ["PORT"])).start()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
