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
copied byte for byte (:mod:`.package`, :mod:`.save`). A write is atomic: the
new package is written to a temporary file beside the destination and moved
over it with ``os.replace``, so a failure at any point — a refusal, a full
disk, an unwritable folder — leaves the previous workbook byte for byte as
it was, and is one :class:`DestinationError` line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import stat
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.archive import ARCHIVE_TITLE
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
    layout,
    markers,
    pending,
    save,
    sheetxml,
)
from sheets_sync.backends.xlsx import charts as chart_sheets
from sheets_sync.backends.xlsx import notes as notes_sheet
from sheets_sync.backends.xlsx.package import Package, SheetPart, skeleton
from sheets_sync.errors import DataError, DestinationError, LimitError, ShrinkError
from sheets_sync.frame import TabFrame
from sheets_sync.guards import check_shrink
from sheets_sync.limits import XLSX_LIMITS, Limits
from sheets_sync.tab_templates.model import PivotSpec, SheetPosition

_SCRATCH_TITLE = "~sheets-sync"
_T = TypeVar("_T")
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

    def write_tabs(
        self, frames: Sequence[TabFrame], options: WriteOptions = DEFAULT_OPTIONS
    ) -> WriteReport:
        """Fit, find each tab's sheet, check, then write the sheets and atomically save.

        Every refusal (a team sheet titled like a tab, a shrinking keyed tab)
        comes before the save, so it leaves the file as it was.
        """
        fitted = fit_each_tab(frames, self.limits)
        package, fresh = self._open()
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
        plans = [_plan(package, frame, sheets[frame.title], options) for frame in fitted]
        when = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        written: list[WrittenTab] = []
        pivots: list[WrittenTab] = []
        leaving: list[extras.LeavingNote] = []
        for frame, plan in zip(fitted, plans, strict=True):
            notes = extras.leaving_notes(plan.kept, frame, when)
            leaving.extend(notes)
            written.append(self._write_tab(package, writes, frame, plan, len(notes)))
            for spec in frame.template.pivots:
                found = sheets[spec.title]
                pivots.append(self._write_pivot(package, writes, frame, spec, found))
        for frame in fitted:
            if frame.template.charts:
                title = chart_sheets.data_title(frame.title)
                _write_charts(package, writes, frame, fitted, sheets[title], set(sheets))
        _put_first(wb, fitted)
        self._archive(package, writes, leaving, options.adopt)
        return WriteReport(tabs=written + pivots)

    def _archive(
        self,
        package: Package,
        writes: list[save.SheetWrite],
        leaving: list[extras.LeavingNote],
        adopt: bool,
    ) -> None:
        """Append the leaving notes to ``Archived notes`` (read whole: it is rewritten)."""
        if not leaving:
            return
        found = markers.resolve(package.wb, ARCHIVE_TITLE)
        sheet = found.ours or found.foreign
        if sheet is not None:
            package.load(sheet)
        notes_sheet.append(package.wb, leaving, adopt, self.destination)
        ws = package.wb[ARCHIVE_TITLE]
        writes.append(save.SheetWrite(ws, None, package.part_of(ws)))

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
                _check_data_title(frame.title, data, self.limits)
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

    def _write_tab(
        self,
        package: Package,
        writes: list[save.SheetWrite],
        frame: TabFrame,
        plan: Plan,
        archived: int,
    ) -> WrittenTab:
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
        seconds = time.perf_counter() - start
        return WrittenTab(
            frame.title,
            len(frame.rows),
            frame.cell_count,
            frame.truncated_from,
            seconds,
            archived_notes=archived,
        )

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

    def _open(self) -> tuple[Package, bool]:
        """The existing workbook's package to update, or a new empty one (``fresh``).

        What would make the save fail later is refused here, before any work.
        Only the workbook part, names and styles are read (:mod:`.package`).
        """
        directory = self.path.parent
        if not directory.is_dir():
            raise DestinationError(
                f"cannot write {self.path}: folder {directory} does not exist; create it first"
            )
        if not self.path.exists():
            return Package.open(skeleton()), True
        if not stat.S_IMODE(self.path.stat().st_mode) & stat.S_IWUSR:
            raise DestinationError(
                f"cannot write {self.path}: the file is read-only; make it writable "
                "(chmod u+w) or choose another path"
            )
        return self._guarded(lambda: Package.open(self.path)), False

    def _load(self, read_only: bool) -> Workbook:
        return self._guarded(lambda: load_workbook(self.path, read_only=read_only, data_only=False))

    def _guarded(self, read: Callable[[], _T]) -> _T:
        """Open the file with ``read``; a failure is one line saying what to do."""
        if self.path.is_dir():
            raise DestinationError(
                f"{self.path} is a folder, not a workbook; give a file path ending in .xlsx"
            )
        try:
            return read()
        except PermissionError as error:
            raise DestinationError(
                f"cannot read {self.path}: permission denied; give your user read and write "
                "access to it, or choose another path"
            ) from error
        except Exception as error:  # openpyxl and zipfile raise many kinds on a damaged file
            raise DestinationError(
                f"{self.path} is not a readable .xlsx workbook ({_reason(error)}); move it "
                "away or choose another path"
            ) from error

    def _save(self, package: Package, writes: list[save.SheetWrite]) -> None:
        self._replace(lambda tmp: save.save(package, writes, tmp))

    def _save_workbook(self, wb: Workbook) -> None:
        self._replace(wb.save)

    def _replace(self, write: Callable[[str], None]) -> None:
        """Write beside the destination, then atomically replace it.

        Any failure leaves the previous file as it was and no temporary file
        behind, and is one :class:`DestinationError` naming the path and the fix
        (the same words as :func:`sheets_sync.destinations.check_writable`,
        which checks before the run; the folder may change in between).
        """
        folder = self.path.parent
        try:
            handle, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        except OSError as error:
            raise DestinationError(
                f"cannot write {self.path}: folder {folder} does not accept new files "
                f"({_reason(error)}); choose a folder you can write to"
            ) from error
        try:
            os.close(handle)
            os.chmod(tmp, _file_mode(self.path))
            write(tmp)
            with open(tmp, "rb") as written:
                os.fsync(written.fileno())
            os.replace(tmp, self.path)
        except OSError as error:
            raise DestinationError(
                f"cannot write {self.path} ({_reason(error)}); nothing was changed. Check that "
                f"folder {folder} has free space and that no other program locks the file "
                "(close it in Excel), or choose another path"
            ) from error
        except Exception as error:  # openpyxl could not serialise what the file holds
            raise DestinationError(
                f"cannot save {self.path} ({_reason(error)}); nothing was changed. Open the "
                "workbook in Excel or LibreOffice and save it again, or choose another path"
            ) from error
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    # -- pricing push (sheets_sync/backends/xlsx/cellio.py) ----------------------

    def read_managed(self, title: str, headers: Sequence[str]) -> ColumnValues | None:
        if not self.path.is_file():
            raise DestinationError(f"{self.path} does not exist; run `sheets-sync sync` first")
        package = self._guarded(lambda: Package.open(self.path))
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
        package = self._guarded(lambda: Package.open(self.path))
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
            lambda: self._load(read_only=False), self._save_workbook, ws.title, cells
        )
        return WriteReport(tabs=[WrittenTab(title, None, len(cells))])


