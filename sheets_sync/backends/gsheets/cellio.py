"""A few columns in, a few cells out: the Google side of a pricing push (docs/design.md §7).

Reading is two requests however big the tab: row 1 (to find each header
wherever the team moved its column), then one ``values:batchGet`` of just
those columns, ``FORMULA`` render so a formula typed in a cell comes back as
its text and is never evaluated. Writing is one ``values:batchUpdate``
(``RAW``: text is never parsed) of runs of consecutive rows per column, so
only the cells given are touched; bodies are split only past the payload cap.
A values write with explicit ranges is safe to replay, so the retrying client
re-sends it after a 5xx until its deadline.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from sheets_sync.backends.base import CellWrite, ColumnValues, WriteReport, WrittenTab
from sheets_sync.backends.gsheets.cells import column_letter, quote_title, to_cell
from sheets_sync.backends.gsheets.http import RetryingHTTPClient
from sheets_sync.errors import SheetsAPIError

COLUMN_READ_PARAMS: dict[str, str | int | bool | float | list[str] | None] = {
    "valueRenderOption": "FORMULA",
    "dateTimeRenderOption": "SERIAL_NUMBER",
    "majorDimension": "COLUMNS",
}


def read_columns(
    http: RetryingHTTPClient, spreadsheet_id: str, title: str, headers: Sequence[str]
) -> ColumnValues | None:
    """The columns headed ``headers``; ``None`` when the spreadsheet has no tab ``title``."""
    before = (http.counters.requests, http.counters.bytes_sent)
    try:
        first = http.values_get(
            spreadsheet_id, f"{quote_title(title)}!1:1", params=COLUMN_READ_PARAMS
        )
    except SheetsAPIError as error:
        if error.status == 400:
            return None
        raise
    row1 = [cell[0] if cell else None for cell in first.get("values", [])]
    columns = _header_columns(row1)
    wanted = {h: columns[h] for h in headers if h in columns}
    result = ColumnValues(columns)
    if wanted:
        ranges = [_column_range(title, column) for column in wanted.values()]
        answer = http.values_batch_get(spreadsheet_id, ranges, params=COLUMN_READ_PARAMS)
        cells = [_cells(r) for r in answer.get("valueRanges", [])]
        count = max((len(c) for c in cells), default=0)
        result.values = {
            h: c + [None] * (count - len(c)) for h, c in zip(wanted, cells, strict=True)
        }
        result.row_count = count
    result.api_calls = http.counters.requests - before[0]
    result.bytes_sent = http.counters.bytes_sent - before[1]
    return result


def _header_columns(row1: Sequence[Any]) -> dict[str, int]:
    """Each text header's 1-based column (the first, if a header repeats)."""
    columns: dict[str, int] = {}
    for index, header in enumerate(row1, start=1):
        if isinstance(header, str) and header.strip():
            columns.setdefault(header.strip(), index)
    return columns


def _column_range(title: str, column: int) -> str:
    letter = column_letter(column - 1)
    return f"{quote_title(title)}!{letter}2:{letter}"


def _cells(value_range: dict[str, Any]) -> list[Any]:
    values = value_range.get("values") or [[]]
    return [None if v == "" else v for v in values[0]]


def write_cells(
    http: RetryingHTTPClient,
    spreadsheet_id: str,
    title: str,
    cells: Sequence[CellWrite],
    payload_cap_bytes: int,
) -> WriteReport:
    """Send the cells as runs of consecutive rows, in as few bodies as the cap allows."""
    before = (http.counters.requests, http.counters.bytes_sent)
    for body in _bodies(list(_runs(title, cells)), payload_cap_bytes):
        http.values_batch_update(spreadsheet_id, body)
    return WriteReport(
        tabs=[WrittenTab(title, None, len(cells))] if cells else [],
        api_calls=http.counters.requests - before[0],
        bytes_sent=http.counters.bytes_sent - before[1],
    )


def _runs(title: str, cells: Sequence[CellWrite]) -> Iterator[dict[str, Any]]:
    """One ``ValueRange`` per run of consecutive rows within a column."""
    by_column: dict[int, dict[int, Any]] = defaultdict(dict)
    for cell in cells:
        by_column[cell.column][cell.row] = cell.value
    for column, rows in sorted(by_column.items()):
        letter = column_letter(column - 1)
        ordered = sorted(rows)
        start = 0
        for i in range(1, len(ordered) + 1):
            if i == len(ordered) or ordered[i] != ordered[i - 1] + 1:
                run = ordered[start:i]
                yield {
                    "range": f"{quote_title(title)}!{letter}{run[0]}:{letter}{run[-1]}",
                    "values": [[to_cell(rows[r])] for r in run],
                }
                start = i


def _bodies(ranges: list[dict[str, Any]], cap: int) -> Iterator[dict[str, Any]]:
    """``values:batchUpdate`` bodies (RAW), each under ``cap`` bytes when sizes allow."""
    batch: list[dict[str, Any]] = []
    size = 0
    for value_range in ranges:
        length = len(json.dumps(value_range, ensure_ascii=False).encode()) + 1
        if batch and size + length > cap - 100:
            yield {"valueInputOption": "RAW", "data": batch}
            batch, size = [], 0
        batch.append(value_range)
        size += length
    if batch:
        yield {"valueInputOption": "RAW", "data": batch}
