"""``values:batchGetByDataFilter`` and ``values:batchUpdateByDataFilter``.

A ``DataFilter`` selects cell ranges (Google's reference, ``DataFilter``):
``a1Range`` / ``gridRange`` select that range; a ``developerMetadataLookup``
selects the location of every metadata entry it matches (matched as
``developerMetadata:search`` matches, :mod:`.devmeta`) — a column entry its
whole column, a row entry its whole row, a sheet entry the sheet's grid. So
a client that tagged its columns finds them wherever the team moved them.

Reads answer one ``MatchedValueRange`` per distinct range, listing the
request's filters that matched it; a filter that matches nothing adds
nothing, and when nothing matches ``valueRanges`` is left out (protobuf JSON
leaves empty lists out). Writes apply each ``DataFilterValueRange`` to every
range its filter matches (as the reference says), fail when the values
exceed a matched range, and are validated completely before the first cell
changes, so a failing request changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sheets_emulator import a1, devmeta, values_api
from sheets_emulator.apierror import ApiError, bad_request
from sheets_emulator.shapes import drop_nulls
from sheets_emulator.spreadsheets import Sheet, Spreadsheet, check_bounds, clip
from sheets_emulator.values_api import ReadOptions, Write

GET_FIELDS = ("dataFilters", "majorDimension", "valueRenderOption", "dateTimeRenderOption")
UPDATE_FIELDS = (
    "valueInputOption",
    "data",
    "includeValuesInResponse",
    "responseValueRenderOption",
    "responseDateTimeRenderOption",
)
_VALUE_RANGE_FIELDS = ("dataFilter", "majorDimension", "values")


@dataclass(frozen=True)
class Region:
    """A matched range of cells, closed to the grid (zero-based, end-exclusive)."""

    sheet: Sheet
    r0: int
    r1: int
    c0: int
    c1: int

    @property
    def key(self) -> tuple[int, int, int, int, int]:
        return (self.sheet.sheet_id, self.r0, self.r1, self.c0, self.c1)

    @property
    def a1(self) -> str:
        return a1.format_range(self.sheet.title, self.r0, self.r1, self.c0, self.c1)

    @property
    def empty(self) -> bool:
        return self.r1 <= self.r0 or self.c1 <= self.c0


# -- matching ----------------------------------------------------------------------


def check_filters(book: Spreadsheet, raw: Any, where: str) -> list[dict[str, Any]]:
    """Every DataFilter readable, else a 400 naming it (``dataFilters[1]``)."""
    if not isinstance(raw, list) or not raw:
        raise bad_request(f"{where} must list at least one DataFilter.")
    return [check_filter(book, f, f"{where}[{i}]") for i, f in enumerate(raw)]


def check_filter(book: Spreadsheet, data_filter: Any, where: str) -> dict[str, Any]:
    """One DataFilter: exactly one known criterion, each field valid (the message names it)."""
    if isinstance(data_filter, dict):
        _refuse_unknown(data_filter, ("developerMetadataLookup", "a1Range", "gridRange"), where)
    try:
        checked = devmeta.check_filter(book, data_filter, where)
        if "a1Range" in checked:
            check_bounds(*book.resolve(str(checked["a1Range"])))
        return checked
    except ApiError as error:
        if error.code != 400 or where in error.message:
            raise
        raise bad_request(f"Invalid {where}: {error.message}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise bad_request(f"Invalid {where}: malformed DataFilter ({error})") from None


def _refuse_unknown(body: dict[str, Any], known: tuple[str, ...], where: str = "") -> None:
    """Google refuses a field it does not know instead of ignoring it."""
    for name in body:
        if name not in known:
            at = f" at '{where}'" if where else ""
            raise bad_request(
                f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'
            )


def matched_regions(book: Spreadsheet, data_filter: dict[str, Any]) -> list[Region]:
    """The ranges one checked DataFilter selects, each once, in metadata order."""
    kind, value = next(iter(data_filter.items()))
    found: list[Region | None]
    if kind != "developerMetadataLookup":
        sheet, bounds = book.resolve(str(value)) if kind == "a1Range" else book.grid_range(value)
        found = [Region(sheet, *clip(sheet, bounds))]
    else:
        found = [
            _location_region(book, entry["location"])
            for entry in book.developer_metadata
            if devmeta.matches(book, data_filter, entry)
        ]
    regions: dict[tuple[int, int, int, int, int], Region] = {}
    for region in found:
        if region is not None and not region.empty:
            regions.setdefault(region.key, region)
    return list(regions.values())


def _location_region(book: Spreadsheet, location: dict[str, Any]) -> Region | None:
    """The cells a metadata location covers; the spreadsheet itself is no cell range."""
    if "sheetId" in location:
        sheet = book.sheet_by_id(location["sheetId"])
        return Region(sheet, 0, sheet.row_count, 0, sheet.col_count)
    rng = location.get("dimensionRange")
    if rng is None:
        return None
    sheet = book.sheet_by_id(rng.get("sheetId", 0))
    lo, hi = int(rng["startIndex"]), int(rng["endIndex"])
    if rng["dimension"] == "ROWS":
        return Region(sheet, lo, hi, 0, sheet.col_count)
    return Region(sheet, 0, sheet.row_count, lo, hi)


# -- batchGetByDataFilter ------------------------------------------------------------


def batch_get(book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
    """BatchGetValuesByDataFilterResponse: one MatchedValueRange per distinct range matched."""
    body = drop_nulls(body)
    _refuse_unknown(body, GET_FIELDS)
    filters = check_filters(book, body.get("dataFilters"), "dataFilters")
    opts = ReadOptions.from_args(body)
    groups: dict[tuple[int, int, int, int, int], tuple[Region, list[dict[str, Any]]]] = {}
    for data_filter in filters:
        for region in matched_regions(book, data_filter):
            groups.setdefault(region.key, (region, []))[1].append(data_filter)
    pivots: dict[int, dict[tuple[int, int], Any]] = {}
    matched = [
        {"valueRange": values_api.get(book, region.a1, opts, pivots), "dataFilters": hits}
        for region, hits in groups.values()
    ]
    out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id}
    if matched:
        out["valueRanges"] = matched
    return out


# -- batchUpdateByDataFilter ---------------------------------------------------------


@dataclass
class _Planned:
    """One write of one DataFilterValueRange into one of the ranges its filter matched."""

    write: Write
    region: Region
    data_filter: dict[str, Any]


def batch_update(book: Spreadsheet, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """BatchUpdateValuesByDataFilterResponse; returns it and the number of cells written."""
    if not isinstance(body.get("data", []), list):
        raise bad_request("Invalid value at 'data': expected a list of DataFilterValueRange.")
    _refuse_unknown(body, UPDATE_FIELDS)
    option = body.get("valueInputOption")
    if not option:
        raise bad_request("'valueInputOption' is required but not specified")
    if option not in values_api.INPUT_OPTIONS:
        raise bad_request(f"Invalid valueInputOption: {option!r}; use RAW or USER_ENTERED")
    response_opts = ReadOptions.from_args(drop_nulls(body), prefix="response")
    plan = [p for i, d in enumerate(body.get("data") or []) for p in _plan(book, i, d, option)]
    cells = sum(values_api.apply(p.write) for p in plan)
    if plan:
        book.touch()
    responses = [
        _response(book, p, body.get("includeValuesInResponse"), response_opts) for p in plan
    ]
    out = {"spreadsheetId": book.spreadsheet_id, **values_api.totals([p.write for p in plan])}
    if responses:
        out["responses"] = responses
    return {k: v for k, v in out.items() if v != 0}, cells


def _plan(book: Spreadsheet, i: int, entry: Any, option: str) -> list[_Planned]:
    """Validate ``data[i]`` and prepare its write into every range its filter matches."""
    where = f"data[{i}]"
    if not isinstance(entry, dict):
        raise bad_request(f"Invalid value at '{where}': expected a DataFilterValueRange object.")
    _refuse_unknown(entry, _VALUE_RANGE_FIELDS, where)
    if "dataFilter" not in entry:
        raise bad_request(f"{where}.dataFilter is required: it selects where the values go.")
    data_filter = check_filter(book, drop_nulls(entry["dataFilter"]), f"{where}.dataFilter")
    major = entry.get("majorDimension") or "ROWS"
    if major not in values_api.DIMENSIONS:
        raise bad_request(
            f"Invalid value at '{where}.majorDimension' ({major}): expected ROWS or COLUMNS"
        )
    return [
        _Planned(_prepare_in(book, region, entry, option, where), region, data_filter)
        for region in matched_regions(book, data_filter)
    ]


def _prepare_in(
    book: Spreadsheet, region: Region, entry: dict[str, Any], option: str, where: str
) -> Write:
    """Values from the range's top-left cell; more values than the range holds is a 400,
    even for a one-cell range (unlike ``values.update``, where one cell is only a start)."""
    try:
        write = values_api.prepare(book, region.a1, entry, option, f"{where}.")
    except ApiError as error:
        if error.code != 400 or where in error.message:
            raise
        raise bad_request(f"Invalid {where}: {error.message}") from None
    if write.height > region.r1 - region.r0 or write.width > region.c1 - region.c0:
        too_tall = write.height > region.r1 - region.r0
        past = str(region.r0 + write.height) if too_tall else a1.column_letters(region.c1)
        raise bad_request(
            f"Invalid {where}: requested writing within range [{region.a1}], but tried writing "
            f"to {'row' if too_tall else 'column'} [{past}]"
        )
    return write


def _response(
    book: Spreadsheet, planned: _Planned, with_values: Any, opts: ReadOptions
) -> dict[str, Any]:
    """UpdateValuesByDataFilterResponse; ``updatedData`` is the whole matched range, read
    after every write of the request (trailing empties trimmed), as the reference says."""
    out = values_api.update_response(book, planned.write)
    del out["spreadsheetId"]
    out["dataFilter"] = planned.data_filter
    if with_values:
        out["updatedData"] = values_api.get(book, planned.region.a1, opts)
    return out
