"""What `make eval` reads: the bot's own settings for answering and tracking (the same `.env`)
and where evaluation runs go."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from config import AnsweringSettings, TrackingSettings

EVAL_EXPERIMENT_SUFFIX = "-eval"


class EvalSettings(AnsweringSettings, TrackingSettings):
    """The bot's answering and tracking settings (FEEDBACK_DATASET among them), and where
    evaluation runs go."""

    eval_experiment_name: str | None = Field(
        default=None,
        description="the experiment of evaluation runs (default: MLFLOW_EXPERIMENT_NAME-eval)",
    )

    @field_validator("eval_experiment_name")
    @classmethod
    def _not_the_bots_experiment(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value == info.data.get("mlflow_experiment_name"):
            raise ValueError(
                "it is the bot's experiment, whose report would count replayed answers as the bot's"
            )
        return value

    @property
    def evaluation_experiment(self) -> str:
        """Evaluation runs and their traces stay out of the bot's experiment, where the report
        would count their answers as the bot's."""
        return self.eval_experiment_name or self.mlflow_experiment_name + EVAL_EXPERIMENT_SUFFIX
