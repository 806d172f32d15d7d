"""The emulator's check of Slack's `data_visualization` and `data_table` blocks, written from
Slack's reference pages and the limits the SDKs generated from them enforce
(../shared/slack-payloads.md), independently of the bot's builder (bot/slack/data_blocks.py):
a block that breaks any of them is refused as Slack would, with `invalid_blocks`.
"""

from __future__ import annotations

import math
from typing import Any, NoReturn

DATA_BLOCK_TYPES = ("data_visualization", "data_table")
MAX_CHARTS_PER_MESSAGE = 2


class InvalidDataBlock(ValueError):
    """Slack would answer `invalid_blocks`; the message says why (for test failures)."""


def _fail(why: str) -> NoReturn:
    raise InvalidDataBlock(why)


def _string(value: Any, what: str, most: int | None = None, *, empty_ok: bool = False) -> None:
    if not isinstance(value, str) or (not empty_ok and not value.strip()):
        _fail(f"{what}: not a non-empty string: {value!r}")
    if most is not None and len(value) > most:
        _fail(f"{what}: {len(value)} characters, at most {most}")


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _fail(f"{what}: not a number: {value!r}")
    return float(value)


def _list(value: Any, what: str, least: int, most: int) -> list[Any]:
    if not isinstance(value, list):
        _fail(f"{what}: not a list")
    if not least <= len(value) <= most:
        _fail(f"{what}: {len(value)} items, {least} to {most} allowed")
    return list(value)


def _only(block: dict[str, Any], allowed: set[str], what: str) -> None:
    unknown = set(block) - allowed
    if unknown:
        _fail(f"{what}: unknown fields {sorted(unknown)}")


def _block_id(block: dict[str, Any]) -> None:
    if "block_id" in block:
        _string(block["block_id"], "block_id", 255)


def check_data_visualization(block: dict[str, Any]) -> None:
    _only(block, {"type", "title", "chart", "block_id"}, "data_visualization")
    _string(block.get("title"), "title", 50)
    _block_id(block)
    chart = block.get("chart")
    if not isinstance(chart, dict):
        _fail("chart: not an object")
    kind = chart.get("type")
    if kind == "pie":
        _only(chart, {"type", "segments"}, "pie chart")
        labels = []
        for segment in _list(chart.get("segments"), "segments", 1, 6):
            if not isinstance(segment, dict):
                _fail("segment: not an object")
            _only(segment, {"label", "value"}, "segment")
            _string(segment.get("label"), "segment label", 20)
            if _finite(segment.get("value"), "segment value") <= 0:
                _fail("segment value: must be > 0")
            labels.append(segment["label"])
        if len(set(labels)) != len(labels):
            _fail("segments: labels repeat")
        return
    if kind not in ("line", "bar", "area"):
        _fail(f"chart type {kind!r}")
    _only(chart, {"type", "series", "axis_config"}, f"{kind} chart")
    axis = chart.get("axis_config")
    if not isinstance(axis, dict):
        _fail("axis_config: not an object")
    _only(axis, {"categories", "x_label", "y_label"}, "axis_config")
    categories = _list(axis.get("categories"), "categories", 1, 20)
    for category in categories:
        _string(category, "category", 20)
    if len(set(categories)) != len(categories):
        _fail("categories repeat")
    for key in ("x_label", "y_label"):
        if key in axis:
            _string(axis[key], key, 50)
    names = []
    for series in _list(chart.get("series"), "series", 1, 6):
        if not isinstance(series, dict):
            _fail("series: not an object")
        _only(series, {"name", "data"}, "series")
        _string(series.get("name"), "series name", 20)
        names.append(series["name"])
        labels = []
        for point in _list(series.get("data"), "data", 1, 20):
            if not isinstance(point, dict):
                _fail("data point: not an object")
            _only(point, {"label", "value"}, "data point")
            _string(point.get("label"), "data point label", 20)
            _finite(point.get("value"), "data point value")
            labels.append(point["label"])
        # Every point's label is a category; one point per category, in their order.
        if labels != categories:
            _fail(f"series {series['name']!r}: labels {labels} are not the categories")
    if len(set(names)) != len(names):
        _fail("series names repeat")


def _cell_chars(cell: Any, header: bool) -> int:
    if not isinstance(cell, dict):
        _fail("cell: not an object")
    kind = cell.get("type")
    if kind == "raw_text":
        _only(cell, {"type", "text"}, "raw_text")
        _string(cell.get("text"), "raw_text", empty_ok=True)
        return len(cell["text"])
    if kind == "raw_number":
        _only(cell, {"type", "value", "text"}, "raw_number")
        _finite(cell.get("value"), "raw_number value")
        if "text" in cell:
            _string(cell["text"], "raw_number text", empty_ok=True)
        return len(str(cell["value"])) + len(cell.get("text") or "")
    if kind == "rich_text" and not header:
        if not isinstance(cell.get("elements"), list) or not cell["elements"]:
            _fail("rich_text cell without elements")
        return len(str(cell["elements"]))
    _fail(f"cell type {kind!r}{' in the header' if header else ''}")


def check_data_table(block: dict[str, Any]) -> None:
    _only(
        block,
        {"type", "caption", "rows", "page_size", "row_header_column_index", "block_id"},
        "data_table",
    )
    _string(block.get("caption"), "caption")
    _block_id(block)
    rows = _list(block.get("rows"), "rows", 2, 101)
    width = None
    chars = len(block["caption"])
    for number, row in enumerate(rows):
        cells = _list(row, "cells", 1, 20)
        if width is not None and len(cells) != width:
            _fail("rows of different lengths")
        width = len(cells)
        chars += sum(_cell_chars(cell, header=number == 0) for cell in cells)
    if chars > 10_000:
        _fail(f"{chars} characters, at most 10000")
    if "page_size" in block:
        size = block["page_size"]
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 100:
            _fail(f"page_size {size!r}")
    if "row_header_column_index" in block:
        index = block["row_header_column_index"]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < (width or 0):
            _fail(f"row_header_column_index {index!r}")


def check_data_blocks(blocks: list[Any]) -> None:
    """Check every data block of a message or view, and that it holds at most two charts."""
    charts = 0
    for block in blocks:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "data_visualization":
            charts += 1
            check_data_visualization(block)
        elif block.get("type") == "data_table":
            check_data_table(block)
    if charts > MAX_CHARTS_PER_MESSAGE:
        _fail(f"{charts} charts in one message")
