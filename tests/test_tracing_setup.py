"""The MLflow client set-up's own parts (bot/tracing/setup.py), without a server."""

from __future__ import annotations

import importlib
import os
import sys

import mlflow
import pytest
from mlflow.environment_variables import (
    MLFLOW_ENABLE_ASYNC_TRACE_LOGGING,
    MLFLOW_HTTP_REQUEST_MAX_RETRIES,
    MLFLOW_HTTP_REQUEST_TIMEOUT,
    MLFLOW_USE_BATCH_SPAN_PROCESSOR,
)

from bot.tracing.setup import (
    OPTIONAL_PACKAGES_MLFLOW_PROBES,
    bound_mlflow_client,
    remember_absent_packages,
)
from config import TrackingSettings
from tests.support.mlflow_client import mlflow_client_restored


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


def test_spans_reach_the_bots_exporter_at_once_and_calls_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MLflow's own reading of the names: a misspelt one would leave MLflow's defaults in
    place (a batching thread holding spans for 5 s; requests retried for minutes)."""
    settings = TrackingSettings(mlflow_tracking_uri="http://127.0.0.1:1")
    monkeypatch.setattr(mlflow, "set_tracking_uri", lambda uri: None)
    with mlflow_client_restored():  # the environment as it was, after the test
        for name in [n for n in os.environ if n.startswith("MLFLOW_")]:
            del os.environ[name]  # MLflow's defaults, as in a fresh deployment

        bound_mlflow_client(settings)

        assert MLFLOW_USE_BATCH_SPAN_PROCESSOR.get() is False
        assert MLFLOW_ENABLE_ASYNC_TRACE_LOGGING.get() is False
        assert MLFLOW_HTTP_REQUEST_TIMEOUT.get() == settings.mlflow_request_timeout_s
        assert MLFLOW_HTTP_REQUEST_MAX_RETRIES.get() == settings.mlflow_request_retries
