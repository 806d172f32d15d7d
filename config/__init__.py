"""Configuration: one `Settings` object, built once at start-up and passed in."""

from config.settings import (
    ConfigError,
    LlmChoiceSettings,
    Settings,
    StoreSettings,
    TrackingSettings,
    load_llm_choice_settings,
    load_settings,
    load_store_settings,
    load_tracking_settings,
    settings_or_exit,
)

__all__ = [
    "ConfigError",
    "LlmChoiceSettings",
    "Settings",
    "StoreSettings",
    "TrackingSettings",
    "load_llm_choice_settings",
    "load_settings",
    "load_store_settings",
    "load_tracking_settings",
    "settings_or_exit",
]
