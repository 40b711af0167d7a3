"""The workbook backend never damages the team's workbook.

Managed sheets and columns are known by hidden defined names, not by title or
position: columns the team inserts are theirs, deleted managed columns come
back, a same-titled sheet of the team's is refused (or adopted), rows that
leave put their notes in ``Archived notes``, a large shrink stops the sync,
and no failure leaves a half-written file. The team's edits are made with
openpyxl the way Excel leaves the file (see :mod:`excel_edits`).
"""

from __future__ import annotations

import datetime as dt
import errno
import re
import zipfile
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import pytest
from excel_edits import delete_column, insert_columns, move_column, rename_sheet
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from sqlalchemy import update
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.archive import ARCHIVE_COLUMNS, ARCHIVE_TITLE
from sheets_sync.backends.base import DEFAULT_OPTIONS, WriteOptions, WriteReport
from sheets_sync.backends.xlsx import save as xlsx_save
from sheets_sync.backends.xlsx.backend import XlsxBackend
from sheets_sync.backends.xlsx.markers import COLUMN_PREFIX, TAB_PREFIX
from sheets_sync.config import Settings
from sheets_sync.errors import DestinationError, ShrinkError
from sheets_sync.frame import TabFrame
from sheets_sync.jobs.run import sync_now
from sheets_sync.tab_templates.model import (
    ColumnSpec,
    ColumnType,
    PivotSpec,
    PivotValue,
    TabTemplate,
)

TITLE = "KPI Daily"
COLUMNS = (
    ColumnSpec("Date", "day", ColumnType.DATE),
    ColumnSpec("Country", "country"),
    ColumnSpec("Orders", "orders", ColumnType.INTEGER),
    ColumnSpec("Paid amount", "paid", ColumnType.MONEY, number_format="#,##0.00 €"),
)
HEADERS = [c.header for c in COLUMNS]
PIVOT = PivotSpec("Pivot · Country", rows=("Country",), values=(PivotValue("Orders"),))


def template(**changes: Any) -> TabTemplate:
    fields: dict[str, Any] = {"title": TITLE, "columns": COLUMNS, "key": ("Date", "Country")}
    fields.update(changes)
    return TabTemplate(**fields)


def row(day: int, country: str, orders: int = 1) -> tuple[Any, ...]:
    return (dt.date(2025, 6, day), country, orders, Decimal(orders) * Decimal("10.50"))


FOUR = [row(1, "FR"), row(1, "DE", 3), row(2, "FR", 2), row(2, "DE", 4)]


def sync(path: Path, rows: Sequence[tuple[Any, ...]], **options: Any) -> WriteReport:
    frame = TabFrame(template(**options.pop("template", {})), list(rows))
    return XlsxBackend(path).write_tabs(
        [frame], WriteOptions(**options) if options else DEFAULT_OPTIONS
    )


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return tmp_path / "ops.xlsx"


def grid(path: Path, sheet: str = TITLE) -> list[list[Any]]:
    ws = load_workbook(path)[sheet]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def by_header(path: Path, sheet: str = TITLE) -> dict[str, dict[tuple[Any, ...], Any]]:
    """Each header → {(day, country): value}: what the team sees, wherever columns are."""
    rows = grid(path, sheet)
    header = rows[0]
    date_at, country_at = header.index("Date"), header.index("Country")
    return {
        str(h): {(r[date_at].day, r[country_at]): r[i] for r in rows[1:]}
        for i, h in enumerate(header)
        if h is not None
    }


# -- columns the team inserts, columns it deletes -----------------------------------


