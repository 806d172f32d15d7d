"""Slack's `data_visualization` (charts) and `data_table` blocks, which slack_sdk has no models
for yet: typed values that check Slack's limits when built and give the block's dict.

The limits are the strictest of Slack's reference pages and of the SDKs generated from them
(../shared/slack-payloads.md): a chart's title 1–50 characters; line, bar and area charts 1–6
series with unique names of 1–20 characters, 1–20 categories of 1–20 characters (distinct),
each series one number per category, in their order, axis labels ≤ 50; a pie 1–6 segments,
labels 1–20 characters, values > 0; at most two charts in a message. A table: a caption, a
header row and 1–100 rows, every row the same 1–20 cells, raw_text or raw_number, at most
10,000 characters in all, page_size 1–100, row_header_column_index inside the row; block_id
≤ 255 characters for both. A value that breaks one raises `BlockLimitError`, before Slack
would answer `invalid_blocks`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

DATA_VISUALIZATION = "data_visualization"
DATA_TABLE = "data_table"
DATA_BLOCK_TYPES = frozenset({DATA_VISUALIZATION, DATA_TABLE})
TITLE_CHARS = 50
LABEL_CHARS = 20  # a series' name, a category, a pie segment's label
AXIS_LABEL_CHARS = 50
MAX_SERIES = 6
MAX_POINTS = 20  # categories, and each series' points
MAX_SEGMENTS = 6
MAX_CHARTS_PER_MESSAGE = 2
MAX_TABLE_ROWS = 100  # besides the header
MAX_TABLE_CELLS = 20  # per row
TABLE_CHARS = 10_000
MAX_PAGE_SIZE = 100
BLOCK_ID_CHARS = 255
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


class BlockLimitError(ValueError):
    """A value Slack would refuse (`invalid_blocks`); the message says which limit."""


def _text(value: str, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BlockLimitError(f"{what} is empty")
    if len(value) > limit:
        raise BlockLimitError(f"{what} {value!r} is longer than {limit} characters")
    return value


def _number(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BlockLimitError(f"{what} {value!r} is not a finite number")
    return value


def _count(items: Sequence[Any], what: str, low: int, high: int) -> None:
    if not low <= len(items) <= high:
        raise BlockLimitError(f"{len(items)} {what}: Slack takes {low} to {high}")


def _block_id(block_id: str | None) -> None:
    if block_id is not None:
        _text(block_id, "block_id", BLOCK_ID_CHARS)


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    """`text` cut to `limit` characters (with "…"), for a label that must fit."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- charts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One line (or set of bars): a number for each of the chart's categories, in order."""

    name: str
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        _text(self.name, "a series' name", LABEL_CHARS)
        _count(self.values, f"points in series {self.name!r}", 1, MAX_POINTS)
        for value in self.values:
            _number(value, f"a point of series {self.name!r}")


@dataclass(frozen=True)
class XYChart:
    """A line, bar or area chart: categories along the x axis, 1–6 series over them."""

    kind: Literal["line", "bar", "area"]
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    x_label: str | None = None
    y_label: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("line", "bar", "area"):
            raise BlockLimitError(f"{self.kind!r} is not a line, bar or area chart")
        _count(self.categories, "categories", 1, MAX_POINTS)
        for category in self.categories:
            _text(category, "a category", LABEL_CHARS)
        if len(set(self.categories)) != len(self.categories):
            raise BlockLimitError("two categories with the same label")
        _count(self.series, "series", 1, MAX_SERIES)
        names = [series.name for series in self.series]
        if len(set(names)) != len(names):
            raise BlockLimitError("two series with the same name")
        for series in self.series:
            if len(series.values) != len(self.categories):
                raise BlockLimitError(
                    f"series {series.name!r} has {len(series.values)} points for "
                    f"{len(self.categories)} categories"
                )
        for label, what in ((self.x_label, "x axis label"), (self.y_label, "y axis label")):
            if label is not None:
                _text(label, what, AXIS_LABEL_CHARS)

    def to_dict(self) -> dict[str, Any]:
        axis: dict[str, Any] = {"categories": list(self.categories)}
        if self.x_label is not None:
            axis["x_label"] = self.x_label
        if self.y_label is not None:
            axis["y_label"] = self.y_label
        return {
            "type": self.kind,
            "series": [
                {
                    "name": series.name,
                    "data": [
                        {"label": label, "value": value}
                        for label, value in zip(self.categories, series.values, strict=True)
                    ],
                }
                for series in self.series
            ],
            "axis_config": axis,
        }


@dataclass(frozen=True)
class PieChart:
    """1–6 segments with positive values (label → value)."""

    segments: tuple[tuple[str, float], ...]

    def __post_init__(self) -> None:
        _count(self.segments, "pie segments", 1, MAX_SEGMENTS)
        for label, value in self.segments:
            _text(label, "a pie segment's label", LABEL_CHARS)
            if _number(value, f"segment {label!r}") <= 0:
                raise BlockLimitError(f"segment {label!r} is {value}: a pie takes values > 0")
        if len({label for label, _ in self.segments}) != len(self.segments):
            raise BlockLimitError("two pie segments with the same label")

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "pie",
            "segments": [{"label": label, "value": value} for label, value in self.segments],
        }


