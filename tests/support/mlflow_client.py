"""For tests that configure MLflow's client inside the test process (`bound_mlflow_client`
writes the environment and the process-wide tracking URI): both are put back afterwards, so
no later test in the same worker talks to a server that is gone."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow


@contextmanager
def mlflow_client_restored() -> Iterator[None]:
    environment = dict(os.environ)
    tracking_uri = mlflow.get_tracking_uri() if mlflow.tracking.is_tracking_uri_set() else None
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environment)
        mlflow.set_tracking_uri(tracking_uri)  # type: ignore[arg-type]  # None: unset again
