"""Slack's chart and table blocks: the bot's typed builder (bot/slack/data_blocks.py) refuses
what Slack would, the emulator checks them as Slack's reference describes them, the report's
charts fit, and a surface that refuses them gets the text form, remembered."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.report.model import (
    ReasonFigures,
)
from bot.report.render.blocks import report_blocks
from bot.report.render.charts import channels_table, reasons_chart, trend_chart
from bot.report.window import parse_window
from bot.slack.data_blocks import (
    BlockLimitError,
    ChannelCell,
    DataTable,
    DataVisualization,
    NumberCell,
    PieChart,
    Series,
    TextCell,
    XYChart,
    block_dicts,
)
from bot.slack.response_url import deliver_to_response_url
from bot.slack.surfaces import DataBlockSurfaces, Delivery
from devkit.block_kit_data import InvalidDataBlock, check_data_blocks
from devkit.ids import new_id
from devkit.slack_api import SlackEmulator
from tests.support.report_figures import REASONS, report_over

NOW = datetime(2026, 3, 31, 13, 30, tzinfo=UTC)


def line(categories: Sequence[str] = ("a", "b"), *series: Series) -> XYChart:
    return XYChart("line", tuple(categories), series or (Series("s", (1.0,) * len(categories)),))


def table(rows: int = 1, header: Sequence[str] = ("a", "b"), **extra: Any) -> DataTable:
    cells = tuple((TextCell("x"), NumberCell(1)) for _ in range(rows))
    return DataTable("caption", tuple(header), cells, **extra)


VALID: list[Callable[[], Any]] = [
    lambda: DataVisualization("t" * 50, line([f"c{n}" for n in range(20)])),
    lambda: DataVisualization(
        "six series",
        XYChart(
            "bar",
            ("a",),
            tuple(Series(f"s{n}" + "x" * 17, (n,)) for n in range(6)),
            x_label="x" * 50,
            y_label="y",
        ),
    ),
    lambda: DataVisualization("pie", PieChart(tuple((f"p{n}", 0.5) for n in range(6)))),
    lambda: table(100, page_size=100, row_header_column_index=1),
    lambda: DataTable("c", ("channel",), ((ChannelCell("C0123"),),)),
    lambda: table(1, [f"h{n}" for n in range(20)][:2]),
]

# Each: a builder call that must raise, and the same mistake made in a valid dict.
INVALID: list[tuple[Callable[[], Any], Callable[[dict], None]]] = [
    (
        lambda: DataVisualization("t" * 51, line()),
        lambda d: d.update(title="t" * 51),
    ),
    (lambda: DataVisualization(" ", line()), lambda d: d.update(title="")),
    (
        lambda: line([f"c{n}" for n in range(21)]),
        lambda d: d["chart"]["axis_config"].update(categories=[f"c{n}" for n in range(21)]),
    ),
    (lambda: line(["c" * 21]), lambda d: d["chart"]["axis_config"].update(categories=["c" * 21])),
    (lambda: line(["a", "a"]), lambda d: d["chart"]["axis_config"].update(categories=["a", "a"])),
    (
        lambda: line(["a"], *(Series(f"s{n}", (1,)) for n in range(7))),
        lambda d: d["chart"].update(series=[copy.deepcopy(d["chart"]["series"][0])] * 7),
    ),
    (
        lambda: line(["a"], Series("s", (1,)), Series("s", (2,))),
        lambda d: d["chart"].update(series=[copy.deepcopy(d["chart"]["series"][0])] * 2),
    ),
    (lambda: Series("n" * 21, (1,)), lambda d: d["chart"]["series"][0].update(name="n" * 21)),
    (lambda: line(["a", "b"], Series("s", (1,))), lambda d: d["chart"]["series"][0]["data"].pop()),
    (
        lambda: Series("s", (float("nan"),)),
        lambda d: d["chart"]["series"][0]["data"][0].update(value="1"),
    ),
    (lambda: Series("s", (True,)), lambda d: d["chart"]["series"][0]["data"][0].update(value=True)),
    (
        lambda: XYChart("line", ("a",), (Series("s", (1,)),), x_label="x" * 51),
        lambda d: d["chart"]["axis_config"].update(x_label="x" * 51),
    ),
    (
        lambda: XYChart("scatter", ("a",), (Series("s", (1,)),)),
        lambda d: d["chart"].update(type="x"),
    ),  # type: ignore[arg-type]
    (
        lambda: DataVisualization("t", line(), block_id="b" * 256),
        lambda d: d.update(block_id="b" * 256),
    ),
]

INVALID_PIES: list[tuple[Callable[[], Any], Callable[[dict], None]]] = [
    (lambda: PieChart(()), lambda d: d["chart"].update(segments=[])),
    (
        lambda: PieChart(tuple((f"p{n}", 1) for n in range(7))),
        lambda d: d["chart"].update(segments=[{"label": f"p{n}", "value": 1} for n in range(7)]),
    ),
    (lambda: PieChart((("p", 0),)), lambda d: d["chart"]["segments"][0].update(value=0)),
    (
        lambda: PieChart((("p" * 21, 1),)),
        lambda d: d["chart"]["segments"][0].update(label="p" * 21),
    ),
]

INVALID_TABLES: list[tuple[Callable[[], Any], Callable[[dict], None]]] = [
    (lambda: table(0), lambda d: d.update(rows=d["rows"][:1])),
    (lambda: table(101), lambda d: d.update(rows=d["rows"] * 101)),
    (
        lambda: table(1, [f"h{n}" for n in range(21)]),
        lambda d: d.update(rows=[r * 11 for r in d["rows"]]),
    ),
    (
        lambda: DataTable("c", ("a", "b"), ((TextCell("x"),),)),
        lambda d: d["rows"][1].pop(),
    ),
    (
        lambda: DataTable("c", ("a",), tuple((TextCell("x" * 100),) for _ in range(100))),
        lambda d: d.update(rows=[d["rows"][0], *([{"type": "raw_text", "text": "x" * 200}],) * 60]),
    ),
    (lambda: table(page_size=0), lambda d: d.update(page_size=0)),
    (lambda: table(page_size=101), lambda d: d.update(page_size=101)),
    (lambda: table(row_header_column_index=2), lambda d: d.update(row_header_column_index=2)),
    (lambda: DataTable("", ("a",), ((TextCell("x"),),)), lambda d: d.update(caption="")),
    (lambda: ChannelCell("not a channel"), lambda d: d["rows"][0].__setitem__(0, RICH)),
]
RICH = {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": []}]}


@pytest.mark.parametrize("build", VALID)
def test_what_the_builder_makes_the_emulator_takes(build: Callable[[], Any]) -> None:
    check_data_blocks([build().to_dict()])


@pytest.mark.parametrize(
    ("build", "break_it", "valid"),
    [
        *((b, k, lambda: DataVisualization("t", line())) for b, k in INVALID),
        *((b, k, lambda: DataVisualization("t", PieChart((("p", 1),)))) for b, k in INVALID_PIES),
        *((b, k, lambda: table(2)) for b, k in INVALID_TABLES),
    ],
)
def test_what_slack_refuses_both_refuse(
    build: Callable[[], Any], break_it: Callable[[dict], None], valid: Callable[[], Any]
) -> None:
    with pytest.raises(BlockLimitError):
        build()
    block = valid().to_dict()
    check_data_blocks([block])
    break_it(block)
    with pytest.raises(InvalidDataBlock):
        check_data_blocks([block])


def test_a_message_holds_at_most_two_charts() -> None:
    chart = DataVisualization("t", line())
    assert len(block_dicts([chart, chart, table()])) == 3
    with pytest.raises(BlockLimitError):
        block_dicts([chart, chart, chart])
    with pytest.raises(InvalidDataBlock):
        check_data_blocks([chart.to_dict()] * 3)


@pytest.mark.parametrize(
    "spec", ["24h", "7d", "30d", "2025-01-01..2025-12-31", "2026-03-01..2026-03-01"]
)
def test_every_windows_charts_fit_slacks_limits(spec: str) -> None:
    report = report_over(parse_window(spec, NOW))
    chart = trend_chart(report)
    assert chart is not None and isinstance(chart.chart, XYChart)
    assert len(chart.chart.categories) <= 20
    _, votes = chart.chart.series
    assert sum(votes.values) == report.up + report.down  # merged, nothing lost
    blocks = block_dicts(report_blocks(report, {}, REASONS, charts=True))
    check_data_blocks(blocks)
    assert [b["type"] for b in blocks].count("data_visualization") == 2
    assert [b["type"] for b in blocks].count("data_table") == 1


def test_a_day_is_drawn_per_two_hours_and_a_month_in_pairs_of_days() -> None:
    day = trend_chart(report_over(parse_window("24h", NOW)))
    assert day is not None and isinstance(day.chart, XYChart)
    # (The 12:00 point has no vote: left out.)
    assert day.chart.categories[:2] == ("Mar 30 14:00", "Mar 30 16:00")
    assert day.chart.x_label == "per 2 hours (UTC)"
    month = trend_chart(report_over(parse_window("30d", NOW)))
    assert month is not None and isinstance(month.chart, XYChart)
    assert month.chart.categories[0] == "Mar 01–02" and month.chart.x_label == "per 2 days (UTC)"


def test_the_trend_leaves_out_points_without_votes_and_draws_nothing_without_any() -> None:
    window = parse_window("7d", NOW)
    report = report_over(window)
    chart = trend_chart(report)
    assert chart is not None and isinstance(chart.chart, XYChart)
    voted = [p for p in report.timeline if p.up + p.down]
    assert len(chart.chart.categories) == len(voted)
    assert chart.chart.series[0].values == tuple(p.positive_rate for p in voted)
    assert trend_chart(report_over(window, votes=False)) is None


def test_many_reasons_become_nineteen_and_other_with_distinct_labels() -> None:
    chart = reasons_chart(REASONS)
    assert chart is not None and isinstance(chart.chart, XYChart)
    assert len(chart.chart.categories) == 20 and chart.chart.categories[-1] == "other"
    assert len(set(chart.chart.categories)) == 20
    assert sum(chart.chart.series[0].values) == REASONS.total
    assert reasons_chart(ReasonFigures((), {})) is None


def test_channels_are_a_table_that_names_channels_and_shows_dms_by_id() -> None:
    report = report_over(parse_window("7d", NOW))
    block = channels_table(report)
    assert block is not None
    rows = block.to_dict()["rows"]
    assert [c["text"] for c in rows[0]] == ["Channel", "👎", "👍", "Answers"]
    assert rows[1][0]["text"].startswith("a DM (D")
    assert rows[2][0]["elements"][0]["elements"][0]["type"] == "channel"
    assert channels_table(report_over(parse_window("7d", NOW), channels=0)) is None


def test_the_text_form_has_no_data_blocks_and_says_where_asked() -> None:
    report = report_over(parse_window("7d", NOW))
    blocks = block_dicts(report_blocks(report, {}, REASONS))
    assert not {"data_visualization", "data_table"} & {b["type"] for b in blocks}
    where = next(b for b in blocks if b.get("text", {}).get("text", "").startswith("*Where"))
    assert "DMs: 2 answers · 👍 1 · 👎 1 (50% positive)" in where["text"]["text"]


def web_client(slack: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)


async def test_the_emulator_takes_the_charted_report_and_refuses_it_on_request(
    slack: SlackEmulator,
) -> None:
    blocks = block_dicts(
        report_blocks(report_over(parse_window("30d", NOW)), {}, REASONS, charts=True)
    )
    channel, client = new_id("C"), web_client(slack)
    await client.chat_postMessage(channel=channel, text="report", blocks=blocks)
    slack.data_blocks_refused_by.add("chat.postMessage")
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel=channel, text="report", blocks=blocks)
    assert refused.value.response["error"] == "invalid_blocks"
    broken = copy.deepcopy(blocks)
    next(b for b in broken if b["type"] == "data_visualization")["title"] = "t" * 51
    slack.data_blocks_refused_by.clear()
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel=channel, text="report", blocks=broken)
    assert "title: 51 characters, at most 50" in slack.refusals[-1]


async def test_a_surface_that_refuses_charts_gets_text_from_then_on(slack: SlackEmulator) -> None:
    report = report_over(parse_window("7d", NOW))
    rich = block_dicts(report_blocks(report, {}, REASONS, charts=True))
    plain = block_dicts(report_blocks(report, {}, REASONS))
    surfaces, key = DataBlockSurfaces(), new_id("R")
    slack.data_blocks_refusals.clear()
    url = f"{slack.base_url}/response/{key}"

    async def post(blocks: Sequence[Mapping[str, Any]]) -> Delivery:
        return await deliver_to_response_url(url, "text", [dict(b) for b in blocks], what="t")

    assert await surfaces.send("ephemeral:C1", rich, plain, post) is Delivery.SENT
    assert slack.response_url_posts[key][-1]["blocks"] == rich
    slack.data_blocks_refused_by.add("response_url")
    assert await surfaces.send("ephemeral:C1", rich, plain, post) is Delivery.SENT
    assert slack.response_url_posts[key][-1]["blocks"] == plain
    assert slack.data_blocks_refusals == ["response_url"]
    assert await surfaces.send("ephemeral:C1", rich, plain, post) is Delivery.SENT
    assert slack.data_blocks_refusals == ["response_url"]  # not tried again
    assert not surfaces.takes("ephemeral:C1") and surfaces.takes("ephemeral:C2")
    assert len(slack.response_url_posts[key]) == 3
