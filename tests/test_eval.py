"""`make eval` end to end: a small dataset on a real tracking server, replayed by `make eval`
(its own environment, built on first use) through the bot's answer path with the offline
responder; the printed table, and what the server holds afterwards."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid

import pytest

from devkit.llm_api import LlmEmulator
from devkit.mlflow_server import MlflowServer
from devkit.ports import free_port
from devkit.traces import Tracking
from tests.support.eval_env import EVAL_PYTHON, create_dataset, ensure_eval_env, evaluation_runs
from tests.support.mlflow_client import mlflow_client_restored
from tests.support.suite import LLM_KEY, ROOT_DIR

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

LIKED = "What is the guest wifi called?"
CORRECTED_MISSED = "How do I reset my VPN password?"
CORRECTED_MET = "Is the office closed on Friday?"


# Records as the bot's dataset holds them (bot/dataset/): the root span's inputs, the answer,
# the corrections and the 👎 guidelines as expectations, the answer's trace, the Slack context.
def tags(channel: str, up: int = 0, down: int = 0, reasons: str = "") -> dict[str, str]:
    return {
        "slack.channel": channel,
        "votes.up": str(up),
        "votes.down": str(down),
        "reasons": reasons,
        "added_by": "U0ADMIN",
    }


RECORDS = [
    {
        "inputs": {"question": LIKED},
        "outputs": {"answer": "It is called Guests."},
        "source": {"source_type": "TRACE", "source_data": {"trace_id": "tr-0123456789abcdef"}},
        "tags": tags("C0FEEDBACK", up=2),
    },
    {
        "inputs": {
            "question": CORRECTED_MISSED,
            "history": [
                {"role": "user", "content": "I am locked out."},
                {"role": "assistant", "content": "Which system?"},
            ],
        },
        "outputs": {"answer": "Ask IT."},
        "expectations": {
            "expected_response": "Open vpn.example.com and choose Reset password",
            "guidelines": ["The answer is complete: it covers everything the question asks."],
        },
        "tags": tags("C0FEEDBACK", down=1, reasons="incomplete"),
    },
    {
        "inputs": {"question": CORRECTED_MET},
        "outputs": {"answer": "No."},
        "expectations": {
            "expected_response": "the office is closed on Friday",
            "expected_responses": ["the office is closed on Friday", "closed on Friday"],
        },
        "tags": tags("C0OTHER", down=2, reasons="inaccurate"),
    },
    {"inputs": {"prompt": "a record the bot could not have made"}, "tags": tags("C0X")},
]


@pytest.fixture(scope="module")
def eval_env() -> None:
    ensure_eval_env()


@pytest.fixture
def experiment() -> str:
    return f"eval-{uuid.uuid4().hex[:8]}"


def bot_env(server_url: str, experiment: str, **extra: str) -> dict[str, str]:
    """The bot's settings, with no LLM: the offline responder answers."""
    return {
        **os.environ,
        "MLFLOW_TRACKING_URI": server_url,
        "MLFLOW_EXPERIMENT_NAME": experiment,
        "OPENAI_BASE_URL": "",
        "OLLAMA_URL": "",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        **extra,
    }


async def amake_eval(env: dict[str, str], args: str = "") -> tuple[int, str, str]:
    """`make eval` while this test's event loop serves the LLM emulator."""
    process = await asyncio.create_subprocess_exec(
        "make",
        "--no-print-directory",
        "-s",
        "eval",
        f"EVAL_ARGS={args}",
        cwd=ROOT_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 300)
    return process.returncode or 0, out.decode(), err.decode()