@pytest.mark.parametrize(
    ("at", "expected_header"),
    [
        (1, ["Owner", "Date", "Country", "Orders", "Paid amount"]),
        (3, ["Date", "Country", "Owner", "Orders", "Paid amount"]),
        (4, ["Date", "Country", "Orders", "Owner", "Paid amount"]),
        (5, ["Date", "Country", "Orders", "Paid amount", "Owner"]),
    ],
)
def test_a_column_the_team_inserts_stays_where_it_is_with_its_rows(
    book: Path, at: int, expected_header: list[str]
) -> None:
    sync(book, FOUR)
    insert_columns(book, TITLE, at, {1: "Owner", 2: "Ana", 5: "Bo"})  # rows of 1 FR, 2 DE
    moved = [row(2, "DE", 7), row(3, "IT", 5), row(2, "FR", 6), row(1, "FR", 9), row(1, "DE")]
    for _ in range(2):  # and a sync after that changes nothing more
        sync(book, moved)
        assert grid(book)[0] == expected_header
    seen = by_header(book)
    assert seen["Owner"] == {(2, "DE"): "Bo", (3, "IT"): None, (2, "FR"): None,
                             (1, "FR"): "Ana", (1, "DE"): None}  # fmt: skip
    assert seen["Orders"] == {(2, "DE"): 7, (3, "IT"): 5, (2, "FR"): 6, (1, "FR"): 9, (1, "DE"): 1}
    ws = load_workbook(book)[TITLE]
    orders = get_column_letter(expected_header.index("Orders") + 1)
    assert ws[f"{orders}2"].number_format == "#,##0"
    owner = get_column_letter(expected_header.index("Owner") + 1)
    assert ws.column_dimensions[owner].protection.locked is False  # the team can type there
    assert ws.protection.sheet and ws.protection.insertColumns is False  # and insert more
    assert ws[f"{orders}2"].protection.locked  # managed cells stay locked


def test_team_columns_inside_and_right_survive_a_template_that_gains_a_column(
    book: Path,
) -> None:
    sync(book, FOUR)
    insert_columns(book, TITLE, 3, {1: "Owner", 2: "Ana"})
    wb = load_workbook(book)
    wb[TITLE].cell(1, 6, "Note")
    wb[TITLE].cell(2, 6, "call back")
    wb.save(book)
    wider = (*COLUMNS, ColumnSpec("Extra", "extra"))
    sync(book, [(*r, "x") for r in FOUR], template={"columns": wider})
    assert grid(book)[0] == ["Date", "Country", "Owner", "Orders", "Paid amount", "Extra", "Note"]
    assert grid(book)[1][2::4] == ["Ana", "call back"]


@pytest.mark.parametrize("deleted", [[3], [4, 3], [4], [3, 3]])
def test_deleted_managed_columns_come_back_and_team_cells_stay(
    book: Path, deleted: list[int]
) -> None:
    sync(book, FOUR)
    insert_columns(book, TITLE, 5, {1: "Note", 3: "DE note"})
    for column in deleted:
        delete_column(book, TITLE, column)
    sync(book, FOUR)
    assert grid(book)[0] == [*HEADERS, "Note"]
    assert by_header(book)["Note"][(1, "DE")] == "DE note"
    assert by_header(book)["Paid amount"][(2, "DE")] == 42
    assert load_workbook(book)[TITLE]["A2"].number_format == "yyyy-mm-dd"


@pytest.mark.parametrize(
    ("deleted", "lost", "key"),
    [([1], "'Date'", " · DE"), ([2, 1], "'Date', 'Country'", "row 3")],  # what is left of it
)
def test_a_deleted_key_column_stops_the_run_unless_the_tab_may_be_rebuilt(
    book: Path, deleted: list[int], lost: str, key: str
) -> None:
    """Without its key a row cannot be matched to the team's cells: they are archived,
    never guessed onto a row."""
    sync(book, FOUR)
    insert_columns(book, TITLE, 5, {1: "Note", 3: "DE note"})
    for column in deleted:
        delete_column(book, TITLE, column)
    before = book.read_bytes()
    with pytest.raises(ShrinkError, match=rf"key column\(s\) {lost} were deleted .*--allow-shrink"):
        sync(book, FOUR)
    assert book.read_bytes() == before
    report = sync(book, FOUR, allow_shrink=True)
    assert grid(book)[0] == [*HEADERS, "Note"]
    assert set(by_header(book)["Note"].values()) == {None}
    assert report.tabs[0].archived_notes == 1
    assert archive(book)[1][1:4] == [key, "Note", "DE note"]