def _reason(error: BaseException) -> str:
    """The error in a few words, on one line."""
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return " ".join((text or type(error).__name__).split())


def _file_mode(path: Path) -> int:
    """The replaced file keeps its mode; a new one gets the usual umask mode, not
    ``mkstemp``'s owner-only 0600 (a shared report folder must stay readable)."""
    if path.exists():
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@dataclass
class Plan:
    """What the write of one tab starts from: its previous sheet and the team's cells on it
    (``kept``: in their own columns; ``edits``: pending edits in editable columns)."""

    sheet: Worksheet | None = None
    old_columns: columns.OldColumns = field(default_factory=columns.OldColumns)
    kept: extras.Extras = field(default_factory=extras.Extras)
    edits: pending.Pending = field(default_factory=pending.Pending)


def _plan(
    package: Package, frame: TabFrame, found: markers.Resolved, options: WriteOptions
) -> Plan:
    """Read the team's cells off the tab's sheet; refuse a keyed tab that would shrink too much.

    An adopted sheet is being replaced on purpose, so it is not shrink-checked.
    """
    if found.ours is None:
        return Plan()
    wb = package.wb
    last = _read_previous(package, frame, found)
    old = columns.read_old(wb, found.ours, frame, adopted=found.adopted, last=last)
    kept = extras.capture(found.ours, frame, old)
    if frame.template.key and not found.adopted:
        _check_rows_kept(frame, found.ours, kept, options)
    edits = pending.Pending() if found.adopted else pending.capture(found.ours, frame, old)
    return Plan(found.ours, old, kept, edits)


def _read_previous(package: Package, frame: TabFrame, found: markers.Resolved) -> int | None:
    """Read the cells of the tab's previous version that the write needs.

    With column markers, the managed columns are known before reading: of
    them only the key, editable and held ones are kept (row 1 always). A sheet
    without markers (written before them, or adopted) is read whole. Returns
    the last column holding a value when columns were skipped.
    """
    ws = found.ours
    assert ws is not None
    places = None if found.adopted else markers.column_places(package.wb, frame.title, ws.title)
    if places is None:
        package.scan(ws)
        return None
    template = frame.template
    needed = {*template.key, *(frame.headers[j] for j in template.editable_indexes)}
    needed |= {frame.headers[j] for j in template.held_indexes}
    managed = {p for p in places.values() if p is not None}
    wanted = {places.get(markers.column_marker(frame.title, h)) for h in needed}
    return package.scan(ws, lambda c: c not in managed or c in wanted).last_value_column


def _part(package: Package, old: Worksheet | None) -> SheetPart | None:
    return None if old is None else package.part_of(old)


def _check_rows_kept(
    frame: TabFrame, ws: Worksheet, kept: extras.Extras, options: WriteOptions
) -> None:
    if kept.lost_key and ws.max_row > 1 and not options.allow_shrink:
        raise ShrinkError(
            f"tab {frame.title!r}: its key column(s) {', '.join(map(repr, kept.lost_key))} "
            "were deleted from the sheet, so its rows cannot be matched with the team's cells; "
            "nothing was written. Undo the deletion, or run again with --allow-shrink to "
            f"rebuild the tab (the team's cells on it move to {ARCHIVE_TITLE!r})"
        )
    if kept.keyed:
        current, still = len(kept.old_keys), kept.kept_rows(frame)
        check_shrink(frame.title, current, still, options.max_shrink_share, options.allow_shrink)


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


def _check_data_title(tab: str, data: str, limits: Limits) -> None:
    """The hidden sheet of a tab's charts is titled after the tab; a workbook caps titles."""
    cap = limits.max_title_chars
    if cap is not None and len(data) > cap:
        room = cap - (len(data) - len(tab))
        raise LimitError(
            f"tab {tab!r} has charts, whose data sheet {data!r} would have {len(data)} "
            f"characters, {limits.name} allows at most {cap}; shorten the tab's `title` to "
            f"{room} characters in its template"
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
