"""The tree itself: no module nobody imports, and tests that share helpers through
tests/support/ (a test file imported by another one runs its own fixtures' imports twice and
ties two test files' contents together)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "config")
# Modules run by name (`python -m …`, the Procfile), not imported.
ENTRY_POINTS = {"bot.__main__", "bot.runtime.worker_main"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(tree: ast.Module, package: str) -> set[str]:
    """Every module `tree` imports (a `from a import b` counts for `a` and for `a.b`)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _sources() -> dict[str, ast.Module]:
    """Every module of the tree, packages (their `__init__`) left out."""
    trees = {}
    for top in (*PACKAGES, "devkit", "sandbox", "bench", "tests"):
        for path in (ROOT / top).rglob("*.py"):
            if path.name != "__init__.py":
                trees[_module_name(path)] = ast.parse(path.read_text(), str(path))
    return trees


def test_every_module_of_the_product_is_imported_somewhere() -> None:
    trees = _sources()
    imported: set[str] = set()
    for name, tree in trees.items():
        package = name if name.count(".") == 0 else name.rsplit(".", 1)[0]
        imported |= _imported(tree, package)
    product = {name for name in trees if name.split(".")[0] in PACKAGES}
    orphans = sorted(product - imported - ENTRY_POINTS)
    assert not orphans, f"modules nothing imports (dead code?): {orphans}"


def test_test_files_share_helpers_through_tests_support_only() -> None:
    importers = {
        name: sorted(
            imported
            for imported in _imported(tree, "tests")
            if imported.startswith("tests.test_") and imported.count(".") == 1
        )
        for name, tree in _sources().items()
        if name.startswith("tests.")
    }
    offenders = {name: imports for name, imports in importers.items() if imports}
    assert not offenders, f"move the shared helpers to tests/support/: {offenders}"
