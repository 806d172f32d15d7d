"""The MLflow client set-up's own parts (bot/tracing.py), without a server."""

from __future__ import annotations

import importlib
import sys

import pytest

from bot.tracing import OPTIONAL_PACKAGES_MLFLOW_PROBES, remember_absent_packages


def test_an_absent_package_fails_at_once_and_an_installed_one_is_left_alone() -> None:
    missing = "no_such_package_for_the_bot_tests"
    names = (missing, "colorsys", f"{missing}.child")
    try:
        assert remember_absent_packages(names) == [missing, f"{missing}.child"]

        assert sys.modules[missing] is None
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(missing)
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(f"{missing}.child")
        assert importlib.import_module("colorsys").rgb_to_hsv(1, 0, 0) == (0, 1, 1)
    finally:
        for name in (missing, f"{missing}.child"):
            sys.modules.pop(name, None)


def test_mlflows_optional_probes_are_absent_from_the_bots_environment() -> None:
    """The list names what mlflow-tracing looks for and does not have: if one of these is
    installed one day, it is left alone (and this test says the list is stale)."""
    installed = [
        name
        for name in OPTIONAL_PACKAGES_MLFLOW_PROBES
        if sys.modules.get(name, False) is not None and _findable(name)
    ]
    assert installed == []


def _findable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
