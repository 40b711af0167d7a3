"""A tab's previous version: what its write keeps of the sheet it replaces.

Before a managed sheet is rebuilt, the team's cells on it are read off (their
own columns with their rows, pending edits in editable columns) and a keyed
tab about to lose most of its rows is refused; only the cells the write
needs are read (:meth:`.package.Package.scan`). Every tab is planned before
any is written, so a refusal leaves the workbook as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.archive import ARCHIVE_TITLE
from sheets_sync.backends.base import WriteOptions
from sheets_sync.backends.xlsx import columns, extras, markers, pending
from sheets_sync.backends.xlsx.package import Package
from sheets_sync.errors import ShrinkError
from sheets_sync.frame import TabFrame
from sheets_sync.guards import check_shrink


@dataclass
class Plan:
    """What the write of one tab starts from: its previous sheet and the team's cells on it
    (``kept``: in their own columns; ``edits``: pending edits in editable columns)."""

    sheet: Worksheet | None = None
    old_columns: columns.OldColumns = field(default_factory=columns.OldColumns)
    kept: extras.Extras = field(default_factory=extras.Extras)
    edits: pending.Pending = field(default_factory=pending.Pending)


def plan(package: Package, frame: TabFrame, found: markers.Resolved, options: WriteOptions) -> Plan:
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
        allow = options.allow_shrink or frame.template.allow_shrink  # rows leave by design
        check_shrink(frame.title, current, still, options.max_shrink_share, allow)
