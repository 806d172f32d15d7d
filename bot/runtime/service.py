"""Running the bot: start-up, serving (HTTP or Socket Mode), and a graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

import aiohttp
from aiohttp import web

from bot.feedback.outbox import Outbox
from bot.runtime.app import Bot, build_bot
from bot.runtime.http_front import SlackHttpServer, listening_site
from bot.runtime.pipe import STOP_WITHIN_S
from bot.runtime.readiness import Readiness
from bot.runtime.socket_front import GuardedSocketModeHandler
from bot.runtime.worker_process import SeparateWorkers, WorkerProcess, Workers
from bot.slack.client import make_web_client
from bot.storage.store import Store
from config import Settings

log = logging.getLogger(__name__)

FRONT_GRACE_S = 10.0  # confirmations and report replies in flight


async def serve(settings: Settings, host: str = "0.0.0.0", *, with_worker: bool = True) -> None:
    """Serve until SIGTERM or SIGINT, then stop taking work, finish, flush, and return.

    This process commits questions to the store and feedback to the outbox, and acks Slack;
    the worker process (bot/runtime/worker.py) connects to the tracking server, answers and
    delivers feedback: this process's own (`with_worker`), or, for `python -m bot web` on a
    shared store, separate ones (`python -m bot worker`)."""
    store = await Store.open(settings.bot_data_dir, database_url=settings.store_url)
    # The one instance on a SQLite store: questions and feedback a worker held when the bot
    # stopped (or was killed) are taken again at once, not when their leases run out. A shared
    # store's leases may be other instances' own: they run out if their holder died.
    if not store.shared:
        if released := await store.release_questions():
            log.warning("%d question(s) begun before the restart are answered again", released)
        await Outbox(store).release()
    worker: Workers = WorkerProcess(store) if with_worker else SeparateWorkers()
    await worker.start()
    slack_session = aiohttp.ClientSession()
    bot = build_bot(settings, store, worker, client=make_web_client(settings, slack_session))
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
    await listening_site(runner, host, settings.port).start()

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
    waiting = await store.question_stats()
    if waiting.pending or waiting.in_progress:
        log.warning("%d question(s) wait in the store for the next start", waiting.pending)
    await store.close()
    log.info("worker: %s", worker.stats())


async def shutdown(
    bot: Bot,
    worker: Workers,
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
    log.info("stopped cleanly")
