"""`make lint`'s link check (fast layer): what resolves and what does not."""

from __future__ import annotations

from pathlib import Path

from devkit.doc_links import broken_links, main, slug


def _page(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_links_to_files_and_headings_that_exist_resolve(tmp_path: Path) -> None:
    _page(tmp_path, "docs/deploy.md", "# Deployment\n\n## Scaling out\n")
    _page(tmp_path, "manifest.json", "{}")
    readme = _page(
        tmp_path,
        "README.md",
        "# Top\n\n## Read on\n\nSee [deploy](docs/deploy.md#scaling-out), [the manifest]"
        "(manifest.json), [above](#read-on), ![a picture](docs/deploy.md) and "
        "[Slack](https://api.slack.com/apps).\n",
    )
    assert list(broken_links(readme)) == []


def test_a_missing_file_and_a_missing_heading_are_reported_with_their_line(
    tmp_path: Path,
) -> None:
    _page(tmp_path, "docs/deploy.md", "# Deployment\n")
    readme = _page(
        tmp_path,
        "README.md",
        "# Top\n\n[gone](docs/gone.md)\n"
        "[no such part](docs/deploy.md#scaling-out)\n[here](#nowhere)\n",
    )
    assert list(broken_links(readme)) == [
        f"{readme}:3: docs/gone.md (no such file)",
        f"{readme}:4: docs/deploy.md#scaling-out (no heading #scaling-out in deploy.md)",
        f"{readme}:5: #nowhere (no heading #nowhere in README.md)",
    ]


def test_links_shown_as_code_are_not_links(tmp_path: Path) -> None:
    readme = _page(
        tmp_path, "README.md", "Write `[x](missing.md)` like this:\n\n```\n[y](missing.md)\n```\n"
    )
    assert list(broken_links(readme)) == []


def test_headings_are_slugged_as_github_slugs_them() -> None:
    assert slug("Quickstart: no Slack workspace, no LLM key") == (
        "quickstart-no-slack-workspace-no-llm-key"
    )
    assert slug("`make eval` and the dataset") == "make-eval-and-the-dataset"


def test_the_command_fails_on_a_broken_link(tmp_path: Path) -> None:
    good = _page(tmp_path, "good.md", "# Fine\n")
    bad = _page(tmp_path, "docs/bad.md", "[gone](nowhere.md)\n")
    assert main([str(good)]) == 0
    assert main([str(tmp_path / "docs")]) == 1
    assert bad.exists()


def test_the_repository_s_own_pages_resolve() -> None:
    root = Path(__file__).resolve().parents[1]
    assert main([str(root / "README.md"), str(root / "docs")]) == 0


def test_a_project_file_named_in_code_must_exist(tmp_path: Path) -> None:
    _page(tmp_path, "pyproject.toml", "")
    _page(tmp_path, "bot/runtime/worker.py", "")
    page = _page(
        tmp_path,
        "docs/map.md",
        "The worker (`bot/runtime/worker.py`, `bot/runtime/`) and `bot/gone.py`;\n"
        "`python -m bot` and `data/store.sqlite3` are not project files.\n",
    )
    assert list(broken_links(page)) == [f"{page}:1: bot/gone.py (named in code, no such file)"]
