"""Developer metadata: key/value tags on the spreadsheet, a sheet, one row or one column.

Stored on :attr:`Spreadsheet.developer_metadata` in Google's JSON shape, with
the dimension range's ``sheetId`` always present. A row/column location
moves with its row/column (insert, delete, move) and is deleted with it; a
sheet's metadata goes with the sheet.

Matching follows Google's ``DataFilter``: a ``developerMetadataLookup`` selects
the entries that match every field it sets; ``a1Range``/``gridRange`` select
the entries whose location intersects that region. Locations are compared as
regions: the spreadsheet covers everything, a sheet covers its grid, a row or
column covers that line, so row 3 and column B of one sheet intersect.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from sheets_emulator.apierror import bad_request
from sheets_emulator.shapes import public_ranges
from sheets_emulator.spreadsheets import Spreadsheet

Region = tuple[
    int | None, float, float, float, float
]  # sheetId (None: every sheet), r0, r1, c0, c1
LOCATION_TYPES = ("SPREADSHEET", "SHEET", "ROW", "COLUMN")
VISIBILITIES = ("DOCUMENT", "PROJECT")
_STRATEGIES = ("EXACT_LOCATION", "INTERSECTING_LOCATION")
_FILTER_KINDS = ("developerMetadataLookup", "a1Range", "gridRange")
_INF = math.inf


# -- locations -------------------------------------------------------------------


def parse_location(book: Spreadsheet, loc: Any, single: bool = True) -> dict[str, Any]:
    """A request's DeveloperMetadataLocation → the stored form (``locationType`` filled in).

    ``single``: a dimension range must be exactly one row or column, as Google
    requires for metadata (lookups may name a wider span).
    """
    if not isinstance(loc, dict):
        raise bad_request("location must be a DeveloperMetadataLocation object.")
    given = [k for k in ("spreadsheet", "sheetId", "dimensionRange") if k in loc]
    if len(given) != 1 or loc.get("spreadsheet") is False:
        raise bad_request(
            "location must set exactly one of spreadsheet (true), sheetId or dimensionRange."
        )
    if "spreadsheet" in given:
        return {"locationType": "SPREADSHEET", "spreadsheet": True}
    if "sheetId" in given:
        sheet = book.sheet_by_id(loc["sheetId"])
        return {"locationType": "SHEET", "sheetId": sheet.sheet_id}
    return _dimension_location(book, loc["dimensionRange"], single)


def _dimension_location(book: Spreadsheet, rng: Any, single: bool) -> dict[str, Any]:
    if not isinstance(rng, dict):
        raise bad_request("location.dimensionRange must be a DimensionRange object.")
    sheet = book.sheet_by_id(rng.get("sheetId", 0))
    dim = rng.get("dimension")
    if dim not in ("ROWS", "COLUMNS"):
        raise bad_request("location.dimensionRange.dimension must be ROWS or COLUMNS.")
    size = sheet.row_count if dim == "ROWS" else sheet.col_count
    if "startIndex" not in rng or "endIndex" not in rng:
        raise bad_request(
            "location.dimensionRange must set startIndex and endIndex (metadata goes on one "
            "whole row or column)."
        )
    start, end = int(rng["startIndex"]), int(rng["endIndex"])
    if single and end - start != 1:
        raise bad_request(
            f"location.dimensionRange [{start}, {end}) must span exactly one row or column; "
            "create one metadata entry per row/column."
        )
    if not 0 <= start < end <= size:
        raise bad_request(
            f"location.dimensionRange [{start}, {end}) is outside the sheet's {size} {dim.lower()}."
        )
    dim_range = {"sheetId": sheet.sheet_id, "dimension": dim, "startIndex": start, "endIndex": end}
    return {"locationType": "ROW" if dim == "ROWS" else "COLUMN", "dimensionRange": dim_range}


def region(loc: dict[str, Any]) -> Region:
    if loc.get("spreadsheet"):
        return (None, 0, _INF, 0, _INF)
    if "sheetId" in loc:
        return (int(loc["sheetId"]), 0, _INF, 0, _INF)
    rng = loc["dimensionRange"]
    lo, hi = rng["startIndex"], rng["endIndex"]
    sid = int(rng.get("sheetId", 0))
    return (sid, lo, hi, 0, _INF) if rng["dimension"] == "ROWS" else (sid, 0, _INF, lo, hi)


def intersects(a: Region, b: Region) -> bool:
    if a[0] is not None and b[0] is not None and a[0] != b[0]:
        return False
    return a[1] < b[2] and b[1] < a[2] and a[3] < b[4] and b[3] < a[4]


def sheet_of(entry: dict[str, Any]) -> int | None:
    """The sheet a metadata entry lives on (None: the spreadsheet itself)."""
    loc = entry["location"]
    if "sheetId" in loc:
        return int(loc["sheetId"])
    if "dimensionRange" in loc:
        return int(loc["dimensionRange"].get("sheetId", 0))
    return None


# -- entries ---------------------------------------------------------------------


def new_entry(book: Spreadsheet, meta: Any) -> dict[str, Any]:
    """A create request's DeveloperMetadata, checked and given an id."""
    if not isinstance(meta, dict):
        raise bad_request("developerMetadata must be a DeveloperMetadata object.")
    if not meta.get("metadataKey"):
        raise bad_request("Developer metadata must always have a metadataKey specified.")
    if meta.get("visibility") not in VISIBILITIES:
        raise bad_request(
            "Developer metadata must always have a visibility specified (DOCUMENT or PROJECT)."
        )
    if "location" not in meta:
        raise bad_request("Developer metadata must always have a location specified.")
    entry: dict[str, Any] = {"metadataId": _new_id(book, meta.get("metadataId"))}
    entry["metadataKey"] = str(meta["metadataKey"])
    if meta.get("metadataValue") is not None:
        entry["metadataValue"] = str(meta["metadataValue"])
    entry["location"] = parse_location(book, meta["location"])
    entry["visibility"] = meta["visibility"]
    return entry


