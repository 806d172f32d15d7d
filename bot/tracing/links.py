"""Links into the MLflow UI (checked against the UI that MLflow 3.17 ships).

The UI is a hash-routed single-page app: `/#/experiments/<id>/traces` lists an experiment's
traces, and `?selectedEvaluationId=<trace ID>` opens one of them in the trace drawer (the
`/#/experiments/<id>/traces/<trace ID>` route redirects there).
`/#/experiments/<id>/evaluation-runs?selectedRunUuid=<run ID>` opens an evaluation run.
"""

from __future__ import annotations

from urllib.parse import quote


def trace_url(ui_base: str, experiment_id: str, trace_id: str) -> str:
    return (
        f"{ui_base.rstrip('/')}/#/experiments/{quote(experiment_id, safe='')}/traces"
        f"?selectedEvaluationId={quote(trace_id, safe='')}"
    )


def experiment_traces_url(ui_base: str, experiment_id: str) -> str:
    """The experiment's traces in the MLflow UI."""
    return f"{ui_base.rstrip('/')}/#/experiments/{quote(experiment_id, safe='')}/traces"


def evaluation_run_url(ui_base: str, experiment_id: str, run_id: str) -> str:
    """An evaluation run (`mlflow.genai.evaluate`) in the experiment's Evaluations tab."""
    return (
        f"{ui_base.rstrip('/')}/#/experiments/{quote(experiment_id, safe='')}/evaluation-runs"
        f"?selectedRunUuid={quote(run_id, safe='')}"
    )
