"""Configuration: one `Settings` object, built once at start-up and passed in."""

from config.settings import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "load_settings"]
