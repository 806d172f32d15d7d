"""The bot as a real process (`python -m bot`), talking real HTTP to emulators."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

from bot.runtime.pipe import WORKER_READY
from devkit.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
# The bot's configuration variables: a process started for a test gets none of the caller's.
CONFIGURATION_PREFIXES = ("SLACK_", "MLFLOW_", "OPENAI_")


def clean_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the bot's configuration, then `env` on top."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(CONFIGURATION_PREFIXES)}
    return {**clean, **(env or {})}


class BotProcess:
    """`python -m bot` and its `args`: e.g. `("web",)` or `("worker",)` (process types on a
    shared store; a standalone worker has no HTTP port: it is ready when it says so)."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        args: tuple[str, ...] = (),
        source: Path = ROOT,
    ) -> None:
        self.args = args
        self.source = source  # the tree whose `bot` runs: another checkout to compare with
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port), "HOST": "127.0.0.1"}
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the process owns it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", *self.args],
            cwd=self.source,
            env=clean_environment(self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bot exited at start-up; see {self.log_path}")
            if self.args[:1] == ("worker",):
                if WORKER_READY in self.log():
                    return
                time.sleep(0.1)
                continue
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the bot did not become healthy")

    def signal(self, signum: int) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signum)

    def signal_group(self, signum: int) -> None:
        """`signum` to the bot and every process it started (as a terminal or systemd would)."""
        assert self.process is not None
        os.killpg(self.process.pid, signum)

    def children(self) -> list[int]:
        """The processes the bot started (its answer worker)."""
        assert self.process is not None
        pid = self.process.pid
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def wait(self, timeout_s: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout_s)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


async def readyz(bot_url: str) -> tuple[int, dict[str, Any]]:
    """`GET /readyz` of the bot at `bot_url`: its status and what it says."""
    async with aiohttp.ClientSession() as http, http.get(bot_url + "/readyz") as response:
        return response.status, dict(await response.json())


async def readiness(bot_url: str) -> dict[str, Any]:
    """What the bot's `/readyz` says (whatever its status)."""
    return (await readyz(bot_url))[1]
