"""`make run` on a machine with nothing configured: a local MLflow, the Slack sandbox and the
bot; a person's whole loop in real Chromium; Ctrl-C leaves nothing behind.

The tests share one `make run` (started once for the module) and run in file order: the last
one stops it. Nothing is reinstalled (`make -o` keeps the existing environments).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
from playwright.async_api import Locator, Page, expect

from bot.tracing.data_model import RATING_DIMENSIONS, RATINGS, VOTE, rating_value
from devkit.bot_process import clean_environment
from devkit.mlflow_server import MlflowServer
from devkit.ports import free_port
from devkit.slack_api import SlackEmulator
from devkit.traces import Tracking
from sandbox import CHANNEL_ID, DM_ID, SANDBOX_USER_ID
from tests.support.browser import chromium_page, screenshot, send
from tests.support.suite import BOT_TOKEN, ROOT_DIR, SIGNING_SECRET

pytestmark = pytest.mark.slow

EXPERIMENT = "slack-genai-bot"
# `make run`, told that the environments are installed already.
MAKE_RUN = [
    "make",
    "--no-print-directory",
    "-o",
    ".venv/.installed",
    "-o",
    ".venv-mlflow/.installed",
]
MAKE_RUN += ["run"]
# What a developer's .env could configure: set empty, so that nothing is.
UNSET = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_UI_URL",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "FEEDBACK_REPORT_ADMINS",
    "OLLAMA_URL",  # no local Ollama either, even if this machine runs one
)


@dataclass
class MakeRun:
    process: subprocess.Popen[bytes]
    log: Path
    bot_url: str
    sandbox_url: str
    mlflow_url: str
    started_in_s: float

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def started_make_run(data: Path, configured: dict[str, str]) -> Iterator[MakeRun]:
    """`make run` with nothing configured but `configured`, until it says it is running."""
    ports = {name: free_port() for name in ("PORT", "SANDBOX_PORT", "MLFLOW_PORT")}
    env = clean_environment()
    env.update({name: "" for name in UNSET})
    env.update({name: str(port) for name, port in ports.items()})
    env.update(BOT_DATA_DIR=str(data / "data"), MLFLOW_EXPERIMENT_NAME=EXPERIMENT)
    env.update(configured)
    log = data / "make-run.log"
    started = time.monotonic()
    process = subprocess.Popen(
        MAKE_RUN,
        cwd=ROOT_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    run = MakeRun(
        process,
        log,
        f"http://127.0.0.1:{ports['PORT']}",
        f"http://127.0.0.1:{ports['SANDBOX_PORT']}",
        f"http://127.0.0.1:{ports['MLFLOW_PORT']}",
        0.0,
    )
    try:
        while "Press Ctrl-C" not in run.output():
            assert process.poll() is None, f"make run exited:\n{run.output()}"
            assert time.monotonic() - started < 90, f"make run did not start:\n{run.output()}"
            time.sleep(0.2)
        run.started_in_s = time.monotonic() - started
        yield run
    finally:
        _stop_for_good(process)


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeRun]:
    with started_make_run(tmp_path_factory.mktemp("make-run"), {}) as run:
        yield run


def _stop_for_good(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    left = _descendants(process.pid)
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        for pid in [process.pid, *left]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(5)


def _processes() -> dict[int, tuple[int, int, str]]:
    """Every live process: pid → (parent pid, process group, state)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            found[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0])
    return found


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for child, (parent, _, _) in _processes().items():
        children[parent].append(child)
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children[todo.pop()]:
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode(errors="replace")


@pytest.fixture(scope="module")
async def page(make_run: MakeRun) -> AsyncIterator[Page]:
    async with chromium_page() as page:
        await page.goto(make_run.sandbox_url)
        yield page


@pytest.fixture(scope="module")
def stack_tracking(make_run: MakeRun) -> Tracking:
    # Tracking sets the process-wide tracking URI; the suite's other tests read their own.
    previous = mlflow.get_tracking_uri() if mlflow.tracking.is_tracking_uri_set() else None
    try:
        return Tracking(make_run.mlflow_url, EXPERIMENT)
    finally:
        mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]  # None: unset again


async def ask(page: Page, question: str) -> Locator:
    """Ask the bot in the DM; its finished answer (with feedback controls)."""
    await page.locator(f"[data-conversation={DM_ID}]").click()
    await send(page, question)
    answer = page.locator(".thread .msg.from-bot", has_text=question)
    await expect(answer.locator(".blk.context_actions")).to_be_visible(timeout=20_000)
    return answer


async def trace_id_of(answer: Locator) -> str:
    found = re.search(r"tr-[0-9a-f]{32}", await answer.locator(".metadata").inner_text())
    assert found, "the answer carries no trace ID in its metadata"
    return found.group(0)


async def deliveries(page: Page, kind: str) -> Locator:
    return page.locator(f"#deliveries li[data-kind='{kind}']")


