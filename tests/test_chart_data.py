"""The table a chart plots, computed from its source frame: filtered, split, summed,
sorted by x — checked against sums done by hand on small frames."""

from __future__ import annotations

import datetime as dt

import pytest

from sheets_sync.backends.chart_data import chart_table, chart_tables
from sheets_sync.errors import DataError
from sheets_sync.frame import TabFrame
from sheets_sync.tab_templates.model import (
    Aggregate,
    ChartFilter,
    ChartPosition,
    ChartSpec,
    ChartType,
    ColumnSpec,
    ColumnType,
    EqualsFilter,
    LastPeriods,
    PeriodUnit,
    SeriesSpec,
    TabTemplate,
)

WEEKLY = TabTemplate(
    title="Weekly",
    columns=(
        ColumnSpec("Week", "week"),
        ColumnSpec("Country", "country"),
        ColumnSpec("Orders", "orders", ColumnType.INTEGER),
        ColumnSpec("Paid", "paid", ColumnType.MONEY),
    ),
)
# Team order (not sorted), several countries per week, 16 weeks.
WEEKS = [16, 3, 9, *(w for w in range(1, 17) if w not in (16, 3, 9))]
ROWS = [
    (f"2026-W{w:02d}", country, w * 10 + k, w + k)
    for w in WEEKS
    for k, country in enumerate(("FR", "DE"))
]
FRAME = TabFrame(WEEKLY, ROWS)


