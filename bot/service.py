"""Running the bot: start-up, serving (HTTP or Socket Mode), and a graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.app import Bot, build_bot, detect_model, make_web_client
from bot.readiness import Readiness
from bot.server import SlackHttpServer
from bot.trace_export import watch_trace_export
from bot.tracing import bound_mlflow_client, connect_experiment, flush_traces
from config import Settings

log = logging.getLogger(__name__)

IN_FLIGHT_GRACE_S = 20.0
OUTBOX_DRAIN_S = 10.0


async def serve(settings: Settings, host: str = "0.0.0.0") -> None:
    """Serve until SIGTERM or SIGINT, then stop taking work, finish, flush, and return."""
    bound_mlflow_client(settings)
    export_stats = watch_trace_export()
    experiment_id = await connect_experiment(settings)
    log.info("tracing to experiment %r (%s)", settings.mlflow_experiment_name, experiment_id)

    slack_session = aiohttp.ClientSession()
    bot = build_bot(
        settings,
        client=make_web_client(settings, slack_session),
        model=await detect_model(settings),
    )
    bot.deliverer.start()
    http = SlackHttpServer(
        bot.app,
        settings.slack_signing_secret.get_secret_value(),
        Readiness(bot, export_stats),
    )
    runner = web.AppRunner(http.web_app(), access_log=None, shutdown_timeout=5)
    await runner.setup()
    await web.TCPSite(runner, host, settings.port).start()

    socket_mode: AsyncSocketModeHandler | None = None
    if settings.slack_app_token is not None:
        socket_mode = AsyncSocketModeHandler(bot.app, settings.slack_app_token.get_secret_value())
        await socket_mode.connect_async()
        log.info("connected to Slack in Socket Mode; health on port %s", settings.port)
    else:
        log.info("listening for Slack on http://%s:%s/slack/events", host, settings.port)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping: no new work; finishing %d task(s) in flight", len(bot.background))
    await shutdown(bot, http, runner, socket_mode)
    await slack_session.close()
    log.info("trace export: %s", export_stats.as_dict())


async def shutdown(
    bot: Bot,
    http: SlackHttpServer,
    runner: web.AppRunner,
    socket_mode: AsyncSocketModeHandler | None,
) -> None:
    http.accepting = False
    if socket_mode is not None:
        await socket_mode.disconnect_async()
    if not await bot.background.wait(IN_FLIGHT_GRACE_S):
        log.warning("%d task(s) still running at shutdown", len(bot.background))
    await asyncio.to_thread(flush_traces)
    if not await bot.deliverer.drain(OUTBOX_DRAIN_S):
        stats = await bot.outbox.stats()
        log.warning("%d feedback entries stay in the outbox for the next start", stats.pending)
    await runner.cleanup()
    await bot.aclose()
    log.info("stopped cleanly")
