"""`python -m bot` serves the bot; subcommands are operator tools."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from typing import TypeVar

from bot import report_cli
from bot.tracing import TrackingUnavailable
from config import ConfigError, load_settings, load_tracking_settings

T = TypeVar("T")


def _settings_or_exit(load: Callable[[], T]) -> T:
    try:
        return load()
    except ConfigError as error:
        for line in str(error).splitlines():
            print(f"configuration error: {line}", file=sys.stderr)
        raise SystemExit(2) from None


def _serve(args: argparse.Namespace) -> int:
    from bot.service import serve

    settings = _settings_or_exit(load_settings)
    try:
        asyncio.run(serve(settings, host=args.host))
    except TrackingUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="serve Slack (the default)")
    for p in (parser, serve):
        p.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"), help="bind address")
    report_cli.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command in (None, "serve"):
        return _serve(args)
    if args.command in report_cli.COMMANDS:
        return report_cli.run(args, _settings_or_exit(load_tracking_settings))
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
