"""The local workbook backend: ``xlsx:PATH`` (docs/design.md §6), the embedded default.

Same tabs as Google Sheets — typed cells with number formats, a bold frozen
header, an autofilter over the data, widths, hidden and protected columns,
conditional formats — plus each template pivot rendered as a computed table
on its own sheet. Re-syncing replaces managed tabs in place (same position),
keeps the team's columns — between the managed ones or right of them — with
their rows (:mod:`.columns`, :mod:`.extras`), moves the team's cells of rows
that left to ``Archived notes`` (:mod:`.notes`) and never touches sheets it
does not manage. Managed sheets are known by hidden defined names, not by
title (:mod:`.markers`): a same-titled sheet of the team's stops the run
before anything is written, unless the user adopts it; so does a keyed tab
about to lose most of its rows (``--allow-shrink``).

Only what a write changes is read and written: the managed sheets being
written are streamed into the package and every other part of the file is
copied byte for byte (:mod:`.package`, :mod:`.save`); the team's cells on a
tab's previous version are read first (:mod:`.previous`). A write is atomic
(:mod:`.file`): the new package is written to a temporary file beside the
destination and moved over it with ``os.replace``, so a failure at any
point — a refusal, a full disk, an unwritable folder — leaves the previous
workbook byte for byte as it was, and is one :class:`DestinationError` line.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.backends.base import (
    DEFAULT_OPTIONS,
    CellWrite,
    ColumnValues,
    WriteOptions,
    WriteReport,
    WrittenTab,
)
from sheets_sync.backends.fit import check_pivot_size, fit_each_tab
from sheets_sync.backends.pivot import compute_pivot
from sheets_sync.backends.xlsx import (
    cellio,
    cells,
    columns,
    extras,
    file,
    layout,
    markers,
    pending,
    previous,
    save,
    sheetxml,
)
from sheets_sync.backends.xlsx import charts as chart_sheets
from sheets_sync.backends.xlsx import notes as notes_sheet
from sheets_sync.backends.xlsx.package import Package, SheetPart
from sheets_sync.errors import DataError, DestinationError, LimitError
from sheets_sync.frame import TabFrame
from sheets_sync.limits import XLSX_LIMITS, Limits
from sheets_sync.tab_templates.model import PivotSpec, SheetPosition

_SCRATCH_TITLE = "~sheets-sync"
ChartHook = Callable[[TabFrame, Worksheet], None]
"""Adds charts to a managed tab's sheet as it is written (``ws.add_chart``): they are
written with the sheet as a drawing part and chart parts (:mod:`.save`)."""


class XlsxBackend:
    """Writes managed tabs into one ``.xlsx`` file; see the module docstring."""

    limits: Limits = XLSX_LIMITS

    def __init__(self, path: Path, charts: ChartHook | None = None) -> None:
        self.path = Path(path)
        self.charts = charts

    @property
    def destination(self) -> str:
        return f"xlsx:{self.path}"

    @property
    def quota_wait_seconds(self) -> float:
        return 0.0  # a file has no request quota

    def write_tabs(
        self, frames: Sequence[TabFrame], options: WriteOptions = DEFAULT_OPTIONS
    ) -> WriteReport:
        """Fit, find each tab's sheet, check, then write the sheets and atomically save.

        Every refusal (a team sheet titled like a tab, a shrinking keyed tab)
        comes before the save, so it leaves the file as it was.
        """
        fitted = fit_each_tab(frames, self.limits)
        package, fresh = file.open_package(self.path)
        writes: list[save.SheetWrite] = []  # what the save writes; ``package`` is what was read
        try:
            report = self._write_all(package, writes, fitted, options)
            if fresh:
                package.wb.active = 0
            self._save(package, writes)
        finally:
            package.close()
        return report

    def _write_all(
        self,
        package: Package,
        writes: list[save.SheetWrite],
        fitted: Sequence[TabFrame],
        options: WriteOptions,
    ) -> WriteReport:
        wb = package.wb
        sheets = self._resolve(wb, fitted, options.adopt)
        plans = [previous.plan(package, frame, sheets[frame.title], options) for frame in fitted]
        fitted = [pending.filled(f, plan.edits) for f, plan in zip(fitted, plans, strict=True)]
        when = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        written: list[WrittenTab] = []
        pivots: list[WrittenTab] = []
        leaving: list[extras.LeavingNote] = []
        home = notes_sheet.Homecomings.read(package, options.adopt, when)
        for frame, plan in zip(fitted, plans, strict=True):
            notes = extras.leaving_notes(plan.kept, frame, when)
            leaving.extend(notes)
            tab = WrittenTab(
                frame.title, len(frame.rows), frame.cell_count, archived_notes=len(notes)
            )
            home.bring(plan.kept, frame, tab)
            written.append(self._write_tab(package, writes, frame, plan, tab))
            for spec in frame.template.pivots:
                found = sheets[spec.title]
                pivots.append(self._write_pivot(package, writes, frame, spec, found))
        for frame in fitted:
            if frame.template.charts:
                title = chart_sheets.data_title(frame.title)
                _write_charts(package, writes, frame, fitted, sheets[title], set(sheets))
        _put_first(wb, fitted)
        home.save(package, writes, leaving, options.adopt, self.destination)
        return WriteReport(tabs=written + pivots)

    def _resolve(
        self, wb: Workbook, frames: Sequence[TabFrame], adopt: bool
    ) -> dict[str, markers.Resolved]:
        """Each tab's and pivot's sheet; the team's same-titled sheets refused unless adopted."""
        sheets: dict[str, markers.Resolved] = {}
        for frame in frames:
            tab = sheets[frame.title] = markers.resolve(wb, frame.title)
            for spec in frame.template.pivots:
                sheets[spec.title] = markers.resolve(wb, spec.title, legacy_ok=tab.legacy)
            if frame.template.charts:
                data = chart_sheets.data_title(frame.title)
                _check_data_title(frame.title, data, sheets)
                sheets[data] = markers.resolve(wb, data)
        for title, found in sheets.items():
            if found.ours is not None and found.foreign is not None:
                raise markers.renamed_over_error(self.destination, title, found.ours.title)
        foreign = [title for title, found in sheets.items() if found.foreign is not None]
        if foreign and not adopt:
            raise markers.foreign_error(self.destination, foreign)
        for found in sheets.values():
            found.adopt()
        return sheets

    def read_tab(self, title: str) -> list[list[Any]]:
        """Cell values as stored; formulas a user typed come back as their text."""
        if not self.path.is_file():
            raise DestinationError(f"{self.path} does not exist; run `sheets-sync sync` first")
        wb = file.load(self.path, read_only=True)
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

    def _write_tab(
        self,
        package: Package,
        writes: list[save.SheetWrite],
        frame: TabFrame,
        plan: previous.Plan,
        written: WrittenTab,
    ) -> WrittenTab:
        """Rebuild the tab's sheet; ``written`` (its notes already counted) gets the rest."""
        start = time.perf_counter()
        wb = package.wb
        ws, old = _fresh_sheet(wb, plan.sheet)
        kept, template = plan.kept, frame.template
        at, team_at = columns.place(frame.headers, plan.old_columns)
        cells.write_header(ws, frame.headers, at)
        data = sheetxml.DataRows(frame.rows, cells.ColumnStyles(ws, template.columns), at)
        pending.restore(ws, plan.edits, frame, at)
        cells.set_widths(ws, template.columns, frame.rows, at)
        extras.restore(ws, kept, frame, team_at)
        frozen = max(at[: template.freeze_columns], default=0)
        layout.freeze(ws, template.freeze_rows, frozen)
        if template.filter:
            layout.autofilter(ws, max(at), len(frame.rows))
        layout.conditional_formats(ws, template, len(frame.rows), at)
        layout.protect(ws, max([*at, *team_at]), team_at)
        _swap(wb, ws, old, frame.title)
        markers.mark_sheet(wb, frame.title)
        markers.mark_columns(wb, frame.title, frame.headers, at)
        markers.record_range(wb, frame.title, max(at), len(frame.rows))
        if self.charts is not None:
            self.charts(frame, ws)
        writes.append(save.SheetWrite(ws, data, _part(package, old)))
        written.truncated_from = frame.truncated_from
        written.write_seconds = time.perf_counter() - start
        return written

    def _write_pivot(
        self,
        package: Package,
        writes: list[save.SheetWrite],
        frame: TabFrame,
        spec: PivotSpec,
        found: markers.Resolved,
    ) -> WrittenTab:
        start = time.perf_counter()
        wb = package.wb
        table = compute_pivot(frame, spec)
        rows, columns_ = len(table.rows) + 2, len(table.headers)  # header and total rows
        check_pivot_size(frame.title, table.title, rows, columns_, self.limits)
        ws, old = _fresh_sheet(wb, found.ours)
        cells.write_header(ws, table.headers)
        cells.write_rows(ws, table.rows, cells.ColumnStyles(ws, table.column_specs))
        total_styles = cells.ColumnStyles(ws, table.column_specs, bold=True)
        cells.write_rows(ws, [table.total], total_styles, first_row=len(table.rows) + 2)
        cells.set_widths(ws, table.column_specs, table.rows)
        layout.freeze(ws, 1, table.label_columns)
        layout.protect(ws, len(table.headers))
        _swap(wb, ws, old, spec.title)
        markers.mark_sheet(wb, spec.title)
        writes.append(save.SheetWrite(ws, None, _part(package, old)))
        seconds = time.perf_counter() - start
        return WrittenTab(spec.title, len(table.rows), rows * columns_, write_seconds=seconds)

    # -- the file --------------------------------------------------------------

    def _save(self, package: Package, writes: list[save.SheetWrite]) -> None:
        file.replace(self.path, lambda tmp: save.save(package, writes, tmp))

    def _save_workbook(self, wb: Workbook) -> None:
        file.replace(self.path, wb.save)

    # -- pricing push (sheets_sync/backends/xlsx/cellio.py) ----------------------

    def read_managed(self, title: str, headers: Sequence[str]) -> ColumnValues | None:
        if not self.path.is_file():
            raise DestinationError(f"{self.path} does not exist; run `sheets-sync sync` first")
        package = file.guarded(self.path, lambda: Package.open(self.path))
        try:
            return cellio.read(package, title, headers)
        finally:
            package.close()

    def write_planned(
        self,
        title: str,
        headers: Sequence[str],
        plan: Callable[[ColumnValues], Sequence[CellWrite]],
    ) -> WriteReport:
        """One open of the package: the columns read again, the plan's cells patched into
        the sheet's XML and saved (every other part as stored); openpyxl's whole-workbook
        load and save for what the patch cannot spell."""
        package = file.guarded(self.path, lambda: Package.open(self.path))
        try:
            ws = cellio.managed_sheet(package, title)
            if ws is None:
                raise DestinationError(
                    f"{self.path} has no managed tab {title!r} any more; run "
                    f"`sheets-sync sync --to {self.destination} --tabs {title}` to restore it"
                )
            cells = plan(cellio.read_sheet(package, ws, title, headers))
            if not cells:
                return WriteReport()
            write = cellio.patched(package, ws, cells)
            if write is not None:
                self._save(package, [write])
                return WriteReport(tabs=[WrittenTab(title, None, len(cells))])
        finally:
            package.close()
        cellio.write_whole(
            lambda: file.load(self.path, read_only=False), self._save_workbook, ws.title, cells
        )
        return WriteReport(tabs=[WrittenTab(title, None, len(cells))])


