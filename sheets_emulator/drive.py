"""The Drive v3 file calls gspread makes (create, list, get, copy, delete,
permissions) and the OAuth2 token endpoint. Drive errors carry Drive's extra
``errors`` list, which gspread's back-off client inspects."""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
from typing import Any

from sheets_emulator import fieldmask
from sheets_emulator.apierror import ApiError, bad_request
from sheets_emulator.spreadsheets import Spreadsheet, Store, new_spreadsheet

SHEETS_MIME = "application/vnd.google-apps.spreadsheet"
_NAME_EQ = re.compile(r"name\s*=\s*(['\"])(.*?)\1")


class DriveError(ApiError):
    """Drive's error shape: ``code``, ``message`` and an ``errors`` list, no ``status``."""

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


def drive_error(code: int, message: str, reason: str, location: str | None = None) -> DriveError:
    entry = {"message": message, "domain": "global", "reason": reason}
    if location:
        entry.update(location=location, locationType="parameter")
    error = DriveError(code, message)
    error.extra = {"errors": [entry]}
    return error


def drive_not_found(file_id: str) -> ApiError:
    """What Drive answers for a file that does not exist *or is not shared with the caller*."""
    return drive_error(404, f"File not found: {file_id}.", "notFound", location="fileId")


def drive_book(store: Store, file_id: str) -> Spreadsheet:
    """The spreadsheet behind a Drive file id; a private one is 404 as Drive answers it."""
    book = store.books.get(file_id)
    if book is None or book.forbidden:
        raise drive_not_found(file_id)
    return book


_book = drive_book


def file_json(book: Spreadsheet) -> dict[str, Any]:
    return {
        "kind": "drive#file",
        "id": book.spreadsheet_id,
        "name": book.title,
        "mimeType": SHEETS_MIME,
        "createdTime": book.created_time,
        "modifiedTime": book.modified_time,
    }


def create(store: Store, body: dict[str, Any], user: str) -> dict[str, Any]:
    mime = body.get("mimeType")
    if mime != SHEETS_MIME:
        raise bad_request(
            f"The Sheets API emulator only creates spreadsheets (mimeType {SHEETS_MIME})."
        )
    book = new_spreadsheet(str(body.get("name") or "Untitled spreadsheet"), user)
    book.permissions.append(_permission(user, "owner"))
    store.put(book)
    return {k: v for k, v in file_json(book).items() if k in ("kind", "id", "name", "mimeType")}


def list_files(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    query = str(args.get("q") or "")
    books = sorted(store.books.values(), key=lambda b: b.created_time, reverse=True)
    books = [b for b in books if not b.forbidden]
    match = _NAME_EQ.search(query)
    if match:
        books = [b for b in books if b.title == match.group(2)]
    size = int(args.get("pageSize") or 100)
    start = int(args.get("pageToken") or 0)
    page = books[start : start + size]
    body: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False,
                            "files": [file_json(b) for b in page]}  # fmt: skip
    if start + size < len(books):
        body["nextPageToken"] = str(start + size)
    return _masked(body, args)


