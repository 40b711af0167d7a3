"""Destinations: every accepted spelling parses, every mistake says what is accepted.

``check_writable`` refuses a workbook path that could not be saved before any
work is done (the CLI calls it first).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sheets_sync.destinations import (
    Destination,
    check_writable,
    parse_destination,
)
from sheets_sync.errors import DestinationError

SHEET_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz_0123456789-ab"
NOT_UNDERSTOOD = (
    "destination {!r} is not understood; write xlsx:PATH (e.g. xlsx:tradein-ops.xlsx) "
    "or gsheets:SPREADSHEET_ID"
)
NOT_AN_ID = (
    "destination {spec!r}: {target!r} is not a spreadsheet id; copy the id from the sheet's URL "
    "(docs.google.com/spreadsheets/d/<ID>/edit), e.g. gsheets:1AbC…"
)
as_root = pytest.mark.skipif(
    os.geteuid() == 0, reason="root writes through file permissions; run as a normal user"
)


@pytest.mark.parametrize(
    ("spec", "kind", "target"),
    [
        ("xlsx:ops.xlsx", "xlsx", "ops.xlsx"),
        ("XLSX:/tmp/a b/ops.xlsx", "xlsx", "/tmp/a b/ops.xlsx"),
        ("  xlsx: reports/ops.xlsx  ", "xlsx", "reports/ops.xlsx"),
        ("xlsx:OPS.XLSX", "xlsx", "OPS.XLSX"),
        ("xlsx:~/ops.xlsx", "xlsx", "~/ops.xlsx"),
        ("xlsx:C:/reports/ops.xlsx", "xlsx", "C:/reports/ops.xlsx"),
        (f"gsheets:{SHEET_ID}", "gsheets", SHEET_ID),
        (f"GSheets:{SHEET_ID}", "gsheets", SHEET_ID),
        ("gsheets:abcdefghij", "gsheets", "abcdefghij"),
    ],
)
def test_accepted_forms_parse_to_kind_and_target(spec: str, kind: str, target: str) -> None:
    parsed = parse_destination(spec)
    assert parsed == Destination(kind, target)
    assert str(parsed) == f"{kind}:{target}"
    assert parse_destination(str(parsed)) == parsed


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("ops.xlsx", NOT_UNDERSTOOD.format("ops.xlsx")),
        ("", NOT_UNDERSTOOD.format("")),
        ("csv:ops.csv", NOT_UNDERSTOOD.format("csv:ops.csv")),
        (":ops.xlsx", NOT_UNDERSTOOD.format(":ops.xlsx")),
        ("xlsx:", NOT_UNDERSTOOD.format("xlsx:")),
        ("xlsx:   ", NOT_UNDERSTOOD.format("xlsx:   ")),
        ("gsheets:", NOT_UNDERSTOOD.format("gsheets:")),
        ("sheets:" + SHEET_ID, NOT_UNDERSTOOD.format("sheets:" + SHEET_ID)),
        ("xlsx:ops.xls",
         "destination 'xlsx:ops.xls': a workbook path must end in .xlsx, e.g. xlsx:ops.xlsx"),
        ("xlsx:reports/ops",
         "destination 'xlsx:reports/ops': a workbook path must end in .xlsx, "
         "e.g. xlsx:reports/ops.xlsx"),
        ("gsheets:short", NOT_AN_ID.format(spec="gsheets:short", target="short")),
        ("gsheets:https://docs.google.com/spreadsheets/d/x/edit", NOT_AN_ID.format(
            spec="gsheets:https://docs.google.com/spreadsheets/d/x/edit",
            target="https://docs.google.com/spreadsheets/d/x/edit")),
        ("gsheets:abc def ghij klm", NOT_AN_ID.format(
            spec="gsheets:abc def ghij klm", target="abc def ghij klm")),
    ],
)  # fmt: skip
def test_rejected_forms_say_what_is_accepted(spec: str, message: str) -> None:
    with pytest.raises(DestinationError) as failure:
        parse_destination(spec)
    assert str(failure.value) == message


def test_a_writable_path_passes_and_the_check_leaves_nothing_behind(tmp_path: Path) -> None:
    check_writable(Destination("xlsx", str(tmp_path / "ops.xlsx")))
    (tmp_path / "old.xlsx").write_bytes(b"kept")
    check_writable(Destination("xlsx", str(tmp_path / "old.xlsx")))
    assert [p.name for p in tmp_path.iterdir()] == ["old.xlsx"]


def test_a_spreadsheet_is_not_checked_locally() -> None:
    check_writable(Destination("gsheets", SHEET_ID))


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("{tmp}/book.xlsx",
         "cannot write {tmp}/book.xlsx: it is a folder; give a workbook file inside it, "
         "e.g. xlsx:{tmp}/book.xlsx/tradein-ops.xlsx"),
        ("{tmp}/missing/ops.xlsx",
         "cannot write {tmp}/missing/ops.xlsx: folder {tmp}/missing does not exist; "
         "create it first"),
        ("/proc/ops.xlsx",
         "cannot write /proc/ops.xlsx: folder /proc does not accept new files "
         "(No such file or directory); choose a folder you can write to"),
    ],
)  # fmt: skip
def test_an_unwritable_workbook_path_is_refused(tmp_path: Path, target: str, message: str) -> None:
    (tmp_path / "book.xlsx").mkdir()
    with pytest.raises(DestinationError) as failure:
        check_writable(Destination("xlsx", target.format(tmp=tmp_path)))
    assert str(failure.value) == message.format(tmp=tmp_path)


@as_root
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(DestinationError) as failure:
            check_writable(Destination("xlsx", str(folder / "ops.xlsx")))
    finally:
        folder.chmod(0o755)
    assert str(failure.value) == (
        f"cannot write {folder}/ops.xlsx: folder {folder} does not accept new files "
        "(Permission denied); choose a folder you can write to"
    )


@as_root
def test_a_read_only_workbook_is_refused(tmp_path: Path) -> None:
    book = tmp_path / "ops.xlsx"
    book.write_bytes(b"")
    book.chmod(0o444)
    with pytest.raises(DestinationError) as failure:
        check_writable(Destination("xlsx", str(book)))
    assert str(failure.value) == (
        f"cannot write {book}: the file is read-only; make it writable (chmod u+w) "
        "or choose another path"
    )