@dataclass(frozen=True)
class DataVisualization:
    """A `data_visualization` block: a titled chart."""

    title: str
    chart: XYChart | PieChart
    block_id: str | None = None

    def __post_init__(self) -> None:
        _text(self.title, "a chart's title", TITLE_CHARS)
        _block_id(self.block_id)

    def to_dict(self) -> dict[str, Any]:
        block: dict[str, Any] = {
            "type": DATA_VISUALIZATION,
            "title": self.title,
            "chart": self.chart.to_dict(),
        }
        if self.block_id is not None:
            block["block_id"] = self.block_id
        return block


# -- tables ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextCell:
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "raw_text", "text": self.text}

    @property
    def chars(self) -> int:
        return len(self.text)


@dataclass(frozen=True)
class NumberCell:
    """A number (sorted as one), shown as `text` when given ("66.7%")."""

    value: float
    text: str | None = None

    def __post_init__(self) -> None:
        _number(self.value, "a table cell")

    def to_dict(self) -> dict[str, Any]:
        cell: dict[str, Any] = {"type": "raw_number", "value": self.value}
        if self.text is not None:
            cell["text"] = self.text
        return cell

    @property
    def chars(self) -> int:
        return len(str(self.value)) + len(self.text or "")


@dataclass(frozen=True)
class ChannelCell:
    """A channel, shown by Slack with its name (a `rich_text` cell: not in the header)."""

    channel_id: str

    def __post_init__(self) -> None:
        if not CHANNEL_ID.match(self.channel_id):
            raise BlockLimitError(f"{self.channel_id!r} is not a channel ID")

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [{"type": "channel", "channel_id": self.channel_id}],
                }
            ],
        }

    @property
    def chars(self) -> int:
        return len(self.channel_id)


Cell = TextCell | NumberCell | ChannelCell


@dataclass(frozen=True)
class DataTable:
    """A `data_table` block: a header row and 1–100 rows of the same 1–20 cells."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    page_size: int | None = None
    row_header_column_index: int | None = None
    block_id: str | None = None

    def __post_init__(self) -> None:
        _text(self.caption, "a table's caption", TABLE_CHARS)
        _count(self.header, "columns", 1, MAX_TABLE_CELLS)
        _count(self.rows, "rows", 1, MAX_TABLE_ROWS)
        for row in self.rows:
            if len(row) != len(self.header):
                raise BlockLimitError(f"a row of {len(row)} cells under {len(self.header)} columns")
        chars = len(self.caption) + sum(map(len, self.header))
        chars += sum(cell.chars for row in self.rows for cell in row)
        if chars > TABLE_CHARS:
            raise BlockLimitError(f"a table of {chars} characters: Slack takes {TABLE_CHARS}")
        if self.page_size is not None and not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise BlockLimitError(f"page_size {self.page_size}: Slack takes 1 to {MAX_PAGE_SIZE}")
        index = self.row_header_column_index
        if index is not None and not 0 <= index < len(self.header):
            raise BlockLimitError(f"row_header_column_index {index} is not a column")
        _block_id(self.block_id)

    def to_dict(self) -> dict[str, Any]:
        block: dict[str, Any] = {
            "type": DATA_TABLE,
            "caption": self.caption,
            "rows": [
                [TextCell(text).to_dict() for text in self.header],
                *([cell.to_dict() for cell in row] for row in self.rows),
            ],
        }
        if self.page_size is not None:
            block["page_size"] = self.page_size
        if self.row_header_column_index is not None:
            block["row_header_column_index"] = self.row_header_column_index
        if self.block_id is not None:
            block["block_id"] = self.block_id
        return block


DataBlock = DataVisualization | DataTable


class ToDict(Protocol):
    """A block that gives its dict: these, and slack_sdk's."""

    def to_dict(self) -> dict[str, Any]: ...


def block_dicts(blocks: Iterable[Mapping[str, Any] | ToDict]) -> list[dict[str, Any]]:
    """Blocks as dicts (slack_sdk's blocks and these alike), checking that a message holds at
    most two charts."""
    dicts = [dict(block) if isinstance(block, Mapping) else block.to_dict() for block in blocks]
    charts = sum(block.get("type") == DATA_VISUALIZATION for block in dicts)
    if charts > MAX_CHARTS_PER_MESSAGE:
        raise BlockLimitError(f"{charts} charts: a message holds {MAX_CHARTS_PER_MESSAGE}")
    return dicts


def has_data_blocks(blocks: Iterable[Mapping[str, Any]]) -> bool:
    return any(block.get("type") in DATA_BLOCK_TYPES for block in blocks)
