"""Template charts in the workbook: native charts over exactly the current data, kept on
re-sync, drawn where declared; the team's own charts left alone; `position: first`.

Checked by reopening the file the backend wrote (openpyxl reads charts back with
their references, anchors and axes).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from helpers import column, tab
from openpyxl import load_workbook
from openpyxl.chart import BarChart, Reference

from sheets_sync.backends.base import WriteOptions
from sheets_sync.backends.chart_data import chart_table
from sheets_sync.backends.xlsx.backend import XlsxBackend
from sheets_sync.backends.xlsx.charts import build_chart, data_title, nice_ceiling
from sheets_sync.errors import DataError, LimitError
from sheets_sync.frame import TabFrame
from sheets_sync.tab_templates.model import (
    Aggregate,
    Axis,
    ChartFilter,
    ChartPosition,
    ChartSpec,
    ChartType,
    ColumnType,
    LastPeriods,
    PeriodUnit,
    SeriesSpec,
    SeriesType,
    SheetPosition,
)

WEEKLY = tab(
    "Weekly",
    column("Week"),
    column("Country"),
    column("Orders", ColumnType.INTEGER),
    column("Paid amount", ColumnType.MONEY),
    column("Target", ColumnType.MONEY),
    key=("Week", "Country"),
)
DATA = f"'{data_title('Board')}'"

STACKED = ChartSpec(
    "Orders by market", ChartType.STACKED_COLUMN, "Week", (SeriesSpec("Orders"),),
    ChartPosition(row=0, column=3), source="Weekly", split_by="Country",
    aggregate=Aggregate.SUM, filter=ChartFilter(last=LastPeriods("Week", 3, PeriodUnit.WEEKS)),
)  # fmt: skip
COMBO = ChartSpec(
    "Paid vs target", ChartType.COMBO, "Week",
    (SeriesSpec("Paid amount", type=SeriesType.COLUMN),
     SeriesSpec("Target", axis=Axis.RIGHT, type=SeriesType.LINE)),
    ChartPosition(row=20, column=0, offset_x=7, offset_y=4), source="Weekly",
    aggregate=Aggregate.SUM, width=640, height=300,
)  # fmt: skip
PIE = ChartSpec(
    "Orders share", ChartType.PIE, "Country", (SeriesSpec("Orders"),),
    ChartPosition(row=20, column=10), source="Weekly", aggregate=Aggregate.SUM,
)  # fmt: skip
BAR = ChartSpec(
    "Paid by market", ChartType.BAR, "Country", (SeriesSpec("Paid amount"),),
    ChartPosition(row=40, column=0, sheet="Weekly"), source="Weekly", aggregate=Aggregate.SUM,
)  # fmt: skip
LINE = ChartSpec(
    "Orders and paid", ChartType.LINE, "Week",
    (SeriesSpec("Orders"), SeriesSpec("Paid amount", axis=Axis.RIGHT)),
    ChartPosition(row=40, column=10), source="Weekly", aggregate=Aggregate.SUM,
)  # fmt: skip
BOARD = tab(
    "Board", column("Figure"), column("Value", ColumnType.DECIMAL),
    charts=(STACKED, COMBO, PIE, BAR, LINE), position=SheetPosition.FIRST,
)  # fmt: skip


def _week(n: int) -> str:
    return (dt.date(2025, 1, 6) + dt.timedelta(weeks=n)).strftime("%G-W%V")


def weekly(weeks: int, countries: tuple[str, ...] = ("DE", "FR")) -> TabFrame:
    rows = [
        (_week(w), c, 10 * w + i, 100 * w + i, 150 * w)
        for w in range(weeks)
        for i, c in enumerate(countries)
    ]
    return TabFrame(template=WEEKLY, rows=rows)


def write(book: Path, weeks: int, *, board=BOARD, countries=("DE", "FR")) -> None:
    frames = [TabFrame(template=board, rows=[("Orders", 12)]), weekly(weeks, countries)]
    XlsxBackend(book).write_tabs(frames, WriteOptions(allow_shrink=True))


def charts_by_title(ws) -> dict[str, Any]:
    return {_title(c): c for c in ws._charts}


def _title(chart) -> str:
    return "".join(r.t for p in chart.title.tx.rich.p for r in (p.r or []))


def refs(chart) -> tuple[list[str], list[str]]:
    """(each series' value range, each series' category range) of every plotted chart."""
    series = [s for c in chart._charts for s in c.series]
    values = [s.val.numRef.f for s in series]
    cats = [(s.cat.numRef or s.cat.strRef).f for s in series]
    return values, cats


def test_build_chart_needs_no_workbook_only_the_data_sheet_s_title() -> None:
    """What a writer streaming the sheets' XML relies on: the same chart from a title."""
    table = chart_table(COMBO, weekly(5))
    chart = build_chart(table, "Data 2", column=4)
    values = ["'Data 2'!$E$3:$E$7", "'Data 2'!$F$3:$F$7"]  # series names from row 2
    assert refs(chart) == (values, ["'Data 2'!$D$3:$D$7"] * 2)
    names = [s.tx.strRef.f for c in chart._charts for s in c.series]
    assert names == ["'Data 2'!E2", "'Data 2'!F2"]
    assert (chart.anchor._from.row, chart.anchor._from.col) == (20, 0)


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return tmp_path / "book.xlsx"


