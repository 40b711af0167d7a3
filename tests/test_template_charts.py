"""Charts declared in templates: parsed into the model, and every mistake named with
its file, key, line and fix (docs/design.md §5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import TEMPLATES, write_template_files

from sheets_sync.errors import TemplateError
from sheets_sync.kpis.registry import query_columns
from sheets_sync.tab_templates import (
    Aggregate,
    Axis,
    ChartPosition,
    ChartType,
    EqualsFilter,
    LastPeriods,
    PeriodUnit,
    SeriesType,
    load_template,
    load_templates,
)

HEAD = """\
title: Weekly
sql: weekly.sql
columns:
  - {header: Week, type: text}
  - {header: Country, type: text}
  - {header: Orders, type: integer}
  - {header: Paid amount, type: money}
  - {header: SLA rate, type: percent}
charts:
"""
CHART = """\
  - title: Orders per week
    type: column
    x: Week
    series: [Orders]
    position: H2
"""
OTHER = """\
title: Board
sql: weekly.sql
order: 1
columns:
  - {header: Figure, type: text}
charts:
  - title: Paid per week
    type: line
    source: Weekly
    x: Week
    series: [Paid amount]
    position: {cell: B10}
"""


def write(folder: Path, chart: str, name: str = "weekly.yaml") -> Path:
    return write_template_files(
        folder / name, HEAD + chart, folder / "weekly.sql", "SELECT 1 AS week"
    )


def test_a_full_chart_is_parsed_into_the_model(tmp_path: Path) -> None:
    chart_yaml = """\
  - title: Orders and SLA
    type: combo
    x: Week
    series:
      - Orders
      - {column: SLA rate, axis: right, type: line, label: SLA}
    filter: {last: 13 weeks, equals: {Country: [FR, DE]}}
    position: {row: 3, column: 8, sheet: Weekly, offset_x: 5}
    size: {width: 800, height: 400}