def make_eval(env: dict[str, str], args: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-s", "eval", f"EVAL_ARGS={args}"],
        cwd=ROOT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def evaluation(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m evaluation` in its environment, as `make eval` runs it."""
    return subprocess.run(
        [str(EVAL_PYTHON), "-m", "evaluation", *args],
        cwd=ROOT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_eval_replays_the_dataset_and_prints_its_table(
    eval_env: None, mlflow_server: MlflowServer, experiment: str
) -> None:
    created = create_dataset(mlflow_server.url, experiment, "slack-feedback", RECORDS)
    assert created["records"] == 4

    done = make_eval(bot_env(mlflow_server.url, experiment))

    assert done.returncode == 0, done.stderr[-3000:]
    table = done.stdout
    assert table.startswith(
        f"make eval: 3 records of dataset 'slack-feedback' (experiment '{experiment}')\n"
        "model: none configured: the offline responder answers"
    )
    assert "records  passed  failed\n      3       2       1\n" in table
    assert "no_error          3       3       0       0     100.0%      -" in table
    assert "not_empty         3       3       0       0     100.0%      -" in table
    # 3 of the 8 words of the missed correction are in the echo; all of the met one's.
    assert "similarity        2       1       1       0      50.0%  0.688" in table
    assert f'"{CORRECTED_MISSED}"\n      similarity 0.38 < 0.50' in table
    assert "skipped (not replayed): 1\n  record " in table
    assert "its inputs have no `question` text" in table
    run_line = table.splitlines()[-1]
    assert run_line.startswith(f"run: {mlflow_server.url}/#/experiments/")
    assert "/evaluation-runs?selectedRunUuid=" in run_line

    runs = evaluation_runs(mlflow_server.url, f"{experiment}-eval", experiment)
    # The replay's answers stay out of the bot's experiment: the report does not count them.
    assert runs[experiment] == []
    (run,) = runs[f"{experiment}-eval"]
    assert run["run_type"] == "genai_evaluate"
    assert run["params"]["dataset"] == "slack-feedback"
    assert run["params"]["llm"] == "offline"
    assert run["params"]["records"] == "3"
    traces = {t["question"]: t for t in run["traces"]}
    assert sorted(traces) == sorted([LIKED, CORRECTED_MISSED, CORRECTED_MET])
    for trace in traces.values():
        # The bot's own answer path: its answer span around the model's.
        assert trace["spans"] == ["offline-responder", "slack_answer"]
        assert trace["state"] == "OK"
        assert trace["feedback"]["no_error"] is True
        assert trace["feedback"]["not_empty"] is True
    assert "similarity" not in traces[LIKED]["feedback"]
    assert traces[CORRECTED_MISSED]["feedback"]["similarity"] == 0.375
    assert traces[CORRECTED_MET]["feedback"]["similarity"] == 1.0
    assert traces[CORRECTED_MET]["expectations"]["expected_response"] == (
        "the office is closed on Friday"
    )


def test_make_eval_says_what_is_wrong_when_it_cannot_run(
    eval_env: None, mlflow_server: MlflowServer, experiment: str
) -> None:
    with mlflow_client_restored():
        Tracking(mlflow_server.url, experiment)  # the bot's experiment, without a dataset
    env = bot_env(mlflow_server.url, experiment)

    missing = evaluation(env, "--dataset", "last-week")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1] == (
        f"error: no evaluation dataset 'last-week' in experiment '{experiment}': add answers to "
        "it first (docs/feedback-to-better-bot.md), or name another with --dataset"
    )
    assert missing.stdout == ""

    gone = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    unreachable = evaluation(
        bot_env(gone, experiment, MLFLOW_REQUEST_TIMEOUT_S="2", MLFLOW_REQUEST_RETRIES="0")
    )
    assert unreachable.returncode == 1
    assert (
        unreachable.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: the MLflow tracking server at {gone} did not answer: ")
    )
    assert time.monotonic() - started < 30

    misconfigured = evaluation({**env, "MLFLOW_TRACKING_URI": "sqlite:///mlflow.db"})
    assert misconfigured.returncode == 2
    assert misconfigured.stderr.startswith("configuration error: MLFLOW_TRACKING_URI is invalid")

    assert evaluation_runs(mlflow_server.url, f"{experiment}-eval") == {f"{experiment}-eval": []}


async def test_with_an_llm_the_answers_are_judged_on_its_endpoint(
    eval_env: None, mlflow_server: MlflowServer, experiment: str, llm: LlmEmulator
) -> None:
    """The configured endpoint answers the replay (as the bot's model) and judges it (as
    MLflow's judges): correctness against each correction, the 👎 guidelines, relevance."""
    await asyncio.to_thread(create_dataset, mlflow_server.url, experiment, "team's qa", RECORDS)
    llm.judge_result = "no"
    env = bot_env(
        mlflow_server.url,
        experiment,
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_API_KEY=LLM_KEY,
        LLM_MODEL=llm.model,
        FEEDBACK_DATASET="team's qa",
    )

    code, table, err = await amake_eval(env, "--prompt 'Answer in one line.'")

    assert code == 0, err[-3000:]
    assert f"model: {llm.base_url}, model {llm.model}" in table
    assert f"scoring: LLM judges (openai:/{llm.model} at {llm.base_url})" in table
    assert "records  passed  failed\n      3       0       3\n" in table
    assert "no_error                  3       3       0       0     100.0%     -" in table
    assert "correctness               2       0       2       0       0.0%     -" in table
    assert "follows_guidelines        1       0       1       0       0.0%     -" in table
    assert "relevance                 3       0       3       0       0.0%     -" in table
    assert "      correctness: no (The emulator's verdict.)" in table
    replays = [r for r in llm.requests if "response_format" not in r]
    judged = [r for r in llm.requests if "response_format" in r]
    assert sorted(r["messages"][-1]["content"] for r in replays) == sorted(
        [LIKED, CORRECTED_MISSED, CORRECTED_MET]
    )
    assert {r["messages"][0]["content"] for r in replays} == {"Answer in one line."}
    assert len(judged) == 2 + 1 + 3
    assert {r["model"] for r in llm.requests} == {llm.model}
