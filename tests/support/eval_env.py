"""`make eval`'s environment (.venv-eval, full mlflow) for the tests: built on first use, and
asked what only full mlflow can do (create an evaluation dataset, read evaluation runs back)."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from tests.support.suite import ROOT_DIR

EVAL_PYTHON = ROOT_DIR / ".venv-eval" / "bin" / "python"
# A first build downloads full mlflow (pip's cache makes the next ones quick).
BUILD_TIMEOUT_S = 900

CREATE_DATASET = """
import json, sys
import mlflow
from mlflow.genai.datasets import create_dataset
url, experiment, name, records = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
mlflow.set_tracking_uri(url)
experiment_id = mlflow.set_experiment(experiment).experiment_id
dataset = create_dataset(name=name, experiment_id=[experiment_id])
dataset.merge_records(records)
print(json.dumps({"dataset_id": dataset.dataset_id, "records": len(dataset.to_df())}))
"""

EVALUATION_RUNS = """
import json, sys
import mlflow
from mlflow.entities import Feedback, Expectation
url, names = sys.argv[1], sys.argv[2:]
mlflow.set_tracking_uri(url)

def runs_of(name):
    experiment = mlflow.get_experiment_by_name(name)
    runs = [] if experiment is None else mlflow.search_runs(
        [experiment.experiment_id], output_format="list"
    )
    return [described(run, experiment.experiment_id) for run in runs]

def described(run, experiment_id):
    traces = mlflow.search_traces(
        locations=[experiment_id], run_id=run.info.run_id, return_type="list"
    )
    return {
        "run_type": run.data.tags.get("mlflow.runType"),
        "params": run.data.params,
        "traces": [
            {
                "state": str(t.info.state),
                "question": t.data.spans[0].inputs.get("question") if t.data.spans else None,
                "spans": sorted(s.name for s in t.data.spans),
                "feedback": {
                    a.name: a.value for a in t.info.assessments if isinstance(a, Feedback)
                },
                "expectations": {
                    a.name: a.value for a in t.info.assessments if isinstance(a, Expectation)
                },
            }
            for t in traces
        ],
    }

print(json.dumps({name: runs_of(name) for name in names}))
"""


def ensure_eval_env() -> None:
    """Build .venv-eval as `make eval` does on first use (nothing to do once it exists)."""
    subprocess.run(
        ["make", "--no-print-directory", "-s", ".venv-eval/.installed"],
        cwd=ROOT_DIR,
        check=True,
        timeout=BUILD_TIMEOUT_S,
    )


def in_eval_env(script: str, *args: str) -> Any:
    """Run `script` with full mlflow; it prints one JSON value."""
    done = subprocess.run(
        [str(EVAL_PYTHON), "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def create_dataset(url: str, experiment: str, name: str, records: list[dict]) -> dict:
    return in_eval_env(CREATE_DATASET, url, experiment, name, json.dumps(records))  # type: ignore[no-any-return]


def evaluation_runs(url: str, *experiments: str) -> dict[str, list[dict]]:
    """Each experiment's runs: their type, parameters and traces (spans, assessments)."""
    return in_eval_env(EVALUATION_RUNS, url, *experiments)  # type: ignore[no-any-return]
