"""The workbook as a package: a re-sync rewrites the managed sheets and nothing else.

What the team relies on: their sheets, charts and names come back byte for
byte after a sync, the styles their cells point at keep their indices, charts
the product puts on a managed tab are replaced (not piled up) on each write,
and the file opens in LibreOffice (converted headless: no repair, every sheet
readable, the synced values in it).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.archive import ARCHIVE_TITLE
from sheets_sync.backends.base import CellWrite
from sheets_sync.backends.xlsx.backend import XlsxBackend
from sheets_sync.backends.xlsx.package import Package
from sheets_sync.frame import TabFrame
from sheets_sync.tab_templates.model import (
    ColumnSpec,
    ColumnType,
    PivotSpec,
    PivotValue,
    TabTemplate,
)
from tests.conftest import unavailable

TITLE = "KPI Daily"
COLUMNS = (
    ColumnSpec("Date", "day", ColumnType.DATE),
    ColumnSpec("Country", "country"),
    ColumnSpec("Orders", "orders", ColumnType.INTEGER),
    ColumnSpec("Paid amount", "paid", ColumnType.MONEY, number_format="#,##0.00 €"),
    ColumnSpec("Comment", "comment", editable=True),
)
TEMPLATE = TabTemplate(
    title=TITLE,
    columns=COLUMNS,
    key=("Date", "Country"),
    pivots=(PivotSpec("Pivot · Country", rows=("Country",), values=(PivotValue("Orders"),)),),
)
OTHER = TabTemplate(title="Onboarding", columns=(ColumnSpec("Seller", "seller"),))
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def row(day: int, country: str, orders: int) -> tuple[Any, ...]:
    return (dt.date(2025, 6, day), country, orders, Decimal(orders) * Decimal("10.50"), None)


FOUR = [row(1, "FR", 1), row(1, "DE", 3), row(2, "FR", 2), row(2, "DE", 4)]
LATER = [row(2, "FR", 2), row(2, "DE", 5), row(3, "FR", 7)]  # June 1st leaves


def frames(rows: list[tuple[Any, ...]]) -> list[TabFrame]:
    return [TabFrame(TEMPLATE, rows), TabFrame(OTHER, [("Ada",), ("Bo",)])]


def bar_chart(frame: TabFrame, ws: Worksheet) -> None:
    """What a dashboard does: a chart of the tab's Orders column, beside the data."""
    if frame.title != TITLE:
        return
    chart = BarChart()
    chart.title = "Orders"
    rows = len(frame.rows) + 1
    chart.add_data(Reference(ws, min_col=3, min_row=1, max_row=rows), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=2, min_row=2, max_row=rows))
    ws.add_chart(chart, "H2")


def team_edits(path: Path) -> None:
    """The team's work, saved by a spreadsheet program: a sheet with a chart and a name,
    a note in their own column of the managed tab, an edit in its editable column."""
    wb = load_workbook(path)
    notes = wb.create_sheet("Team notes")
    for values in (("Country", "Visits"), ("FR", 10), ("DE", 14)):
        notes.append(values)
    chart = BarChart()
    chart.add_data(Reference(notes, min_col=2, min_row=1, max_row=3), titles_from_data=True)
    notes.add_chart(chart, "D2")
    daily = wb[TITLE]
    daily.cell(1, 7, "Owner")
    daily.cell(2, 7, "Lea")  # 2025-06-01 FR: leaves on the next sync
    daily.cell(4, 7, "Sam")  # 2025-06-02 FR: stays
    daily.cell(4, 5, "check the refund")  # a pending edit in Comment
    wb.save(path)


def members(path: Path) -> dict[str, tuple[bytes, int, int]]:
    """Each member's bytes with its stored CRC and compressed size."""
    with zipfile.ZipFile(path) as archive:
        return {i.filename: (archive.read(i), i.CRC, i.compress_size) for i in archive.infolist()}


def sheet_parts(path: Path) -> dict[str, str]:
    """Sheet title → its zip member."""
    package = Package.open(path)
    try:
        return {ws.title: package.parts[id(ws)].path for ws in package.wb.worksheets}
    finally:
        package.close()


def xfs(styles: bytes, tag: str) -> list[bytes]:
    root = ElementTree.fromstring(styles)
    found = root.find(f"{MAIN}{tag}")
    return [] if found is None else [ElementTree.tostring(e) for e in found]


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return tmp_path / "ops.xlsx"


