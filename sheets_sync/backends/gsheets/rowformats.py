"""Number formats chosen row by row (a column's ``format_by:``), as batchUpdate requests.

The column's own format covers the whole column first (:func:`.structure.presentation`);
these requests then set each row's format from the text of the column it reads
(the Alerts tab's Value by its Unit). Consecutive rows of one format share one
``repeatCell``, and the requests go in the structural batch the sync sends
anyway: a tab of alerts in three units costs a few requests, never a call per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any

from sheets_sync.backends.gsheets.cells import number_format
from sheets_sync.backends.gsheets.structure import grid
from sheets_sync.frame import Row
from sheets_sync.tab_templates.model import ColumnType, TabTemplate


def row_formats(
    template: TabTemplate, rows: Sequence[Row], sheet_id: int, where: Sequence[int]
) -> list[dict[str, Any]]:
    """One ``repeatCell`` per run of consecutive data rows sharing a format, per column.

    ``rows`` are the frame's rows in the order the sheet will hold them (a keyed
    tab keeps its rows where they are), ``where`` each column's sheet index.
    """
    out: list[dict[str, Any]] = []
    for index, by, spec in template.formats_by_row:
        column = where[index]
        patterns = [spec.format_for(row[by]) for row in rows]
        row = 1  # the header is row 0
        for pattern, run in groupby(patterns):
            count = len(list(run))
            fmt = number_format(_kind(pattern), pattern)
            if fmt is not None:
                out.append(_repeat(grid(sheet_id, row, row + count, column, column + 1), fmt))
            row += count
    return out


def _kind(pattern: str | None) -> ColumnType:
    """The API's format type for a pattern: a ``%`` scales by 100 (PERCENT), else a NUMBER."""
    return ColumnType.PERCENT if pattern and "%" in pattern else ColumnType.DECIMAL


def _repeat(rng: dict[str, Any], fmt: dict[str, str]) -> dict[str, Any]:
    return {
        "repeatCell": {
            "range": rng,
            "cell": {"userEnteredFormat": {"numberFormat": fmt}},
            "fields": "userEnteredFormat.numberFormat",
        }
    }
