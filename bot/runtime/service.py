"""Running the bot: start-up, serving (HTTP or Socket Mode), and a graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

import aiohttp
from aiohttp import web

from bot.runtime.app import Bot, build_bot
from bot.runtime.http_front import SlackHttpServer
from bot.runtime.pipe import STOP_WITHIN_S
from bot.runtime.readiness import Readiness
from bot.runtime.socket_front import GuardedSocketModeHandler
from bot.runtime.worker_process import WorkerLink
from bot.slack.client import make_web_client
from config import Settings

log = logging.getLogger(__name__)

FRONT_GRACE_S = 10.0  # confirmations and report replies in flight


async def serve(settings: Settings, host: str = "0.0.0.0") -> None:
    """Serve until SIGTERM or SIGINT, then stop taking work, finish, flush, and return.

    The worker process (bot/runtime/worker.py) connects to the tracking server, answers and delivers
    feedback; this process acks Slack and keeps the outbox."""
    worker = WorkerLink()
    await worker.start()
    slack_session = aiohttp.ClientSession()
    bot = build_bot(settings, worker, client=make_web_client(settings, slack_session))
    http = SlackHttpServer(
        bot.app,
        settings.slack_signing_secret.get_secret_value(),
        Readiness(bot, worker),
    )
    runner = web.AppRunner(http.web_app(), access_log=None, shutdown_timeout=5)
    await runner.setup()
    # What start-up made (modules, Bolt, clients) lives as long as the process: out of the
    # collector's sight, a full collection stops the event loop for ~0.1 ms, not ~27 ms.
    gc.freeze()
    await web.TCPSite(runner, host, settings.port).start()

    socket_mode: GuardedSocketModeHandler | None = None
    if settings.slack_app_token is not None:
        socket_mode = GuardedSocketModeHandler(bot.app, settings.slack_app_token.get_secret_value())
        await socket_mode.connect_async()
        log.info("connected to Slack in Socket Mode; health on port %s", settings.port)
    else:
        log.info("listening for Slack on http://%s:%s/slack/events", host, settings.port)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping: no new work; finishing what is in flight")
    await shutdown(bot, worker, http, runner, socket_mode)
    await slack_session.close()
    log.info("worker: %s", worker.stats())


async def shutdown(
    bot: Bot,
    worker: WorkerLink,
    http: SlackHttpServer,
    runner: web.AppRunner,
    socket_mode: GuardedSocketModeHandler | None,
) -> None:
    http.accepting = False
    if socket_mode is not None:
        await socket_mode.close_async()  # disconnect_async alone lets it reconnect
    if not await bot.background.wait(FRONT_GRACE_S):
        log.warning("%d task(s) still running at shutdown", len(bot.background))
    # Answers in flight finish, their traces flush, the outbox drains (all in the worker).
    if not await worker.stop(STOP_WITHIN_S):
        log.warning("the worker did not stop cleanly")
    await runner.cleanup()
    bot.close()
    log.info("stopped cleanly")