def test_a_resync_leaves_every_other_member_byte_identical(book: Path) -> None:
    XlsxBackend(book).write_tabs(frames(FOUR))
    team_edits(book)
    before, parts = members(book), sheet_parts(book)
    XlsxBackend(book).write_tabs([TabFrame(OTHER, [("Ada",), ("Bo",), ("Cy",)])])
    after = members(book)
    touched = {
        parts["Onboarding"],
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "[Content_Types].xml",
        "xl/styles.xml",
    }
    assert set(after) >= set(before) - touched
    for name in set(before) - touched:
        assert after[name] == before[name], name  # same bytes, stored as they were
    assert any(n.startswith("xl/charts/") for n in before)  # the team's chart was there
    wb = load_workbook(book)
    assert [c.value for c in wb["Onboarding"]["A"]] == ["Seller", "Ada", "Bo", "Cy"]
    assert wb[TITLE].cell(2, 7).value == "Lea"
    assert len(wb["Team notes"]._charts) == 1


def test_styles_are_appended_and_shared_never_renumbered(book: Path) -> None:
    XlsxBackend(book).write_tabs(frames(FOUR))
    team_edits(book)
    before = members(book)["xl/styles.xml"][0]
    XlsxBackend(book).write_tabs(frames(LATER))
    once = members(book)["xl/styles.xml"][0]
    XlsxBackend(book).write_tabs(frames(LATER))
    twice = members(book)["xl/styles.xml"][0]
    for tag in ("cellXfs", "fonts", "fills", "numFmts", "dxfs"):
        assert xfs(once, tag)[: len(xfs(before, tag))] == xfs(before, tag), tag
    assert twice == once  # the same write adds no style a second time
    ws = load_workbook(book)[TITLE]
    assert ws.cell(2, 4).number_format == "#,##0.00 €"
    assert ws.cell(2, 1).number_format == "yyyy-mm-dd"
    assert ws.cell(1, 1).font.b


def test_charts_on_a_managed_tab_are_written_and_replaced_on_each_sync(book: Path) -> None:
    XlsxBackend(book, charts=bar_chart).write_tabs(frames(FOUR))
    XlsxBackend(book, charts=bar_chart).write_tabs(frames(LATER))
    names = set(members(book))
    assert sorted(n for n in names if n.startswith("xl/charts/")) == ["xl/charts/chart1.xml"]
    assert sorted(n for n in names if n.startswith("xl/drawings/drawing")) == [
        "xl/drawings/drawing1.xml"
    ]
    charts = load_workbook(book)[TITLE]._charts
    assert len(charts) == 1 and isinstance(charts[0], BarChart)
    assert charts[0].series[0].val.numRef.f == f"'{TITLE}'!$C$2:$C$4"
    XlsxBackend(book).write_tabs(frames(LATER))  # a write without charts drops them
    assert not [n for n in members(book) if n.startswith(("xl/charts/", "xl/drawings/"))]
    assert load_workbook(book)[TITLE]._charts == []


# -- LibreOffice ------------------------------------------------------------------


@pytest.fixture(scope="module")
def soffice() -> str:
    found = shutil.which("soffice")
    if found is None:
        message = "LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui"
        unavailable(message, "CI=true: LibreOffice is required")
    return found


def libreoffice_csv(soffice: str, book: Path, out: Path) -> dict[str, list[list[str]]]:
    """Every sheet of ``book`` as LibreOffice reads it (one CSV per sheet)."""
    profile = out / "profile"
    export = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"
    done = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            export,
            "--outdir",
            str(out),
            str(book),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "HOME": str(out)},
    )
    assert done.returncode == 0, done.stderr
    sheets: dict[str, list[list[str]]] = {}
    for path in out.glob(f"{book.stem}-*.csv"):
        with path.open(encoding="utf-8") as handle:
            sheets[path.stem[len(book.stem) + 1 :]] = list(csv.reader(handle))
    return sheets


@pytest.fixture
def team_book(book: Path) -> Iterator[Path]:
    """A synced workbook the team worked in, then synced again (a row left: notes archived)."""
    XlsxBackend(book, charts=bar_chart).write_tabs(frames(FOUR))
    team_edits(book)
    XlsxBackend(book, charts=bar_chart).write_tabs(frames(LATER))
    yield book


