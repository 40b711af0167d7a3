"""A few managed columns in, a few cells out: the Google side of a pricing push (§7).

The columns are the product's own, found by their developer-metadata tags
(:data:`.state.COLUMN_KEY`, which Google moves with the column), never by
header text: a column the team inserted and titled ``Status`` is theirs.

- :func:`locate`: one ``developerMetadata:search`` finds the sheet tagged as
  the managed tab and the metadata id of each of its column tags;
- :func:`read`: one ``values:batchGetByDataFilter`` reads those columns by
  metadata id (``FORMULA`` render, so a typed formula comes back as its text
  and is never evaluated); each answer's A1 range says where the column is now;
- :func:`write`: ``values:batchUpdateByDataFilter`` bodies (``RAW``: text is
  never parsed) of runs of consecutive rows per column, addressed by grid
  range (sheet id, not title: a tab renamed meanwhile is still written), split
  only past the payload cap.

A pricing write-back reads again right before it writes (:func:`write_planned`),
and a write whose answer was lost is not replayed by the HTTP client: it is
read again and planned again, so a retry never lands on rows that moved.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gspread.urls import SPREADSHEET_URL
from gspread.utils import a1_to_rowcol

from sheets_sync.backends.base import CellWrite, ColumnValues, WriteReport, WrittenTab
from sheets_sync.backends.gsheets.cells import to_cell
from sheets_sync.backends.gsheets.http import RetryingHTTPClient
from sheets_sync.backends.gsheets.state import COLUMN_KEY, TAB_KEY
from sheets_sync.errors import TransientSheetsAPIError

log = logging.getLogger(__name__)

READ_OPTIONS = {
    "majorDimension": "COLUMNS",
    "valueRenderOption": "FORMULA",
    "dateTimeRenderOption": "SERIAL_NUMBER",
}
WRITE_ATTEMPTS = 3
_RANGE = re.compile(r"!\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+)?)?$")


@dataclass(frozen=True)
class Located:
    """Managed tab ``title`` is sheet ``sheet_id``; ``column_ids``: header → metadata id."""

    title: str
    sheet_id: int
    column_ids: dict[str, int]


def locate(http: RetryingHTTPClient, spreadsheet_id: str, title: str) -> Located | None:
    """Where managed tab ``title`` and its tagged columns are; None when no sheet is tagged."""
    body = {
        "dataFilters": [
            {"developerMetadataLookup": {"metadataKey": TAB_KEY, "metadataValue": title}},
            {"developerMetadataLookup": {"metadataKey": COLUMN_KEY}},
        ]
    }
    answer = http.developer_metadata_search(spreadsheet_id, body)
    entries = [m.get("developerMetadata", {}) for m in answer.get("matchedDeveloperMetadata", [])]
    sheet_ids = sorted(
        int(e.get("location", {}).get("sheetId", 0))
        for e in entries
        if e.get("metadataKey") == TAB_KEY and e.get("metadataValue") == title
    )
    if not sheet_ids:
        return None
    return Located(title, sheet_ids[0], _column_ids(entries, sheet_ids[0]))


def _column_ids(entries: Sequence[Mapping[str, Any]], sheet_id: int) -> dict[str, int]:
    """Header → metadata id of the column tags on ``sheet_id`` (the leftmost, if repeated)."""
    found: dict[str, tuple[int, int]] = {}
    for entry in entries:
        rng = entry.get("location", {}).get("dimensionRange") or {}
        if (
            entry.get("metadataKey") != COLUMN_KEY
            or rng.get("dimension") != "COLUMNS"
            or int(rng.get("sheetId", 0)) != sheet_id
        ):
            continue
        header, index = str(entry.get("metadataValue", "")), int(rng.get("startIndex", 0))
        if header not in found or index < found[header][0]:
            found[header] = (index, int(entry["metadataId"]))
    return {header: metadata_id for header, (_, metadata_id) in found.items()}


def read(
    http: RetryingHTTPClient, spreadsheet_id: str, located: Located, headers: Sequence[str]
) -> ColumnValues:
    """The tagged columns ``headers`` as they are now; a column whose tag is gone (the team
    deleted it) is left out of ``columns``."""
    before = (http.counters.requests, http.counters.bytes_sent)
    wanted = {located.column_ids[h]: h for h in headers if h in located.column_ids}
    result = ColumnValues()
    if wanted:
        answer = _batch_get_by_filter(http, spreadsheet_id, list(wanted))
        columns: dict[str, list[Any]] = {}
        for matched in answer.get("valueRanges", []):
            header = _matched_header(matched, wanted)
            place = _column_of(matched.get("valueRange", {}))
            if header is None or place is None or header in result.columns:
                continue
            result.columns[header] = place[0]
            columns[header] = _cells(matched["valueRange"], place[1])
        count = max((len(c) for c in columns.values()), default=0)
        result.values = {h: c + [None] * (count - len(c)) for h, c in columns.items()}
        result.row_count = count
    result.api_calls = http.counters.requests - before[0]
    result.bytes_sent = http.counters.bytes_sent - before[1]
    return result


def _batch_get_by_filter(
    http: RetryingHTTPClient, spreadsheet_id: str, metadata_ids: Sequence[int]
) -> Any:
    url = SPREADSHEET_URL % spreadsheet_id + "/values:batchGetByDataFilter"
    filters = [{"developerMetadataLookup": {"metadataId": i}} for i in metadata_ids]
    body = {"dataFilters": filters, **READ_OPTIONS}
    return http.request("post", url, json=body).json()


def _matched_header(matched: Mapping[str, Any], wanted: Mapping[int, str]) -> str | None:
    for data_filter in matched.get("dataFilters", []):
        metadata_id = data_filter.get("developerMetadataLookup", {}).get("metadataId")
        if metadata_id is not None and int(metadata_id) in wanted:
            return wanted[int(metadata_id)]
    return None


def _column_of(value_range: Mapping[str, Any]) -> tuple[int, int] | None:
    """``(1-based column, first row)`` of a one-column A1 range such as ``'Pricing'!C1:C900``."""
    match = _RANGE.search(str(value_range.get("range", "")))
    if match is None or (match.group(3) and match.group(3) != match.group(1)):
        return None
    return a1_to_rowcol(f"{match.group(1)}1")[1], int(match.group(2))


def _cells(value_range: Mapping[str, Any], first_row: int) -> list[Any]:
    """Rows 2 … of the column (the header row skipped), empty cells as None."""
    values = value_range.get("values") or [[]]
    cells = [None if v == "" else v for v in values[0]]
    return cells[max(2 - first_row, 0) :]


def write(
    http: RetryingHTTPClient,
    spreadsheet_id: str,
    located: Located,
    cells: Sequence[CellWrite],
    payload_cap_bytes: int,
) -> None:
    """Send the cells as runs of consecutive rows, in as few bodies as the cap allows."""
    url = SPREADSHEET_URL % spreadsheet_id + "/values:batchUpdateByDataFilter"
    for body in _bodies(list(_runs(located.sheet_id, cells)), payload_cap_bytes):
        http.request("post", url, json=body)


def _runs(sheet_id: int, cells: Sequence[CellWrite]) -> Iterator[dict[str, Any]]:
    """One ``DataFilterValueRange`` per run of consecutive rows within a column."""
    by_column: dict[int, dict[int, Any]] = defaultdict(dict)
    for cell in cells:
        by_column[cell.column][cell.row] = cell.value
    for column, rows in sorted(by_column.items()):
        ordered = sorted(rows)
        start = 0
        for i in range(1, len(ordered) + 1):
            if i == len(ordered) or ordered[i] != ordered[i - 1] + 1:
                run = ordered[start:i]
                grid = {
                    "sheetId": sheet_id, "startRowIndex": run[0] - 1, "endRowIndex": run[-1],
                    "startColumnIndex": column - 1, "endColumnIndex": column,
                }  # fmt: skip
                yield {
                    "dataFilter": {"gridRange": grid},
                    "majorDimension": "ROWS",
                    "values": [[to_cell(rows[r])] for r in run],
                }
                start = i


def _bodies(ranges: list[dict[str, Any]], cap: int) -> Iterator[dict[str, Any]]:
    """``values:batchUpdateByDataFilter`` bodies (RAW), each under ``cap`` bytes when sizes
    allow."""
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


def write_planned(
    http: RetryingHTTPClient,
    spreadsheet_id: str,
    located: Located,
    headers: Sequence[str],
    plan: Callable[[ColumnValues], Sequence[CellWrite]],
    payload_cap_bytes: int,
    deadline_seconds: float,
) -> WriteReport:
    """Read ``headers`` again, plan, write; after a lost answer, the same again."""
    before = (http.counters.requests, http.counters.bytes_sent)
    deadline = time.monotonic() + deadline_seconds
    cells: Sequence[CellWrite] = []
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        cells = plan(read(http, spreadsheet_id, located, headers))
        try:
            write(http, spreadsheet_id, located, cells, payload_cap_bytes)
            break
        except TransientSheetsAPIError as error:
            if attempt == WRITE_ATTEMPTS or time.monotonic() > deadline:
                raise
            log.warning(
                "gsheets %s: write-back failed (%s); reading the rows again before retrying",
                spreadsheet_id,
                error,
            )
    return WriteReport(
        tabs=[WrittenTab(located.title, None, len(cells))] if cells else [],
        api_calls=http.counters.requests - before[0],
        bytes_sent=http.counters.bytes_sent - before[1],
    )
