"""One `make eval` run (full mlflow): find the dataset in the bot's experiment, replay its
records through the bot's answer path with `mlflow.genai.evaluate` in an evaluation run of the
evaluation experiment, and print the summary."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import sys
from dataclasses import dataclass
from typing import Any, TextIO

import mlflow
import mlflow.genai
from mlflow.exceptions import MlflowException
from mlflow.genai.datasets import EvaluationDataset, search_datasets
from mlflow.genai.scorers import Scorer
from requests.exceptions import RequestException

from bot.llm.choice import OFFLINE, LlmChoice, choose_llm
from bot.tracing.links import evaluation_run_url
from bot.tracing.setup import bound_mlflow_client
from evaluation.records import select
from evaluation.replay import Replay
from evaluation.scorers import SIMILARITY, code_scorers, judge_scorers
from evaluation.settings import EvalSettings
from evaluation.similarity import MIN_SIMILARITY
from evaluation.summary import Row, Score, render, summarize

# A run's description (the system prompt it replayed with) is a tag: MLflow keeps 8,000
# characters of one.
DESCRIPTION_CHARS = 7000
TRACKING_ERRORS = (MlflowException, RequestException, OSError)


class EvalError(Exception):
    """`make eval` could not run; the message is the line it prints."""


@dataclass(frozen=True)
class Options:
    limit: int | None = None
    judge_model: str | None = None
    min_similarity: float = MIN_SIMILARITY
    workers: int = 4


def run(settings: EvalSettings, options: Options, out: TextIO = sys.stdout) -> None:
    """Replay and score the dataset; raises `EvalError` when it cannot."""
    bound_mlflow_client(settings)
    choice = asyncio.run(choose_llm(settings))
    experiment_id = _bot_experiment(settings)
    dataset = _dataset(settings, experiment_id)
    data = dataset.to_df()
    if data.empty:
        raise EvalError(f"the evaluation dataset {dataset.name!r} has no records")
    selection = select(data.to_dict(orient="records"), options.limit)
    skipped = selection.skipped
    if not selection.replayed:
        raise EvalError(f"none of the records can be replayed: {skipped[0]}")
    data = data.iloc[selection.replayed]

    scoring = _scoring(choice, options)
    os.environ["MLFLOW_GENAI_EVAL_MAX_WORKERS"] = str(options.workers)
    # The replay makes a trace of its own (the bot's answer span): no trial call first.
    os.environ["MLFLOW_GENAI_EVAL_SKIP_TRACE_VALIDATION"] = "true"

    prompt = settings.llm_system_prompt
    prompt_digest = hashlib.sha256(prompt.encode()).hexdigest()[:12]
    heading = [
        f"make eval: {len(data)} records of dataset {dataset.name!r}"
        f" (experiment {settings.mlflow_experiment_name!r})",
        f"model: {choice.describe()}",
        f"system prompt: {len(prompt)} characters, sha256 {prompt_digest}",
        f"scoring: {scoring.described}",
    ]
    try:
        eval_experiment = mlflow.set_experiment(settings.evaluation_experiment).experiment_id
        with mlflow.start_run(
            run_name=f"{choice.model} on {dataset.name}",
            tags={"mlflow.note.content": _description(prompt, choice)},
        ) as active:
            mlflow.log_params(
                {
                    "dataset": dataset.name,
                    "dataset_id": dataset.dataset_id,
                    "records": len(data),
                    "skipped": len(skipped),
                    "llm": choice.kind,
                    "llm_model": choice.model,
                    "system_prompt_sha256": prompt_digest,
                    "system_prompt_chars": len(prompt),
                    "context_chars": settings.llm_context_chars,
                    "scorers": ",".join(s.name for s in scoring.scorers),
                }
            )
            run_url = evaluation_run_url(
                settings.mlflow_ui_base, str(eval_experiment), active.info.run_id
            )
            # MLflow prints its own notice and link: the table below is stdout's only text.
            with contextlib.redirect_stdout(sys.stderr):
                result = mlflow.genai.evaluate(
                    data=data, predict_fn=Replay(choice, settings), scorers=scoring.scorers
                )
    except TRACKING_ERRORS as error:
        raise EvalError(f"the evaluation stopped: {error}") from error
    names = [s.name for s in scoring.scorers]
    rows = _rows(result.result_df, names)
    summary = summarize(rows, names, scoring.thresholds, records=len(data), skipped=skipped)
    print(render(summary, heading, run_url), file=out)


@dataclass(frozen=True)
class Scoring:
    scorers: list[Scorer]
    thresholds: dict[str, float]  # a numeric scorer's pass mark
    described: str


def _scoring(choice: LlmChoice, options: Options) -> Scoring:
    """Code scorers without an LLM; with one, MLflow's judges on its endpoint."""
    if choice.kind == OFFLINE:
        return Scoring(
            code_scorers(options.min_similarity),
            {SIMILARITY: options.min_similarity},
            f"code scorers (no LLM configured; similarity ≥ {options.min_similarity:g})",
        )
    judge = _point_judges_at(choice, options.judge_model)
    return Scoring(judge_scorers(judge), {}, f"LLM judges ({judge} at {choice.base_url})")