def test_libreoffice_reads_every_sheet_of_a_resynced_workbook(
    soffice: str, team_book: Path, tmp_path: Path
) -> None:
    sheets = libreoffice_csv(soffice, team_book, tmp_path / "lo")
    assert set(sheets) >= {TITLE, "Pivot · Country", "Onboarding", "Team notes", ARCHIVE_TITLE}
    daily = sheets[TITLE]
    assert daily[0][:7] == ["Date", "Country", "Orders", "Paid amount", "Comment", "", "Owner"]
    assert daily[1][:5] == ["2025-06-02", "FR", "2", "21.00 €", "check the refund"]
    assert daily[1][6] == "Sam"
    assert daily[3][:4] == ["2025-06-03", "FR", "7", "73.50 €"]
    assert sheets["Team notes"][1][:2] == ["FR", "10"]
    assert sheets["Onboarding"][1][:1] == ["Ada"]
    assert any("Lea" in line for line in sheets[ARCHIVE_TITLE])


# -- reading the previous version ---------------------------------------------------


def odd_cells(path: Path) -> None:
    """A sheet holding every kind of cell a team leaves behind."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Odd"
    ws.append(["text", " padded ", "a & b < c", 42, 2.5, True, None, "=SUM(D1:E1)"])
    ws.append([dt.date(2025, 6, 1), dt.datetime(2025, 6, 1, 12, 30), 10**17, -0.1, "#N/A"])
    ws["C2"].number_format = "0.00"
    ws["E2"].data_type = "e"
    ws["A3"] = "line\nbreak"
    wb.save(path)


def scanned(path: Path, keep: Any = None) -> dict[tuple[int, int], Any]:
    package = Package.open(path)
    try:
        ws = package.wb["Odd"]
        package.scan(ws, keep)
        return {k: (c.value, c.data_type) for k, c in ws._cells.items() if c.value is not None}
    finally:
        package.close()


def loaded(path: Path) -> dict[tuple[int, int], Any]:
    ws = load_workbook(path)["Odd"]
    return {k: (c.value, c.data_type) for k, c in ws._cells.items() if c.value is not None}


def without_references(path: Path) -> None:
    """The sheet's cells without their ``r`` attribute (allowed; some writers do it)."""
    import re

    parts = {name: data for name, (data, _, _) in members(path).items()}
    parts["xl/worksheets/sheet1.xml"] = re.sub(
        rb'<c r="[A-Z]+[0-9]+"', b"<c", parts["xl/worksheets/sheet1.xml"]
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("spelling", ["as written", "cells without references"])
def test_the_previous_version_is_read_as_openpyxl_reads_it(book: Path, spelling: str) -> None:
    odd_cells(book)
    if spelling == "cells without references":
        without_references(book)  # read by the general parser
    assert scanned(book) == loaded(book)
    only_b = scanned(book, lambda column: column == 2)
    assert only_b == {k: v for k, v in loaded(book).items() if k[1] == 2 or k[0] == 1}


def test_a_workbook_saved_by_libreoffice_is_read_and_resynced(
    soffice: str, book: Path, tmp_path: Path
) -> None:
    """LibreOffice spells the package its own way (shared strings, its own styles and
    names): the team's cells and edits still follow their rows."""
    odd_cells(book)
    converted = tmp_path / "lo"
    done = subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--convert-to", "xlsx", "--outdir", str(converted), str(book)],
        capture_output=True, text=True, timeout=180, env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    saved = converted / book.name
    assert scanned(saved) == loaded(saved)
    XlsxBackend(book).write_tabs(frames(FOUR))
    team_edits(book)
    relo = tmp_path / "relo"
    subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--convert-to", "xlsx", "--outdir", str(relo), str(book)],
        capture_output=True, text=True, timeout=180, env={**os.environ, "HOME": str(tmp_path)},
        check=True,
    )  # fmt: skip
    again = relo / book.name
    assert "sharedStrings" in str(members(again).keys())
    XlsxBackend(again).write_tabs(frames(LATER))
    ws = load_workbook(again)[TITLE]
    rows = {(r[0].value.date(), r[1].value): [c.value for c in r] for r in ws.iter_rows(min_row=2)}
    assert rows[(dt.date(2025, 6, 2), "FR")][4] == "check the refund"
    assert rows[(dt.date(2025, 6, 2), "FR")][6] == "Sam"
    assert rows[(dt.date(2025, 6, 3), "FR")][2] == 7
    archived = [c.value for r in load_workbook(again)[ARCHIVE_TITLE].iter_rows() for c in r]
    assert "Lea" in archived


