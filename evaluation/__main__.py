"""`python -m evaluation` (`make eval`): replay the evaluation dataset through the bot's answer
path and score it. Exit 0 when it ran (failed records are in its table), 1 when it could not
(no dataset, the tracking server unreachable), 2 on a configuration error."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.common.log_setup import configure_logging
from bot.common.secret_redaction import install_secret_redaction, secrets_of
from config import load_settings_of, settings_or_exit
from evaluation.settings import EvalSettings
from evaluation.similarity import MIN_SIMILARITY


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="make eval", description=__doc__)
    p.add_argument(
        "--dataset", metavar="NAME", help="the dataset's name (default: FEEDBACK_DATASET)"
    )
    p.add_argument("--limit", type=_positive, metavar="N", help="replay only the first N records")
    p.add_argument(
        "--model", metavar="NAME", help="try another model of the same endpoint (LLM_MODEL)"
    )
    prompt = p.add_mutually_exclusive_group()
    prompt.add_argument(
        "--prompt", metavar="TEXT", help="try another system prompt (LLM_SYSTEM_PROMPT)"
    )
    prompt.add_argument("--prompt-file", type=Path, metavar="PATH", help="… read from this file")
    p.add_argument(
        "--judge-model", metavar="NAME", help="the judges' model (default: the answering model)"
    )
    p.add_argument(
        "--min-similarity",
        type=_share,
        metavar="X",
        default=MIN_SIMILARITY,
        help=f"without an LLM: the share of a correction's words to have ({MIN_SIMILARITY})",
    )
    p.add_argument(
        "--workers", type=_positive, default=4, metavar="N", help="records replayed at once (4)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging()
    overrides: dict[str, object] = {}
    if args.dataset is not None:
        overrides["feedback_dataset"] = args.dataset
    if args.model is not None:
        overrides["llm_model"] = args.model
    if args.prompt is not None:
        overrides["llm_system_prompt"] = args.prompt
    if args.prompt_file is not None:
        try:
            overrides["llm_system_prompt"] = args.prompt_file.read_text(encoding="utf-8")
        except OSError as error:
            print(f"error: --prompt-file: {error}", file=sys.stderr)
            return 2
    settings = settings_or_exit(lambda: load_settings_of(EvalSettings, **overrides))
    install_secret_redaction(secrets_of(settings))
    try:
        from evaluation.runner import EvalError, Options, run
    except ImportError as missing:
        print(
            f"error: evaluation needs full mlflow ({missing}): run it with `make eval`, "
            "which builds its environment (.venv-eval)",
            file=sys.stderr,
        )
        return 2
    options = Options(
        limit=args.limit,
        judge_model=args.judge_model,
        min_similarity=args.min_similarity,
        workers=args.workers,
    )
    try:
        run(settings, options)
    except EvalError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
