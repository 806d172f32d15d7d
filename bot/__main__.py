"""`python -m bot` serves the bot; subcommands are operator tools."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from bot.common.log_setup import configure_logging
from bot.common.secret_redaction import install_secret_redaction, secrets_of
from bot.ops import report_cli
from config import load_settings, load_tracking_settings, settings_or_exit


def _serve(args: argparse.Namespace) -> int:
    from bot.runtime.service import serve
    from bot.runtime.worker_process import WorkerStartFailed

    settings = settings_or_exit(load_settings)
    install_secret_redaction(secrets_of(settings))
    try:
        asyncio.run(serve(settings, host=args.host))
    except WorkerStartFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _outbox(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.feedback.outbox import Outbox

    path = Path(args.data_dir) / "outbox.sqlite3"
    if not path.exists():
        print(f"no outbox at {path}: nothing pending")
        return 0
    outbox = Outbox(path)
    try:
        if args.retry_dead:
            print(f"{outbox.retry_dead_now()} dead entries will be retried by the running bot")
        stats = outbox.stats_now()
    finally:
        outbox.close()
    age = "-" if stats.oldest_pending_age_s is None else f"{stats.oldest_pending_age_s:.0f} s"
    print(f"pending: {stats.pending} (oldest {age})")
    print(f"dead:    {stats.dead}")
    for reason, count in sorted(stats.dead_reasons.items()):
        print(f"  {count:>6}  {reason}")
    return 0


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
    serve = commands.add_parser("serve", help="serve Slack (the default)")
    for p in (parser, serve):
        p.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"), help="bind address")
    outbox = commands.add_parser("outbox", help="show the feedback outbox; retry dead entries")
    outbox.add_argument("--data-dir", default=os.environ.get("BOT_DATA_DIR", "data"))
    outbox.add_argument("--retry-dead", action="store_true", help="give dead entries a new try")
    commands.add_parser("worker", help="(started by `serve`) answers and delivers feedback")
    commands.add_parser("check", help="check the configuration, Slack, MLflow and the LLM")
    manifest = commands.add_parser("manifest", help="print the Slack app manifest")
    manifest.add_argument("--request-url", help="https URL of /slack/events: the HTTP variant")
    report_cli.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command in (None, "serve"):
        return _serve(args)
    if args.command == "worker":
        from bot.runtime.worker import main as worker

        return worker()
    if args.command == "check":
        from bot.ops.check import main as check

        return check()
    if args.command == "manifest":
        return _manifest(args.request_url)
    if args.command == "outbox":
        return _outbox(args)
    if args.command in report_cli.COMMANDS:
        return report_cli.run(args, settings_or_exit(load_tracking_settings))
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
