"""Configuration: one `Settings` object, built once at start-up and passed in."""

from config.settings import (
    AnsweringSettings,
    ConfigError,
    LlmChoiceSettings,
    Settings,
    TrackingSettings,
    load_llm_choice_settings,
    load_settings,
    load_settings_of,
    load_tracking_settings,
    settings_or_exit,
)

__all__ = [
    "AnsweringSettings",
    "ConfigError",
    "LlmChoiceSettings",
    "Settings",
    "TrackingSettings",
    "load_llm_choice_settings",
    "load_settings",
    "load_settings_of",
    "load_tracking_settings",
    "settings_or_exit",
]