def test_each_chart_is_drawn_where_declared_over_exactly_its_rows(book: Path) -> None:
    write(book, weeks=6)
    wb = load_workbook(book)
    board = charts_by_title(wb["Board"])
    assert set(board) == {"Orders by market", "Paid vs target", "Orders share", "Orders and paid"}
    stacked = board["Orders by market"]
    assert (stacked.type, stacked.grouping, stacked.overlap) == ("col", "stacked", 100)
    # the last 3 weeks, one series per market: B (DE) and C (FR), rows 3–5 of the block
    assert refs(stacked) == ([f"{DATA}!$B$3:$B$5", f"{DATA}!$C$3:$C$5"], [f"{DATA}!$A$3:$A$5"] * 2)
    data = wb[data_title("Board")]
    assert data.sheet_state == "hidden"
    assert [c.value for c in data["A"][:5]] == ["Orders by market", "Week", *map(_week, (3, 4, 5))]
    assert [data.cell(row=2, column=c).value for c in (2, 3)] == ["DE", "FR"]
    assert data["B3"].value == 30 and data["C5"].value == 51  # summed per week and market
    anchor = stacked.anchor._from
    assert (anchor.row, anchor.col) == (0, 3)


def test_a_combo_chart_puts_its_line_on_a_second_axis(book: Path) -> None:
    write(book, weeks=4)
    combo = charts_by_title(load_workbook(book)["Board"])["Paid vs target"]
    bar, line = combo._charts
    assert (type(bar).__name__, type(line).__name__) == ("BarChart", "LineChart")
    assert line.y_axis.axId == 200 and line.y_axis.crosses == "max"
    assert bar.y_axis.axId != 200
    # paid amount and its target are both money: one scale, from 0 to a round number
    assert (bar.y_axis.scaling.min, bar.y_axis.scaling.max) == (0, 900)  # target 2 × 450
    assert (line.y_axis.scaling.min, line.y_axis.scaling.max) == (0, 900)
    assert refs(combo)[0] == [f"{DATA}!$F$3:$F$6", f"{DATA}!$G$3:$G$6"]
    anchor = combo.anchor
    assert (anchor._from.row, anchor._from.col) == (20, 0)
    assert (anchor._from.colOff, anchor._from.rowOff) == (7 * 9525, 4 * 9525)
    assert (anchor.ext.width, anchor.ext.height) == (640 * 9525, 300 * 9525)


@pytest.mark.parametrize(
    ("value", "top"), [(601, 650), (900, 900), (0.37, 0.4), (12_345, 15_000), (7, 7)]
)
def test_a_shared_scale_ends_on_a_round_number(value, top) -> None:
    assert nice_ceiling(value) == pytest.approx(top)


def test_pie_bar_and_a_right_axis_line(book: Path) -> None:
    write(book, weeks=2)
    wb = load_workbook(book)
    pie = charts_by_title(wb["Board"])["Orders share"]
    assert type(pie).__name__ == "PieChart"
    assert refs(pie) == ([f"{DATA}!$J$3:$J$4"], [f"{DATA}!$I$3:$I$4"])
    (bar,) = wb["Weekly"]._charts  # declared on Board, drawn on the Weekly sheet
    assert (type(bar).__name__, bar.type) == ("BarChart", "bar")
    assert bar.x_axis.scaling.orientation == "maxMin"  # first row on top, as the table reads
    line = charts_by_title(wb["Board"])["Orders and paid"]
    assert [type(c).__name__ for c in line._charts] == ["LineChart", "LineChart"]
    assert line._charts[1].y_axis.axId == 200
    assert [s.smooth for c in line._charts for s in c.series] == [False, False]  # no made-up curve


