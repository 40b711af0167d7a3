"""The Sheets v4 endpoints: one function per method, taking parsed arguments.

Each returns ``(request kind, JSON body, cells written)``; the router in
:mod:`.server` does HTTP, counting, faults and quotas around them.
"""

from __future__ import annotations

from typing import Any

from sheets_emulator import batch, devmeta_api, values_api, values_filter_api
from sheets_emulator.apierror import bad_request
from sheets_emulator.griddata import spreadsheet_json
from sheets_emulator.spreadsheets import Sheet, Store, new_spreadsheet, sheet_properties
from sheets_emulator.values_api import ReadOptions

Args = dict[str, Any]


def _flag(args: Args, name: str) -> bool:
    return str(args.get(name, "false")).lower() == "true"


def create(store: Store, body: Args, user: str) -> dict[str, Any]:
    title = (body.get("properties") or {}).get("title") or "Untitled spreadsheet"
    book = new_spreadsheet(str(title), user)
    for i, spec in enumerate(body.get("sheets") or []):
        props = spec.get("properties") or {}
        grid = props.get("gridProperties") or {}
        sheet_id = props.get("sheetId", 0 if i == 0 else book.new_sheet_id())
        full = sheet_properties(sheet_id, props.get("title") or f"Sheet{i + 1}", i,
                                int(grid.get("rowCount", 1000)), int(grid.get("columnCount", 26)))  # fmt: skip
        if i == 0:
            book.sheets = []
        book.sheets.append(Sheet(full))
    book.check_cells()
    store.put(book)
    return spreadsheet_json(book, None, False, [])


def get(store: Store, sid: str, args: Args) -> dict[str, Any]:
    book = store.get(sid)
    ranges = args.get("ranges") or []
    return spreadsheet_json(book, args.get("fields"), _flag(args, "includeGridData"), list(ranges))


def batch_update(store: Store, sid: str, body: Args) -> tuple[dict[str, Any], list[str], int]:
    book = store.get(sid)
    new, replies = batch.run(book, body)
    store.put(new)
    out: dict[str, Any] = {"spreadsheetId": sid, "replies": replies}
    if body.get("includeSpreadsheetInResponse"):
        ranges = body.get("responseRanges") or []
        out["updatedSpreadsheet"] = spreadsheet_json(
            new, None, bool(body.get("responseIncludeGridData")), ranges
        )
    kinds = [next(iter(r)) for r in body.get("requests") or [] if isinstance(r, dict) and r]
    return out, kinds, 0


def developer_metadata_search(store: Store, sid: str, body: Args) -> dict[str, Any]:
    return devmeta_api.search(store.get(sid), body if isinstance(body, dict) else {})


def developer_metadata_get(store: Store, sid: str, metadata_id: str) -> dict[str, Any]:
    return devmeta_api.get(store.get(sid), metadata_id)


def values_get(store: Store, sid: str, rng: str, args: Args) -> dict[str, Any]:
    return values_api.get(store.get(sid), rng, ReadOptions.from_args(args))


def values_batch_get(store: Store, sid: str, args: Args) -> dict[str, Any]:
    book, opts = store.get(sid), ReadOptions.from_args(args)
    ranges = args.get("ranges") or []
    pivots: dict[int, dict[tuple[int, int], Any]] = {}
    return {
        "spreadsheetId": sid,
        "valueRanges": [values_api.get(book, r, opts, pivots) for r in ranges],
    }


def values_batch_get_by_filter(store: Store, sid: str, body: Args) -> dict[str, Any]:
    return values_filter_api.batch_get(store.get(sid), body)


def values_batch_update_by_filter(store: Store, sid: str, body: Args) -> tuple[dict[str, Any], int]:
    return values_filter_api.batch_update(store.get(sid), body)


def _input_option(args: Args) -> str:
    """Google refuses a values write without ``valueInputOption`` (gspread always sends it)."""
    option = args.get("valueInputOption")
    if not option:
        raise bad_request("'valueInputOption' is required but not specified")
    return str(option)


