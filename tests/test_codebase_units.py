"""The tree itself: no module nobody imports, tests that share helpers through tests/support/
(a test file imported by another one runs its own fixtures' imports twice and ties two test
files' contents together), and a front that loads no MLflow."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "config")
# Modules run by name (`python -m …`, the Procfile), not imported.
ENTRY_POINTS = {"bot.__main__", "bot.runtime.worker_main"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


_FROM_IMPORT = re.compile(
    r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]+)", re.M
)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n]+)", re.M)


def _imported(source: str, package: str) -> set[str]:
    """Every module `source` imports (a `from a import b` counts for `a` and for `a.b`).
    (Read with regular expressions, not `ast`: the whole tree in a fraction of the time.)"""
    names: set[str] = set()
    for line in _IMPORT.findall(source):
        names.update(part.split(" as ")[0].strip() for part in line.split("#")[0].split(","))
    for dots, module, imported in _FROM_IMPORT.findall(source):
        base = module
        if dots:
            parent = package.split(".")[: len(package.split(".")) - len(dots) + 1]
            base = ".".join([*parent, module] if module else parent)
        names.add(base)
        for part in re.sub(r"#[^\n]*", "", imported).strip("()").split(","):
            name = part.split(" as ")[0].strip()
            if name:
                names.add(f"{base}.{name}")
    return names


@functools.cache
def _sources() -> dict[str, str]:
    """Every module of the tree, packages (their `__init__`) left out."""
    sources = {}
    for top in (*PACKAGES, "devkit", "sandbox", "bench", "tests"):
        for path in (ROOT / top).rglob("*.py"):
            if path.name != "__init__.py":
                sources[_module_name(path)] = path.read_text()
    return sources


def test_every_module_of_the_product_is_imported_somewhere() -> None:
    sources = _sources()
    imported: set[str] = set()
    for name, source in sources.items():
        package = name if name.count(".") == 0 else name.rsplit(".", 1)[0]
        imported |= _imported(source, package)
    product = {name for name in sources if name.split(".")[0] in PACKAGES}
    orphans = sorted(product - imported - ENTRY_POINTS)
    assert not orphans, f"modules nothing imports (dead code?): {orphans}"


def test_test_files_share_helpers_through_tests_support_only() -> None:
    importers = {
        name: sorted(
            imported
            for imported in _imported(source, "tests")
            if imported.startswith("tests.test_") and imported.count(".") == 1
        )
        for name, source in _sources().items()
        if name.startswith("tests.")
    }
    offenders = {name: imports for name, imports in importers.items() if imports}
    assert not offenders, f"move the shared helpers to tests/support/: {offenders}"


# What `python -m bot` imports to serve Slack, in a fresh interpreter, then which of the
# worker's libraries were loaded.
FRONT_IMPORTS = """
import sys
import bot.__main__, bot.runtime.service
loaded = {name.split(".")[0] for name in sys.modules}
print(sorted(loaded & {"mlflow", "opentelemetry", "requests"}))
"""


@pytest.mark.slow  # a fresh interpreter: this one's modules are the tests'
def test_the_front_loads_no_mlflow() -> None:
    """MLflow (with OpenTelemetry and requests: ~18 MB of idle memory, bench/notes.md) is the
    worker's: a module the front imports that imports it (a report figure, a feedback rule)
    puts it in the front's memory too."""
    run = subprocess.run(
        [sys.executable, "-c", FRONT_IMPORTS],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
