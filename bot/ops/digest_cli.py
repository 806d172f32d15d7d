"""`python -m bot digest`: when the next digest is due; `--now` posts one at once (the
period since the last digest), for trying it and for platforms with a scheduler of their own.
It claims its period in the store like the scheduled digest, so it is posted once."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from bot.broadcast.schedule import DigestSchedule
from config import Settings


def add_command(commands: argparse._SubParsersAction) -> None:
    digest = commands.add_parser(
        "digest", help="show when the digest is due; --now posts one at once"
    )
    digest.add_argument("--now", action="store_true", help="post the digest now")


def run(args: argparse.Namespace, settings: Settings) -> int:
    channel = settings.feedback_digest_channel
    schedule = DigestSchedule(settings.feedback_digest_cron, settings.feedback_zone)
    if channel is None:
        print("error: FEEDBACK_DIGEST_CHANNEL is not set: no channel to post in", file=sys.stderr)
        return 2
    if not args.now:
        due = schedule.after(datetime.now(UTC))
        when = "never" if due is None else f"{due.astimezone(schedule.zone):%Y-%m-%d %H:%M %Z}"
        print(f"next digest in {channel}: {when} ({settings.feedback_digest_cron!r})")
        return 0
    from bot.storage.store import StoreUnavailable

    try:
        ts = asyncio.run(_post_now(settings, channel, schedule))
    except StoreUnavailable as error:
        print(f"error: the store is unavailable: {error}", file=sys.stderr)
        return 1
    if ts is None:
        print("no digest posted (see the log above)", file=sys.stderr)
        return 1
    print(f"digest posted in {channel} (ts {ts})")
    return 0


async def _post_now(settings: Settings, channel: str, schedule: DigestSchedule) -> str | None:
    import aiohttp

    from bot.broadcast.digest import Digest
    from bot.broadcast.report_message import ChannelReports
    from bot.slack.client import make_web_client
    from bot.storage.broadcasts import Broadcasts
    from bot.storage.store import Store, lease_owner

    store = await Store.open(settings.bot_data_dir, database_url=settings.store_url)
    try:
        async with aiohttp.ClientSession() as session:
            client = make_web_client(settings, session)
            digest = Digest(
                Broadcasts(store),
                ChannelReports(settings, client),
                client,
                channel,
                schedule,
                lease_owner(),
            )
            return await digest.post_now()
    finally:
        await store.close()
