"""The evaluation dataset as full `mlflow` reads it (`mlflow.genai.datasets`), in the tracking
server's environment (.venv-mlflow): the bot's environment has mlflow-tracing only."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from devkit.mlflow_server import MLFLOW_BIN

READ = """
import json, sys
from mlflow.genai.datasets import get_dataset
dataset = get_dataset(name=sys.argv[1])
entity = dataset._mlflow_dataset  # (the wrapper's __getattr__ hides the entity's errors)
records = [r.to_dict() for r in entity.records]
print(json.dumps({
    "dataset_id": dataset.dataset_id,
    "name": dataset.name,
    "experiment_ids": list(entity.experiment_ids or []),
    "records": records,
}))
"""


def read_dataset(tracking_uri: str, name: str) -> dict[str, Any]:
    """The dataset named `name`: its ID, name, experiments and records (as dicts)."""
    python = MLFLOW_BIN.parent / "python"
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "MLFLOW_DISABLE_TELEMETRY": "true"}
    done = subprocess.run(
        [str(python), "-c", READ, name], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def by_trace(dataset: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The dataset's records by the trace they came from."""
    return {r["source"]["source_data"]["trace_id"]: r for r in dataset["records"]}
