"""One destination as the team sees it, for the tests of notes coming home.

``Destination`` wraps a real backend (the workbook file, or the emulator
through real gspread) with what the tests do from the outside: sync frames,
read a sheet's cells, type in cells as the team would, and change the
archive's headers. Cells are compared as the team reads them: empty is ``""``,
and date-times (``Archived at``, ``Restored at``) are only checked for being
there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import excel_edits
import gspread
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from sheets_sync.backends.base import DEFAULT_OPTIONS, SheetBackend, WriteOptions, WriteReport
from sheets_sync.backends.gsheets.backend import GoogleSheetsBackend
from sheets_sync.backends.gsheets.http import RetryingHTTPClient, RetryPolicy
from sheets_sync.backends.gsheets.session import google_session
from sheets_sync.backends.xlsx.backend import XlsxBackend
from sheets_sync.config import Settings
from sheets_sync.frame import TabFrame

UNFORMATTED = {
    "value_render_option": "UNFORMATTED_VALUE",
    "date_time_render_option": "SERIAL_NUMBER",
}


class Destination:
    """A backend and the team's hands on the same spreadsheet or workbook."""

    kind: str
    backend: SheetBackend

    def sync(self, *frames: TabFrame, options: WriteOptions = DEFAULT_OPTIONS) -> WriteReport:
        return self.backend.write_tabs(list(frames), options)

    def grid(self, title: str) -> list[list[Any]]:
        """The sheet's cells, header first, empty cells ``""``, trailing empty rows dropped."""
        raise NotImplementedError

    def type_in(self, title: str, row: int, col: int, rows: Sequence[Sequence[Any]]) -> None:
        """The team types ``rows`` from 1-based (row, col), the grid growing as needed."""
        raise NotImplementedError

    def delete_column(self, title: str, col: int) -> None:
        raise NotImplementedError

    def replace_all(self, title: str, rows: Sequence[Sequence[Any]]) -> None:
        """The team rewrites a sheet's cells (moved columns, sorted rows)."""
        raise NotImplementedError

    def column(self, title: str, header: str) -> dict[str, Any]:
        """One column of a tab by its header, keyed by the first column (the key)."""
        table = self.grid(title)
        at = table[0].index(header)
        return {r[0]: (r[at] if at < len(r) else "") for r in table[1:]}


class Workbook(Destination):
    kind = "xlsx"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.backend = XlsxBackend(path)

    def grid(self, title: str) -> list[list[Any]]:
        ws = load_workbook(self.path)[title]
        rows = [["" if v is None else v for v in r] for r in ws.iter_rows(values_only=True)]
        while rows and all(v == "" for v in rows[-1]):
            rows.pop()
        return rows

    def type_in(self, title: str, row: int, col: int, rows: Sequence[Sequence[Any]]) -> None:
        self._edit(title, lambda ws: _put(ws, row, col, rows))

    def delete_column(self, title: str, col: int) -> None:
        excel_edits.delete_column(self.path, title, col)  # its names moved, as Excel does

    def replace_all(self, title: str, rows: Sequence[Sequence[Any]]) -> None:
        def rewrite(ws: Any) -> None:
            ws.delete_rows(1, ws.max_row)
            _put(ws, 1, 1, rows)

        self._edit(title, rewrite)

    def _edit(self, title: str, change: Any) -> None:
        wb = load_workbook(self.path)
        change(wb[title])
        wb.save(self.path)


def _put(ws: Any, row: int, col: int, rows: Sequence[Sequence[Any]]) -> None:
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            ws.cell(row + r, col + c).value = None if value == "" else value


class Spreadsheet(Destination):
    kind = "gsheets"

    def __init__(self, emulator: Any, sheet: gspread.Spreadsheet) -> None:
        self.sheet = sheet
        settings = Settings.load(environ={}, sheets_api_url=emulator.url)
        http = RetryingHTTPClient(
            google_session(emulator.url), RetryPolicy(deadline_seconds=30), timeout=10
        )
        self.backend = GoogleSheetsBackend(settings.sheets, sheet.id, http=http)

    def grid(self, title: str) -> list[list[Any]]:
        return self.sheet.worksheet(title).get_values(**UNFORMATTED)

    def type_in(self, title: str, row: int, col: int, rows: Sequence[Sequence[Any]]) -> None:
        ws = self.sheet.worksheet(title)
        width = col + max(len(r) for r in rows) - 1
        if width > ws.col_count:
            ws.add_cols(width - ws.col_count)
        if row + len(rows) - 1 > ws.row_count:
            ws.add_rows(row + len(rows) - 1 - ws.row_count)
        ws.update([list(r) for r in rows], f"{get_column_letter(col)}{row}", raw=True)

    def delete_column(self, title: str, col: int) -> None:
        self.sheet.worksheet(title).delete_columns(col)

    def replace_all(self, title: str, rows: Sequence[Sequence[Any]]) -> None:
        ws = self.sheet.worksheet(title)
        ws.clear()
        self.type_in(title, 1, 1, rows)


def open_destination(kind: str, request: Any, tmp_path: Path) -> Destination:
    """A fresh workbook, or a fresh spreadsheet on the emulator: the two places notes live."""
    if kind == "xlsx":
        return Workbook(tmp_path / "ops.xlsx")
    emulator = request.getfixturevalue("emulator")
    client: gspread.Client = request.getfixturevalue("gspread_client")
    return Spreadsheet(emulator, client.create("Trade-In Ops"))