def _new_id(book: Spreadsheet, wanted: Any) -> int:
    used = {m["metadataId"] for m in book.developer_metadata}
    if wanted is not None:
        wanted = int(wanted)
        if wanted <= 0:
            raise bad_request(f"metadataId {wanted} must be a positive integer.")
        if wanted in used:
            raise bad_request(
                f"Developer metadata with ID {wanted} already exists in this spreadsheet; "
                "leave metadataId unset to have one assigned."
            )
        return wanted
    while True:
        candidate = book.rng.randrange(1, 2**31 - 1)
        if candidate not in used:
            return candidate


def public(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as Google answers it (``sheetId`` 0 left out of a dimension range)."""
    out = copy.deepcopy(entry)
    if "dimensionRange" in out["location"]:
        out["location"]["dimensionRange"] = public_ranges(out["location"]["dimensionRange"])
    return out


# -- matching --------------------------------------------------------------------


def matches(book: Spreadsheet, data_filter: Any, entry: dict[str, Any]) -> bool:
    """Whether one DataFilter selects ``entry`` (the filter is checked first: see :func:`check_filter`)."""
    kind, value = next(iter(data_filter.items()))
    if kind == "developerMetadataLookup":
        return _lookup_matches(book, value, entry)
    return intersects(_filter_region(book, kind, value), region(entry["location"]))


def check_filter(book: Spreadsheet, data_filter: Any, where: str) -> dict[str, Any]:
    """A DataFilter with exactly one criterion, every field readable; else a 400 naming it."""
    kinds = [k for k in _FILTER_KINDS if isinstance(data_filter, dict) and k in data_filter]
    if len(kinds) != 1 or len(data_filter) != 1:
        raise bad_request(
            f"{where} must set exactly one of developerMetadataLookup, a1Range or gridRange."
        )
    kind = kinds[0]
    if kind == "developerMetadataLookup":
        _check_lookup(book, data_filter[kind], where)
    else:
        _filter_region(book, kind, data_filter[kind])
    return dict(data_filter)


def _check_lookup(book: Spreadsheet, lookup: Any, where: str) -> None:
    if not isinstance(lookup, dict):
        raise bad_request(f"{where}.developerMetadataLookup must be an object.")
    strategy = lookup.get("locationMatchingStrategy")
    if strategy is not None and strategy not in _STRATEGIES:
        raise bad_request(
            f"{where}.developerMetadataLookup.locationMatchingStrategy must be EXACT_LOCATION "
            f"or INTERSECTING_LOCATION, not {strategy!r}."
        )
    if strategy is not None and "metadataLocation" not in lookup:
        raise bad_request(
            f"{where}.developerMetadataLookup: a locationMatchingStrategy needs a metadataLocation."
        )
    if "metadataLocation" in lookup:
        parse_location(book, lookup["metadataLocation"], single=False)
    if "metadataId" in lookup and not _is_int(lookup["metadataId"]):
        raise bad_request(
            f"{where}.developerMetadataLookup.metadataId must be an integer, "
            f"not {lookup['metadataId']!r}."
        )
    for key, allowed in (("locationType", LOCATION_TYPES), ("visibility", VISIBILITIES)):
        if key in lookup and lookup[key] not in allowed:
            raise bad_request(
                f"{where}.developerMetadataLookup.{key} must be one of {', '.join(allowed)}."
            )


def _is_int(value: Any) -> bool:
    try:
        return not isinstance(value, bool) and int(value) == float(value)
    except (TypeError, ValueError):
        return False


def _lookup_matches(book: Spreadsheet, lookup: dict[str, Any], entry: dict[str, Any]) -> bool:
    loc = entry["location"]
    checks = (
        ("metadataId", lambda v: int(v) == entry["metadataId"]),
        ("metadataKey", lambda v: v == entry["metadataKey"]),
        ("metadataValue", lambda v: v == entry.get("metadataValue")),
        ("visibility", lambda v: v == entry["visibility"]),
        ("locationType", lambda v: v == loc["locationType"]),
    )
    if any(key in lookup and not check(lookup[key]) for key, check in checks):
        return False
    if "metadataLocation" not in lookup:
        return True
    wanted = parse_location(book, lookup["metadataLocation"], single=False)
    if lookup.get("locationMatchingStrategy") == "EXACT_LOCATION":
        return wanted == loc
    return intersects(region(wanted), region(loc))


def _filter_region(book: Spreadsheet, kind: str, value: Any) -> Region:
    if kind == "a1Range":
        sheet, bounds = book.resolve(str(value))
    elif isinstance(value, dict):
        sheet, bounds = book.grid_range(value)
    else:
        raise bad_request("gridRange must be a GridRange object.")
    r1 = _INF if bounds.r1 is None else bounds.r1
    c1 = _INF if bounds.c1 is None else bounds.c1
    return (sheet.sheet_id, bounds.r0, r1, bounds.c0, c1)


# -- moving with the grid --------------------------------------------------------


def shift(book: Spreadsheet, sheet_id: int, dim: str, at: int, n: int) -> None:
    """Rows/columns inserted (``n > 0`` before ``at``) or deleted (``[at, at - n)``)."""
    kept = []
    for entry in book.developer_metadata:
        rng = _line(entry, sheet_id, dim)
        if rng is not None:
            i = rng["startIndex"]
            if n < 0 and at <= i < at - n:
                continue  # its row/column was deleted: so is the metadata
            if i >= at:
                _place(rng, i + n)
        kept.append(entry)
    book.developer_metadata = kept


def move(book: Spreadsheet, sheet_id: int, dim: str, new: Callable[[int], int]) -> None:
    """Rows/columns reordered: ``new(i)`` is where old index ``i`` lands."""
    for entry in book.developer_metadata:
        rng = _line(entry, sheet_id, dim)
        if rng is not None:
            _place(rng, new(rng["startIndex"]))


def drop_sheet(book: Spreadsheet, sheet_id: int) -> None:
    book.developer_metadata = [m for m in book.developer_metadata if sheet_of(m) != sheet_id]


def drop_beyond(book: Spreadsheet, sheet_id: int, rows: int, cols: int) -> None:
    """The grid shrank to ``rows`` × ``cols``: metadata on the cut rows/columns goes."""
    for dim, size in (("ROWS", rows), ("COLUMNS", cols)):
        shift(book, sheet_id, dim, size, -(2**31))


def _line(entry: dict[str, Any], sheet_id: int, dim: str) -> dict[str, Any] | None:
    rng = entry["location"].get("dimensionRange")
    if rng is None or rng.get("sheetId", 0) != sheet_id or rng["dimension"] != dim:
        return None
    return rng


def _place(rng: dict[str, Any], index: int) -> None:
    rng["startIndex"], rng["endIndex"] = index, index + 1
