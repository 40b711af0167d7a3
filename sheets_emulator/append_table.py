"""Where ``values.append`` writes: the "table" Google finds in the input range.

Google's reference only says the range is searched for a table and values
go to the next row, from the table's first column. Recorded answers pin
the rule down further: after ``["x", "", "z"]`` in row 1, appending to
``Sheet1`` answers ``tableRange: Sheet1!C1`` and writes ``C2:E2``, while
appending to ``Sheet1!A1`` answers ``Sheet1!A1`` and writes ``A2:C2``
(gspread's cassettes ``test_append_row_with_empty_value*``); and rows after
an empty row whose first columns are empty are appended under *those* rows,
shifted right (reported against Google in gspread#537, gspread#735 and
google-api-dotnet-client#1997). That is the table holding the **last**
non-empty cell of the range (its last row, rightmost cell there), grown as a
spreadsheet grows a selection to its data: while any cell touching the box,
diagonals included, holds a value. Columns stay within the range's; rows
may extend below it (appending to ``A1`` keeps finding the table's end).
"""

from __future__ import annotations

from typing import Any

from sheets_emulator import a1
from sheets_emulator.grid import has_value
from sheets_emulator.spreadsheets import Sheet, clip

Box = list[int]  # [r0, r1, c0, c1], end-exclusive


def find_table(sheet: Sheet, bounds: a1.Bounds) -> Box | None:
    """The table to append after, or None (write at the range's top-left)."""
    r0, _r1, c0, c1 = clip(sheet, bounds)
    rows = sheet.grid.rows
    single_row = bounds.r1 is not None and bounds.r1 - bounds.r0 == 1
    if single_row and not _any(rows.get(r0), c0, c1):
        return None
    last = max((r for r, row in rows.items() if r >= r0 and _any(row, c0, c1)), default=None)
    if last is None:
        return None
    row = rows[last]
    right = max(c for c in range(c0, min(c1, len(row))) if has_value(row[c]))
    return _grow(sheet, [last, last + 1, right, right + 1], r0, c0, c1)


def _any(row: list[Any] | None, lo: int, hi: int) -> bool:
    return row is not None and any(has_value(e) for e in row[max(lo, 0) : hi])


def _grow(sheet: Sheet, box: Box, r0: int, c0: int, c1: int) -> Box:
    rows = sheet.grid.rows
    changed = True
    while changed:
        changed = False
        lo, hi = max(box[2] - 1, c0), min(box[3] + 1, c1)
        while box[0] - 1 >= r0 and _any(rows.get(box[0] - 1), lo, hi):
            box[0] -= 1
            changed = True
        while _any(rows.get(box[1]), lo, hi):
            box[1] += 1
            changed = True
        while box[2] - 1 >= c0 and _column(sheet, box[2] - 1, box[0] - 1, box[1] + 1):
            box[2] -= 1
            changed = True
        while box[3] < c1 and _column(sheet, box[3], box[0] - 1, box[1] + 1):
            box[3] += 1
            changed = True
    return box


def _column(sheet: Sheet, c: int, ra: int, rb: int) -> bool:
    rows = sheet.grid.rows
    return any(
        c < len(row) and has_value(row[c])
        for r in range(ra, rb)
        if (row := rows.get(r)) is not None
    )