def test_a_managed_column_the_team_moved_stays_where_they_put_it(book: Path) -> None:
    sync(book, FOUR)
    insert_columns(book, TITLE, 5, {1: "Note", 2: "FR 1"})
    move_column(book, TITLE, 4, 1)  # Paid amount first
    sync(book, FOUR[::-1])
    assert grid(book)[0] == ["Paid amount", "Date", "Country", "Orders", "Note"]
    assert by_header(book)["Paid amount"][(2, "DE")] == 42
    assert by_header(book)["Note"][(1, "FR")] == "FR 1"


def test_a_renamed_managed_sheet_gets_its_title_back_with_the_team_s_cells(book: Path) -> None:
    sync(book, FOUR)
    insert_columns(book, TITLE, 5, {1: "Note", 2: "keep"})
    rename_sheet(book, TITLE, "Daily (mine)")
    sync(book, FOUR)
    assert load_workbook(book).sheetnames == [TITLE]
    assert by_header(book)["Note"][(1, "FR")] == "keep"


def test_a_renamed_managed_sheet_and_a_new_one_with_its_title_stop_the_run(book: Path) -> None:
    sync(book, FOUR)
    rename_sheet(book, TITLE, "Daily (old)")
    wb = load_workbook(book)
    wb.create_sheet(TITLE)["A1"] = "mine"
    wb.save(book)
    before = book.read_bytes()
    for adopt in (False, True):
        with pytest.raises(
            DestinationError,
            match=r"sheet 'Daily \(old\)' is sheets-sync's 'KPI Daily' renamed, and another",
        ):
            sync(book, FOUR, adopt=adopt)
    assert book.read_bytes() == before


# -- sheets the product did not create --------------------------------------------


def team_workbook(path: Path, title: str) -> None:
    wb = Workbook()
    wb.active.title = "Mine"
    ws = wb.create_sheet(title)
    ws.append(["Seller", "Step", "Comment"])
    ws.append(["S1", "contract", "chase Ana"])
    wb.save(path)


@pytest.mark.parametrize("title", ["Onboarding", PIVOT.title])
def test_a_team_sheet_titled_like_a_managed_one_is_refused_untouched(
    book: Path, title: str
) -> None:
    team_workbook(book, title)
    before = book.read_bytes()
    frames = [
        TabFrame(template(pivots=(PIVOT,)), FOUR),
        TabFrame(template(title="Onboarding", key=()), FOUR),
    ]
    with pytest.raises(DestinationError) as failure:
        XlsxBackend(book).write_tabs(frames)
    message = str(failure.value)
    assert "\n" not in message
    assert f"sheet {title!r} is not managed by sheets-sync" in message
    assert "Rename your sheet, or run again with --adopt" in message
    assert book.read_bytes() == before


def test_adopt_takes_the_team_sheet_over_and_keeps_its_columns_right_of_ours(
    book: Path,
) -> None:
    team_workbook(book, "Onboarding")
    wb = load_workbook(book)
    wb["Onboarding"].cell(1, 6, "Owner")
    wb["Onboarding"].cell(2, 6, "Ana")
    wb.save(book)
    onboarding = template(title="Onboarding", key=())
    XlsxBackend(book).write_tabs([TabFrame(onboarding, FOUR)], WriteOptions(adopt=True))
    assert load_workbook(book).sheetnames == ["Mine", "Onboarding"]
    assert grid(book, "Onboarding")[0] == [*HEADERS, None, "Owner"]
    assert grid(book, "Onboarding")[1][5] == "Ana"
    XlsxBackend(book).write_tabs([TabFrame(onboarding, FOUR)])  # ours now: no --adopt needed
    assert grid(book, "Onboarding")[1][:2] == [dt.datetime(2025, 6, 1), "FR"]