def _masked(body: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    mask = fieldmask.parse(str(args.get("fields") or ""))
    return fieldmask.apply(body, mask)


def get_file(
    store: Store, file_id: str, args: dict[str, Any], user: str = "anonymous"
) -> dict[str, Any]:
    """The file; ``capabilities`` only when ``fields`` asks for it, as Drive v3 answers."""
    book = _book(store, file_id)
    body = file_json(book)
    if "capabilities" in str(args.get("fields") or ""):
        body["capabilities"] = capabilities(book, user)
    return _masked(body, args)


_ROLE_RANK = {"reader": 0, "commenter": 1, "writer": 2, "fileOrganizer": 3, "organizer": 4,
              "owner": 5}  # fmt: skip


def caller_role(book: Spreadsheet, user: str) -> str:
    """The caller's best role among the file's permissions (user, domain, anyone).

    The emulator does not enforce sharing elsewhere (any caller may read and
    write any spreadsheet not forbidden by the access control), so a caller no
    permission names is answered as the writer it effectively is.
    """
    roles = [str(p["role"]) for p in book.permissions if _grants(p, user.lower())]
    return max(roles, key=lambda r: _ROLE_RANK.get(r, 0)) if roles else "writer"


def _grants(permission: dict[str, Any], email: str) -> bool:
    kind = permission.get("type")
    named = str(permission.get("emailAddress") or permission.get("domain") or "").lower()
    if kind == "anyone":
        return True
    if kind == "domain":
        return "@" in email and named == email.rpartition("@")[2]
    return named == email


def capabilities(book: Spreadsheet, user: str) -> dict[str, bool]:
    """Drive v3 ``File.capabilities`` of a (non-folder) file for the caller's role."""
    rank = _ROLE_RANK.get(caller_role(book, user), 0)
    owner, editor, commenter = rank == _ROLE_RANK["owner"], rank >= 2, rank >= 1
    return {
        "canAddChildren": False, "canComment": commenter, "canCopy": True,
        "canDelete": owner, "canDownload": True, "canEdit": editor, "canListChildren": False,
        "canModifyContent": editor, "canReadRevisions": editor, "canRemoveChildren": False,
        "canRename": editor, "canShare": editor, "canTrash": owner, "canUntrash": owner,
    }  # fmt: skip


def delete_file(store: Store, file_id: str) -> None:
    _book(store, file_id)
    del store.books[file_id]


def copy_file(store: Store, file_id: str, body: dict[str, Any], user: str) -> dict[str, Any]:
    source = _book(store, file_id)
    clone = source.fork()
    for sheet in clone.sheets:
        sheet.writable()
    clone.spreadsheet_id = new_spreadsheet("x", user).spreadsheet_id
    clone.properties = copy.deepcopy(source.properties)
    clone.properties["title"] = body.get("name") or f"Copy of {source.title}"
    clone.owner, clone.permissions = user, [_permission(user, "owner")]
    store.put(clone)
    return {k: v for k, v in file_json(clone).items() if k in ("kind", "id", "name", "mimeType")}


def _permission(email: str | None, role: str, kind: str = "user") -> dict[str, Any]:
    perm: dict[str, Any] = {
        "kind": "drive#permission",
        "id": secrets.token_hex(8),
        "type": kind,
        "role": role,
    }
    if email:
        perm["emailAddress"] = email
    return perm


def add_permission(store: Store, file_id: str, body: dict[str, Any]) -> dict[str, Any]:
    book = _book(store, file_id)
    kind, role = body.get("type"), body.get("role")
    if kind not in ("user", "group", "domain", "anyone") or role not in (
        "owner",
        "organizer",
        "fileOrganizer",
        "writer",
        "commenter",
        "reader",
    ):
        raise bad_request("Invalid permission: type and role are required.")
    perm = _permission(body.get("emailAddress") or body.get("domain"), str(role), str(kind))
    book.permissions.append(perm)
    return perm


def list_permissions(store: Store, file_id: str) -> dict[str, Any]:
    return {
        "kind": "drive#permissionList",
        "permissions": copy.deepcopy(_book(store, file_id).permissions),
    }


def delete_permission(store: Store, file_id: str, permission_id: str) -> None:
    book = _book(store, file_id)
    kept = [p for p in book.permissions if p["id"] != permission_id]
    if len(kept) == len(book.permissions):
        raise ApiError(404, f"Permission not found: {permission_id}.")
    book.permissions = kept


def issue_token(form: dict[str, str]) -> tuple[str, str]:
    """(access token, user) for a service-account JWT grant (signature not checked)."""
    user = "anonymous"
    assertion = form.get("assertion")
    if assertion:
        try:
            payload = assertion.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            user = str(claims.get("sub") or claims.get("iss") or user)
        except (IndexError, ValueError):
            raise ApiError(400, "Invalid JWT assertion", "invalid_grant") from None
    return "emu-" + secrets.token_urlsafe(24), user
