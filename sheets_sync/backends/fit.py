"""Fitting frames into a destination's limits, checked before the first write (docs/design.md §6).

This module alone holds the messages (the figures are :mod:`sheets_sync.limits`),
so a sync that cannot fit fails the same way everywhere, naming the tab and the
numbers. A template with ``truncate_to_limit: true`` instead keeps its most
recent rows (the window shrinks from its old end) until it fits.

The backend fits, not the engine: only it knows what the destination already
holds. It calls :func:`fit_each_tab` before its first request (titles, rows,
columns and characters depend on the frames alone) and, where the destination
caps its total, :func:`fit_cell_total` once it has read what else is there;
then it writes the fitted frames and reports them, truncation included.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from sheets_sync.errors import LimitError
from sheets_sync.frame import Row, TabFrame
from sheets_sync.limits import Limits
from sheets_sync.tab_templates.model import ColumnType


def fit_each_tab(frames: Sequence[TabFrame], limits: Limits) -> list[TabFrame]:
    """Fit and check what each tab allows on its own: titles, rows, columns, characters.

    Nothing here depends on what the destination already holds, so a backend
    calls it before its first request; a tab over the row limit is cut to its
    most recent rows where its template allows, and ``LimitError`` names the
    first tab and figure that cannot fit.
    """
    fitted = [_fit_rows(frame, limits) for frame in frames]
    _check_titles(fitted, limits)
    for frame in fitted:
        _check_shape(frame, limits)
        _check_cell_chars(frame, limits)
    return fitted


def fit_cell_total(
    frames: Sequence[TabFrame], limits: Limits, other_cells: int = 0
) -> list[TabFrame]:
    """Fit and check the destination's cell total, counting ``other_cells`` it keeps.

    ``other_cells`` is every cell the destination will hold besides the frames'
    own (Google counts other sheets, pivot sheets and the team's extra columns
    against its per-spreadsheet limit), so only the backend that read the
    destination can call this. Truncatable tabs shrink, biggest first, until
    the total fits; otherwise ``LimitError`` names the total and the biggest tab.
    """
    fitted = _fit_total(list(frames), limits, other_cells)
    _check_total(fitted, limits, other_cells)
    return fitted


def check_pivot_size(tab: str, pivot: str, rows: int, columns: int, limits: Limits) -> None:
    """A pivot computed locally (the workbook) must fit a sheet like any tab."""
    max_rows, max_columns = limits.max_rows_per_sheet, limits.max_columns
    if (max_rows is not None and rows > max_rows) or (
        max_columns is not None and columns > max_columns
    ):
        raise LimitError(
            f"pivot {pivot!r} of tab {tab!r} would be {rows:,} rows × {columns:,} columns, "
            f"over {limits.name}'s {_figure(max_rows)} × {_figure(max_columns)}; pivot on "
            "fewer distinct values (e.g. Week instead of Date) in its template"
        )


def _figure(cap: int | None) -> str:
    return "unlimited" if cap is None else f"{cap:,}"


def _check_titles(frames: Sequence[TabFrame], limits: Limits) -> None:
    """Title length, and no two sheets whose titles differ only by case."""
    seen: dict[str, str] = {}
    for frame in frames:
        for title in [frame.title, *(p.title for p in frame.template.pivots)]:
            _check_title(title, limits)
            key = title.casefold()
            if key in seen:
                raise LimitError(
                    f"tab {title!r} clashes with {seen[key]!r}: {limits.name} cannot hold two "
                    "sheets with the same title (case-insensitive); rename one in its template"
                )
            seen[key] = title


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
    total = other_cells + sum(f.cell_count for f in frames)
    if cap is None or not frames or total <= cap:
        return
    biggest = max(frames, key=lambda f: f.cell_count)
    kept = f" ({other_cells:,} of them outside the synced tabs' data)" if other_cells else ""
    raise LimitError(
        f"after the sync the spreadsheet would hold {total:,} cells{kept}, over "
        f"{limits.name}'s {cap:,} cells per spreadsheet; the biggest tab is "
        f"{biggest.title!r} with {biggest.cell_count:,} cells: shorten its `window_days` or "
        "set `truncate_to_limit: true` in its template"
        + (", or delete unused sheets" if other_cells else "")
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
