"""Destination size limits, checked before the first write (docs/design.md §6).

Both backends share these figures and the check so a sync that cannot fit
fails the same way everywhere: before any request or file write, naming the
tab and the numbers. A template with ``truncate_to_limit: true`` instead keeps
its most recent rows (the window shrinks from its old end) until it fits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sheets_sync.errors import LimitError
from sheets_sync.frame import Row, TabFrame
from sheets_sync.templates.model import ColumnType

XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLUMNS = 16_384
XLSX_MAX_CELL_CHARS = 32_767
XLSX_MAX_TITLE_CHARS = 31

GOOGLE_MAX_CELLS = 10_000_000
GOOGLE_MAX_COLUMNS = 18_278
GOOGLE_MAX_CELL_CHARS = 50_000
GOOGLE_MAX_TITLE_CHARS = 100


@dataclass(frozen=True)
class Limits:
    """What one destination accepts; ``None`` means no such limit."""

    name: str
    max_rows_per_sheet: int | None = None
    max_columns: int | None = None
    max_cells_total: int | None = None
    max_cell_chars: int | None = None
    max_title_chars: int | None = None


XLSX_LIMITS = Limits(
    name="xlsx",
    max_rows_per_sheet=XLSX_MAX_ROWS,
    max_columns=XLSX_MAX_COLUMNS,
    max_cell_chars=XLSX_MAX_CELL_CHARS,
    max_title_chars=XLSX_MAX_TITLE_CHARS,
)

GOOGLE_LIMITS = Limits(
    name="Google Sheets",
    max_columns=GOOGLE_MAX_COLUMNS,
    max_cells_total=GOOGLE_MAX_CELLS,
    max_cell_chars=GOOGLE_MAX_CELL_CHARS,
    max_title_chars=GOOGLE_MAX_TITLE_CHARS,
)


def fit_frames(frames: Sequence[TabFrame], limits: Limits, other_cells: int = 0) -> list[TabFrame]:
    """The frames, truncated where templates allow, or ``LimitError`` if they cannot fit.

    ``other_cells`` counts cells the destination already holds outside these
    tabs (Google counts every sheet of the spreadsheet against its cell limit).
    """
    fitted = [_fit_rows(frame, limits) for frame in frames]
    fitted = _fit_total(fitted, limits, other_cells)
    check_frames(fitted, limits, other_cells)
    return fitted


def check_frames(frames: Sequence[TabFrame], limits: Limits, other_cells: int = 0) -> None:
    """Raise ``LimitError`` naming the first tab and figure over a limit."""
    for frame in frames:
        _check_title(frame.title, limits)
        for pivot in frame.template.pivots:
            _check_title(pivot.title, limits)
        _check_shape(frame, limits)
        _check_cell_chars(frame, limits)
    _check_total(frames, limits, other_cells)


def _check_title(title: str, limits: Limits) -> None:
    cap = limits.max_title_chars
    if cap is not None and len(title) > cap:
        raise LimitError(
            f"tab {title!r}: the title has {len(title)} characters, {limits.name} allows "
            f"at most {cap}; shorten `title` in its template"
        )


def _check_shape(frame: TabFrame, limits: Limits) -> None:
    rows = len(frame.rows) + 1
    if limits.max_rows_per_sheet is not None and rows > limits.max_rows_per_sheet:
        raise LimitError(
            f"tab {frame.title!r}: {rows:,} rows (with the header) exceed {limits.name}'s "
            f"{limits.max_rows_per_sheet:,} rows per sheet; shorten `window_days` or set "
            "`truncate_to_limit: true` in its template"
        )
    if limits.max_columns is not None and frame.width > limits.max_columns:
        raise LimitError(
            f"tab {frame.title!r}: {frame.width:,} columns exceed {limits.name}'s "
            f"{limits.max_columns:,} columns per sheet; remove columns from its template"
        )


def _check_cell_chars(frame: TabFrame, limits: Limits) -> None:
    cap = limits.max_cell_chars
    if cap is None:
        return
    for row_number, row in enumerate(frame.rows, start=2):
        for column, value in enumerate(row):
            if isinstance(value, str) and len(value) > cap:
                raise LimitError(
                    f"tab {frame.title!r}: the cell in row {row_number}, column "
                    f"{frame.headers[column]!r} has {len(value):,} characters, {limits.name} "
                    f"allows at most {cap:,} per cell; shorten that value at its source"
                )


def _check_total(frames: Sequence[TabFrame], limits: Limits, other_cells: int) -> None:
    cap = limits.max_cells_total
    if cap is None:
        return
    total = other_cells + sum(f.cell_count for f in frames)
    if total > cap:
        biggest = max(frames, key=lambda f: f.cell_count)
        raise LimitError(
            f"the sync would hold {total:,} cells, over {limits.name}'s {cap:,} per "
            f"spreadsheet; the biggest tab is {biggest.title!r} with {biggest.cell_count:,} "
            "cells: shorten its `window_days` or set `truncate_to_limit: true` in its template"
        )


def _fit_rows(frame: TabFrame, limits: Limits) -> TabFrame:
    cap = limits.max_rows_per_sheet
    if cap is None or len(frame.rows) + 1 <= cap or not frame.template.truncate_to_limit:
        return frame
    return truncate(frame, cap - 1)


def _fit_total(frames: list[TabFrame], limits: Limits, other_cells: int) -> list[TabFrame]:
    """Shrink truncatable tabs, biggest first, until the spreadsheet's cell total fits."""
    cap = limits.max_cells_total
    if cap is None:
        return frames
    excess = other_cells + sum(f.cell_count for f in frames) - cap
    order = sorted(range(len(frames)), key=lambda i: -frames[i].cell_count)
    for i in order:
        frame = frames[i]
        if excess <= 0 or not frame.template.truncate_to_limit:
            continue
        drop_rows = min(len(frame.rows), -(-excess // frame.width))
        frames[i] = truncate(frame, len(frame.rows) - drop_rows)
        excess -= drop_rows * frame.width
    return frames


def truncate(frame: TabFrame, keep: int) -> TabFrame:
    """Keep the ``keep`` most recent rows (by the first date column), in their order.

    A tab without a date column keeps its first rows. ``truncated_from`` records
    the original row count so reports can say what was cut.
    """
    if keep >= len(frame.rows):
        return frame
    kept = _most_recent(frame, keep)
    original = frame.truncated_from or len(frame.rows)
    return dataclasses.replace(frame, rows=kept, truncated_from=original)


def _most_recent(frame: TabFrame, keep: int) -> list[Row]:
    dated = [
        i
        for i, c in enumerate(frame.template.columns)
        if c.type in (ColumnType.DATE, ColumnType.DATETIME)
    ]
    if not dated:
        return list(frame.rows[:keep])
    column = dated[0]
    ranked = sorted(
        range(len(frame.rows)), key=lambda i: _date_key(frame.rows[i][column]), reverse=True
    )
    chosen = sorted(ranked[:keep])
    return [frame.rows[i] for i in chosen]


def _date_key(value: object) -> tuple[int, str]:
    """Sort key putting missing dates oldest; dates and datetimes compare by ISO text."""
    if isinstance(value, dt.datetime | dt.date):
        return (1, value.isoformat())
    return (0, "")


def count_cells(frames: Iterable[TabFrame]) -> int:
    return sum(f.cell_count for f in frames)
