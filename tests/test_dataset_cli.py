"""`python -m bot dataset add|show` against a real tracking server, read back with full mlflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mlflow
import pytest

from devkit.ids import new_id
from devkit.mlflow_server import MlflowServer
from tests.support.dataset_readback import by_trace, read_dataset
from tests.support.report_commands import cli_env, cli_output
from tests.support.report_seed import FeedbackSeeder, human


def dataset_command(server: MlflowServer, experiment: str, dataset: str, *args: str) -> tuple:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": server.url,
        "MLFLOW_EXPERIMENT_NAME": experiment,
        "FEEDBACK_DATASET": dataset,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "dataset", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.slow
def test_the_cli_adds_n_answers_in_one_run_and_is_idempotent(mlflow_server: MlflowServer) -> None:
    experiment, dataset = f"cli-{uuid.uuid4().hex[:8]}", f"ds-{uuid.uuid4().hex[:8]}"
    seeder = FeedbackSeeder(mlflow_server.url, experiment)
    now = datetime.now(UTC)
    channel, other = new_id("C"), new_id("C")
    ids = [
        seeder.answer(
            started=now - timedelta(hours=1 + i),
            channel=channel if i < 5 else other,
            asker="UASK",
            question=f"Question {i}: where is the VPN?",
            answer=f"Answer {i}",
            question_ts=f"1700000000.{i:06d}",
        )
        for i in range(7)
    ]
    old = seeder.answer(
        started=now - timedelta(days=10),
        channel=channel,
        asker="UASK",
        question="An old question",
        answer="old",
        question_ts="1690000000.000001",
    )
    silent = seeder.answer(
        started=now - timedelta(hours=2),
        channel=channel,
        asker="UASK",
        question="Nobody rated this",
        answer="quiet",
        question_ts="1700000001.000001",
    )
    seeder.wait_exported()
    for i, trace_id in enumerate(ids):
        seeder.vote(trace_id, "U1", up=i % 2 == 0)
    seeder.vote(old, "U1", up=False)
    seeder.reason(ids[1], "U1", "outdated", "The office moved in May")
    mlflow.log_expectation(
        trace_id=ids[3], name="expected_response", value="Use vpn2.example.com", source=human("U2")
    )

    code, out, err = dataset_command(mlflow_server, experiment, dataset, "add", "--since", "7d")
    assert code == 0, err
    assert out.strip() == f"{dataset}: 7 answers, added 7, updated 0, skipped 0"
    assert "[" not in err  # no progress bar without a terminal

    read = read_dataset(mlflow_server.url, dataset)
    records = by_trace(read)
    assert set(records) == set(ids)  # not the old one, nor the one without feedback
    assert old not in records and silent not in records
    assert read["experiment_ids"] == [seeder.experiment_id]
    first = records[ids[1]]
    assert first["inputs"] == {"question": "Question 1: where is the VPN?"}
    assert first["outputs"] == {"answer": "Answer 1"}
    assert first["expectations"]["guidelines"] == [
        "The answer takes this user feedback into account: The office moved in May",
        "The answer uses current, up-to-date information.",
    ]
    assert first["tags"]["votes.down"] == "1" and first["tags"]["reasons"] == "outdated"
    assert first["tags"]["slack.channel"] == channel
    assert first["tags"]["added_by"].startswith("cli:")
    assert records[ids[3]]["expectations"] == {"expected_response": "Use vpn2.example.com"}

    # Again: the same records, updated; a narrower selection takes fewer.
    code, out, _ = dataset_command(mlflow_server, experiment, dataset, "add", "--since", "7d")
    assert code == 0 and out.strip() == f"{dataset}: 7 answers, added 0, updated 7, skipped 0"
    assert len(read_dataset(mlflow_server.url, dataset)["records"]) == 7
    code, out, _ = dataset_command(
        mlflow_server, experiment, dataset, "add", "--channel", channel, "--negative-only"
    )
    assert out.strip() == f"{dataset}: 2 answers, added 0, updated 2, skipped 0"  # 1 and 3
    code, out, _ = dataset_command(mlflow_server, experiment, dataset, "add", "--corrected-only")
    assert out.strip() == f"{dataset}: 1 answers, added 0, updated 1, skipped 0"

    code, out, _ = dataset_command(mlflow_server, experiment, dataset, "show", "--limit", "2")
    lines = out.strip().splitlines()
    assert code == 0 and lines[0] == f"{dataset}: 7 records" and len(lines) == 3


@pytest.mark.slow
def test_bad_arguments_exit_2(mlflow_server: MlflowServer) -> None:
    for args in (("add", "--since", "7x"), ("add", "--channel", "general"), ("nope",)):
        code, _, err = dataset_command(mlflow_server, "e", "d", *args)
        assert code == 2, err


@pytest.mark.slow
def test_a_server_without_a_sql_backend_is_a_clear_error(tmp_path: Path) -> None:
    server = MlflowServer(tmp_path / "file-store", file_store=True)
    server.start()
    try:
        FeedbackSeeder(server.url, "no-sql")  # the experiment exists
        code, out, err = dataset_command(server, "no-sql", "ds", "add", "--since", "1d")
    finally:
        server.stop()
    assert code == 1 and out == ""
    assert "refused the evaluation dataset (FEATURE_DISABLED" in err
    assert "SQL backend" in err and "Traceback" not in err


@pytest.mark.slow
async def test_the_report_counts_corrected_answers_and_shows_the_lowest_rateds_corrections(
    mlflow_server: MlflowServer,
) -> None:
    experiment = f"corr-{uuid.uuid4().hex[:8]}"
    seeder = FeedbackSeeder(mlflow_server.url, experiment)
    now = datetime.now(UTC)
    low, fine, plain = (
        seeder.answer(
            started=now - timedelta(hours=1 + i),
            channel="C0HELP",
            asker="UASK",
            question=f"Question {i}",
            answer=f"Answer {i}",
            question_ts=f"1700000000.{i:06d}",
        )
        for i in range(3)
    )
    seeder.wait_exported()
    seeder.vote(low, "U1", up=False)
    seeder.vote(fine, "U1", up=True)
    seeder.vote(plain, "U1", up=False)
    for trace_id, user, text in ((low, "U2", "Say *42* <!here>"), (fine, "U3", "Also fine")):
        mlflow.log_expectation(
            trace_id=trace_id, name="expected_response", value=text, source=human(user)
        )
    env = cli_env(mlflow_server, experiment)
    report = json.loads(await cli_output(env, "report", "--since", "24h", "--format", "json"))
    assert report["down_reasons"]["answers_corrected"] == 2
    assert [c["text"] for c in report["down_reasons"]["corrections"][low]] == ["Say *42* <!here>"]
    assert fine not in report["down_reasons"]["corrections"]  # not among the lowest-rated
    text = await cli_output(env, "report", "--since", "24h")
    assert "Corrections:        2 answers corrected" in text
    assert "correction by U2: “Say *42* <!here>”" in text
