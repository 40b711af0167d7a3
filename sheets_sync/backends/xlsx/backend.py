"""The local workbook backend: ``xlsx:PATH`` (docs/design.md §6), the embedded default.

Same tabs as Google Sheets — typed cells with number formats, a bold frozen
header, an autofilter over the data, widths, hidden and protected columns,
conditional formats — plus each template pivot rendered as a computed table
on its own sheet. Re-syncing replaces managed tabs in place (same position),
keeps the team's columns to the right of keyed tabs with their rows (see
:mod:`.extras`) and never touches sheets it does not manage.

A write is atomic: the workbook is saved to a temporary file beside the
destination and moved over it with ``os.replace``, so a failure at any point
leaves the previous workbook intact.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.backends.base import DEFAULT_OPTIONS, WriteOptions, WriteReport, WrittenTab
from sheets_sync.backends.pivot import compute_pivot
from sheets_sync.backends.xlsx import cellio, cells, extras, layout
from sheets_sync.errors import DestinationError
from sheets_sync.frame import TabFrame
from sheets_sync.limits import XLSX_LIMITS, Limits, check_pivot_size, fit_each_tab
from sheets_sync.templates.model import PivotSpec

_SCRATCH_TITLE = "~sheets-sync"


class XlsxBackend:
    """Writes managed tabs into one ``.xlsx`` file; see the module docstring."""

    limits: Limits = XLSX_LIMITS

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def destination(self) -> str:
        return f"xlsx:{self.path}"

    def write_tabs(
        self, frames: Sequence[TabFrame], options: WriteOptions = DEFAULT_OPTIONS
    ) -> WriteReport:
        """Fit first (a workbook has no cell total), then build and atomically save."""
        fitted = fit_each_tab(frames, self.limits)
        wb, fresh = self._open()
        written: list[WrittenTab] = []
        pivots: list[WrittenTab] = []
        for frame in fitted:
            written.append(self._write_tab(wb, frame))
            pivots.extend(self._write_pivot(wb, frame, spec) for spec in frame.template.pivots)
        if fresh:
            wb.active = 0
        self._save(wb)
        return WriteReport(tabs=written + pivots)

    def read_tab(self, title: str) -> list[list[Any]]:
        """Cell values as stored; formulas a user typed come back as their text."""
        if not self.path.is_file():
            raise DestinationError(f"{self.path} does not exist; run `sheets-sync sync` first")
        wb = self._load(read_only=True)
        try:
            if title not in wb.sheetnames:
                raise DestinationError(
                    f"{self.path} has no tab {title!r}; its tabs are {wb.sheetnames}"
                )
            rows = [list(r) for r in wb[title].iter_rows(values_only=True)]
        finally:
            wb.close()
        while rows and all(v is None for v in rows[-1]):
            rows.pop()
        return rows

    # -- one tab ---------------------------------------------------------------

    def _write_tab(self, wb: Workbook, frame: TabFrame) -> WrittenTab:
        start = time.perf_counter()
        ws, old = _fresh_sheet(wb, frame.title)
        kept = extras.Extras()
        if old is not None:
            width = extras.managed_width(wb, frame.title, frame.width)
            kept = extras.capture(old, frame, width)
        template = frame.template
        cells.write_header(ws, frame.headers)
        cells.write_rows(ws, frame.rows, cells.ColumnStyles(ws, template.columns))
        cells.set_widths(ws, template.columns, frame.rows)
        extras.restore(ws, kept, frame)
        layout.freeze(ws, template.freeze_rows, template.freeze_columns)
        if template.filter:
            layout.autofilter(ws, frame.width, len(frame.rows))
        layout.conditional_formats(ws, template, len(frame.rows))
        layout.protect(ws, frame.width, kept.width)
        _swap(wb, ws, old, frame.title)
        extras.record_range(wb, frame.title, frame.width, len(frame.rows))
        seconds = time.perf_counter() - start
        return WrittenTab(
            frame.title, len(frame.rows), frame.cell_count, frame.truncated_from, seconds
        )

    def _write_pivot(self, wb: Workbook, frame: TabFrame, spec: PivotSpec) -> WrittenTab:
        start = time.perf_counter()
        table = compute_pivot(frame, spec)
        rows, columns = len(table.rows) + 2, len(table.headers)  # header and total rows
        check_pivot_size(frame.title, table.title, rows, columns, self.limits)
        ws, old = _fresh_sheet(wb, spec.title)
        cells.write_header(ws, table.headers)
        cells.write_rows(ws, table.rows, cells.ColumnStyles(ws, table.column_specs))
        total_styles = cells.ColumnStyles(ws, table.column_specs, bold=True)
        cells.write_rows(ws, [table.total], total_styles, first_row=len(table.rows) + 2)
        cells.set_widths(ws, table.column_specs, table.rows)
        layout.freeze(ws, 1, table.label_columns)
        layout.protect(ws, len(table.headers))
        _swap(wb, ws, old, spec.title)
        seconds = time.perf_counter() - start
        return WrittenTab(spec.title, len(table.rows), rows * columns, write_seconds=seconds)

    # -- the file --------------------------------------------------------------

    def _open(self) -> tuple[Workbook, bool]:
        """The existing workbook to update, or a new empty one (``fresh``)."""
        directory = self.path.parent
        if not directory.is_dir():
            raise DestinationError(
                f"cannot write {self.path}: folder {directory} does not exist; create it first"
            )
        if not self.path.exists():
            wb = Workbook()
            wb.remove(wb.active)
            return wb, True
        return self._load(read_only=False), False

    def _load(self, read_only: bool) -> Workbook:
        try:
            return load_workbook(self.path, read_only=read_only, data_only=False)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as error:
            raise DestinationError(
                f"{self.path} is not a readable .xlsx workbook ({error}); move it away or "
                "choose another path"
            ) from error

    def _save(self, wb: Workbook) -> None:
        """Save beside the destination, then atomically replace it."""
        handle, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        os.close(handle)
        try:
            os.chmod(tmp, _file_mode(self.path))
            wb.save(tmp)
            with open(tmp, "rb") as written:
                os.fsync(written.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    # -- pricing push (sheets_sync/backends/xlsx/cellio.py) ----------------------

    def read_columns(self, title: str, headers: Sequence[str]) -> cellio.ColumnValues | None:
        if not self.path.is_file():
            raise DestinationError(f"{self.path} does not exist; run `sheets-sync sync` first")
        wb = self._load(read_only=True)
        try:
            return cellio.read_columns(wb, title, headers)
        finally:
            wb.close()

    def write_cells(self, title: str, cells: Sequence[cellio.CellWrite]) -> WriteReport:
        return cellio.write_cells(lambda: self._load(read_only=False), self._save, title, cells)


def _file_mode(path: Path) -> int:
    """The replaced file keeps its mode; a new one gets the usual umask mode, not
    ``mkstemp``'s owner-only 0600 (a shared report folder must stay readable)."""
    if path.exists():
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fresh_sheet(wb: Workbook, title: str) -> tuple[Worksheet, Worksheet | None]:
    """A new empty sheet where ``title`` is (or at the end), and the old one if any."""
    if title not in wb.sheetnames:
        return wb.create_sheet(title), None
    old = wb[title]
    return wb.create_sheet(_SCRATCH_TITLE, wb.index(old)), old


def _swap(wb: Workbook, ws: Worksheet, old: Worksheet | None, title: str) -> None:
    """Drop the previous version of the tab and give the new one its title."""
    if old is None:
        return
    was_active = wb.active is old
    wb.remove(old)
    ws.title = title
    if was_active:
        wb.active = wb.index(ws)
    ws.sheet_view.tabSelected = was_active
