"""A burst of new connections while the front's event loop is busy loses none: the front is
stopped (SIGSTOP) while 400 connections open, the kernel completes each handshake into the
front's listen queue, and once it goes on (SIGCONT) each carries a question that is acked and
answered. With aiohttp's default listen backlog (128) the connections past it had their SYN
dropped: each waited 1 s, then 3 s, for a retransmission (bench/notes.md, "past the table")."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest
from slack_sdk.signature import SignatureVerifier

from devkit.conversation import final_answer
from devkit.ids import new_id
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import Workspace, dm, event_envelope
from tests.support.stack import Stack

pytestmark = pytest.mark.slow

CONNECTIONS = 400  # past aiohttp's default backlog of 128, within LISTEN_BACKLOG


def somaxconn() -> int:
    return int(Path("/proc/sys/net/core/somaxconn").read_text())


@pytest.mark.skipif(
    somaxconn() < CONNECTIONS, reason="the kernel caps every listen backlog below the burst"
)
async def test_connections_opened_while_the_front_is_busy_are_all_served(
    stack: Stack, slack: SlackEmulator
) -> None:
    bot, _ = await stack.start_bot()
    assert bot.process is not None
    port = bot.port
    verifier = SignatureVerifier(stack.env["SLACK_SIGNING_SECRET"])
    channels = [new_id("D") for _ in range(CONNECTIONS)]

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2.5)
        except TimeoutError:  # its SYN dropped, and the retransmission too
            return None

    os.kill(bot.process.pid, signal.SIGSTOP)  # the front only: its worker goes on
    try:
        opened = await asyncio.gather(*(connect() for _ in channels))
    finally:
        os.kill(bot.process.pid, signal.SIGCONT)
    connected = [c for c in opened if c is not None]
    assert len(connected) == CONNECTIONS, f"{CONNECTIONS - len(connected)} connections refused"

    async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, channel: str) -> int:
        envelope = event_envelope(Workspace(), dm(new_id("U"), channel, "a question"), new_id("Ev"))
        body = json.dumps(envelope).encode()
        ts = str(int(time.time()))
        head = (
            f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\n"
            f"X-Slack-Request-Timestamp: {ts}\r\n"
            f"X-Slack-Signature: {verifier.generate_signature(timestamp=ts, body=body)}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        writer.close()
        return int(status_line.split()[1])

    statuses = await asyncio.gather(
        *(ask(r, w, channel) for (r, w), channel in zip(connected, channels, strict=True))
    )
    assert statuses == [200] * CONNECTIONS
    for channel in channels:  # every question acked is answered, once
        await final_answer(slack, channel)
        assert len([m for m in slack.bot_messages(channel) if m.get("metadata")]) == 1