def _bot_experiment(settings: EvalSettings) -> str:
    try:
        experiment = mlflow.get_experiment_by_name(settings.mlflow_experiment_name)
    except TRACKING_ERRORS as error:
        raise EvalError(
            f"the MLflow tracking server at {settings.mlflow_tracking_uri} did not answer: "
            f"{_first_line(error)}"
        ) from error
    if experiment is None:
        raise EvalError(
            f"no experiment {settings.mlflow_experiment_name!r} on "
            f"{settings.mlflow_tracking_uri}, so no evaluation dataset "
            f"{settings.feedback_dataset!r} (is MLFLOW_EXPERIMENT_NAME the bot's?)"
        )
    return str(experiment.experiment_id)


def _dataset(settings: EvalSettings, experiment_id: str) -> EvaluationDataset:
    """The dataset the bot adds answers to: the oldest of that name in its experiment."""
    name = settings.feedback_dataset
    try:
        found = search_datasets(
            experiment_ids=[experiment_id],
            filter_string=f"name = {_quoted(name)}",
            order_by=["created_time ASC"],
        )
    except TRACKING_ERRORS as error:
        raise EvalError(
            f"the tracking server at {settings.mlflow_tracking_uri} refused to search its "
            f"evaluation datasets (they need a SQL backend store): {_first_line(error)}"
        ) from error
    named = [dataset for dataset in found if dataset.name == name]
    if not named:
        raise EvalError(
            f"no evaluation dataset {name!r} in experiment "
            f"{settings.mlflow_experiment_name!r}: add answers to it first "
            "(docs/feedback-to-better-bot.md), or name another with --dataset"
        )
    return named[0]


def _quoted(name: str) -> str:
    """`name` as a string of MLflow's search filters, which escape no quote: a name with a
    single quote goes in double quotes."""
    if "'" not in name:
        return f"'{name}'"
    if '"' not in name:
        return f'"{name}"'
    raise EvalError(f"the dataset name {name!r} has both kinds of quotes: MLflow cannot search it")


def _point_judges_at(choice: LlmChoice, judge_model: str | None) -> str:
    """MLflow's judges reach an OpenAI-compatible endpoint through its `openai` provider,
    configured by environment variables: the bot's own endpoint and key."""
    os.environ["OPENAI_API_BASE"] = str(choice.base_url)
    # A local Ollama takes no key, but the provider wants one.
    os.environ["OPENAI_API_KEY"] = choice.api_key or "no-key"
    return f"openai:/{judge_model or choice.model}"


def _rows(result: Any, names: list[str]) -> list[Row]:
    if result is None:
        return []
    rows = []
    for record in result.to_dict(orient="records"):
        request = record.get("request")
        question = request.get("question") if isinstance(request, dict) else None
        rows.append(
            Row(
                trace_id=_plain(record.get("trace_id")),
                question=question if isinstance(question, str) else "",
                scores={
                    name: Score(
                        value=_plain(record.get(f"{name}/value")),
                        error=_plain(record.get(f"{name}/error_message")),
                        rationale=_plain(record.get(f"{name}/rationale")),
                    )
                    for name in names
                },
            )
        )
    return rows


def _plain(value: Any) -> Any:
    """A value of MLflow's result table as plain Python: NaN and None are None."""
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _description(prompt: str, choice: LlmChoice) -> str:
    shown = prompt if len(prompt) <= DESCRIPTION_CHARS else prompt[:DESCRIPTION_CHARS] + "…"
    return f"`make eval` with {choice.describe()}.\n\nSystem prompt:\n\n```\n{shown}\n```"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
