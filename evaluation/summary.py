"""What `make eval` prints: records, passed, failed, per-scorer figures, the run's link.

Plain values in, text out: the runner turns MLflow's result into `Row`s. A scorer's value
passes when it is True or a "yes" rating, or a number at or above the scorer's threshold; a
scorer that errs fails its record; a scorer that does not apply to a record (None) is left out.
A record passes when every scorer that applied to it passes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

QUESTION_PREVIEW_CHARS = 60
FAILURES_LISTED = 20


@dataclass(frozen=True)
class Score:
    value: object = None  # None: the scorer did not apply to this record
    error: str | None = None
    rationale: str | None = None

    @property
    def applied(self) -> bool:
        return self.error is not None or self.value is not None


@dataclass(frozen=True)
class Row:
    """One replayed record: its trace (None when no trace was recorded) and its scores."""

    trace_id: str | None
    question: str
    scores: Mapping[str, Score] = field(default_factory=dict)


@dataclass(frozen=True)
class ScorerFigures:
    name: str
    applied: int
    passed: int
    errors: int
    mean: float | None  # of its numeric values (not yes/no ones); None when it had none

    @property
    def failed(self) -> int:
        return self.applied - self.passed


@dataclass(frozen=True)
class Failure:
    row: Row
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    records: int
    passed: int
    scorers: tuple[ScorerFigures, ...]
    failures: tuple[Failure, ...]
    skipped: tuple[str, ...] = ()  # records that could not be replayed, with why

    @property
    def failed(self) -> int:
        return self.records - self.passed


def passes(value: object, threshold: float | None = None) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return threshold is not None and not math.isnan(value) and value >= threshold
    if isinstance(value, str):
        return value.strip().lower() == "yes"
    return False


def summarize(
    rows: Sequence[Row],
    scorers: Sequence[str],
    thresholds: Mapping[str, float],
    *,
    records: int,
    skipped: Sequence[str] = (),
) -> Summary:
    """`records` replayed, `rows` of them scored (a record without a row failed: it has no
    trace); `skipped` records were not replayed."""
    failures = []
    for row in rows:
        reasons = tuple(
            _reason(name, score, thresholds.get(name))
            for name in scorers
            if (score := row.scores.get(name, Score())).applied
            and (score.error is not None or not passes(score.value, thresholds.get(name)))
        )
        if reasons:
            failures.append(Failure(row, reasons))
    missing = max(0, records - len(rows))
    failures += [Failure(Row(None, ""), ("no trace: the replay did not run",))] * missing
    figures = tuple(_figures(name, rows, thresholds.get(name)) for name in scorers)
    return Summary(records, records - len(failures), figures, tuple(failures), tuple(skipped))


def _figures(name: str, rows: Sequence[Row], threshold: float | None) -> ScorerFigures:
    scores = [s for row in rows if (s := row.scores.get(name, Score())).applied]
    numbers = [
        float(s.value)
        for s in scores
        if s.error is None
        and isinstance(s.value, int | float)
        and not isinstance(s.value, bool)
        and not math.isnan(s.value)
    ]
    return ScorerFigures(
        name=name,
        applied=len(scores),
        passed=sum(1 for s in scores if s.error is None and passes(s.value, threshold)),
        errors=sum(1 for s in scores if s.error is not None),
        mean=sum(numbers) / len(numbers) if numbers else None,
    )


def _reason(name: str, score: Score, threshold: float | None) -> str:
    if score.error is not None:
        return f"{name}: error: {score.error}"
    if threshold is not None and isinstance(score.value, int | float):
        return f"{name} {score.value:.2f} < {threshold:.2f}"
    detail = f" ({score.rationale})" if score.rationale else ""
    return f"{name}: {score.value}{detail}"


def render(summary: Summary, heading: Sequence[str], run_url: str) -> str:
    """The table, under `heading` lines, with the failed records and the run's link."""
    lines = [*heading, ""]
    lines += _table(
        ("records", "passed", "failed"),
        [(str(summary.records), str(summary.passed), str(summary.failed))],
        labels=0,
    )
    lines.append("")
    lines += _table(
        ("scorer", "applied", "passed", "failed", "errors", "pass rate", "mean"),
        [
            (
                f.name,
                str(f.applied),
                str(f.passed),
                str(f.failed),
                str(f.errors),
                f"{100 * f.passed / f.applied:.1f}%" if f.applied else "-",
                f"{f.mean:.3f}" if f.mean is not None else "-",
            )
            for f in summary.scorers
        ],
    )
    if summary.failures:
        lines += ["", "failed:"]
        for failure in summary.failures[:FAILURES_LISTED]:
            where = failure.row.trace_id or "-"
            lines.append(f"  {where}  {_preview(failure.row.question)}")
            lines += [f"      {_one_line(reason)}" for reason in failure.reasons]
        if len(summary.failures) > FAILURES_LISTED:
            lines.append(f"  … and {len(summary.failures) - FAILURES_LISTED} more (see the run)")
    if summary.skipped:
        lines += ["", f"skipped (not replayed): {len(summary.skipped)}"]
        lines += [f"  {_one_line(why)}" for why in summary.skipped[:FAILURES_LISTED]]
    lines += ["", f"run: {run_url}"]
    return "\n".join(lines)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], labels: int = 1) -> list[str]:
    """Columns two spaces apart: the first `labels` aligned left, the figures right."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        aligned = [
            cell.ljust(width) if index < labels else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(aligned).rstrip()

    return [line(header), *(line(row) for row in rows)]


def _preview(text: str) -> str:
    flat = _one_line(text)
    if len(flat) <= QUESTION_PREVIEW_CHARS:
        return f'"{flat}"'
    return f'"{flat[: QUESTION_PREVIEW_CHARS - 1]}…"'


def _one_line(text: str) -> str:
    return " ".join(text.split())
