"""The bot's settings, read from the environment and `.env`.

Secrets are `SecretStr`: they never appear in `repr`, logs or error messages.
"""

from __future__ import annotations

import json
import re
import string
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from config.broadcast_values import (
    channel_id,
    cron_expression,
    duration_s,
    percentage,
    time_zone,
)

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant for the employees of this company, answering in Slack. "
    "Be concise and accurate; say so when you do not know."
)


# Slack shows at most four suggested prompts in an assistant thread.
MAX_ASSISTANT_PROMPTS = 4


class AssistantPrompt(BaseModel):
    """A suggested prompt of the assistant panel: its button label, and what clicking sends."""

    title: str = Field(min_length=1, max_length=75)
    message: str = Field(min_length=1, max_length=2000)


DEFAULT_ASSISTANT_PROMPTS = (
    AssistantPrompt(
        title="What can you help with?",
        message="What can you help me with, and what should I better ask a colleague?",
    ),
    AssistantPrompt(
        title="Draft a message",
        message="Help me draft a short, friendly message to my team announcing a change.",
    ),
    AssistantPrompt(
        title="Explain a term",
        message="Explain in plain words, with an example, what a service-level objective is.",
    ),
    AssistantPrompt(
        title="Summarize a text",
        message="Summarize the text I paste next in three bullet points.",
    ),
)

S = TypeVar("S", bound=BaseSettings)

# The digest's and the alerts' values (config/broadcast_values.py), each checked as it is read.
Duration = Annotated[float, BeforeValidator(duration_s)]
CronExpression = Annotated[str, BeforeValidator(cron_expression)]
TimeZoneName = Annotated[str, BeforeValidator(time_zone)]
ChannelId = Annotated[str | None, BeforeValidator(channel_id)]
Percent = Annotated[float, BeforeValidator(percentage)]

_SETTINGS_CONFIG = SettingsConfigDict(
    env_file=".env",
    env_file_encoding="utf-8",
    extra="ignore",
    case_sensitive=False,
    hide_input_in_errors=True,
)

DEFAULT_FEEDBACK_REASONS = (
    "Inaccurate",
    "Incomplete",
    "Not what I asked",
    "Outdated",
    "Inappropriate",
    "Other",
)
# Slack's limits: a button's or an option's text is at most 75 characters; the follow-up
# keeps its buttons to one row of choices.
REASON_LABEL_MAX_CHARS = 75
REASONS_MAX = 10


def reason_key(label: str) -> str:
    """The stored value of a 👎 reason: its label in lower case, words joined by `_`
    ("Not what I asked" → `not_what_i_asked`)."""
    return "_".join(re.findall(r"[a-z0-9]+", label.lower()))


# The URL schemes DATABASE_URL may have (platforms' Postgres add-ons say `postgres://`).
POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


# The port `make run` serves its local MLflow tracking server on, when free (sandbox/devstack.py).
LOCAL_MLFLOW_PORT = 5000


class ConfigError(Exception):
    """A missing or malformed setting; the message names the variable."""