def _part(package: Package, old: Worksheet | None) -> SheetPart | None:
    return None if old is None else package.part_of(old)


def _fresh_sheet(wb: Workbook, old: Worksheet | None) -> tuple[Worksheet, Worksheet | None]:
    """A new empty sheet where ``old`` is (or at the end), and ``old``."""
    if old is None:
        return wb.create_sheet(_SCRATCH_TITLE), None
    return wb.create_sheet(_SCRATCH_TITLE, wb.index(old)), old


def _swap(wb: Workbook, ws: Worksheet, old: Worksheet | None, title: str) -> None:
    """Drop the previous version of the tab and give the new one its title."""
    if old is None:
        ws.title = title
        return
    was_active = wb.active is old
    wb.remove(old)
    ws.title = title
    if was_active:
        wb.active = wb.index(ws)
    ws.sheet_view.tabSelected = was_active


def _write_charts(
    package: Package,
    writes: list[save.SheetWrite],
    frame: TabFrame,
    frames: Sequence[TabFrame],
    found: markers.Resolved,
    rebuilt: set[str],
) -> None:
    """The tab's chart tables on its hidden data sheet, and its charts on their sheets.

    A chart is drawn only on a sheet this run rebuilds (its charts go with it), so
    a re-sync never stacks a second copy on a sheet it left as it was.
    """
    wb = package.wb
    placed = chart_sheets.collect(frame, frames)
    for item in placed:
        if item.sheet not in rebuilt:
            raise DataError(
                f"chart {item.table.chart.title!r} of tab {frame.title!r} is drawn on tab "
                f"{item.sheet!r}, which this run does not write; sync {item.sheet!r} together "
                f"with {frame.title!r}"
            )
    ws, old = _fresh_sheet(wb, found.ours)
    chart_sheets.write_tables(ws, placed)
    ws.sheet_state = "hidden"
    title = chart_sheets.data_title(frame.title)
    _swap(wb, ws, old, title)
    ws.sheet_view.tabSelected = False
    markers.mark_sheet(wb, title)
    writes.append(save.SheetWrite(ws, None, _part(package, old)))
    chart_sheets.draw(placed, ws, lambda title: wb[title])


def _check_data_title(tab: str, data: str, taken: Mapping[str, object]) -> None:
    """A long tab title is cut for its chart data sheet: two tabs must not cut to one."""
    if data in taken:
        raise LimitError(
            f"tab {tab!r} has charts, whose data sheet {data!r} (its title cut to fit a "
            f"workbook's 31 characters) is the title of another sheet of this run; give the "
            f"tab a `title` that differs from the others in its first "
            f"{len(data) - len(chart_sheets.DATA_SUFFIX)} characters"
        )


def _put_first(wb: Workbook, frames: Sequence[TabFrame]) -> None:
    """Tabs whose template says ``position: first`` become the workbook's first sheets."""
    first = [f.title for f in frames if f.template.position is SheetPosition.FIRST]
    active = wb.active if wb.sheetnames else None
    for place, title in enumerate(first):
        ws = wb[title]
        wb.move_sheet(ws, offset=place - wb.index(ws))
    if active is not None:
        wb.active = wb.index(active)  # the index moved with the sheets; the choice did not
