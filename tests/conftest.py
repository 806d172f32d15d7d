"""Real parts for every test: an MLflow server, the Slack and LLM emulators, the bot process.

Two layers. A test that starts a real process (the tracking server, the bot, a browser, any
subprocess) is `slow`: it is marked so here when it uses a fixture that starts one
(`PROCESS_FIXTURES`), and a test that starts one itself must say so (`pytest.mark.slow`) or it
fails. Everything else is the fast layer (`make test-fast`: `pytest -m "not slow"`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import mlflow
import pytest

from bot.storage.store import Store
from devkit.bot_process import BotProcess
from devkit.llm_api import LlmEmulator
from devkit.mlflow_server import MlflowServer
from devkit.postgres_server import PostgresServer
from devkit.slack_api import SlackEmulator
from devkit.slack_payloads import Workspace
from devkit.slack_requests import SlackSender, SocketModeSender
from devkit.traces import Tracking
from tests.support.front import Front, front_settings, running_front
from tests.support.layers import no_process_start_unless_slow
from tests.support.stack import Stack
from tests.support.suite import BOT_TOKEN, LLM_KEY, SIGNING_SECRET, TEAM_ID

# Fixtures that start a real process, directly or through the fixtures they use.
# (`transport_sender` asks for its bot by name, out of the hook's sight: it is listed too.)
PROCESS_FIXTURES = frozenset(
    {
        "mlflow_server",
        "outage_server",
        "bot",
        "socket_bot",
        "stack",
        "transport_sender",
        "postgres_server",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a process fixture (even through another fixture) is slow."""
    for item in items:
        if PROCESS_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """The fast layer stays fast: a test not marked slow that starts a process fails, and so
    does one whose fixtures (of any scope: they start in this phase) start one."""
    with no_process_start_unless_slow(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with no_process_start_unless_slow(item):
        return (yield)


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    """A store of work in flight of its own, on SQLite in the test's directory."""
    opened = await Store.open(tmp_path)
    yield opened
    await opened.close()


@pytest.fixture
async def backend_store(tmp_path: Path, backend_url: str | None) -> AsyncIterator[Store]:
    """A store of its own on each backend (`backend_url`), in the test's directory."""
    opened = await Store.open(tmp_path, database_url=backend_url)
    yield opened
    await opened.close()


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("suite")


@pytest.fixture(scope="session")
def mlflow_server(tmp_root: Path) -> Iterator[MlflowServer]:
    server = MlflowServer(tmp_root / "mlflow")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def slack() -> AsyncIterator[SlackEmulator]:
    emulator = SlackEmulator(bot_token=BOT_TOKEN, team_id=TEAM_ID)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture(scope="session")
async def llm() -> AsyncIterator[LlmEmulator]:
    emulator = LlmEmulator(api_key=LLM_KEY)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture(autouse=True)
def _fresh_emulators(request: pytest.FixtureRequest) -> None:
    """Faults and modes set by one test never leak into the next."""
    if "llm" in request.fixturenames:
        request.getfixturevalue("llm").reset()
    if "slack" in request.fixturenames:
        request.getfixturevalue("slack").streaming_enabled = True
        request.getfixturevalue("slack").clear_faults()


@pytest.fixture(scope="session")
def experiment_name() -> str:
    name = f"tests-{uuid.uuid4().hex[:8]}"
    os.environ["TEST_EXPERIMENT"] = name
    return name


@pytest.fixture(scope="session")
def bot_env(
    tmp_root: Path,
    mlflow_server: MlflowServer,
    slack: SlackEmulator,
    llm: LlmEmulator,
    experiment_name: str,
) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "MLFLOW_TRACKING_URI": mlflow_server.url,
        "MLFLOW_EXPERIMENT_NAME": experiment_name,
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": LLM_KEY,
        "LLM_MODEL": "emulated-model",
        "LLM_TIMEOUT_S": "3",
        "FEEDBACK_REPORT_ADMINS": "UADMIN1",
        "FEEDBACK_REPORT_ALLOW_WORKSPACE_ADMINS": "true",
        "BOT_DATA_DIR": str(tmp_root / "bot-data"),
        "LOG_LEVEL": "INFO",
    }


