"""`python -m bot` serves the bot; subcommands are operator tools."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from bot.common.log_setup import configure_logging
from bot.common.secret_redaction import install_secret_redaction, secrets_of
from bot.ops import dataset_cli, digest_cli, report_cli
from config import (
    StoreSettings,
    load_settings,
    load_settings_of,
    load_tracking_settings,
    settings_or_exit,
)


def _serve(args: argparse.Namespace) -> int:
    from bot.runtime.service import serve
    from bot.runtime.worker_process import WorkerStartFailed
    from bot.storage.store import StoreUnavailable

    settings = settings_or_exit(load_settings)
    install_secret_redaction(secrets_of(settings))
    with_worker = args.command != "web"
    if not with_worker and settings.store_url is None:
        print("error: `web` needs DATABASE_URL: its workers run apart", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(settings, host=args.host, with_worker=with_worker))
    except WorkerStartFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except StoreUnavailable as error:
        print(f"error: the store is unavailable: {error}", file=sys.stderr)
        return 1
    return 0


def _store(args: argparse.Namespace) -> int:
    from bot.ops import store_cli

    overrides = {} if args.data_dir is None else {"bot_data_dir": args.data_dir}
    settings = settings_or_exit(lambda: load_settings_of(StoreSettings, **overrides))
    if args.command == "migrate":
        return store_cli.migrate(settings)
    return store_cli.run(settings, retry_dead=args.retry_dead)


def _manifest(request_url: str | None) -> int:
    from bot.ops.manifest import ManifestError, manifest_json

    try:
        print(manifest_json(request_url), end="")
    except ManifestError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="serve Slack and answer (the default)")
    web = commands.add_parser(
        "web", help="serve Slack only; `worker` processes answer (needs DATABASE_URL)"
    )
    for p in (parser, serve, web):
        p.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"), help="bind address")
    store = commands.add_parser(
        "store",
        aliases=["outbox"],
        help="show what waits: questions, traces, feedback; retry dead traces and feedback",
    )
    store.add_argument("--data-dir", help="the store's folder (default: BOT_DATA_DIR)")
    store.add_argument("--retry-dead", action="store_true", help="give dead entries a new try")
    migrate = commands.add_parser(
        "migrate", help="bring the store's schema up to date (DATABASE_URL, else BOT_DATA_DIR)"
    )
    migrate.add_argument("--data-dir", help="the store's folder (default: BOT_DATA_DIR)")
    commands.add_parser(
        "worker", help="answer and deliver only, beside `web` processes (needs DATABASE_URL)"
    )
    commands.add_parser("check", help="check the configuration, Slack, MLflow and the LLM")
    manifest = commands.add_parser("manifest", help="print the Slack app manifest")
    manifest.add_argument("--request-url", help="https URL of /slack/events: the HTTP variant")
    report_cli.add_commands(commands)
    dataset_cli.add_commands(commands)
    digest_cli.add_command(commands)
    args = parser.parse_args(argv)
    if args.command in (None, "serve", "web"):
        return _serve(args)
    if args.command == "worker":
        from bot.runtime.worker import main as worker

        return worker(standalone=True)
    if args.command == "check":
        from bot.ops.check import main as check

        return check()
    if args.command == "manifest":
        return _manifest(args.request_url)
    if args.command in ("store", "outbox", "migrate"):
        return _store(args)
    if args.command == "digest":
        settings = settings_or_exit(load_settings)
        install_secret_redaction(secrets_of(settings))
        return digest_cli.run(args, settings)
    if args.command in report_cli.COMMANDS:
        return report_cli.run(args, report_cli.tracking_settings())
    if args.command == dataset_cli.COMMAND:
        return dataset_cli.run(args, settings_or_exit(load_tracking_settings))
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
