"""Configuration: one `Settings` object, built once at start-up and passed in."""

from config.settings import (
    LOCAL_MLFLOW_PORT,
    AnsweringSettings,
    ConfigError,
    LlmChoiceSettings,
    Settings,
    StoreSettings,
    TrackingSettings,
    load_llm_choice_settings,
    load_settings,
    load_settings_of,
    load_tracking_settings,
    settings_or_exit,
)

__all__ = [
    "LOCAL_MLFLOW_PORT",
    "AnsweringSettings",
    "ConfigError",
    "LlmChoiceSettings",
    "Settings",
    "StoreSettings",
    "TrackingSettings",
    "load_llm_choice_settings",
    "load_settings",
    "load_settings_of",
    "load_tracking_settings",
    "settings_or_exit",
]