def strip_markers(path: Path) -> None:
    """The workbook as the previous version wrote it: ``ss_<title>`` names, no markers."""
    wb = load_workbook(path)
    for name in list(wb.defined_names):
        if name.startswith((TAB_PREFIX, COLUMN_PREFIX)):
            del wb.defined_names[name]
    wb.save(path)


@pytest.mark.parametrize("at", [3, 5])  # inside the old data range (Excel widens it), right
def test_a_workbook_of_the_previous_version_is_recognised_and_marked(book: Path, at: int) -> None:
    XlsxBackend(book).write_tabs([TabFrame(template(pivots=(PIVOT,)), FOUR)])
    strip_markers(book)
    insert_columns(book, TITLE, at, {1: "Note", 4: "FR 2"})
    assert not [n for n in load_workbook(book).defined_names if n.startswith(TAB_PREFIX)]
    XlsxBackend(book).write_tabs([TabFrame(template(pivots=(PIVOT,)), FOUR[::-1])])
    assert grid(book)[0].index("Note") == at - 1
    assert by_header(book)["Note"][(2, "FR")] == "FR 2"
    names = load_workbook(book).defined_names
    assert sum(n.startswith(TAB_PREFIX) for n in names) == 2  # the tab and its pivot
    assert sum(n.startswith(COLUMN_PREFIX) for n in names) == len(COLUMNS)


def test_a_same_titled_sheet_without_marker_or_fingerprint_is_the_team_s(book: Path) -> None:
    sync(book, FOUR)
    strip_markers(book)
    wb = load_workbook(book)
    del wb.defined_names["ss_KPI_Daily"]
    wb.save(book)
    with pytest.raises(DestinationError, match="sheet 'KPI Daily' is not managed"):
        sync(book, FOUR)


# -- rows that leave: archived notes and the shrink guard ----------------------------


def add_notes(path: Path, notes: dict[int, Any], header: Any = "Note", column: int = 5) -> None:
    wb = load_workbook(path)
    ws = wb[TITLE]
    ws.cell(1, column, header)
    for row_number, value in notes.items():
        ws.cell(row_number, column, value)
    wb.save(path)


def archive(path: Path) -> list[list[Any]]:
    return grid(path, ARCHIVE_TITLE)


def test_notes_of_rows_that_leave_are_archived_and_kept_by_later_syncs(book: Path) -> None:
    sync(book, FOUR)
    add_notes(book, {2: "call FR", 3: 12.5, 4: "stays"})
    add_notes(book, {3: "DE owner"}, header=None, column=6)
    report = sync(book, [*FOUR[2:], row(3, "FR")])  # day 1 leaves the window
    assert [(t.title, t.archived_notes) for t in report.tabs] == [(TITLE, 3)]
    rows = archive(book)
    assert tuple(rows[0]) == ARCHIVE_COLUMNS  # the five headers, then Restored at
    found = {(r[0], r[1], r[2], r[3]) for r in rows[1:]}
    assert found == {
        (TITLE, "2025-06-01 · FR", "Note", "call FR"),
        (TITLE, "2025-06-01 · DE", "Note", 12.5),
        (TITLE, "2025-06-01 · DE", "F", "DE owner"),  # no header: named by its letter
    }
    ws = load_workbook(book)[ARCHIVE_TITLE]
    assert isinstance(ws["E2"].value, dt.datetime) and ws["E2"].number_format.startswith("yyyy")
    assert by_header(book)["Note"][(2, "FR")] == "stays"
    sync(book, [*FOUR[3:], row(3, "FR")])  # 2 FR leaves with its note
    again = archive(book)
    assert again[:4] == rows  # earlier rows are never rewritten
    assert again[4][:4] == [TITLE, "2025-06-02 · FR", "Note", "stays"]


def test_a_zero_or_false_team_cell_is_archived_not_dropped(book: Path) -> None:
    """``0`` and an unticked checkbox (``FALSE``) are values the team typed: a falsy test
    (``if value:``) anywhere on the way would lose them with their row."""
    sync(book, FOUR)
    add_notes(book, {2: 0, 3: False}, header="Checked")
    sync(book, FOUR[2:])  # day 1 leaves the window
    assert sorted(archive_of(book), key=lambda r: r[1]) == [
        [TITLE, "2025-06-01 · DE", "Checked", False],
        [TITLE, "2025-06-01 · FR", "Checked", 0],
    ]


