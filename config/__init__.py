"""Configuration: one `Settings` object, built once at start-up and passed in."""

from config.settings import (
    ConfigError,
    Settings,
    TrackingSettings,
    load_settings,
    load_tracking_settings,
    settings_or_exit,
)

__all__ = [
    "ConfigError",
    "Settings",
    "TrackingSettings",
    "load_settings",
    "load_tracking_settings",
    "settings_or_exit",
]