@pytest.fixture(scope="session")
async def bot(bot_env: dict[str, str], tmp_root: Path) -> AsyncIterator[BotProcess]:
    process = BotProcess(bot_env, tmp_root / "bot.log")
    await asyncio.to_thread(process.start)
    yield process
    await asyncio.to_thread(process.stop)


@pytest.fixture(scope="session")
def tracking(bot: BotProcess, mlflow_server: MlflowServer, experiment_name: str) -> Tracking:
    """Read access to what the bot wrote (the bot created the experiment at start-up)."""
    mlflow.set_tracking_uri(mlflow_server.url)
    return Tracking(mlflow_server.url, experiment_name)


@pytest.fixture(scope="session")
async def sender(bot: BotProcess) -> AsyncIterator[SlackSender]:
    client = SlackSender(bot.url, SIGNING_SECRET, TEAM_ID, "ABOT")
    yield client
    await client.close()


@pytest.fixture(scope="session")
async def socket_bot(
    bot: BotProcess, bot_env: dict[str, str], tmp_root: Path, slack: SlackEmulator
) -> AsyncIterator[tuple[BotProcess, str]]:
    """The same bot connected in Socket Mode (its own data, the same experiment), and its app
    token. Started after `bot`, which created the experiment."""
    app_token = slack.socket_mode.new_app_token()
    env = {**bot_env, "SLACK_APP_TOKEN": app_token, "BOT_DATA_DIR": str(tmp_root / "socket-data")}
    process = BotProcess(env, tmp_root / "bot-socket.log")
    await asyncio.to_thread(process.start)
    yield process, app_token
    await asyncio.to_thread(process.stop)


@pytest.fixture(scope="session")
def socket_sender(socket_bot: tuple[BotProcess, str], slack: SlackEmulator) -> SocketModeSender:
    return SocketModeSender(slack.socket_mode, socket_bot[1], Workspace.of(slack))


@pytest.fixture(scope="session", params=["http", "socket_mode"])
def transport_sender(request: pytest.FixtureRequest) -> SlackSender | SocketModeSender:
    """The spine's tests run over both ways Slack reaches the bot: signed HTTP and Socket Mode."""
    if request.param == "http":
        return request.getfixturevalue("sender")
    return request.getfixturevalue("socket_sender")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the session (devkit/postgres_server.py)."""
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> str:
    """A new, empty database of its own on the session's cluster."""
    name = "t_" + uuid.uuid4().hex[:12]
    postgres_server.sql(f"CREATE DATABASE {name}")
    return postgres_server.url.rsplit("/", 1)[0] + "/" + name


# PostgreSQL is a process of its own: those cases are slow (see the hook above).
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def backend_url(request: pytest.FixtureRequest) -> str | None:
    """The store's backends, for the tests that run on both: None, SQLite in the test's
    directory; else a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("database_url"))


@pytest.fixture(scope="session")
def outage_server(tmp_root: Path) -> Iterator[MlflowServer]:
    """A tracking server of this module's own, so tests can stop and restart it."""
    server = MlflowServer(tmp_root / "mlflow-outage")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def stack(
    bot_env: dict[str, str],
    outage_server: MlflowServer,
    tmp_root: Path,
    slack: SlackEmulator,
    llm: LlmEmulator,
) -> AsyncIterator[Stack]:
    if not outage_server.healthy():
        await asyncio.to_thread(outage_server.start)
    created = Stack(bot_env, outage_server, tmp_root)
    yield created
    await created.close()


@pytest.fixture
async def front(slack: SlackEmulator, tmp_path: Path) -> AsyncIterator[Front]:
    """The real front in this event loop, the worker a stand-in (tests/support/front.py)."""
    async with running_front(front_settings(slack, tmp_path), slack) as running:
        yield running
