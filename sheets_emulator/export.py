"""Drive ``files.export`` (CSV, TSV, XLSX) and the Drive v2 CSV import gspread's
``Client.import_csv`` sends.

Export follows Drive's documented export formats for a spreadsheet: CSV and
TSV carry the **first sheet** only, as rendered (``FORMATTED_VALUE``), rows
padded to the widest row and separated by CRLF with no final line break (a
recorded Google export of ``a1``/``B2`` is exactly ``a1,B2``); XLSX carries
every sheet, values typed, formulas kept and number formats copied. An
import (``PUT /upload/drive/v2/files/{id}?uploadType=media&convert=True``
with a CSV body) replaces the whole spreadsheet's content with one sheet,
named after the file as Google names it, holding the CSV parsed like typed
input (``USER_ENTERED``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook

from sheets_emulator import a1, values_api
from sheets_emulator.apierror import ApiError
from sheets_emulator.drive import SHEETS_MIME, drive_book, drive_error
from sheets_emulator.grid import Cell, entry_value
from sheets_emulator.render import user_format
from sheets_emulator.spreadsheets import (
    DEFAULT_COLS,
    DEFAULT_ROWS,
    Sheet,
    Spreadsheet,
    Store,
    sheet_properties,
)
from sheets_emulator.values import user_entered_entry

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEXT = {"text/csv": ",", "text/tab-separated-values": "\t"}
NOT_SERVED = ("application/pdf", "application/zip", "application/x-vnd.oasis.opendocument.spreadsheet",
              "application/vnd.oasis.opendocument.spreadsheet")  # fmt: skip
"""Export formats Drive offers for a spreadsheet that the emulator does not produce."""


@dataclass
class Raw:
    """A non-JSON answer: the bytes and their content type."""

    content: bytes
    content_type: str


def export(store: Store, file_id: str, args: dict[str, Any]) -> Raw:
    book = drive_book(store, file_id)
    mime = str(args.get("mimeType") or "")
    if not mime:
        raise drive_error(400, "Required parameter: mimeType", "required", location="mimeType")
    if mime in TEXT:
        return Raw(_delimited(book, TEXT[mime]), f"{mime}; charset=UTF-8")
    if mime == XLSX:
        return Raw(_xlsx(book), XLSX)
    if mime in NOT_SERVED:
        raise ApiError(
            400,
            f"The Sheets API emulator does not export {mime} (it serves text/csv, "
            f"text/tab-separated-values and {XLSX}; see docs/emulator.md).",
        )
    raise drive_error(400, "The requested conversion is not supported.", "badRequest")


def _delimited(book: Spreadsheet, delimiter: str) -> bytes:
    sheet = book.sheets[0]
    rows = values_api.get(book, a1.quote_title(sheet.title), values_api.ReadOptions()).get(
        "values", []
    )
    width = max((len(r) for r in rows), default=0)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow([*row, *[""] * (width - len(row))])
    return out.getvalue().removesuffix("\r\n").encode()


def _xlsx(book: Spreadsheet) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in book.sheets:
        _xlsx_sheet(workbook.create_sheet(sheet.title[:31]), sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_sheet(target: Any, sheet: Sheet) -> None:
    for r, row in sorted(sheet.grid.rows.items()):
        for c, entry in enumerate(row):
            formula = entry.formula if type(entry) is Cell else None
            value = formula if formula is not None else entry_value(entry)
            if value is None:
                continue
            cell = target.cell(row=r + 1, column=c + 1, value=value)
            pattern = (user_format(sheet, r, c, entry).get("numberFormat") or {}).get("pattern")
            if pattern and type(value) in (int, float):
                cell.number_format = pattern


def import_csv(store: Store, file_id: str, body: bytes) -> dict[str, Any]:
    """Replace the spreadsheet's content with the CSV; answers the Drive v2 file."""
    book = drive_book(store, file_id)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise drive_error(400, "The uploaded CSV is not UTF-8 text.", "badContent") from None
    rows = list(csv.reader(io.StringIO(text)))
    height, width = max(len(rows), DEFAULT_ROWS), max(max(map(len, rows), default=0), DEFAULT_COLS)
    book.check_cells(height * width - book.total_cells())
    sheet = Sheet(sheet_properties(0, book.title, 0, height, width))
    grid = sheet.writable()
    for r, values in enumerate(rows):
        entries = [user_entered_entry(v, f"row {r + 1}") for v in values]
        entries = [None if e is values_api.CLEAR else e for e in entries]
        if any(e is not None for e in entries):
            grid.write_row(r, 0, entries)
    book.sheets, book.named_ranges, book.developer_metadata = [sheet], [], []
    book.touch()
    return {
        "kind": "drive#file",
        "id": book.spreadsheet_id,
        "title": book.title,
        "mimeType": SHEETS_MIME,
        "createdDate": book.created_time,
        "modifiedDate": book.modified_time,
    }