class TrackingSettings(BaseSettings):
    """What every command needs: the MLflow tracking server and experiment.

    `python -m bot report|export` read only these, so they run without Slack secrets.
    """

    model_config = _SETTINGS_CONFIG

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
    feedback_dataset: str = Field(
        default="slack-feedback",
        min_length=1,
        max_length=200,
        description="the evaluation dataset answers are added to (created on first use)",
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


class LlmChoiceSettings(BaseSettings):
    """Which LLM answers (`bot.llm.choice`): the only home of these defaults, read by the bot,
    `python -m bot check` and `make run`."""

    model_config = _SETTINGS_CONFIG

    openai_base_url: AnyHttpUrl | None = Field(
        default=None, description="an OpenAI-compatible base URL including /v1"
    )
    openai_api_key: SecretStr | None = Field(default=None, description="the LLM API key")
    llm_model: str = Field(default="gpt-4o-mini", min_length=1, description="a model name")
    ollama_url: AnyHttpUrl | None = Field(
        default=AnyHttpUrl("http://127.0.0.1:11434"),
        description="a local Ollama's URL, tried when OPENAI_BASE_URL is unset (empty: never)",
    )

    @field_validator("openai_api_key", mode="before")
    @classmethod
    def _empty_key_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("openai_base_url", "ollama_url", mode="before")
    @classmethod
    def _empty_url_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class StoreSettings(BaseSettings):
    """Where the store of work in flight lives: what `python -m bot store|migrate` read, so
    they run without Slack secrets."""

    model_config = _SETTINGS_CONFIG

    bot_data_dir: Path = Field(
        default=Path("data"), description="a writable directory for durable local state"
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql://user:password@host/db (or postgres://…) to keep the store "
        "on PostgreSQL, shared by every instance; unset: SQLite in BOT_DATA_DIR",
    )

    @field_validator("database_url", mode="before")
    @classmethod
    def _empty_database_url_is_unset(cls, value: object) -> object:
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


class AnsweringSettings(LlmChoiceSettings):
    """How the bot answers: the LLM (LlmChoiceSettings), its system prompt, timeout and prompt
    budget. `make eval` reads these too, to replay the dataset exactly as the bot answers."""

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


class Settings(AnsweringSettings, TrackingSettings, StoreSettings):
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
    slack_allowed_team_ids: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(),
        description="comma-separated team and enterprise IDs the bot serves, e.g. T012,E034 "
        "(unset: the bot token's own, from auth.test)",
    )
    slack_streaming: bool = Field(
        default=True, description="stream answers with chat.startStream (true/false)"
    )
    port: int = Field(default=3000, ge=1, le=65535, description="a TCP port, 1-65535")

    # The assistant panel
    assistant_prompts: Annotated[tuple[AssistantPrompt, ...], NoDecode] = Field(
        default=DEFAULT_ASSISTANT_PROMPTS,
        max_length=MAX_ASSISTANT_PROMPTS,
        description='a JSON list of up to 4 prompts, each "text" or {"title": …, "message": …}',
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
    feedback_ask_reason: bool = Field(
        default=True, description="ask the voter what went wrong after a 👎 (true/false)"
    )
    feedback_reasons: Annotated[tuple[str, ...], NoDecode] = Field(
        default=DEFAULT_FEEDBACK_REASONS,
        description=(
            f"comma-separated reasons offered after a 👎 (1-{REASONS_MAX}, each at most "
            f"{REASON_LABEL_MAX_CHARS} characters, distinct), e.g. Inaccurate,Outdated,Other"
        ),
    )
    dataset_auto_add: Literal["off", "corrected", "negative"] = Field(
        default="off",
        description=(
            "add answers to the evaluation dataset as feedback lands: off, corrected (when a "
            "correction lands) or negative (a 👎 or a correction)"
        ),
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
    question_lease_s: float = Field(
        default=60.0,
        ge=5,
        description="seconds a worker holds a question before another may take it (≥ 5)",
    )
    answers_in_flight: int = Field(
        default=256,
        ge=1,
        le=10_000,
        description="questions a worker answers at once (1 to 10000): at least questions a "
        "second × an answer's seconds (10/s × 8 s streamed = 80), or questions queue behind "
        "answers still streaming",
    )

    # The digest and the alerts (docs/digest-and-alerts.md)
    feedback_timezone: TimeZoneName = Field(
        default="UTC", description="an IANA time zone name, e.g. Europe/Warsaw"
    )
    feedback_digest_channel: ChannelId = Field(
        default=None, description="the ID of the channel the digest goes to, e.g. C0123ABCD"
    )
    feedback_digest_cron: CronExpression = Field(
        default="0 9 * * MON",
        description="a 5-field cron expression in FEEDBACK_TIMEZONE, e.g. 0 9 * * MON",
    )
    feedback_alert_channel: ChannelId = Field(
        default=None, description="the ID of the channel alerts go to, e.g. C0123ABCD"
    )
    feedback_alert_every: Duration = Field(
        default=300.0, ge=1, description="a duration of at least 1s between checks, e.g. 5m"
    )
    feedback_alert_window: Duration = Field(
        default=86400.0, ge=60, description="a duration of at least 1m, e.g. 24h"
    )
    feedback_alert_baseline: Duration = Field(
        default=7 * 86400.0, ge=60, description="a duration of at least 1m, e.g. 7d"
    )
    feedback_alert_min_votes: int = Field(
        default=20, ge=1, description="the votes a window needs before it alerts (≥ 1)"
    )
    feedback_alert_drop: Percent = Field(
        default=15.0, gt=0, le=100, description="percentage points (0 < points ≤ 100), e.g. 15"
    )
    feedback_alert_floor: Percent = Field(
        default=50.0, ge=0, le=100, description="a positive rate in percent (0-100), e.g. 50%"
    )

    @field_validator("feedback_reasons", mode="before")
    @classmethod
    def _reason_labels(cls, value: object) -> object:
        labels = (
            [part.strip() for part in value.split(",") if part.strip()]
            if isinstance(value, str)
            else value
        )
        if not isinstance(labels, list | tuple):
            return labels
        keys = [reason_key(str(label)) for label in labels]
        if not 1 <= len(labels) <= REASONS_MAX:
            raise ValueError(f"{len(labels)} reasons")
        if any(len(str(label)) > REASON_LABEL_MAX_CHARS for label in labels):
            raise ValueError(f"a reason longer than {REASON_LABEL_MAX_CHARS} characters")
        if "" in keys or len(set(keys)) != len(keys):
            raise ValueError("reasons must differ in their letters or digits")
        return tuple(str(label) for label in labels)

    @field_validator("feedback_report_admins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _slack_ids(value, string.ascii_uppercase, "a Slack user ID (like U0123ABCD)")

    @field_validator("slack_allowed_team_ids", mode="before")
    @classmethod
    def _team_ids(cls, value: object) -> object:
        return _slack_ids(value, "TE", "a Slack team or enterprise ID (T…, E…)")

    @field_validator("assistant_prompts", mode="before")
    @classmethod
    def _prompt_text_is_title_and_message(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else []
            except ValueError:
                raise ValueError("not JSON") from None
        if isinstance(value, list | tuple):
            return [{"title": v, "message": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("slack_app_token", mode="before")
    @classmethod
    def _empty_token_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def feedback_reason_labels(self) -> dict[str, str]:
        """The 👎 reasons offered, stored value → label, in the configured order."""
        return {reason_key(label): label for label in self.feedback_reasons}

    @property
    def feedback_zone(self) -> ZoneInfo:
        return ZoneInfo(self.feedback_timezone)

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def slack_api_base(self) -> str:
        url = str(self.slack_api_url)
        return url if url.endswith("/") else url + "/"


def _describe(error: dict, kind: type[BaseSettings] = Settings) -> str:
    name = str(error["loc"][0]).upper() if error.get("loc") else "configuration"
    field = kind.model_fields.get(str(error["loc"][0]).lower()) if error.get("loc") else None
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


def load_llm_choice_settings(**overrides: object) -> LlmChoiceSettings:
    """Only the settings that choose the LLM (for `make run`'s summary)."""
    return _load(LlmChoiceSettings, overrides)


def load_tracking_settings(**overrides: object) -> TrackingSettings:
    """Only the MLflow settings (for commands that never talk to Slack)."""
    return _load(TrackingSettings, overrides)


def load_settings_of(kind: type[S], **overrides: object) -> S:
    """Settings of another `kind` (e.g. `make eval`'s), read and checked as the bot's are."""
    return _load(kind, overrides)


def _load(kind: type[S], overrides: dict[str, object]) -> S:
    try:
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(dict(e), kind) for e in exc.errors())) from None


def _slack_ids(value: object, first_letters: str, what: str) -> object:
    """A comma-separated text of Slack IDs as a set, each checked to start with one of
    `first_letters`; anything else is left to pydantic."""
    if not isinstance(value, str):
        return value
    ids = [part.strip() for part in value.split(",") if part.strip()]
    for one in ids:
        if not one.isalnum() or one[0] not in first_letters:
            raise ValueError(f"{one!r} is not {what}")
    return frozenset(ids)