def test_a_team_sheet_named_archived_notes_is_refused_when_notes_must_go_there(
    book: Path,
) -> None:
    sync(book, FOUR)
    add_notes(book, {2: "call FR"})
    wb = load_workbook(book)
    wb.create_sheet(ARCHIVE_TITLE).append(["my own archive"])
    wb.save(book)
    before = book.read_bytes()
    with pytest.raises(DestinationError, match="sheet 'Archived notes' is not managed"):
        sync(book, FOUR[1:])
    assert book.read_bytes() == before
    sync(book, FOUR[1:], adopt=True)  # the notes go below what the team's sheet holds
    # the team's A1 stays; the columns the notes go to are named where row 1 was empty
    assert archive(book)[0] == ["my own archive", *ARCHIVE_COLUMNS[1:]]
    assert archive(book)[1][1:4] == ["2025-06-01 · FR", "Note", "call FR"]


@pytest.mark.parametrize("kept", [[], FOUR[3:], [row(9, "IT")]])
def test_a_sync_that_would_empty_a_keyed_tab_stops_and_leaves_the_file(
    book: Path, kept: list[tuple[Any, ...]]
) -> None:
    sync(book, FOUR)
    add_notes(book, {2: "call FR"})
    before = book.read_bytes()
    with pytest.raises(
        ShrinkError, match=r"tab 'KPI Daily': this sync would remove .*--allow-shrink"
    ):
        sync(book, kept)
    assert book.read_bytes() == before
    report = sync(book, kept, allow_shrink=True)
    assert len(grid(book)) == len(kept) + 1
    assert report.tabs[0].archived_notes == 1
    assert archive(book)[1][3] == "call FR"


def test_half_of_the_rows_may_leave_without_asking(book: Path) -> None:
    sync(book, FOUR)
    sync(book, FOUR[2:])
    assert len(grid(book)) == 3


# -- files that cannot be read or written ------------------------------------------


def test_a_failing_save_is_one_line_and_the_old_file_stays(
    book: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync(book, FOUR)
    before = book.read_bytes()

    def disk_full(out: IO[bytes], *args: object) -> None:
        out.write(b"<worksheet>partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    # the disk fills up while a sheet is streamed into the new package
    monkeypatch.setattr(xlsx_save, "write_sheet", disk_full)
    with pytest.raises(
        DestinationError,
        match=rf"cannot write {re.escape(str(book))} \(No space left on device\); nothing was changed\. Check that folder",
    ):
        sync(book, FOUR)
    assert book.read_bytes() == before
    assert [p.name for p in book.parent.iterdir()] == [book.name]


def test_a_folder_where_no_file_can_be_created_is_one_line() -> None:
    """/proc refuses new files even to root: the save's first step fails."""
    with pytest.raises(DestinationError) as failure:
        sync(Path("/proc/ops.xlsx"), FOUR)
    assert str(failure.value) == (
        "cannot write /proc/ops.xlsx: folder /proc does not accept new files "
        "(No such file or directory); choose a folder you can write to"
    )


def test_a_read_only_workbook_is_refused_before_writing(book: Path) -> None:
    sync(book, FOUR)
    book.chmod(0o444)
    before = book.read_bytes()
    with pytest.raises(DestinationError) as failure:
        sync(book, FOUR)
    assert str(failure.value) == (
        f"cannot write {book}: the file is read-only; make it writable (chmod u+w) "
        "or choose another path"
    )
    assert book.read_bytes() == before


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), r"is a folder, not a workbook"),
        (lambda p: p.write_bytes(b""), r"not a readable \.xlsx workbook"),
        (lambda p: _broken_sheet(p), r"not a readable \.xlsx workbook"),
    ],
)
def test_odd_files_at_the_path_are_one_clear_line(
    book: Path, make: Callable[[Path], None], message: str
) -> None:
    make(book)
    with pytest.raises(DestinationError, match=message) as failure:
        sync(book, FOUR)
    assert "\n" not in str(failure.value)


