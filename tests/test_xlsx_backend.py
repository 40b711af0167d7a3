"""The workbook backend, checked by reopening the file it wrote with openpyxl."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import stat
import zipfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import INJECTION
from openpyxl import Workbook, load_workbook

from sheets_sync.backends.base import DEFAULT_OPTIONS, WriteOptions
from sheets_sync.backends.pivot import GRAND_TOTAL
from sheets_sync.backends.xlsx.backend import XlsxBackend
from sheets_sync.errors import DestinationError, LimitError, TemplateError
from sheets_sync.frame import TabFrame
from sheets_sync.limits import XLSX_LIMITS, XLSX_MAX_CELL_CHARS, XLSX_MAX_ROWS
from sheets_sync.tab_templates.model import (
    ColumnSpec,
    ColumnType,
    ConditionalFormat,
    ConditionKind,
    PivotSpec,
    PivotValue,
    Summarize,
    TabTemplate,
)

COLUMNS = (
    ColumnSpec("Date", "day", ColumnType.DATE, width=95),
    ColumnSpec("Country", "country"),
    ColumnSpec("Seller", "seller", width=170),
    ColumnSpec("Orders", "orders", ColumnType.INTEGER),
    ColumnSpec("Paid amount", "paid", ColumnType.MONEY, number_format="#,##0.00 €"),
    ColumnSpec("SLA rate", "sla", ColumnType.PERCENT),
    ColumnSpec("Last paid", "last_paid", ColumnType.DATETIME),
    ColumnSpec("Internal", "internal", hidden=True),
    ColumnSpec("New price", "new_price", ColumnType.MONEY, editable=True),
)


def template(**changes: Any) -> TabTemplate:
    base: dict[str, Any] = {
        "title": "KPI Daily",
        "columns": COLUMNS,
        "query": "kpi_daily",
        "key": ("Date", "Country"),
    }
    base.update(changes)
    return TabTemplate(**base)


def row(day: int, country: str, seller: str = "Acme", orders: int = 1, paid: str = "10.50"):
    return (
        dt.date(2025, 6, day),
        country,
        seller,
        orders,
        Decimal(paid),
        0.875,
        dt.datetime(2025, 6, day, 14, 30),
        "x",
        None,
    )


ROWS = [row(1, "FR"), row(1, "DE", orders=3, paid="99.99"), row(2, "FR", seller=INJECTION)]


# A re-sync that replaces most rows of a keyed tab must say so (see test_xlsx_safety).
SHRINK_OK = WriteOptions(allow_shrink=True)


def write(path: Path, *frames: TabFrame, options: WriteOptions = DEFAULT_OPTIONS) -> Any:
    XlsxBackend(path).write_tabs(list(frames), options)
    return load_workbook(path)


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return tmp_path / "ops.xlsx"


def test_values_are_typed_with_number_formats(book: Path) -> None:
    ws = write(book, TabFrame(template(), ROWS))["KPI Daily"]
    date, country, _, orders, paid, sla, last_paid, _, new_price = ws[2]
    assert (date.value, date.number_format) == (dt.datetime(2025, 6, 1), "yyyy-mm-dd")
    assert date.is_date and last_paid.is_date
    assert (last_paid.value, last_paid.number_format) == (
        dt.datetime(2025, 6, 1, 14, 30),
        "yyyy-mm-dd hh:mm",
    )
    assert (orders.value, orders.number_format, orders.data_type) == (1, "#,##0", "n")
    assert (paid.value, paid.number_format) == (10.5, "#,##0.00 €")
    assert (sla.value, sla.number_format) == (0.875, "0.0%")
    assert (country.value, country.data_type) == ("FR", "s")
    assert new_price.value is None
    assert ws["E3"].value == 99.99


def test_header_is_bold_and_frozen_with_a_filter_over_the_data(book: Path) -> None:
    ws = write(book, TabFrame(template(), ROWS))["KPI Daily"]
    assert [c.value for c in ws[1]] == [c.header for c in COLUMNS]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:I4"


@pytest.mark.parametrize(
    ("rows", "columns", "expected"),
    [(1, 0, "A2"), (1, 2, "C2"), (2, 1, "B3"), (0, 0, None)],
)
def test_freeze_follows_the_template(book: Path, rows: int, columns: int, expected) -> None:
    frame = TabFrame(template(freeze_rows=rows, freeze_columns=columns), ROWS)
    assert write(book, frame)["KPI Daily"].freeze_panes == expected


def test_filter_can_be_turned_off(book: Path) -> None:
    assert write(book, TabFrame(template(filter=False), ROWS))["KPI Daily"].auto_filter.ref is None


def test_an_empty_tab_still_has_its_header_and_filter(book: Path) -> None:
    ws = write(book, TabFrame(template(), []))["KPI Daily"]
    assert [c.value for c in ws[1]][:2] == ["Date", "Country"]
    assert ws.max_row == 1
    assert ws.auto_filter.ref == "A1:I1"


def test_widths_are_pixels_and_hidden_columns_hidden(book: Path) -> None:
    ws = write(book, TabFrame(template(), ROWS))["KPI Daily"]
    dims = ws.column_dimensions
    assert dims["A"].width == pytest.approx(95 / 7, abs=0.1)
    assert dims["C"].width == pytest.approx(170 / 7, abs=0.1)
    assert dims["C"].width > dims["A"].width
    assert dims["B"].width >= len("Country")  # sized to its content
    assert dims["H"].hidden and not dims["G"].hidden


def test_only_editable_columns_and_team_columns_are_unlocked(book: Path) -> None:
    ws = write(book, TabFrame(template(), ROWS))["KPI Daily"]
    assert ws.protection.sheet
    assert not ws.protection.autoFilter and not ws.protection.sort  # filtering stays allowed
    assert ws["I2"].protection.locked is False  # New price is editable, even when empty
    assert all(ws.cell(r, c).protection.locked for r in (1, 2, 3) for c in range(1, 9))
    assert ws.cell(1, 9).protection.locked  # the header of an editable column is not
    team = ws.column_dimensions["J"]
    assert team.min == 10 and team.max == 16_384
    assert team.protection.locked is False


@pytest.mark.parametrize(
    "value", [INJECTION, "=1+1", "+SUM(A1:A2)", "@cmd", '=HYPERLINK("http://x")', "'quoted"]
)
def test_text_that_looks_like_a_formula_stays_literal(book: Path, value: str) -> None:
    frame = TabFrame(template(), [row(1, "FR", seller=value)])
    ws = write(book, frame)["KPI Daily"]
    assert ws["C2"].value == value
    assert ws["C2"].data_type == "s"
    with zipfile.ZipFile(book) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml
    assert XlsxBackend(book).read_tab("KPI Daily")[1][2] == value


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN")])
def test_values_a_workbook_cannot_hold_become_empty_cells(book: Path, value) -> None:
    frame = TabFrame(template(), [(*row(1, "FR")[:5], value, *row(1, "FR")[6:])])
    assert write(book, frame)["KPI Daily"]["F2"].value is None


def test_text_with_control_characters_is_written_safely(book: Path) -> None:
    frame = TabFrame(template(), [row(1, "FR", seller="Bad\x01Name")])
    assert write(book, frame)["KPI Daily"]["C2"].value == "Bad\ufffdName"


def test_conditional_formats_cover_the_data_cells(book: Path) -> None:
    rules = (
        ConditionalFormat("SLA rate", ConditionKind.NUMBER_LESS, ("0.85",), background="#F4CCCC"),
        ConditionalFormat("Country", ConditionKind.TEXT_EQ, ("FR", "DE"), bold=True),
        ConditionalFormat("Orders", ConditionKind.NUMBER_BETWEEN, ("2", "5"), font_color="#990000"),
    )
    ws = write(book, TabFrame(template(conditional_formats=rules), ROWS))["KPI Daily"]
    found = {
        str(cf.sqref): [(r.type, r.operator, list(r.formula)) for r in cf.rules]
        for cf in ws.conditional_formatting
    }
    assert found["F2:F4"] == [("cellIs", "lessThan", ["0.85"])]
    assert found["B2:B4"] == [("cellIs", "equal", ['"FR"']), ("cellIs", "equal", ['"DE"'])]
    assert found["D2:D4"] == [("cellIs", "between", ["2.0", "5.0"])]


def test_a_non_numeric_number_rule_names_the_template_and_key(book: Path) -> None:
    rules = (ConditionalFormat("Orders", ConditionKind.NUMBER_GREATER, ("lots",)),)
    with pytest.raises(TemplateError, match=r"conditional_formats\[0\]\.values.*'lots'.*Fix"):
        XlsxBackend(book).write_tabs([TabFrame(template(conditional_formats=rules), ROWS)])
    assert not book.exists()


# -- re-sync ------------------------------------------------------------------


def add_team_column(path: Path, title: str, notes: dict[int, str], column: int = 10) -> None:
    """What an analyst does in Excel: a header and a few notes right of the data."""
    wb = load_workbook(path)
    ws = wb[title]
    ws.cell(1, column, "Note")
    for row_number, note in notes.items():
        ws.cell(row_number, column, note)
    wb.save(path)


def notes_by_key(path: Path, title: str = "KPI Daily", column: int = 10) -> dict[tuple, Any]:
    ws = load_workbook(path)[title]
    return {
        (r[0].value.date(), r[1].value): r[column - 1].value
        for r in ws.iter_rows(min_row=2)
        if len(r) >= column
    }


def test_team_columns_follow_their_rows_when_rows_move_appear_and_vanish(book: Path) -> None:
    first = [row(1, "DE"), row(1, "FR"), row(2, "DE"), row(2, "FR")]
    XlsxBackend(book).write_tabs([TabFrame(template(), first)])
    add_team_column(book, "KPI Daily", {2: "call DE", 4: "DE day 2", 5: "FR day 2"})
    # next day: day 1 leaves the window except FR, order changes, day 3 appears
    second = [row(3, "FR"), row(2, "FR"), row(1, "FR"), row(3, "DE"), row(2, "DE")]
    ws = write(book, TabFrame(template(), second))["KPI Daily"]
    assert ws["J1"].value == "Note"
    assert notes_by_key(book) == {
        (dt.date(2025, 6, 3), "FR"): None,
        (dt.date(2025, 6, 2), "FR"): "FR day 2",
        (dt.date(2025, 6, 1), "FR"): None,
        (dt.date(2025, 6, 3), "DE"): None,
        (dt.date(2025, 6, 2), "DE"): "DE day 2",
    }
    assert "call DE" not in [c.value for c in ws["J"]]  # its row vanished
    assert ws.column_dimensions["J"].protection.locked is False  # new notes can be typed
    assert (
        ws.column_dimensions["K"].min == 11 and ws.column_dimensions["K"].protection.locked is False
    )


def test_team_columns_shift_right_when_the_template_gains_a_column(book: Path) -> None:
    XlsxBackend(book).write_tabs([TabFrame(template(), [row(1, "FR")])])
    add_team_column(book, "KPI Daily", {2: "keep me"})
    wider = template(columns=(*COLUMNS, ColumnSpec("Extra", "extra")))
    ws = write(book, TabFrame(wider, [(*row(1, "FR"), "new")]))["KPI Daily"]
    assert (ws["J2"].value, ws["K1"].value, ws["K2"].value) == ("new", "Note", "keep me")


def test_a_tab_without_key_keeps_team_cells_by_position(book: Path) -> None:
    plain = template(key=())
    XlsxBackend(book).write_tabs([TabFrame(plain, [row(1, "FR"), row(2, "FR")])])
    add_team_column(book, "KPI Daily", {3: "second row"})
    ws = write(book, TabFrame(plain, [row(5, "DE"), row(6, "DE")]))["KPI Daily"]
    assert ws["J3"].value == "second row"


def test_resync_replaces_data_and_leaves_other_sheets_alone(book: Path) -> None:
    wb = Workbook()
    wb.active.title = "My notes"
    wb.active["A1"] = "=SUM(1,2)"
    wb.active["B2"] = "hello"
    wb.save(book)
    XlsxBackend(book).write_tabs([TabFrame(template(), ROWS)])
    wb = load_workbook(book)
    wb.create_sheet("Charts", 0)
    wb.move_sheet("My notes", offset=1)  # the team's own order: Charts, KPI Daily, My notes
    wb.save(book)
    wb = write(book, TabFrame(template(), [row(9, "IT")]), options=SHRINK_OK)
    assert wb.sheetnames == ["Charts", "KPI Daily", "My notes"]
    assert wb["My notes"]["A1"].value == "=SUM(1,2)" and wb["My notes"]["B2"].value == "hello"
    assert wb["KPI Daily"].max_row == 2 and wb["KPI Daily"]["B2"].value == "IT"


def test_only_the_synced_tabs_are_replaced(book: Path) -> None:
    other = template(title="Pricing", key=())
    XlsxBackend(book).write_tabs([TabFrame(template(), ROWS), TabFrame(other, ROWS)])
    wb = write(book, TabFrame(template(), [row(9, "IT")]), options=SHRINK_OK)
    assert wb["Pricing"].max_row == len(ROWS) + 1
    assert wb["KPI Daily"].max_row == 2


def test_a_failure_mid_write_leaves_the_previous_workbook_intact(book: Path) -> None:
    XlsxBackend(book).write_tabs([TabFrame(template(), ROWS)])
    before = book.read_bytes()
    bad = template(
        title="Broken",
        conditional_formats=(ConditionalFormat("Orders", ConditionKind.NUMBER_LESS, ("x",)),),
    )
    with pytest.raises(TemplateError):
        XlsxBackend(book).write_tabs(
            [TabFrame(template(), [row(9, "IT")]), TabFrame(bad, ROWS)], SHRINK_OK
        )
    assert book.read_bytes() == before
    assert [p.name for p in book.parent.iterdir()] == [book.name]  # no temporary file left


def test_a_new_workbook_is_readable_by_the_team_as_the_umask_says(book: Path) -> None:
    previous = os.umask(0o022)
    try:
        XlsxBackend(book).write_tabs([TabFrame(template(), ROWS)])
    finally:
        os.umask(previous)
    assert stat.S_IMODE(book.stat().st_mode) == 0o644


def test_a_resync_keeps_the_workbook_s_mode(book: Path) -> None:
    XlsxBackend(book).write_tabs([TabFrame(template(), ROWS)])
    book.chmod(0o640)
    XlsxBackend(book).write_tabs([TabFrame(template(), ROWS)])
    assert stat.S_IMODE(book.stat().st_mode) == 0o640


# -- pivots -------------------------------------------------------------------

PIVOT_ROWS = [
    row(1, "FR", orders=2, paid="10.10"),
    row(1, "DE", orders=5, paid="20.00"),
    row(2, "FR", orders=1, paid="0.05"),
    row(3, "FR", orders=4, paid="7.00"),
    row(3, "IT", orders=0, paid="0"),
]


def test_pivot_is_a_computed_table_with_grand_totals(book: Path) -> None:
    spec = PivotSpec(
        "Pivot · Country × Date",
        rows=("Country",),
        columns=("Date",),
        values=(PivotValue("Orders"), PivotValue("Paid amount")),
    )
    wb = write(book, TabFrame(template(pivots=(spec,)), PIVOT_ROWS))
    ws = wb[spec.title]
    grid = [[c.value for c in r] for r in ws.iter_rows()]
    days = sorted({r[0] for r in PIVOT_ROWS})
    assert grid[0][0] == "Country"
    assert grid[0][1:3] == ["2025-06-01 · SUM of Orders", "2025-06-01 · SUM of Paid amount"]
    assert grid[0][-2:] == [f"{GRAND_TOTAL} · SUM of Orders", f"{GRAND_TOTAL} · SUM of Paid amount"]
    sums: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    for r in PIVOT_ROWS:
        for key in [(r[1], r[0]), (r[1], None), (None, r[0]), (None, None)]:
            sums[key][0] += r[3]
            sums[key][1] += r[4]
    countries = sorted({r[1] for r in PIVOT_ROWS})
    assert [line[0] for line in grid[1:]] == [*countries, GRAND_TOTAL]
    for line, country in zip(grid[1:], [*countries, None], strict=True):
        for i, day in enumerate([*days, None]):
            expected = sums.get((country, day))
            got = line[1 + 2 * i : 3 + 2 * i]
            if expected is None:
                assert got == [None, None]
            else:
                assert got == [expected[0], pytest.approx(float(expected[1]))]
    assert ws.cell(len(grid), 1).font.b  # the total row is bold
    assert ws.cell(2, 3).number_format == "#,##0.00 €"


@pytest.mark.parametrize(
    ("summarize", "expected"),
    [
        (Summarize.SUM, {"FR": 7, "DE": 5, "IT": 0, GRAND_TOTAL: 12}),
        (Summarize.MAX, {"FR": 4, "DE": 5, "IT": 0, GRAND_TOTAL: 5}),
        (Summarize.MIN, {"FR": 1, "DE": 5, "IT": 0, GRAND_TOTAL: 0}),
        (Summarize.COUNTA, {"FR": 3, "DE": 1, "IT": 1, GRAND_TOTAL: 5}),
    ],
)
def test_pivot_summarize_functions_and_totals(book: Path, summarize, expected) -> None:
    spec = PivotSpec("P", rows=("Country",), values=(PivotValue("Orders", summarize),))
    ws = write(book, TabFrame(template(pivots=(spec,)), PIVOT_ROWS))["P"]
    got = {r[0].value: r[1].value for r in ws.iter_rows(min_row=2)}
    assert got == expected
    assert ws["B1"].value == f"{summarize.value} of Orders"


def test_pivot_rows_sort_descending_when_asked(book: Path) -> None:
    spec = PivotSpec("P", rows=("Country",), values=(PivotValue("Orders"),), sort_rows="DESCENDING")
    ws = write(book, TabFrame(template(pivots=(spec,)), PIVOT_ROWS))["P"]
    assert [r[0].value for r in ws.iter_rows(min_row=2)] == ["IT", "FR", "DE", GRAND_TOTAL]


# -- limits and errors ----------------------------------------------------------


def test_a_sheet_title_over_31_characters_fails_before_writing(book: Path) -> None:
    long_title = "Seller Scorecard for the whole team"
    with pytest.raises(
        LimitError,
        match=(
            r"tab 'Seller Scorecard for the whole team': the title has 35 characters"
            r", xlsx allows at most 31;"
        ),
    ):
        XlsxBackend(book).write_tabs([TabFrame(template(title=long_title), ROWS)])
    assert not book.exists()


def test_a_pivot_title_over_31_characters_fails_too(book: Path) -> None:
    spec = PivotSpec("Pivot · Country × Week × Seller × Day", ("Country",), (PivotValue("Orders"),))
    too_long = rf"tab '{spec.title}': the title has 37 characters, xlsx allows at most 31;"
    with pytest.raises(LimitError, match=too_long):
        XlsxBackend(book).write_tabs([TabFrame(template(pivots=(spec,)), ROWS)])
    assert not book.exists()


def test_a_cell_over_32767_characters_names_the_tab_row_and_column(book: Path) -> None:
    frame = TabFrame(
        template(), [row(1, "FR"), row(2, "FR", seller="x" * (XLSX_MAX_CELL_CHARS + 1))]
    )
    with pytest.raises(
        LimitError,
        match=(
            r"tab 'KPI Daily': the cell in row 3, column 'Seller' has 32,768 characters"
            r", xlsx allows at most 32,767 per cell"
        ),
    ):
        XlsxBackend(book).write_tabs([frame])
    assert not book.exists()


def test_too_many_rows_fail_naming_the_figures(book: Path) -> None:
    one = template(columns=(ColumnSpec("Country", "country"),), key=())
    frame = TabFrame(one, [("FR",)] * XLSX_MAX_ROWS)
    with pytest.raises(
        LimitError,
        match=r"tab 'KPI Daily': 1,048,577 rows \(with the header\) exceed xlsx's 1,048,576 rows",
    ):
        XlsxBackend(book).write_tabs([frame])
    assert not book.exists()


def test_two_sheets_with_the_same_title_are_refused(book: Path) -> None:
    spec = PivotSpec("kpi daily", ("Country",), (PivotValue("Orders"),))
    with pytest.raises(
        LimitError, match=r"tab 'kpi daily' clashes with 'KPI Daily': .* the same title"
    ):
        XlsxBackend(book).write_tabs([TabFrame(template(pivots=(spec,)), ROWS)])
    assert not book.exists()


def test_the_report_says_what_each_sheet_got_tabs_then_pivots(book: Path) -> None:
    """A tab cut to fit is reported with the rows it kept, and its pivot sums those only."""
    spec = PivotSpec("P", rows=("Country",), values=(PivotValue("Orders"),))
    cut = TabFrame(template(pivots=(spec,), truncate_to_limit=True), PIVOT_ROWS)
    other = TabFrame(template(title="Other"), ROWS)
    workbook = XlsxBackend(book)
    workbook.limits = dataclasses.replace(XLSX_LIMITS, max_rows_per_sheet=4)
    report = workbook.write_tabs([cut, other])
    got = [(t.title, t.rows, t.cells, t.truncated_from) for t in report.tabs]
    width = len(COLUMNS)
    assert got == [
        ("KPI Daily", 3, 4 * width, len(PIVOT_ROWS)),
        ("Other", 3, 4 * width, None),
        ("P", 2, 4 * 2, None),  # FR and IT, with header and total rows, over two columns
    ]
    assert report.rows_written == 8 and report.cells_written == 8 * width + 8
    kept = [(r[0].day, r[1]) for r in workbook.read_tab("KPI Daily")[1:]]
    assert kept == [(2, "FR"), (3, "FR"), (3, "IT")]


def test_read_tab_returns_values_with_formulas_as_text(book: Path) -> None:
    XlsxBackend(book).write_tabs([TabFrame(template(), ROWS)])
    wb = load_workbook(book)
    wb["KPI Daily"]["I2"] = "=E2*1.1"
    wb.save(book)
    cells = XlsxBackend(book).read_tab("KPI Daily")
    assert cells[0] == [c.header for c in COLUMNS]
    assert len(cells) == len(ROWS) + 1
    assert cells[1][8] == "=E2*1.1"
    assert cells[2][3] == 3


def test_read_tab_of_a_missing_tab_lists_the_tabs(book: Path) -> None:
    XlsxBackend(book).write_tabs([TabFrame(template(), ROWS)])
    with pytest.raises(DestinationError, match=r"no tab 'Pricing'.*\['KPI Daily'\]"):
        XlsxBackend(book).read_tab("Pricing")


def test_a_file_that_is_not_a_workbook_is_a_clear_error(book: Path) -> None:
    book.write_text("not a zip")
    with pytest.raises(DestinationError, match=r"not a readable \.xlsx workbook"):
        XlsxBackend(book).write_tabs([TabFrame(template(), ROWS)])
    assert book.read_text() == "not a zip"


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DestinationError, match="does not exist; create it first"):
        XlsxBackend(tmp_path / "nope" / "ops.xlsx").write_tabs([TabFrame(template(), ROWS)])