async def next_delivery(page: Page, kind: str, before: int) -> tuple[str, str]:
    """The status and text of the request to the bot that follows `before` of this kind."""
    items = await deliveries(page, kind)
    await expect(items).to_have_count(before + 1, timeout=10_000)
    newest = items.first
    await expect(newest).not_to_have_class("pending", timeout=10_000)  # the bot answered
    return str(await newest.get_attribute("data-status")), await newest.inner_text()


def assert_taken(status: str) -> None:
    """The bot answered: the signature held (not 401) and the payload's shape too (not 400)."""
    assert status.isdigit(), "the bot did not answer"
    assert status not in ("400", "401") and int(status) < 500, status


async def count(page: Page, kind: str) -> int:
    return await (await deliveries(page, kind)).count()


async def wait_for_assessments(tracking: Tracking, trace_id: str, name: str) -> list:
    deadline = time.monotonic() + 20
    while not (found := await tracking.valid_assessments(trace_id, name)):
        assert time.monotonic() < deadline, f"no {name} on {trace_id}"
        await asyncio.sleep(0.3)
    return found


def test_make_run_serves_the_sandbox_and_the_mlflow_ui_within_a_minute(make_run: MakeRun) -> None:
    assert make_run.started_in_s < 60
    status, page = _get(make_run.sandbox_url + "/")
    assert status == 200 and "Slack sandbox" in page
    status, ui = _get(make_run.mlflow_url + "/")
    assert status == 200 and "<title>MLflow</title>" in ui
    assert _get(make_run.bot_url + "/healthz")[0] == 200
    output = make_run.output()
    for url in (make_run.sandbox_url, make_run.mlflow_url, make_run.bot_url + "/slack/events"):
        assert url in output
    assert "offline responder" in output


async def test_in_the_browser_a_question_gets_a_traced_answer_and_every_control_reaches_the_bot(
    make_run: MakeRun, page: Page, stack_tracking: Tracking
) -> None:
    question = "What is our VPN address?"
    answer = await ask(page, question)
    await expect(answer).to_contain_text("No language model is configured")
    await expect(answer).to_have_attribute("data-streamed", "true")
    await expect(answer.locator("button.feedback[data-choice=positive]")).to_have_text("👍")
    await expect(answer.locator("button.feedback[data-choice=negative]")).to_have_text("👎")
    rate = answer.get_by_role("button", name="Rate in detail")
    await expect(rate).to_be_visible()
    await screenshot(page, "sandbox.png")

    trace = await stack_tracking.wait_for_trace(await trace_id_of(answer))
    assert trace.info.trace_metadata["mlflow.trace.user"] == SANDBOX_USER_ID
    assert trace.info.tags["slack.channel"] == DM_ID
    assert trace.info.tags["slack.channel_type"] == "im"
    chat = next(span for span in trace.data.spans if span.span_type == "CHAT_MODEL")
    assert chat.name == "offline-responder"
    assert chat.get_attribute("llm.provider") == "offline-responder"
    assert question in chat.outputs["choices"][0]["message"]["content"]

    # 👍, "Rate in detail" and the command reach the bot signed and well-formed; what the
    # bot then does with them is checked by the tests below.
    before = await count(page, "block_actions")
    await answer.locator("button.feedback[data-choice=positive]").click()
    status, text = await next_delivery(page, "block_actions", before)
    assert_taken(status)
    assert "feedback_buttons answer_feedback" in text
    await rate.click()
    status, text = await next_delivery(page, "block_actions", before + 1)
    assert_taken(status)
    assert "button rate_in_detail" in text
    await expect(page.locator("#modal-backdrop")).to_be_visible(timeout=5_000)
    await page.locator("#modal [data-modal=close]").first.click()
    await expect(page.locator("#modal-backdrop")).to_be_hidden()
    before = await count(page, "command")
    await send(page, "/feedback-report")
    status, text = await next_delivery(page, "command", before)
    assert_taken(status)
    assert "/feedback-report" in text

    # In a channel, an @mention is answered in a thread.
    kinds = ("event message", "event app_mention")
    before_events = {kind: await count(page, kind) for kind in kinds}
    await page.locator(f"[data-conversation={CHANNEL_ID}]").click()
    await send(page, "@bot where is the wiki?")
    reply = page.locator(".thread .msg.from-bot", has_text="where is the wiki?")
    await expect(reply).to_contain_text("No language model is configured", timeout=20_000)
    for kind in kinds:
        status, text = await next_delivery(page, kind, before_events[kind])
        assert status == "200" and CHANNEL_ID in text


async def test_a_thumbs_up_is_recorded_on_the_answers_trace(
    make_run: MakeRun, page: Page, stack_tracking: Tracking
) -> None:
    answer = await ask(page, "Is the canteen open on Fridays?")
    trace_id = await trace_id_of(answer)
    before = await count(page, "block_actions")
    await answer.locator("button.feedback[data-choice=positive]").click()
    status, _ = await next_delivery(page, "block_actions", before)
    assert status == "200"
    [vote] = await wait_for_assessments(stack_tracking, trace_id, VOTE)
    assert vote.value is True
    assert vote.source.source_type == "HUMAN" and vote.source.source_id == SANDBOX_USER_ID


