"""`make run` (`python -m sandbox.devstack`): the bot, plus whatever is not configured.

- No `MLFLOW_TRACKING_URI`: a local MLflow tracking server (sqlite under `BOT_DATA_DIR/mlflow`).
- No `SLACK_BOT_TOKEN`: the local Slack sandbox (`sandbox/`), a web page that talks to the
  bot exactly as Slack does (signed requests to `/slack/events`, the Web API it calls).
- Both configured: just the bot.

Settings come from the environment and `.env`. Every child runs in its own process group;
Ctrl-C (or SIGTERM) stops the bot first (it finishes answers and flushes traces), then the
sandbox, then MLflow, and leaves no process behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from dotenv import dotenv_values

from bot.llm.choice import choose_llm
from config import LOCAL_MLFLOW_PORT, ConfigError, LlmChoiceSettings, load_llm_choice_settings
from devkit.mlflow_server import MLFLOW_SERVER_ENV, mlflow_server_command

ROOT = Path(__file__).resolve().parents[1]
PREFERRED_PORTS = {"MLFLOW_PORT": LOCAL_MLFLOW_PORT, "SANDBOX_PORT": 3100, "PORT": 3000}


def read_config(environ: Mapping[str, str], dotenv_path: Path) -> dict[str, str]:
    """The settings as the bot sees them: `.env`, overridden by the environment."""
    values = {k.upper(): v for k, v in dotenv_values(dotenv_path).items() if v is not None}
    values.update({k.upper(): v for k, v in environ.items()})
    return values


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def choose_port(config: Mapping[str, str], name: str) -> int:
    """The port `name` names, else its usual one when free, else any free one."""
    if config.get(name, "").strip():
        return int(config[name])
    preferred = PREFERRED_PORTS[name]
    if port_is_free(preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StartupFailed(Exception):
    pass


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    stop_timeout_s: float
    log: Path | None = None

    @property
    def running(self) -> bool:
        return self.process.returncode is None


class DevStack:
    def __init__(self, config: Mapping[str, str]) -> None:
        self.config = dict(config)
        data = Path(self._given("BOT_DATA_DIR") or "data")
        self.data_dir = data if data.is_absolute() else ROOT / data
        self.mlflow_bin = Path(self._given("MLFLOW_SERVER_BIN") or ROOT / ".venv-mlflow/bin/mlflow")
        self.children: list[Child] = []
        self.started: list[tuple[str, str, str]] = []  # (what, url, note)
        self._stop = asyncio.Event()

    def _given(self, name: str) -> str | None:
        value = self.config.get(name, "").strip()
        return value or None

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._on_signal)
        code = 0
        try:
            await self._start_all()
            self._print_summary()
            code = await self._watch()
        except StartupFailed as error:
            if not self._stop.is_set():
                print(f"make run: {error}", file=sys.stderr, flush=True)
                code = 1
        finally:
            await self._stop_all()
        return code

    def _on_signal(self) -> None:
        if self._stop.is_set():  # a second Ctrl-C: stop waiting for a graceful exit
            for child in self.children:
                _signal_group(child.process.pid, signal.SIGKILL)
        self._stop.set()

    async def _watch(self) -> int:
        """Wait for Ctrl-C (0) or for a child to exit on its own (1)."""
        exits = {asyncio.ensure_future(c.process.wait()): c for c in self.children}
        stop = asyncio.ensure_future(self._stop.wait())
        done, pending = await asyncio.wait([stop, *exits], return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if stop in done:
            print("\nstopping…", flush=True)
            return 0
        child = next(exits[task] for task in done if task in exits)
        where = f"; see {child.log}" if child.log else ""
        print(f"{child.name} exited with code {child.process.returncode}{where}", flush=True)
        return 1

    async def _start_all(self) -> None:
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        bot_env: dict[str, str] = {}
        tracking_uri = self._given("MLFLOW_TRACKING_URI")
        if tracking_uri is None:
            tracking_uri = await self._start_mlflow(env)
            bot_env["MLFLOW_TRACKING_URI"] = tracking_uri
        ui_url = self._given("MLFLOW_UI_URL") or tracking_uri
        if self._given("SLACK_BOT_TOKEN") is None:
            # Only the sandbox calls the bot: any free port will do.
            bot_port = choose_port(self.config, "PORT")
            bot_env["PORT"] = str(bot_port)
            bot_url = f"http://127.0.0.1:{bot_port}"
            bot_env.update(await self._start_sandbox(env, bot_url, ui_url, tracking_uri))
            slack = "the sandbox"
        else:
            bot_url = f"http://127.0.0.1:{self._given('PORT') or 3000}"
            slack = "Slack in Socket Mode" if self._given("SLACK_APP_TOKEN") else "Slack over HTTP"
        await self._start_bot({**env, **bot_env}, bot_url, slack)

    async def _start_mlflow(self, env: dict[str, str]) -> str:
        if not await asyncio.to_thread(self.mlflow_bin.exists):
            raise StartupFailed(f"{self.mlflow_bin} is missing: run `make install`")
        port = choose_port(self.config, "MLFLOW_PORT")
        data_dir = self.data_dir / "mlflow"
        await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
        log = data_dir / "server.log"
        url = f"http://127.0.0.1:{port}"
        print(f"starting MLflow on {url} (log: {log})…", flush=True)
        await self._spawn(
            "MLflow",
            mlflow_server_command(self.mlflow_bin, data_dir, port),
            {**env, **MLFLOW_SERVER_ENV},
            stop_timeout_s=15,
            log=log,
        )
        await self._wait_ready(url + "/health", timeout_s=120)
        self.started.append(("MLflow UI", url, f"local tracking server, data in {data_dir}"))
        return url

    async def _start_sandbox(
        self, env: dict[str, str], bot_url: str, ui_url: str, tracking_uri: str
    ) -> dict:
        from sandbox import DIGEST_CHANNEL_ID, SANDBOX_USER_ID

        port = choose_port(self.config, "SANDBOX_PORT")
        url = f"http://127.0.0.1:{port}"
        token = "xoxb-sandbox-" + secrets.token_hex(12)
        signing_secret = secrets.token_hex(16)
        slack = {"SLACK_BOT_TOKEN": token, "SLACK_SIGNING_SECRET": signing_secret}
        print(f"starting the Slack sandbox on {url}…", flush=True)
        await self._spawn(
            "sandbox",
            [sys.executable, "-m", "sandbox"],
            {
                **env,
                **slack,
                "SANDBOX_HOST": "127.0.0.1",
                "SANDBOX_PORT": str(port),
                "SANDBOX_BOT_URL": bot_url,
                "SANDBOX_MLFLOW_URL": ui_url,
                "SANDBOX_TRACKING_URI": tracking_uri,
            },
            stop_timeout_s=10,
        )
        await self._wait_ready(url + "/sandbox/state", timeout_s=30)
        self.started.append(("Slack sandbox", url, "open this page and talk to the bot"))
        return {
            **slack,
            "SLACK_APP_TOKEN": "",
            "SLACK_API_URL": url + "/api/",
            "HOST": self._given("HOST") or "127.0.0.1",
            "FEEDBACK_REPORT_ADMINS": self._given("FEEDBACK_REPORT_ADMINS") or SANDBOX_USER_ID,
            # The digest and the alerts in the sandbox's #feedback-digest.
            "FEEDBACK_DIGEST_CHANNEL": self._given("FEEDBACK_DIGEST_CHANNEL") or DIGEST_CHANNEL_ID,
            "FEEDBACK_ALERT_CHANNEL": self._given("FEEDBACK_ALERT_CHANNEL") or DIGEST_CHANNEL_ID,
        }

    async def _start_bot(self, env: dict[str, str], bot_url: str, slack: str) -> None:
        print("starting the bot…", flush=True)
        await self._spawn("bot", [sys.executable, "-m", "bot", "serve"], env, stop_timeout_s=40)
        await self._wait_ready(bot_url + "/healthz", timeout_s=90)
        note = f"talks to {slack}; LLM: {await self._llm()}"
        self.started.append(("bot", bot_url + "/slack/events", note))

    async def _llm(self) -> str:
        """The bot's choice of LLM (`bot.llm.choice`), from the same settings."""
        given = {
            name: self.config[name.upper()]
            for name in LlmChoiceSettings.model_fields
            if name.upper() in self.config
        }
        try:
            settings = load_llm_choice_settings(_env_file=None, **given)
        except ConfigError as error:
            return f"not configured correctly ({error})"
        return (await choose_llm(settings)).describe()

    async def _spawn(
        self,
        name: str,
        command: list[str],
        env: dict[str, str],
        *,
        stop_timeout_s: float,
        log: Path | None = None,
    ) -> None:
        output = await asyncio.to_thread(open, log, "ab") if log else None
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                cwd=ROOT,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT if output else None,
                start_new_session=True,
            )
        finally:
            if output:
                output.close()
        self.children.append(Child(name, process, stop_timeout_s, log))

    async def _wait_ready(self, url: str, timeout_s: float) -> None:
        child = self.children[-1]
        deadline = time.monotonic() + timeout_s
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                if self._stop.is_set():
                    raise StartupFailed("interrupted while starting")
                if not child.running:
                    where = f"; see {child.log}" if child.log else ""
                    raise StartupFailed(f"{child.name} exited while starting{where}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(url) as response:
                        if response.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise StartupFailed(f"{child.name} did not answer {url} in {timeout_s:g} s")
                await asyncio.sleep(0.25)

    def _print_summary(self) -> None:
        print("\nRunning:", flush=True)
        for what, url, note in self.started:
            print(f"  {what:<14} {url:<38} {note}", flush=True)
        print("Press Ctrl-C to stop everything.\n", flush=True)

    # -- stopping --------------------------------------------------------------------------

    async def _stop_all(self) -> None:
        """Stop the children, last started first: the bot flushes into a live MLflow."""
        for child in reversed(self.children):
            await _stop_child(child)
            print(f"stopped {child.name}", flush=True)


def _signal_group(pgid: int, signum: int) -> bool:
    """Signal every process of a group; False when none is left."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    return True


async def _stop_child(child: Child) -> None:
    pgid = child.process.pid  # each child leads its own session and group
    if child.running:
        _signal_group(pgid, signal.SIGTERM)
        try:
            await asyncio.wait_for(child.process.wait(), child.stop_timeout_s)
        except TimeoutError:
            _signal_group(pgid, signal.SIGKILL)
            await child.process.wait()
    # Whatever the child started in its group (e.g. the server's workers) goes too.
    deadline = time.monotonic() + 5
    while _signal_group(pgid, 0):
        if time.monotonic() > deadline:
            _signal_group(pgid, signal.SIGKILL)
            break
        await asyncio.sleep(0.1)


def main() -> int:
    config = read_config(os.environ, ROOT / ".env")
    if config.get("SLACK_BOT_TOKEN", "").strip() and config.get("MLFLOW_TRACKING_URI", "").strip():
        print("Slack and MLflow are configured: running the bot (python -m bot)", flush=True)
        os.execv(sys.executable, [sys.executable, "-m", "bot", "serve"])
    return asyncio.run(DevStack(config).run())


if __name__ == "__main__":
    sys.exit(main())