"""
    (chart,) = load_template(write(tmp_path, chart_yaml)).charts
    assert (chart.title, chart.type, chart.x, chart.source) == (
        "Orders and SLA", ChartType.COMBO, "Week", None,
    )  # fmt: skip
    assert [s.column for s in chart.series] == ["Orders", "SLA rate"]
    right = chart.series[1]
    assert (right.axis, right.type, right.display_name) == (Axis.RIGHT, SeriesType.LINE, "SLA")
    assert chart.filter.last == LastPeriods("Week", 13, PeriodUnit.WEEKS)
    assert chart.filter.equals == (EqualsFilter("Country", ("FR", "DE")),)
    assert chart.position == ChartPosition(2, 7, "Weekly", 5, 0)
    assert chart.position.cell == "H3"
    assert (chart.width, chart.height, chart.aggregate) == (800, 400, Aggregate.NONE)
    assert chart.columns == ("Week", "Orders", "SLA rate", "Country")


def test_defaults_the_chart_reads_and_sits_on_its_own_tab(tmp_path: Path) -> None:
    (chart,) = load_template(write(tmp_path, CHART)).charts
    assert chart.source_title("Weekly") == "Weekly" and chart.sheet_title("Weekly") == "Weekly"
    assert chart.position == ChartPosition(1, 7)
    assert (chart.width, chart.height) == (600, 371)
    assert chart.filter.last is None and chart.filter.equals == ()


def test_a_chart_may_read_another_tab_checked_once_all_are_loaded(tmp_path: Path) -> None:
    write(tmp_path, CHART)
    (tmp_path / "board.yaml").write_text(OTHER)
    templates = load_templates(tmp_path)
    (chart,) = templates["Board"].charts
    assert chart.source_title("Board") == "Weekly"
    assert list(templates) == ["Board", "Weekly"]


def test_a_ratio_series_is_parsed_into_numerator_and_denominator(tmp_path: Path) -> None:
    ratio_yaml = (
        CHART.replace(
            "[Orders]", "[{ratio: [Paid amount, Orders], label: Paid per order}, Orders]"
        ).replace("type: column", "type: line")
        + "    aggregate: sum\n    split_by: Country\n"
    )
    (chart,) = load_template(write(tmp_path, ratio_yaml)).charts
    rate, plain = chart.series
    assert (rate.column, rate.per, rate.display_name) == ("Paid amount", "Orders", "Paid per order")
    assert rate.columns == ("Paid amount", "Orders") and plain.per is None
    assert chart.columns == ("Week", "Paid amount", "Orders", "Country")


def test_the_shipped_templates_still_load() -> None:
    templates = load_templates(TEMPLATES, query_columns())
    assert "KPI Weekly" in templates


BAD = [
    pytest.param(
        CHART.replace("type: column", "type: donut"),
        "charts[0].type",
        "'donut' is not allowed",
        "use one of ['column', 'stacked_column', 'line', 'combo', 'bar', 'pie']",
        11,
        id="unknown-type",
    ),
    pytest.param(
        CHART.replace("[Orders]", "[Oders]"),
        "charts[0].series[0]",
        "'Oders' is not a column header of this tab",
        "did you mean 'Orders'?",
        13,
        id="unknown-column",
    ),
    pytest.param(
        CHART.replace("x: Week", "x: Weak"),
        "charts[0].x",
        "'Weak' is not a column header of this tab",
        "did you mean 'Week'?",
        12,
        id="unknown-x",
    ),
    pytest.param(
        CHART.replace("[Orders]", "[Country]"),
        "charts[0].series[0]",
        "'Country' is text, not a number",
        "plot a numeric column of this tab",
        13,
        id="text-series",
    ),
    pytest.param(
        CHART.replace("H2", "2H"),
        "charts[0].position.cell",
        "'2H' is not a cell",
        "e.g. `H2`",
        14,
        id="bad-anchor",
    ),
    pytest.param(
        CHART.replace("H2", "H0"),
        "charts[0].position.cell",
        "'H0' is not a cell",
        "e.g. `H2`",
        14,
        id="row-zero-anchor",
    ),
    pytest.param(
        CHART.replace("position: H2", "position: {row: 0, column: 2}"),
        "charts[0].position.row",
        "0 is not between 1 and 1,048,576",
        "count rows and columns",
        14,
        id="row-zero",
    ),
    pytest.param(
        CHART.replace("position: H2", "position: H2\n    size: {width: 10, height: 300}"),
        "charts[0].size.width",
        "10 is not a whole number of pixels from 50 to 4000",
        "e.g. `width: 600`",
        15,
        id="bad-size",
    ),
    pytest.param(
        CHART.replace("position: H2", "position: H2\n    size: {width: 600, heigth: 300}"),
        "charts[0].size.heigth",
        "unknown key",
        "did you mean charts[0].size.height?",
        15,
        id="size-typo",
    ),
    pytest.param(
        CHART.replace("type: column", "type: pie").replace("[Orders]", "[Orders, Paid amount]"),
        "charts[0].series",
        "a pie chart shows one series, got 2",
        "keep one column",
        13,
        id="pie-two-series",
    ),
    pytest.param(
        CHART.replace("type: column", "type: combo").replace(
            "[Orders]", "[Orders, {column: Paid amount, axis: right}]"
        ),
        "charts[0].series",
        "a combo chart needs a line on the right axis",
        "axis: right, type: line",
        13,
        id="combo-without-right-line",
    ),
    pytest.param(
        CHART.replace("[Orders]", "[{column: Orders, type: line}]"),
        "charts[0].series[0].type",
        "a column chart draws every series alike",
        "only combo charts mix",
        13,
        id="series-type-outside-combo",
    ),
    pytest.param(
        CHART.replace("type: column", "type: bar").replace(
            "[Orders]", "[{column: Orders, axis: right}]"
        ),
        "charts[0].series[0].axis",
        "a bar chart has no right axis",
        "remove `axis: right`",
        13,
        id="bar-right-axis",
    ),
    pytest.param(
        CHART.replace("x: Week", "x: Week\n    serie: [Orders]"),
        "charts[0].serie",
        "unknown key",
        "did you mean charts[0].series?",
        13,
        id="unknown-key-did-you-mean",
    ),
    pytest.param(
        CHART.replace("position: H2\n", ""),
        "charts[0].position",
        "missing",
        "position: H2",
        10,
        id="no-position",
    ),
    pytest.param(
        CHART + "    filter: {last: a fortnight}\n",
        "charts[0].filter.last",
        "'a fortnight' is not a period",
        "e.g. `last: 13 weeks`",
        15,
        id="bad-period",
    ),
    pytest.param(
        CHART + "    filter: {last: 3 days, column: Orders}\n",
        "charts[0].filter.column",
        "'Orders' is integer, not a date",
        "count `last:` on a date column",
        15,
        id="last-on-a-number",
    ),
    pytest.param(
        CHART + "    filter: {equals: {Contry: FR}}\n",
        "charts[0].filter.equals.Contry",
        "'Contry' is not a column header of this tab",
        "did you mean 'Country'?",
        15,
        id="equals-unknown-column",
    ),
    pytest.param(
        CHART.replace("[Orders]", "[SLA rate]") + "    aggregate: sum\n",
        "charts[0].series[0]",
        "'SLA rate' is a rate, and rates do not add up",
        "plot the counts the rate is made of",
        13,
        id="summed-rate",
    ),
    pytest.param(
        CHART.replace("[Orders]", "[{ratio: [Orders]}]") + "    aggregate: sum\n",
        "charts[0].series[0].ratio",
        "['Orders'] is not two columns",
        "`ratio: [Counter-offers, Inspected]`",
        13,
        id="ratio-of-one-column",
    ),
    pytest.param(
        CHART.replace("[Orders]", "[{ratio: Orders / Paid amount}]") + "    aggregate: sum\n",
        "charts[0].series[0].ratio",
        "'Orders / Paid amount' is not two columns",
        "name the numerator and the denominator",
        13,
        id="ratio-as-text",
    ),
    pytest.param(
        CHART.replace("[Orders]", "[{column: Orders, ratio: [Orders, Paid amount]}]"),
        "charts[0].series[0]",
        "both `column:` and `ratio:`",
        "keep `ratio: [numerator, denominator]` for a rate",
        13,
        id="ratio-and-column",
    ),
    pytest.param(
        CHART.replace("[Orders]", "[{ratio: [Orders, Orders]}]") + "    aggregate: sum\n",
        "charts[0].series[0].ratio",
        "'Orders' divided by itself is always 1",
        "name the numerator and the denominator",
        13,
        id="ratio-of-itself",
    ),
    pytest.param(
        CHART.replace("[Orders]", "[{ratio: [Orders, Paied amount]}]") + "    aggregate: sum\n",
        "charts[0].series[0].ratio",
        "'Paied amount' is not a column header of this tab",
        "did you mean 'Paid amount'?",
        13,
        id="ratio-unknown-column",
    ),
    pytest.param(
        CHART.replace("[Orders]", "[{ratio: [Orders, Country]}]") + "    aggregate: sum\n",
        "charts[0].series[0].ratio",
        "'Country' is text, not a number",
        "plot a numeric column of this tab",
        13,
        id="ratio-of-text",
    ),
    pytest.param(
        CHART.replace("[Orders]", "[{ratio: [SLA rate, Orders]}]") + "    aggregate: sum\n",
        "charts[0].series[0].ratio",
        "'SLA rate' is a rate, and rates do not add up",
        "divide the counts the rate is made of",
        13,
        id="ratio-of-a-rate",
    ),
    pytest.param(
        CHART.replace("[Orders]", "[{ratio: [Orders, Paid amount]}]"),
        "charts[0].series[0].ratio",
        "a ratio divides sums, and the chart does not sum",
        "add `aggregate: sum` to the chart",
        13,
        id="ratio-without-sum",
    ),
    pytest.param(
        CHART.replace("[Orders]", "[{ratio: [Orders, Paid amount]}]").replace(
            "type: column", "type: pie"
        )
        + "    aggregate: sum\n",
        "charts[0].series[0].ratio",
        "a pie chart draws slices of a whole, and ratios are not parts of a whole",
        "draw the rate on a line or column chart",
        13,
        id="ratio-on-a-pie",
    ),
    pytest.param(
        CHART.replace("[Orders]", "[{ratio: [Orders, Paid amount]}]").replace(
            "type: column", "type: stacked_column"
        )
        + "    aggregate: sum\n",
        "charts[0].series[0].ratio",
        "a stacked_column chart draws stacked parts",
        "draw the rate on a line or column chart",
        13,
        id="ratio-stacked",
    ),
    pytest.param(
        CHART + "    aggregate: mean\n",
        "charts[0].aggregate",
        "'mean' is not allowed",
        "use one of ['none', 'sum']",
        15,
        id="unknown-aggregate",
    ),
    pytest.param(
        CHART.replace("type: column", "type: pie") + "    split_by: Country\n",
        "charts[0].split_by",
        "a pie chart cannot split its series",
        "remove `split_by:`",
        15,
        id="pie-split",
    ),
    pytest.param(
        CHART + CHART,
        "charts[1].title",
        "'Orders per week' is the title of another chart",
        "give each chart of a tab its own title",
        15,
        id="same-title",
    ),
    pytest.param(
        CHART.replace("[Orders]", "[Week]").replace("type: column", "type: line"),
        "charts[0].x",
        "'Week' is both the x axis and a series",
        "plot other columns",
        12,
        id="x-is-a-series",
    ),
    pytest.param(
        "  title: not a list\n",
        "charts",
        "must be a list",
        "one `- item` per line",
        9,
        id="charts-not-a-list",
    ),
]


@pytest.mark.parametrize(("chart", "key", "problem", "fix", "line"), BAD)
def test_a_bad_chart_names_file_key_line_and_fix(
    tmp_path: Path, chart: str, key: str, problem: str, fix: str, line: int
) -> None:
    path = write(tmp_path, chart)
    with pytest.raises(TemplateError) as caught:
        load_template(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: {key}: "), message
    assert problem in message and "Fix: " in message and fix in message.split("Fix:")[1]


BAD_ACROSS = [
    pytest.param(
        OTHER.replace("source: Weekly", "source: Weekley"),
        "charts[0].source",
        "'Weekley' is not the title of a tab template",
        "use one of",
        9,
        id="unknown-source",
    ),
    pytest.param(
        OTHER.replace("[Paid amount]", "[Paid amuont]"),
        "charts[0].series[0]",
        "'Paid amuont' is not a column header of tab 'Weekly'",
        "did you mean 'Paid amount'?",
        11,
        id="unknown-column-of-the-source",
    ),
    pytest.param(
        OTHER.replace("[Paid amount]", "[{ratio: [Paid amount, Oders]}]").replace(
            "position:", "aggregate: sum\n    position:"
        ),
        "charts[0].series[0].ratio",
        "'Oders' is not a column header of tab 'Weekly'",
        "did you mean 'Orders'?",
        11,
        id="ratio-unknown-column-of-the-source",
    ),
    pytest.param(
        OTHER.replace("{cell: B10}", "{cell: B10, sheet: weekly}"),
        "charts[0].position.sheet",
        "'weekly' is not the title of a tab template",
        "did you mean 'Weekly'?",
        12,
        id="unknown-sheet",
    ),
]


@pytest.mark.parametrize(("board", "key", "problem", "fix", "line"), BAD_ACROSS)
def test_a_chart_reading_another_tab_is_checked_against_its_columns(
    tmp_path: Path, board: str, key: str, problem: str, fix: str, line: int
) -> None:
    write(tmp_path, CHART)
    path = tmp_path / "board.yaml"
    path.write_text(board)
    assert load_template(path).charts  # alone, the file cannot know Weekly's columns
    with pytest.raises(TemplateError) as caught:
        load_templates(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: {key}: "), message
    assert problem in message and fix in message.split("Fix:")[1]