def _broken_sheet(path: Path) -> None:
    """A real workbook whose sheet XML was cut short (a crash while copying it)."""
    sync(path, FOUR)
    with zipfile.ZipFile(path) as archive_file:
        parts = {n: archive_file.read(n) for n in archive_file.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"][:200]
    with zipfile.ZipFile(path, "w") as archive_file:
        for name, data in parts.items():
            archive_file.writestr(name, data)


def test_markers_are_hidden_names(book: Path) -> None:
    sync(book, FOUR)
    names: list[DefinedName] = list(load_workbook(book).defined_names.values())
    ours = [n for n in names if n.name.startswith(("_sheets_sync_",))]
    assert ours and all(n.hidden for n in ours)
    assert {n.attr_text for n in ours if n.name.startswith(COLUMN_PREFIX)} == {
        f"'{TITLE}'!${c}:${c}" for c in "ABCD"
    }


# -- through the engine ----------------------------------------------------------


def test_a_sync_says_how_many_team_cells_were_archived(
    loaded: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "ops.xlsx"
    sync_now(loaded, settings, f"xlsx:{path}", tabs=["Onboarding"])
    wb = load_workbook(path)
    ws = wb["Onboarding"]
    seller_at = [c.value for c in ws[1]].index("Seller ID")
    note_at = ws.max_column + 1
    ws.cell(1, note_at, "Follow-up")
    for cells in ws.iter_rows(min_row=2):
        ws.cell(cells[0].row, note_at, f"chase {cells[seller_at].value}")
    wb.save(path)
    with loaded.begin() as conn:  # S2 leaves: offboarded
        conn.execute(
            update(schema.sellers)
            .where(schema.sellers.c.seller_id == "S2")
            .values(status="offboarded")
        )
    result = sync_now(loaded, settings, f"xlsx:{path}", tabs=["Onboarding"])
    assert "1 team cell(s) moved to 'Archived notes' (rows that left Onboarding)" in (
        result.warnings
    )
    assert [t.archived_notes for t in result.tabs] == [1]
    assert archive_of(path) == [["Onboarding", "S2", "Follow-up", "chase S2"]]
    assert by_seller(path) == {"S1": "chase S1"}


def archive_of(path: Path) -> list[list[Any]]:
    return [r[:4] for r in grid(path, ARCHIVE_TITLE)[1:]]


def by_seller(path: Path) -> dict[str, Any]:
    rows = grid(path, "Onboarding")
    seller_at, note_at = rows[0].index("Seller ID"), rows[0].index("Follow-up")
    return {r[seller_at]: r[note_at] for r in rows[1:]}


def offboard(engine: Engine, seller_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(schema.sellers)
            .where(schema.sellers.c.seller_id == seller_id)
            .values(status="offboarded")
        )


def test_the_last_seller_leaving_onboarding_needs_no_allow_shrink(
    loaded: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A one-row tab emptied is ordinary, not a broken database; the note is kept."""
    path = tmp_path / "ops.xlsx"
    offboard(loaded, "S2")
    sync_now(loaded, settings, f"xlsx:{path}", tabs=["Onboarding"])
    wb = load_workbook(path)
    ws = wb["Onboarding"]
    note_at = ws.max_column + 1
    ws.cell(1, note_at, "Follow-up")
    ws.cell(2, note_at, "chase S1")
    wb.save(path)
    assert by_seller(path) == {"S1": "chase S1"}
    offboard(loaded, "S1")
    result = sync_now(loaded, settings, f"xlsx:{path}", tabs=["Onboarding"])
    assert by_seller(path) == {}
    assert [t.archived_notes for t in result.tabs] == [1]
    assert archive_of(path) == [["Onboarding", "S1", "Follow-up", "chase S1"]]