def chart(**changes: object) -> ChartSpec:
    base = ChartSpec(
        title="Orders", type=ChartType.COLUMN, x="Week", series=(SeriesSpec("Orders"),),
        position=ChartPosition(0, 0),
    )  # fmt: skip
    return ChartSpec(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_summed_per_week_sorted_and_cut_to_the_last_13_weeks() -> None:
    spec = chart(
        aggregate=Aggregate.SUM, filter=ChartFilter(LastPeriods("Week", 13, PeriodUnit.WEEKS))
    )
    table = chart_table(spec, FRAME)
    assert table.headers == ("Week", "Orders")
    expected = {}
    for week, _, orders, _ in ROWS:
        if int(week[-2:]) >= 4:
            expected[week] = expected.get(week, 0) + orders
    assert list(table.rows) == sorted(expected.items())
    assert table.height == 14


def test_split_by_country_gives_one_series_per_market() -> None:
    spec = chart(split_by="Country", aggregate=Aggregate.SUM)
    table = chart_table(spec, FRAME)
    assert table.headers == ("Week", "DE", "FR")
    by = {(w, c): o for w, c, o, _ in ROWS}
    assert table.rows[0] == ("2026-W01", by[("2026-W01", "DE")], by[("2026-W01", "FR")])
    assert [s.column for s in table.series] == ["Orders", "Orders"]


def test_split_with_two_series_names_both_and_keeps_each_series_axis() -> None:
    spec = chart(
        split_by="Country",
        series=(SeriesSpec("Orders"), SeriesSpec("Paid", label="Paid €")),
        filter=ChartFilter(equals=(EqualsFilter("Country", ("FR",)),)),
    )
    table = chart_table(spec, FRAME)
    assert table.headers == ("Week", "Orders · FR", "Paid € · FR")
    assert table.types == (ColumnType.TEXT, ColumnType.INTEGER, ColumnType.MONEY)


def test_repeated_x_and_split_without_aggregate_is_an_error() -> None:
    twice = TabFrame(WEEKLY, [*ROWS, ROWS[0]])
    with pytest.raises(DataError, match="add `aggregate: sum`"):
        chart_table(chart(split_by="Country"), twice)


@pytest.mark.parametrize(
    ("unit", "count", "kept"),
    [(PeriodUnit.DAYS, 3, 3), (PeriodUnit.WEEKS, 1, 3), (PeriodUnit.MONTHS, 2, 28 + 11)],
)
def test_last_periods_on_a_date_column(unit: PeriodUnit, count: int, kept: int) -> None:
    daily = TabTemplate(
        "Daily",
        (ColumnSpec("Date", "date", ColumnType.DATE), ColumnSpec("N", "n", ColumnType.INTEGER)),
    )
    end = dt.date(2026, 3, 11)  # a Wednesday: Mon 9 … Wed 11 are this week
    rows = [(end - dt.timedelta(days=d), 1) for d in range(0, 40)]
    spec = chart(
        x="Date", series=(SeriesSpec("N"),), filter=ChartFilter(LastPeriods("Date", count, unit))
    )
    table = chart_table(spec, TabFrame(daily, list(reversed(rows))))
    assert len(table.rows) == kept
    assert table.rows[-1][0] == end and list(table.rows) == sorted(table.rows)


def test_a_source_outside_the_run_and_an_unreadable_week_are_named() -> None:
    with pytest.raises(DataError, match="sync 'Weekly' together with 'Board'"):
        chart_tables([chart(source="Weekly")], "Board", lambda title: None)
    bad = TabFrame(WEEKLY, [("last week", "FR", 1, 1)])
    spec = chart(filter=ChartFilter(LastPeriods("Week", 2, PeriodUnit.WEEKS)))
    with pytest.raises(DataError, match="'last week', which is not a date"):
        chart_table(spec, bad)


# -- ratio of sums --

RATED = TabTemplate(
    title="Rated",
    columns=(
        ColumnSpec("Week", "week"),
        ColumnSpec("Country", "country"),
        ColumnSpec("Category", "category"),
        ColumnSpec("Countered", "countered", ColumnType.INTEGER),
        ColumnSpec("Inspected", "inspected", ColumnType.INTEGER),
        ColumnSpec("Rate", "rate", ColumnType.PERCENT),
    ),
)
# Week 02: FR laptops had nothing inspected (0), DE laptops no row at all; week 03: DE
# inspected nothing in any category (no point, not 0 %); week 04: a blank denominator.
RATED_ROWS = [
    ("2026-W02", "FR", "smartphone", 3, 10, 0.3),
    ("2026-W02", "FR", "laptop", 0, 0, None),
    ("2026-W02", "DE", "smartphone", 1, 4, 0.25),
    ("2026-W01", "FR", "smartphone", 2, 8, 0.25),
    ("2026-W01", "FR", "laptop", 1, 1, 1.0),
    ("2026-W01", "DE", "laptop", 5, 20, 0.25),
    ("2026-W03", "DE", "smartphone", 0, 0, None),
    ("2026-W03", "FR", "smartphone", 1, 3, 1 / 3),
    ("2026-W04", "FR", "smartphone", 2, None, None),
]
RATIO = SeriesSpec("Countered", label="Counter-offer rate", per="Inspected")


def _ratio_of_sums(rows, keep) -> dict:
    """Sum each side per key, then divide; nothing inspected is no point."""
    sums: dict = {}
    for week, country, _, countered, inspected, _ in rows:
        num, den = sums.get(keep(week, country), (0, 0))
        sums[keep(week, country)] = (num + countered, den + (inspected or 0))
    return {k: (n / d if d else None) for k, (n, d) in sums.items()}


def test_a_ratio_series_divides_the_sums_across_categories() -> None:
    table = chart_table(
        chart(type=ChartType.LINE, series=(RATIO,), aggregate=Aggregate.SUM),
        TabFrame(RATED, RATED_ROWS),
    )
    want = _ratio_of_sums(RATED_ROWS, lambda week, country: week)
    assert table.headers == ("Week", "Counter-offer rate")
    assert table.types == (ColumnType.TEXT, ColumnType.PERCENT)
    assert list(table.rows) == sorted(want.items())
    assert dict(table.rows)["2026-W01"] == pytest.approx(8 / 29)  # not the mean of 0.25, 1, 0.25
    assert dict(table.rows)["2026-W04"] is None


def test_a_split_ratio_gives_no_point_where_the_market_inspected_nothing() -> None:
    table = chart_table(
        chart(type=ChartType.LINE, series=(RATIO,), split_by="Country", aggregate=Aggregate.SUM),
        TabFrame(RATED, RATED_ROWS),
    )
    want = _ratio_of_sums(RATED_ROWS, lambda week, country: (week, country))
    assert table.headers == ("Week", "DE", "FR")
    assert table.types == (ColumnType.TEXT, ColumnType.PERCENT, ColumnType.PERCENT)
    expected = [
        (w, want.get((w, "DE")), want.get((w, "FR"))) for w in sorted({r[0] for r in RATED_ROWS})
    ]
    assert list(table.rows) == expected
    assert table.rows[1] == ("2026-W02", 1 / 4, 3 / 10)  # FR's uninspected laptops add 0 / 0
    assert table.rows[2][1] is None  # DE inspected nothing in week 03: no point, not 0 %


def test_a_ratio_beside_a_plain_series_is_named_and_typed_each() -> None:
    plain = SeriesSpec("Inspected")
    unnamed = SeriesSpec("Countered", per="Inspected")
    table = chart_table(
        chart(series=(plain, unnamed), aggregate=Aggregate.SUM, filter=ChartFilter(
            equals=(EqualsFilter("Country", ("DE",)),))),
        TabFrame(RATED, RATED_ROWS),
    )  # fmt: skip
    assert table.headers == ("Week", "Inspected", "Countered / Inspected")
    assert table.types == (ColumnType.TEXT, ColumnType.INTEGER, ColumnType.PERCENT)
    assert list(table.rows) == [
        ("2026-W01", 20, 5 / 20), ("2026-W02", 4, 1 / 4), ("2026-W03", 0, None)
    ]  # fmt: skip
