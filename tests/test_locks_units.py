"""The lock files cover what pyproject.toml declares (fast layer): a dependency added without
`make lock` fails here, not in a fresh environment's `pip check` minutes into CI."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised as pip does (`psycopg[binary]==3.3.*`
    → `psycopg`)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]).lower()


def _locked(lock: str) -> set[str]:
    pinned = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", (ROOT / lock).read_text(), re.M)
    return {_name(name) for name in pinned}


def _declared(*extras: str) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return {_name(requirement) for requirement in requirements}


@pytest.mark.parametrize(
    ("lock", "extras"),
    [("requirements.lock", ("dev",)), ("requirements-eval.lock", ("eval",))],
)
def test_every_declared_dependency_is_locked(lock: str, extras: tuple[str, ...]) -> None:
    missing = _declared(*extras) - _locked(lock)
    assert not missing, f"{lock} lacks {sorted(missing)}: run `make lock` and commit it"


def test_names_are_read_as_pip_reads_them() -> None:
    assert _name("psycopg[binary]==3.3.*") == "psycopg"
    assert _name("slack_bolt==1.30.*") == "slack-bolt"
    assert _name("mlflow-tracing==3.17.2") == "mlflow-tracing"
