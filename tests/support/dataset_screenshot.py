"""The screenshot of the evaluation dataset in MLflow's UI for docs/feedback-to-better-bot.md.

A local tracking server, three answers with the feedback people give in Slack (a 👎 with its
reason and comment, a correction), added to the dataset as `python -m bot dataset add` adds
them, then the dataset's page in MLflow's UI in Debian's Chromium:

    .venv/bin/python -m tests.support.dataset_screenshot [docs/dataset-in-mlflow.png]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import mlflow
from mlflow.entities import SpanType
from mlflow.tracing.provider import with_active_span

from bot.dataset.writer import DatasetWriter, Selection
from bot.tracing.data_model import CORRECTION, REASON, TAG_CHANNEL, VOTE
from devkit.mlflow_server import MlflowServer
from tests.support.browser import chromium_page
from tests.support.report_seed import human

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = [
    (
        "What is the VPN address for the Berlin office?",
        "Use vpn.example.com with your SSO login.",
        "outdated",
        "Berlin moved to the new gateway in May",
        "Berlin uses vpn-eu2.example.com since May; log in with SSO and the Okta push.",
    ),
    (
        "How many vacation days do I have left?",
        "Everyone has 25 days a year.",
        "inaccurate",
        "Part-time staff have fewer",
        "Your balance is in Workday under Time Off; full-time staff get 25 days a year.",
    ),
    (
        "Who approves travel over 2,000 EUR?",
        "Your manager approves all travel.",
        "incomplete",
        "",
        None,
    ),
]


def seed(tracking_uri: str, experiment: str) -> None:
    mlflow.set_tracking_uri(tracking_uri)
    experiment_id = mlflow.set_experiment(experiment).experiment_id
    traces = []
    for question, answer, *_ in ANSWERS:
        root = mlflow.start_span_no_context(
            name="slack_answer",
            span_type=SpanType.AGENT,
            inputs={"question": question},
            experiment_id=experiment_id,
        )
        with with_active_span(root):
            mlflow.update_current_trace(tags={TAG_CHANNEL: "C0HELPDESK"})
        root.set_outputs({"answer": answer})
        root.end()
        traces.append(root.trace_id)
    mlflow.flush_trace_async_logging()
    time.sleep(2)
    for trace_id, (_, _, reason, comment, correction) in zip(traces, ANSWERS, strict=True):
        mlflow.log_feedback(trace_id=trace_id, name=VOTE, value=False, source=human("U0ANNA"))
        mlflow.log_feedback(
            trace_id=trace_id,
            name=REASON,
            value=reason,
            rationale=comment or None,
            source=human("U0ANNA"),
        )
        if correction:
            mlflow.log_expectation(
                trace_id=trace_id, name=CORRECTION, value=correction, source=human("U0BEN")
            )


async def shoot(url: str, path: Path) -> None:
    async with chromium_page(1400, 820) as page:
        await page.goto(url, wait_until="networkidle")
        await page.wait_for_timeout(3000)
        close = page.locator("button[aria-label*='lose']").last  # the assistant's panel
        if await close.count():
            await close.click()
            await page.wait_for_timeout(1000)
        await page.screenshot(path=str(path))


def main() -> int:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "dataset-in-mlflow.png"
    server = MlflowServer(Path(tempfile.mkdtemp()) / "mlflow")
    server.start()
    try:
        seed(server.url, "slack-genai-bot")
        writer = DatasetWriter(server.url, "slack-genai-bot", "slack-feedback", timeout_s=30)
        dataset_id = writer.dataset_id()
        since = int(time.time() * 1000) - 600_000
        ids = [trace_id for page in writer.select(Selection(since)) for trace_id in page]
        print(writer.add(ids, "U0ADMIN").summary)
        experiment_id = writer.rest.experiment_id("slack-genai-bot")
        url = f"{server.url}/#/experiments/{experiment_id}/datasets/{dataset_id}"
        asyncio.run(shoot(url, target))
        print(f"{url} -> {target}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
