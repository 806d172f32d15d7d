"""`make lint`'s link check: every relative link in README.md and docs/ resolves, and every
file of the project a page names in code (`bot/runtime/worker.py`) exists.

A link resolves when the file it names exists (relative to the page) and, when it names a
heading (`page.md#a-heading`, or `#a-heading` on the same page), the page has that heading,
slugged as GitHub slugs them. External links (`https:`, `mailto:`) are not fetched. A path in
a code span is the project's when it starts with one of its top-level folders (`PROJECT_DIRS`);
it is looked up from the project's root (the folder with pyproject.toml above the page).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

# [text](target) and ![alt](target); a target ends at white space or ")"; code spans are
# removed first, so `[x](y)` shown as code is not a link.
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_FENCE = re.compile(r"^(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
PROJECT_DIRS = ("bot", "handlers", "config", "evaluation", "devkit", "sandbox", "bench", "tests")
_PROJECT_PATH = re.compile(rf"^(?:{'|'.join(PROJECT_DIRS)})/[\w./-]*[\w/]$")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = _CODE_SPAN.sub(lambda m: m.group(0).strip("`"), heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """The page's lines outside fenced code blocks, numbered from 1."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def anchors(page: Path) -> set[str]:
    """The anchors a page's headings make (a repeated heading gets `-1`, `-2`, … as on GitHub)."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in _prose_lines(page.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(page: Path) -> Iterator[str]:
    """`page:line: target (why)` for each relative link of `page` that does not resolve, and
    each project file named in code that does not exist."""
    root = _project_root(page)
    for number, line in _prose_lines(page.read_text(encoding="utf-8")):
        for match in _LINK.finditer(_CODE_SPAN.sub("", line)):
            target = match.group(1)
            if _EXTERNAL.match(target):
                continue
            path_part, _, fragment = target.partition("#")
            linked = (page.parent / path_part).resolve() if path_part else page.resolve()
            if not linked.exists():
                yield f"{page}:{number}: {target} (no such file)"
            elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
                yield f"{page}:{number}: {target} (no heading #{fragment} in {linked.name})"
        for span in _CODE_SPAN.findall(line):
            named = span.strip("`").strip()
            if root is not None and _PROJECT_PATH.match(named) and not (root / named).exists():
                yield f"{page}:{number}: {named} (named in code, no such file)"


def _project_root(page: Path) -> Path | None:
    """The folder above `page` that holds pyproject.toml, if any."""
    for folder in page.resolve().parents:
        if (folder / "pyproject.toml").exists():
            return folder
    return None


def pages(paths: Iterable[str]) -> Iterator[Path]:
    """Markdown files named, and those under folders named."""
    for name in paths:
        path = Path(name)
        yield from sorted(path.rglob("*.md")) if path.is_dir() else [path]


def main(argv: list[str]) -> int:
    problems = [
        problem for page in pages(argv or ["README.md", "docs"]) for problem in broken_links(page)
    ]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
