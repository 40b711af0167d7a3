"""Request kinds: what a request is (``spreadsheets.values.update``, ``drive.files.list``),
for the counters, fault matching and quotas, and the list of what the emulator serves.

Routing works on the raw request path, so a range like ``'a/b'!A1`` sent
percent-encoded (as gspread does) is not mistaken for a path separator.
"""

from __future__ import annotations

import re

SHEETS_PATH = re.compile(r"^/v4/spreadsheets(?:/(?P<id>[^/:]+))?(?P<rest>.*)$")
DRIVE_PATH = re.compile(r"^/drive/v3/files(?:/(?P<id>[^/]+))?(?P<rest>/.*)?$")
UPLOAD_PATH = re.compile(r"^/upload/drive/v2/files/(?P<id>[^/]+)$")
"""Drive v2 ``files.update`` with a media upload: gspread's ``import_csv``."""

SERVED_KINDS = (
    "spreadsheets.create", "spreadsheets.get", "spreadsheets.batchUpdate",
    "spreadsheets.values.get", "spreadsheets.values.batchGet", "spreadsheets.values.update",
    "spreadsheets.values.batchUpdate", "spreadsheets.values.append", "spreadsheets.values.clear",
    "spreadsheets.values.batchClear", "spreadsheets.values.batchGetByDataFilter",
    "spreadsheets.values.batchUpdateByDataFilter", "spreadsheets.sheets.copyTo",
    "spreadsheets.developerMetadata.search", "spreadsheets.developerMetadata.get",
    "drive.files.create", "drive.files.list", "drive.files.get", "drive.files.delete",
    "drive.files.copy", "drive.files.export", "drive.files.update",
    "drive.permissions.create", "drive.permissions.list",
    "drive.permissions.delete", "drive.comments.list", "oauth2.token",
)  # fmt: skip
"""Every kind :func:`request_kind` answers other than ``unknown`` (a 404)."""

READ_KINDS = {
    "spreadsheets.get", "spreadsheets.values.get", "spreadsheets.values.batchGet",
    "spreadsheets.developerMetadata.get", "spreadsheets.developerMetadata.search",
    "spreadsheets.values.batchGetByDataFilter",
}  # fmt: skip
"""Counted against the read quota; every other Sheets kind is a write."""


def request_kind(method: str, path: str) -> str:
    """``spreadsheets.values.update``, ``drive.files.list``, ... for counters and faults."""
    if path in ("/token", "/oauth2/v4/token"):
        return "oauth2.token"
    if path.startswith("/drive/v3/files"):
        return _drive_kind(method, path)
    if UPLOAD_PATH.match(path):
        return "drive.files.update" if method == "PUT" else "unknown"
    match = SHEETS_PATH.match(path)
    if match is None:
        return "unknown"
    rest = match.group("rest")
    if not match.group("id"):
        return "spreadsheets.create" if method == "POST" else "unknown"
    if rest == "":
        return "spreadsheets.get" if method == "GET" else "unknown"
    if rest == ":batchUpdate":
        return "spreadsheets.batchUpdate"
    if rest in ("/values:batchGet", "/values:batchUpdate", "/values:batchClear"):
        return "spreadsheets.values." + rest.split(":")[1]
    if rest in ("/values:batchGetByDataFilter", "/values:batchUpdateByDataFilter"):
        return "spreadsheets.values." + rest.split(":")[1] if method == "POST" else "unknown"
    if rest == "/developerMetadata:search" and method == "POST":
        return "spreadsheets.developerMetadata.search"
    if rest.startswith("/developerMetadata/") and method == "GET":
        return "spreadsheets.developerMetadata.get"
    if rest.startswith("/sheets/") and rest.endswith(":copyTo"):
        return "spreadsheets.sheets.copyTo"
    if rest.startswith("/values/"):
        tail = rest.rsplit(":", 1)[1] if ":" in rest else ""
        if tail in ("append", "clear") and method == "POST":
            return "spreadsheets.values." + tail
        return {"GET": "spreadsheets.values.get", "PUT": "spreadsheets.values.update"}.get(
            method, "unknown"
        )
    return "unknown"


def _drive_kind(method: str, path: str) -> str:
    match = DRIVE_PATH.match(path)
    if match is None:
        return "unknown"
    fid, rest = match.group("id"), match.group("rest") or ""
    if not fid:
        return {"POST": "drive.files.create", "GET": "drive.files.list"}.get(method, "unknown")
    if rest == "":
        return {"GET": "drive.files.get", "DELETE": "drive.files.delete"}.get(method, "unknown")
    if rest == "/copy":
        return "drive.files.copy"
    if rest == "/export" and method == "GET":
        return "drive.files.export"
    if rest == "/comments" and method == "GET":
        return "drive.comments.list"
    if rest.startswith("/permissions"):
        by_method = {"POST": "create", "GET": "list", "DELETE": "delete"}
        return "drive.permissions." + by_method.get(method, "unknown")
    return "unknown"