def test_a_write_back_patches_its_cells_and_keeps_every_other_part(book: Path) -> None:
    XlsxBackend(book, charts=bar_chart).write_tabs(frames(FOUR))
    team_edits(book)
    before, parts = members(book), sheet_parts(book)
    writes = [
        CellWrite(2, 5, "=IMPORTXML(1)"),  # text, never a formula
        CellWrite(3, 3, 99),
        CellWrite(4, 5, None),  # the pending edit, cleared
        CellWrite(9, 2, "a row of its own"),
    ]
    XlsxBackend(book).write_planned(TITLE, [], lambda now: writes)
    after = members(book)
    touched = {parts[TITLE], "xl/workbook.xml", "[Content_Types].xml", "xl/styles.xml"}
    touched.add("xl/_rels/workbook.xml.rels")
    for name in set(before) - touched:
        assert after[name] == before[name], name
    ws = load_workbook(book)[TITLE]
    assert (ws.cell(2, 5).value, ws.cell(2, 5).data_type) == ("=IMPORTXML(1)", "s")
    assert ws.cell(3, 3).value == 99 and ws.cell(3, 3).number_format == "#,##0"
    assert ws.cell(4, 5).value is None and ws.cell(4, 5).protection.locked is False
    assert ws.cell(9, 2).value == "a row of its own"
    assert ws.cell(2, 7).value == "Lea" and len(ws._charts) == 1


def test_a_stale_calculation_chain_is_dropped(book: Path) -> None:
    """Excel lists formula cells in calcChain.xml; after a managed sheet changes, a stale
    list makes Excel repair the file, so it goes (Excel rebuilds it)."""
    XlsxBackend(book).write_tabs(frames(FOUR))
    parts = {name: data for name, (data, _, _) in members(book).items()}
    parts["xl/calcChain.xml"] = (
        b'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<c r="G2" i="1"/></calcChain>'
    )
    rel = (
        '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>'
    )
    rels = parts["xl/_rels/workbook.xml.rels"].decode().replace("</Relationships>", rel)
    parts["xl/_rels/workbook.xml.rels"] = rels.encode()
    override = (
        '<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.calcChain+xml"/></Types>'
    )
    types = parts["[Content_Types].xml"].decode().replace("</Types>", override)
    parts["[Content_Types].xml"] = types.encode()
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    XlsxBackend(book).write_tabs(frames(LATER))
    after = members(book)
    assert "xl/calcChain.xml" not in after
    assert b"calcChain" not in after["xl/_rels/workbook.xml.rels"][0]
    assert b"calcChain" not in after["[Content_Types].xml"][0]
    assert load_workbook(book)[TITLE].cell(4, 2).value == "FR"


def test_sheets_moved_in_the_shell_keep_their_local_names_and_the_active_tab(
    book: Path,
) -> None:
    """A write that reorders sheets (a tab asked to come first) moves the ``<sheet>``
    entries, the sheet-local names (a print area) with their sheet, and the active tab."""
    from sheets_sync.backends.xlsx import save as xlsx_save

    XlsxBackend(book).write_tabs(frames(FOUR))
    wb = load_workbook(book)
    wb.create_sheet("Team notes").print_area = "A1:B5"
    wb.active = wb.sheetnames.index("Team notes")
    wb.save(book)
    package = Package.open(book)
    try:
        shell = package.wb
        notes = shell["Team notes"]
        shell.move_sheet(notes, offset=-shell.index(notes))  # first
        shell.active = 0
        xlsx_save.save(package, [], str(book.with_name("moved.xlsx")))
    finally:
        package.close()
    moved = load_workbook(book.with_name("moved.xlsx"))
    assert moved.sheetnames[0] == "Team notes"
    assert moved.sheetnames[1:] == [n for n in load_workbook(book).sheetnames if n != "Team notes"]
    assert moved["Team notes"].print_area == "'Team notes'!$A$1:$B$5"
    assert moved.active.title == "Team notes"
    assert moved[TITLE].auto_filter.ref == "A1:E5"


def test_a_written_sheet_carries_its_visibility(book: Path) -> None:
    """A sheet the write hides (a sheet of chart data) is hidden in the workbook, new or
    replaced; written visible again, it shows again."""

    def hide_onboarding(frame: TabFrame, ws: Worksheet) -> None:
        if frame.title == "Onboarding":
            ws.sheet_state = "hidden"

    XlsxBackend(book, charts=hide_onboarding).write_tabs(frames(FOUR))  # a new sheet
    assert load_workbook(book)["Onboarding"].sheet_state == "hidden"
    XlsxBackend(book).write_tabs(frames(FOUR))
    assert load_workbook(book)["Onboarding"].sheet_state == "visible"
    XlsxBackend(book, charts=hide_onboarding).write_tabs(frames(FOUR))  # a replaced sheet
    assert load_workbook(book)["Onboarding"].sheet_state == "hidden"