def _response_opts(args: Args) -> ReadOptions:
    return ReadOptions.from_args(args, prefix="response")


def values_update(
    store: Store, sid: str, rng: str, args: Args, body: Args
) -> tuple[dict[str, Any], int]:
    book = store.get(sid)
    option = _input_option(args)
    if body.get("range") and body["range"] != rng:
        _check_same_range(book, body["range"], rng)
    write = values_api.prepare(book, rng, body, option, "")
    cells = values_api.apply(write)
    book.touch()
    out = values_api.update_response(book, write)
    if _flag(args, "includeValuesInResponse"):
        values_api.with_values(book, write, out, _response_opts(args))
    return out, cells


def _check_same_range(book: Any, a: str, b: str) -> None:
    if book.resolve(a) != book.resolve(b):
        raise bad_request(
            f"Requested writing within range [{b}], but tried writing to [{a}]: the body's range must "
            "match the URL's range."
        )


def values_batch_update(store: Store, sid: str, body: Args) -> tuple[dict[str, Any], int]:
    book = store.get(sid)
    option = body.get("valueInputOption")
    if not option:
        raise bad_request("'valueInputOption' is required but not specified")
    data = body.get("data") or []
    writes = [
        values_api.prepare(book, d.get("range", ""), d, option, f"data[{i}].")
        for i, d in enumerate(data)
    ]
    cells = sum(values_api.apply(w) for w in writes)
    book.touch()
    responses = [values_api.update_response(book, w) for w in writes]
    if body.get("includeValuesInResponse"):
        opts = ReadOptions.from_args(body, prefix="response")
        for w, r in zip(writes, responses, strict=True):
            values_api.with_values(book, w, r, opts)
    out = {"spreadsheetId": sid, **values_api.totals(writes), "responses": responses}
    return out, cells


def values_append(
    store: Store, sid: str, rng: str, args: Args, body: Args
) -> tuple[dict[str, Any], int]:
    book = store.get(sid)
    option = _input_option(args)
    insert = (args.get("insertDataOption") or "OVERWRITE") == "INSERT_ROWS"
    work = book.fork()
    write, table = values_api.append(work, rng, body, option, insert)
    cells = values_api.apply(write)
    work.touch()
    store.put(work)
    out: dict[str, Any] = {"spreadsheetId": sid}
    if table:
        out["tableRange"] = table
    out["updates"] = values_api.update_response(work, write)
    if _flag(args, "includeValuesInResponse"):
        values_api.with_values(work, write, out["updates"], _response_opts(args))
    return out, cells


def values_clear(store: Store, sid: str, rng: str) -> dict[str, Any]:
    book = store.get(sid)
    cleared = values_api.clear(book, rng)
    book.touch()
    return {"spreadsheetId": sid, "clearedRange": cleared}


def values_batch_clear(store: Store, sid: str, body: Args) -> dict[str, Any]:
    book = store.get(sid)
    ranges = body.get("ranges") or []
    for r in ranges:
        book.resolve(r)
    cleared = [values_api.clear(book, r) for r in ranges]
    book.touch()
    return {"spreadsheetId": sid, "clearedRanges": cleared}


def copy_to(store: Store, sid: str, sheet_id: int, body: Args) -> dict[str, Any]:
    source = store.get(sid)
    target = store.get(str(body.get("destinationSpreadsheetId", "")))
    sheet = source.sheet_by_id(sheet_id)
    work = target.fork()
    title = f"Copy of {sheet.title}"
    n = 2
    while work.sheet_by_title(title):
        title, n = f"Copy of {sheet.title} {n}", n + 1
    reply = batch.add_sheet(work, {"properties": {"title": title,
                                                  "gridProperties": dict(sheet.properties["gridProperties"])}})  # fmt: skip
    work.sheet_by_id(reply["properties"]["sheetId"])._grid = sheet.grid.copy()
    store.put(work)
    return reply["properties"]
