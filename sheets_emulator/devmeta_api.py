"""Developer metadata requests: the three batchUpdate kinds and the two endpoints.

``createDeveloperMetadata`` / ``updateDeveloperMetadata`` /
``deleteDeveloperMetadata`` run inside ``spreadsheets:batchUpdate`` (so a bad
one aborts the whole batch, named ``requests[i]``);
``developerMetadata:search`` and ``developerMetadata/{id}`` are reads.
Replies are shaped like Google's, including ``{}`` for a search that finds
nothing.
"""

from __future__ import annotations

from typing import Any

from sheets_emulator import devmeta
from sheets_emulator.apierror import bad_request, not_found
from sheets_emulator.batch_cells import expand_fields
from sheets_emulator.shapes import drop_nulls
from sheets_emulator.spreadsheets import Spreadsheet

_UPDATABLE = ("metadataKey", "metadataValue", "location", "visibility")


def create(book: Spreadsheet, payload: dict[str, Any]) -> dict[str, Any]:
    entry = devmeta.new_entry(book, payload.get("developerMetadata"))
    book.developer_metadata.append(entry)
    return {"developerMetadata": devmeta.public(entry)}


def update(book: Spreadsheet, payload: dict[str, Any]) -> dict[str, Any]:
    filters = _filters(book, payload.get("dataFilters"), "dataFilters")
    paths = _update_paths(payload)
    new = payload.get("developerMetadata")
    if not isinstance(new, dict):
        raise bad_request("developerMetadata must be set: it holds the new values.")
    chosen = _selected(book, filters)
    for entry in chosen:
        _apply(book, entry, new, paths)
    return {"developerMetadata": [devmeta.public(e) for e in chosen]}


def _update_paths(payload: dict[str, Any]) -> list[str]:
    if not payload.get("fields"):
        raise bad_request("'fields' is required: it names what to change (e.g. metadataValue).")
    paths = expand_fields(str(payload["fields"]))
    if paths == ["*"]:
        return list(_UPDATABLE)
    for path in paths:
        if path.split(".")[0] not in _UPDATABLE:
            raise bad_request(
                f"field '{path}' cannot be updated (updatable: {', '.join(_UPDATABLE)})."
            )
    return sorted({p.split(".")[0] for p in paths})


def _apply(book: Spreadsheet, entry: dict[str, Any], new: dict[str, Any], paths: list[str]) -> None:
    for path in paths:
        if path == "location":
            entry["location"] = devmeta.parse_location(book, new.get("location"))
        elif path == "visibility":
            if new.get("visibility") not in devmeta.VISIBILITIES:
                raise bad_request("visibility must be DOCUMENT or PROJECT.")
            entry["visibility"] = new["visibility"]
        elif path == "metadataKey":
            if not new.get("metadataKey"):
                raise bad_request("Developer metadata must always have a metadataKey specified.")
            entry["metadataKey"] = str(new["metadataKey"])
        elif new.get("metadataValue") is None:
            entry.pop("metadataValue", None)
        else:
            entry["metadataValue"] = str(new["metadataValue"])


def delete(book: Spreadsheet, payload: dict[str, Any]) -> dict[str, Any]:
    if "dataFilter" not in payload:
        raise bad_request("dataFilter is required: it selects the metadata to delete.")
    data_filter = devmeta.check_filter(book, payload["dataFilter"], "dataFilter")
    chosen = _selected(book, [data_filter])
    ids = {e["metadataId"] for e in chosen}
    book.developer_metadata = [m for m in book.developer_metadata if m["metadataId"] not in ids]
    return {"deletedDeveloperMetadata": [devmeta.public(e) for e in chosen]}


def _filters(book: Spreadsheet, raw: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise bad_request(f"{where} must list at least one DataFilter.")
    return [devmeta.check_filter(book, f, f"{where}[{i}]") for i, f in enumerate(raw)]


def _selected(book: Spreadsheet, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in book.developer_metadata if any(devmeta.matches(book, f, e) for f in filters)]


# -- endpoints --------------------------------------------------------------------


def search(book: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
    """``POST .../developerMetadata:search``: each match with the filters that matched it."""
    try:
        filters = _filters(book, drop_nulls(body).get("dataFilters"), "dataFilters")
    except (KeyError, TypeError, ValueError) as error:
        raise bad_request(f"Invalid dataFilters: malformed request ({error})") from None
    matched = []
    for entry in book.developer_metadata:
        hits = [f for f in filters if devmeta.matches(book, f, entry)]
        if hits:
            matched.append({"developerMetadata": devmeta.public(entry), "dataFilters": hits})
    return {"matchedDeveloperMetadata": matched} if matched else {}


def get(book: Spreadsheet, metadata_id: str) -> dict[str, Any]:
    """``GET .../developerMetadata/{metadataId}``."""
    try:
        wanted = int(metadata_id)
    except ValueError:
        raise bad_request(
            f"Invalid value at 'metadata_id' (TYPE_INT32), \"{metadata_id}\""
        ) from None
    for entry in book.developer_metadata:
        if entry["metadataId"] == wanted:
            return devmeta.public(entry)
    raise not_found(f"No developer metadata with ID: {wanted}")


def for_spreadsheet(book: Spreadsheet) -> list[dict[str, Any]]:
    """What ``spreadsheets.get`` lists under ``developerMetadata``."""
    return [devmeta.public(m) for m in book.developer_metadata if devmeta.sheet_of(m) is None]


def for_sheet(book: Spreadsheet, sheet_id: int) -> list[dict[str, Any]]:
    """What ``spreadsheets.get`` lists under ``sheets[].developerMetadata`` (sheet, rows, columns)."""
    return [devmeta.public(m) for m in book.developer_metadata if devmeta.sheet_of(m) == sheet_id]


def on_dimension(book: Spreadsheet, sheet_id: int, dim: str) -> list[dict[str, Any]]:
    """The row (``ROWS``) or column (``COLUMNS``) metadata of one sheet, as answered."""
    return [
        devmeta.public(m)
        for m in book.developer_metadata
        if devmeta.sheet_of(m) == sheet_id
        and m["location"].get("dimensionRange", {}).get("dimension") == dim
    ]


HANDLERS = {
    "createDeveloperMetadata": create,
    "updateDeveloperMetadata": update,
    "deleteDeveloperMetadata": delete,
}
