"""The bot's settings, read from the environment and `.env`.

Secrets are `SecretStr`: they never appear in `repr`, logs or error messages.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant for the employees of this company, answering in Slack. "
    "Be concise and accurate; say so when you do not know."
)


S = TypeVar("S", bound="TrackingSettings")


# The URL schemes DATABASE_URL may have (platforms' Postgres add-ons say `postgres://`).
POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


class ConfigError(Exception):
    """A missing or malformed setting; the message names the variable."""


class TrackingSettings(BaseSettings):
    """What every command needs: the MLflow tracking server and experiment.

    `python -m bot report|export` read only these, so they run without Slack secrets.
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    # MLflow
    mlflow_tracking_uri: str = Field(description="the tracking server's http(s) URL")
    mlflow_experiment_name: str = Field(
        default="slack-genai-bot", min_length=1, description="an experiment name"
    )
    mlflow_ui_url: str | None = Field(
        default=None, description="the MLflow UI's URL (defaults to the tracking URI)"
    )
    mlflow_request_timeout_s: int = Field(
        default=5, ge=1, le=120, description="seconds per tracking-server request (1-120)"
    )
    mlflow_request_retries: int = Field(
        default=1, ge=0, le=10, description="retries per tracking-server request (0-10)"
    )

    @field_validator("mlflow_tracking_uri")
    @classmethod
    def _http_tracking_uri(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                "mlflow-tracing needs an HTTP tracking server (http://… or https://…); "
                "a local path, file: or sqlite: URI records nothing"
            )
        return value.rstrip("/")

    @property
    def mlflow_ui_base(self) -> str:
        return (self.mlflow_ui_url or self.mlflow_tracking_uri).rstrip("/")


class Settings(TrackingSettings):
    """Everything the bot needs to serve Slack."""

    # Slack
    slack_bot_token: SecretStr = Field(description="the bot token, xoxb-…")
    slack_signing_secret: SecretStr = Field(description="the app's signing secret")
    slack_app_token: SecretStr | None = Field(
        default=None, description="an app-level token, xapp-…; set it for Socket Mode"
    )
    slack_api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://slack.com/api/"),
        description="the base URL of the Slack Web API",
    )
    slack_streaming: bool = Field(
        default=True, description="stream answers with chat.startStream (true/false)"
    )
    port: int = Field(default=3000, ge=1, le=65535, description="a TCP port, 1-65535")

    # LLM
    openai_base_url: AnyHttpUrl | None = Field(
        default=None, description="an OpenAI-compatible base URL including /v1"
    )
    openai_api_key: SecretStr | None = Field(default=None, description="the LLM API key")
    llm_model: str = Field(default="gpt-4o-mini", min_length=1, description="a model name")
    ollama_url: AnyHttpUrl | None = Field(
        default=AnyHttpUrl("http://127.0.0.1:11434"),
        description="a local Ollama's URL, tried when OPENAI_BASE_URL is unset (empty: never)",
    )
    llm_system_prompt: str = Field(default=DEFAULT_SYSTEM_PROMPT, description="a system prompt")
    llm_timeout_s: float = Field(
        default=60.0,
        gt=0,
        le=280,
        description="seconds (0 < s ≤ 280; Slack streams end after ~5 min) to wait for the LLM",
    )
    llm_context_chars: int = Field(
        default=24000, ge=1000, description="the character budget of a prompt (≥ 1000)"
    )

    # Feedback and report
    feedback_report_allow_workspace_admins: bool = Field(
        default=False,
        description="let workspace admins and owners run /feedback-report too (true/false)",
    )
    feedback_report_admins: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(), description="comma-separated Slack user IDs, e.g. U012,U034"
    )
    feedback_trace_wait_s: float = Field(
        default=3600.0,
        gt=0,
        description="seconds to keep retrying feedback on a trace not yet on the server (> 0)",
    )
    bot_data_dir: Path = Field(
        default=Path("data"), description="a writable directory for durable local state"
    )
    trace_retry_for_s: float = Field(
        default=86400.0,
        gt=0,
        description="seconds to keep retrying a trace the tracking server does not take (> 0)",
    )
    question_max_age_s: float = Field(
        default=600.0,
        gt=0,
        description="seconds after which a question not yet answered gets an apology (> 0)",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql://user:password@host/db (or postgres://…) to keep the store "
        "on PostgreSQL, shared by every instance; unset: SQLite in BOT_DATA_DIR",
    )
    question_lease_s: float = Field(
        default=60.0,
        ge=5,
        description="seconds a worker holds a question before another may take it (≥ 5)",
    )

    @field_validator("feedback_report_admins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            ids = [part.strip() for part in value.split(",") if part.strip()]
            for user_id in ids:
                if not user_id.isalnum() or not user_id[0].isupper():
                    raise ValueError(f"{user_id!r} is not a Slack user ID (like U0123ABCD)")
            return frozenset(ids)
        return value

    @field_validator("slack_app_token", "openai_api_key", "database_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(POSTGRES_SCHEMES):
            raise ValueError("not a postgresql:// or postgres:// URL")
        return value

    @property
    def store_url(self) -> str | None:
        """Where the store lives: a PostgreSQL URL, or None for SQLite in `bot_data_dir`."""
        return None if self.database_url is None else self.database_url.get_secret_value()

    @field_validator("openai_base_url", "ollama_url", mode="before")
    @classmethod
    def _empty_url_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def slack_api_base(self) -> str:
        url = str(self.slack_api_url)
        return url if url.endswith("/") else url + "/"


def _describe(error: dict) -> str:
    name = str(error["loc"][0]).upper() if error.get("loc") else "configuration"
    field = Settings.model_fields.get(str(error["loc"][0]).lower()) if error.get("loc") else None
    wants = field.description if field and field.description else ""
    if error.get("type") == "missing":
        return f"{name} is not set: it should hold {wants}"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{name} is invalid ({message}): it should hold {wants}"


def settings_or_exit(load: Callable[[], S]) -> S:
    """`load()`, or exit 2 with one `configuration error:` line per bad variable on stderr."""
    try:
        return load()
    except ConfigError as error:
        for line in str(error).splitlines():
            print(f"configuration error: {line}", file=sys.stderr)
        raise SystemExit(2) from None


def load_settings(**overrides: object) -> Settings:
    """Build the settings or raise `ConfigError` with one line per bad variable."""
    return _load(Settings, overrides)


def load_tracking_settings(**overrides: object) -> TrackingSettings:
    """Only the MLflow settings (for commands that never talk to Slack)."""
    return _load(TrackingSettings, overrides)


def _load(kind: type[S], overrides: dict[str, object]) -> S:
    try:
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(dict(e)) for e in exc.errors())) from None
