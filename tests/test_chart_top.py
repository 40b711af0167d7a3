"""`filter: {top: N}`: a chart of the N rows with the largest first series (the Dashboard's
top sellers by win share) — parsed and validated with the template, applied to the table
both backends draw."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import shipped_template, write_template_files

from sheets_sync.backends.chart_data import chart_table
from sheets_sync.errors import TemplateError
from sheets_sync.frame import TabFrame
from sheets_sync.tab_templates import load_template
from sheets_sync.tab_templates.model import (
    ChartFilter,
    ChartPosition,
    ChartSpec,
    ChartType,
    ColumnSpec,
    ColumnType,
    SeriesSpec,
    TabTemplate,
)

SELLERS = TabTemplate(
    title="Sellers",
    columns=(
        ColumnSpec("Seller", "seller"),
        ColumnSpec("Win share", "win_share", ColumnType.PERCENT),
        ColumnSpec("Orders", "orders", ColumnType.INTEGER),
    ),
)
ROWS = [("Acme", 0.10, 5), ("Bolt", None, 0), ("Cato", 0.30, 9), ("Dune", 0.05, 2),
        ("Echo", 0.30, 7), ("Fern", 0.20, 4)]  # fmt: skip


def top_chart(count: int) -> ChartSpec:
    return ChartSpec(
        "Top sellers", ChartType.BAR, "Seller", (SeriesSpec("Win share"), SeriesSpec("Orders")),
        ChartPosition(0, 0), filter=ChartFilter(top=count),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("count", "sellers"),
    [(1, ["Cato"]), (3, ["Cato", "Echo", "Fern"]), (6, ["Cato", "Echo", "Fern", "Acme", "Dune",
                                                        "Bolt"])],
)  # fmt: skip
def test_the_largest_first_series_first_ties_in_x_order_empty_last(count, sellers) -> None:
    table = chart_table(top_chart(count), TabFrame(SELLERS, ROWS))
    assert [r[0] for r in table.rows] == sellers
    assert table.rows[0] == ("Cato", 0.30, 9)  # whole rows: every series follows its x


YAML = """\
title: Sellers
sql: sellers.sql
columns:
  - {header: Seller, type: text}
  - {header: Country, type: text}
  - {header: Win share, type: percent}
charts:
  - title: Top sellers
    type: bar
    x: Seller
    series: [Win share]
    position: E2
"""


def write(tmp_path: Path, extra: str) -> Path:
    return write_template_files(
        tmp_path / "sellers.yaml", YAML + extra, tmp_path / "sellers.sql", "SELECT 1 AS seller"
    )


def test_top_is_read_from_the_template(tmp_path: Path) -> None:
    (chart,) = load_template(write(tmp_path, "    filter: {top: 10}\n")).charts
    assert chart.filter.top == 10
    dashboard = shipped_template("dashboard")
    by_title = {c.title: c for c in dashboard.charts}
    assert by_title["Top 10 sellers by win share, 28 days"].filter.top == 10


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    filter: {top: 0}\n", "charts[0].filter.top: 0 is not a whole number ≥ 1. Fix: "),
        ("    filter: {top: ten}\n", "charts[0].filter.top: 'ten' is not a whole number ≥ 1."),
        ("    split_by: Country\n    filter: {top: 3}\n",
         "charts[0].filter.top: ranks rows by one series, which `split_by` splits. Fix: remove"),
    ],
)  # fmt: skip
def test_a_bad_top_names_the_key_and_the_fix(tmp_path: Path, extra: str, message: str) -> None:
    path = write(tmp_path, extra)
    with pytest.raises(TemplateError) as raised:
        load_template(path)
    assert message in str(raised.value) and str(path) in str(raised.value)