async def test_the_rating_modal_opens_and_its_submission_records_ratings(
    make_run: MakeRun, page: Page, stack_tracking: Tracking
) -> None:
    answer = await ask(page, "How do I book a meeting room?")
    trace_id = await trace_id_of(answer)
    await answer.get_by_role("button", name="Rate in detail").click()
    modal = page.locator("#modal")
    await expect(page.locator("#modal-backdrop")).to_be_visible(timeout=5_000)
    for dimension in RATING_DIMENSIONS:
        block = modal.locator(f"[data-block-id={dimension}]")
        if await block.get_attribute("data-type") == "radio_buttons":
            await block.locator("input[value='4']").check()
        else:
            await block.locator("select").select_option("4")
    await modal.locator("[data-block-id=comment]").locator("textarea, input").fill("Short, right.")
    before = await count(page, "view_submission")
    await modal.locator("[data-modal=submit]").click()
    status, _ = await next_delivery(page, "view_submission", before)
    assert status == "200"
    await expect(page.locator("#modal-backdrop")).to_be_hidden()
    for name in RATINGS:
        [rating] = await wait_for_assessments(stack_tracking, trace_id, name)
        assert rating.value == pytest.approx(rating_value(4))
        assert rating.source.source_id == SANDBOX_USER_ID
        assert rating.rationale == "Short, right."


async def test_feedback_report_gives_the_admin_a_report(make_run: MakeRun, page: Page) -> None:
    await page.locator(f"[data-conversation={DM_ID}]").click()
    shown = page.locator(".msg.kind-response:not(.sender-slackbot), .msg.kind-ephemeral")
    reports = shown.filter(has_text="Feedback report")
    before, reports_before = await shown.count(), await reports.count()
    sent = await count(page, "command")
    await send(page, "/feedback-report")
    status, _ = await next_delivery(page, "command", sent)
    assert status == "200"
    # The report itself, after the immediate "Building the report…" (a refusal, the usage or
    # that line alone would not show its header).
    await expect(reports).to_have_count(reports_before + 1, timeout=30_000)
    assert await shown.count() > before


def test_ctrl_c_stops_everything_make_run_started(make_run: MakeRun) -> None:
    """Last in this file: it stops the shared `make run`."""
    started = _descendants(make_run.process.pid)
    groups = {group for pid, (_, group, _) in _processes().items() if pid in started}
    assert len(started) >= 4, "expected the launcher, MLflow, the sandbox and the bot"
    os.killpg(make_run.process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    make_run.process.wait(60)
    deadline = time.monotonic() + 10
    while left := {
        pid for pid, (_, group, _) in _processes().items() if pid in started or group in groups
    }:
        assert time.monotonic() < deadline, f"left behind: {left}"
        time.sleep(0.1)
    output = make_run.output()
    for name in ("bot", "sandbox", "MLflow"):
        assert f"stopped {name}" in output
    # A clean start and a clean Ctrl-C say nothing alarming: no Bolt warning about a token it
    # does not use, no worker "restarting" while it stops, no make "Interrupt".
    assert "stopped cleanly" in output and "'worker': 'stopped'" in output
    for noise in ("will be unused", "restarting", "Interrupt", "Traceback"):
        assert noise not in output, f"{noise!r} in make run's output:\n{output}"


def _running(run: MakeRun) -> list[str]:
    """The names in make run's "Running:" summary."""
    summary = run.output().split("Running:", 1)[1].split("Press Ctrl-C", 1)[0]
    return [line.strip().split("  ")[0] for line in summary.splitlines() if line.strip()]


async def test_with_slack_tokens_and_no_tracking_uri_only_mlflow_is_started(
    slack: SlackEmulator, tmp_path: Path
) -> None:
    configured = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
    }

    def check() -> None:  # (in a thread: the Slack emulator answers from this event loop)
        with started_make_run(tmp_path, configured) as run:
            assert _running(run) == ["MLflow UI", "bot"]
            assert _get(run.mlflow_url + "/health")[0] == 200
            assert _get(run.bot_url + "/readyz")[0] == 200  # its tracking server: the local one
            with pytest.raises(OSError):
                _get(run.sandbox_url + "/")

    await asyncio.to_thread(check)


def test_with_a_tracking_uri_and_no_slack_tokens_only_the_sandbox_is_started(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    with started_make_run(tmp_path, {"MLFLOW_TRACKING_URI": mlflow_server.url}) as run:
        assert _running(run) == ["Slack sandbox", "bot"]
        assert _get(run.sandbox_url + "/")[0] == 200
        with pytest.raises(OSError):
            _get(run.mlflow_url + "/health")