@pytest.mark.parametrize(("before", "after"), [(6, 2), (2, 9)], ids=["fewer", "more"])
def test_a_resync_redraws_the_charts_over_the_new_rows(book: Path, before, after) -> None:
    write(book, weeks=before)
    write(book, weeks=after, countries=("DE", "FR", "NL"))
    wb = load_workbook(book)
    board = charts_by_title(wb["Board"])
    assert len(wb["Board"]._charts) == 4 and len(wb["Weekly"]._charts) == 1  # replaced, not added
    shown = min(after, 3)
    last = 2 + shown
    assert refs(board["Orders by market"]) == (
        [f"{DATA}!${c}$3:${c}${last}" for c in "BCD"],
        [f"{DATA}!$A$3:$A${last}"] * 3,
    )
    combo_last = 2 + after
    assert refs(board["Paid vs target"])[0] == [
        f"{DATA}!$G$3:$G${combo_last}",
        f"{DATA}!$H$3:$H${combo_last}",
    ]


def test_the_team_s_own_charts_stay_as_they_were(book: Path) -> None:
    write(book, weeks=3)
    wb = load_workbook(book)
    mine = wb.create_sheet("My analysis")
    for r in [("Week", "Count"), ("A", 1), ("B", 3), ("C", 2)]:
        mine.append(r)
    chart = BarChart()
    chart.title = "Team chart"
    chart.add_data(Reference(mine, min_col=2, min_row=1, max_row=4), titles_from_data=True)
    chart.set_categories(Reference(mine, min_col=1, min_row=2, max_row=4))
    mine.add_chart(chart, "D2")
    wb.save(book)
    write(book, weeks=5)
    kept = load_workbook(book)["My analysis"]._charts
    assert [_title(c) for c in kept] == ["Team chart"]
    assert refs(kept[0]) == (["'My analysis'!$B$2:$B$4"], ["'My analysis'!$A$2:$A$4"])
    assert (kept[0].anchor._from.row, kept[0].anchor._from.col) == (1, 3)


def test_the_team_s_pictures_stay_as_they_were(book: Path, tmp_path: Path) -> None:
    """openpyxl keeps pictures only with Pillow installed (a dependency for this reason)."""
    from openpyxl.drawing.image import Image
    from PIL import Image as Picture

    Picture.new("RGB", (40, 20), "red").save(tmp_path / "logo.png")
    write(book, weeks=3)
    wb = load_workbook(book)
    wb.create_sheet("Team notes").add_image(Image(tmp_path / "logo.png"), "B3")
    wb.save(book)
    write(book, weeks=4)
    (kept,) = load_workbook(book)["Team notes"]._images
    assert (kept.anchor._from.row, kept.anchor._from.col) == (2, 1)
    assert (kept.width, kept.height) == (40, 20)


def test_a_tab_with_position_first_is_put_back_first(book: Path) -> None:
    write(book, weeks=2)
    wb = load_workbook(book)
    assert wb.sheetnames[0] == "Board" and wb.active.title == "Board"
    wb.move_sheet("Board", offset=len(wb.sheetnames))
    wb.create_sheet("Team first", 0)
    wb.active = wb.index(wb["Weekly"])
    wb.save(book)
    write(book, weeks=2)
    wb = load_workbook(book)
    assert wb.sheetnames[0] == "Board"
    assert wb.active.title == "Weekly"  # the team's choice of active sheet is kept


def test_a_chart_drawn_on_a_tab_outside_the_run_is_refused_before_writing(book: Path) -> None:
    XlsxBackend(book).write_tabs([weekly(2)])
    before = book.read_bytes()
    lonely = ChartSpec(
        "Elsewhere", ChartType.COLUMN, "Week", (SeriesSpec("Orders"),),
        ChartPosition(row=0, column=0, sheet="Board"), source="Weekly",
    )  # fmt: skip
    solo = tab("Solo", column("Figure"), charts=(lonely,))
    with pytest.raises(DataError, match="is drawn on tab 'Board', which this run does not write"):
        XlsxBackend(book).write_tabs([TabFrame(template=solo, rows=[]), weekly(2)])
    assert book.read_bytes() == before


def test_a_long_tab_title_gets_its_chart_data_sheet_cut_to_fit(book: Path) -> None:
    long_board = tab("Board of the whole market team", column("Figure"), charts=(PIE,))
    XlsxBackend(book).write_tabs([TabFrame(template=long_board, rows=[]), weekly(2)])
    wb = load_workbook(book)
    assert "Board of the whole · chart data" in wb.sheetnames
    assert wb["Board of the whole · chart data"].sheet_state == "hidden"


def test_two_tab_titles_cut_to_one_chart_data_sheet_are_refused_before_writing(
    book: Path,
) -> None:
    boards = [
        tab(f"Board of the whole market {n}", column("Figure"), charts=(PIE,)) for n in (1, 2)
    ]
    with pytest.raises(LimitError) as raised:
        XlsxBackend(book).write_tabs([TabFrame(template=b, rows=[]) for b in boards] + [weekly(2)])
    assert "'Board of the whole · chart data'" in str(raised.value)
    assert "differs from the others in its first 18 characters" in str(raised.value)
    assert not book.exists()
