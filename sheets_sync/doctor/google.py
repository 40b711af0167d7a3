"""Google: whose credentials, and for each spreadsheet — reachable, editable, writable.

The calls go through the same session and retrying client a sync uses
(:mod:`sheets_sync.backends.gsheets`), with short timeouts. Editing rights come
from Drive (``files.get``, ``fields=capabilities(canEdit)``), which is why the
doctor's credentials also carry the Drive metadata read scope: under the
product's ``drive.file`` scope Drive does not show a file the app did not
create. The write test adds a hidden scratch sheet with a title of its own,
writes two cells, reads them back and deletes the sheet whatever happened, so
the team's sheets and cells are never touched.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from typing import Any

import google.auth.exceptions
from google.auth.credentials import with_scopes_if_required
from google.auth.transport.requests import Request
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from sheets_sync import db
from sheets_sync.backends.gsheets.auth import (
    SCOPES,
    account_email,
    is_local_emulator,
    load_credentials,
    make_session,
)
from sheets_sync.backends.gsheets.cells import quote_title
from sheets_sync.backends.gsheets.http import RetryingHTTPClient, RetryPolicy
from sheets_sync.backends.gsheets.quota import governor
from sheets_sync.backends.gsheets.session import RewritingSession
from sheets_sync.config.env import ENV_PREFIX
from sheets_sync.doctor.result import (
    NETWORK_DEADLINE_SECONDS,
    NETWORK_TIMEOUT_SECONDS,
    Result,
    State,
    failed,
    ok,
    skipped,
)
from sheets_sync.errors import ConfigError, SheetsAPIError, SheetsSyncError

DRIVE_METADATA_SCOPE = "https://www.googleapis.com/auth/drive.metadata.readonly"
DRIVE_FILE_URL = "https://www.googleapis.com/drive/v3/files/%s"
KEY_VARIABLE = "GOOGLE_APPLICATION_CREDENTIALS"
SCRATCH_PREFIX = "sheets-sync doctor"


def _source(state: State) -> str:
    key_file = state.environ.get(KEY_VARIABLE)
    return f"{KEY_VARIABLE}={key_file}" if key_file else "Application Default Credentials"


def check_credentials(state: State) -> Result:
    settings = state.settings
    assert settings is not None
    if is_local_emulator(settings.sheets.sheets_api_url):
        return ok("Google credentials", f"none needed: {ENV_PREFIX}SHEETS_API_URL is the local "
                  f"emulator at {settings.sheets.sheets_api_url} (calls go as anonymous)")  # fmt: skip
    try:
        credentials = load_credentials(settings.sheets, state.environ)
        credentials = with_scopes_if_required(credentials, [*SCOPES, DRIVE_METADATA_SCOPE])
        credentials.refresh(_TokenRequest(settings.sheets.sheets_api_url))
    except ConfigError as error:
        return failed("Google credentials", str(error),
                      f"set {KEY_VARIABLE} to the service account's JSON key")  # fmt: skip
    except google.auth.exceptions.GoogleAuthError as error:
        return failed(
            "Google credentials", f"Google refused them, from {_source(state)} ({brief(error)})",
            "create a new key for the service account (IAM → Service accounts → Keys) and "
            f"point {KEY_VARIABLE} at it",
        )  # fmt: skip
    state.credentials, state.account = credentials, account_email(credentials)
    who = f"service account {state.account}" if state.account else "an account with no email"
    return ok("Google credentials", f"{who}, from {_source(state)}; a token was issued")


class _TokenRequest(Request):
    """google-auth's transport with the doctor's timeout and the API base URL's token host."""

    def __init__(self, base_url: str | None) -> None:
        super().__init__(session=RewritingSession(base_url))

    def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None,
                 timeout: Any = None, **kwargs: Any) -> Any:  # fmt: skip
        return super().__call__(url, method, body, headers, NETWORK_TIMEOUT_SECONDS, **kwargs)


def brief(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


def client(state: State) -> RetryingHTTPClient:
    """The retrying gspread client a sync uses, with the doctor's short deadline; its requests
    wait for the shared Sheets quota like a sync's when the database has its table."""
    settings = state.settings
    assert settings is not None
    return RetryingHTTPClient(
        make_session(settings.sheets, state.credentials),
        RetryPolicy(deadline_seconds=min(settings.sheets.retry_deadline_seconds,
                                         NETWORK_DEADLINE_SECONDS)),
        timeout=min(settings.sheets.request_timeout_seconds, NETWORK_TIMEOUT_SECONDS),
        quota=governor(_quota_database(state), settings.sheets, state.credentials),
    )  # fmt: skip


def _quota_database(state: State) -> Engine | None:
    """The database holding the shared quota, if it answers and has the table."""
    try:
        if state.engine is not None and "sheets_quota" not in db.missing_tables(state.engine):
            return state.engine
    except SQLAlchemyError:
        pass  # the database check has said why
    return None


def check_spreadsheet(
    state: State, http: RetryingHTTPClient, sid: str, label: str
) -> Iterator[Result]:
    """Reachable, then shared as editor, then the scratch write (each skipped after a failure)."""
    target = f"gsheets:{sid}"
    reach = _reachable(state, http, sid, label)
    yield reach
    if not reach.ok:
        yield skipped(f"{label} editor", "the spreadsheet was not reachable", target)
        yield skipped(f"{label} scratch write", "the spreadsheet was not reachable", target)
        return
    editor = _editor(state, http, sid, label)
    yield editor
    if state.options.read_only:
        yield skipped(f"{label} scratch write", "--read-only: nothing written", target)
    elif editor.ok is False:
        yield skipped(f"{label} scratch write", "the account may not edit it", target)
    else:
        yield _scratch(http, sid, label)


def _who(state: State) -> str:
    if state.credentials is None:
        return "anonymous"
    return state.account or "these credentials"


def _share_fix(state: State) -> str:
    who = state.account or "the service account the app runs as"
    return (f"share it with {who} as Editor (Share → add the address → Editor), and check the "
            "id against the sheet's URL (docs.google.com/spreadsheets/d/<ID>/edit)")  # fmt: skip


def _reachable(state: State, http: RetryingHTTPClient, sid: str, label: str) -> Result:
    target = f"gsheets:{sid}"
    try:
        meta = http.spreadsheets_get(sid, params={"fields": "spreadsheetId,properties.title"})
    except SheetsAPIError as error:
        if error.status in (403, 404):
            what = "not found" if error.status == 404 else "not shared with"
            return failed(f"{label} reachable", f"{what} {_who(state)} ({error.status})",
                          _share_fix(state), target)  # fmt: skip
        return failed(
            f"{label} reachable",
            brief(error),
            "try again later; if it persists, check Google's status page",
            target,
        )
    title = meta.get("properties", {}).get("title", "")
    return ok(f"{label} reachable", f"“{title}” opens as {_who(state)}", target)


def _editor(state: State, http: RetryingHTTPClient, sid: str, label: str) -> Result:
    target, check = f"gsheets:{sid}", f"{label} editor"
    params = {"fields": "capabilities(canEdit)", "supportsAllDrives": "true"}
    try:
        answer = http.request("get", DRIVE_FILE_URL % sid, params=params).json()
    except SheetsAPIError as error:
        return skipped(check, f"Drive would not say ({error.status}); the scratch write tests "
                       "editing", target)  # fmt: skip
    if answer.get("capabilities", {}).get("canEdit") is True:
        return ok(check, f"{_who(state)} may edit it (Drive capabilities.canEdit)", target)
    return failed(check, f"{_who(state)} may only view it (Drive capabilities.canEdit is false)",
                  _share_fix(state), target)  # fmt: skip


def _scratch(http: RetryingHTTPClient, sid: str, label: str) -> Result:
    """Add, write, read back, delete: a failure anywhere still deletes the sheet."""
    check, target = f"{label} scratch write", f"gsheets:{sid}"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H%M%S")
    title, probe = f"{SCRATCH_PREFIX} {stamp} {secrets.token_hex(3)}", secrets.token_hex(8)
    problem, step = None, "adding the sheet"
    try:
        _add_sheet(http, sid, title)
        rng, step = f"{quote_title(title)}!A1:B1", "writing two cells"
        http.values_update(sid, rng, params={"valueInputOption": "RAW"},
                           body={"values": [[SCRATCH_PREFIX, probe]]})  # fmt: skip
        step = "reading them back"
        got = http.values_get(sid, rng).get("values", [])
        if got != [[SCRATCH_PREFIX, probe]]:
            problem = f"read back {got!r}, not what was written"
    except SheetsAPIError as error:
        problem = f"{step} failed: {api_problem(error)}"
    left = _delete_sheet(http, sid, title)
    if left:
        return failed(check, f"the scratch sheet “{title}” was left behind ({left})"
                      + (f"; {problem}" if problem else ""),
                      f"delete the sheet “{title}” by hand", target)  # fmt: skip
    if problem:
        return failed(check, f"{problem} (the scratch sheet was deleted)",
                      "check the account is an Editor, then run it again", target)  # fmt: skip
    return ok(check, "a scratch sheet was added, written, read back and deleted", target)


def api_problem(error: SheetsAPIError) -> str:
    """``HTTP 500: <Google's message>``, without the long URL of the call."""
    if not error.status:
        return f"no answer ({brief(error)[:160]})"
    body = error.body if isinstance(error.body, dict) else {}
    detail = body.get("error", {}).get("message") if isinstance(body.get("error"), dict) else None
    return f"HTTP {error.status}: {str(detail or brief(error))[:160]}"


def _add_sheet(http: RetryingHTTPClient, sid: str, title: str) -> None:
    grid = {"rowCount": 1, "columnCount": 2}
    http.batch_update(sid, {"requests": [{"addSheet": {"properties": {
        "title": title, "hidden": True, "gridProperties": grid}}}]})  # fmt: skip


def _delete_sheet(http: RetryingHTTPClient, sid: str, title: str) -> str | None:
    """Delete the scratch sheet found by its title (None when gone); why not, otherwise.

    Found by title, not by the addSheet reply: an addSheet whose answer was lost
    may still have added it.
    """
    try:
        meta = http.spreadsheets_get(sid, params={"fields": "sheets.properties(sheetId,title)"})
        ids = [s["properties"].get("sheetId", 0) for s in meta.get("sheets", [])
               if s["properties"].get("title") == title]  # fmt: skip
        if ids:
            http.batch_update(sid, {"requests": [{"deleteSheet": {"sheetId": ids[0]}}]})
    except SheetsAPIError as error:
        return api_problem(error)
    return None


def check_spreadsheets(state: State) -> Iterator[Result]:
    """Every ``--to`` destination, then (``--all``) every registered spreadsheet, once each."""
    targets = _targets(state)
    if not targets:
        yield skipped("spreadsheets", "none named: give --to gsheets:ID, or --all for the "
                      "registry's")  # fmt: skip
        return
    http = client(state) if any(kind == "gsheets" for kind, _, _ in targets) else None
    for kind, target, label in targets:
        if kind == "xlsx":
            yield _workbook(target)
            continue
        assert http is not None
        yield from check_spreadsheet(state, http, target, label)


def _targets(state: State) -> list[tuple[str, str, str]]:
    seen: dict[str, tuple[str, str, str]] = {}
    for destination in state.options.targets:
        seen.setdefault(str(destination), (destination.kind, destination.target, str(destination)))
    if state.options.all_registered and state.registry is not None:
        for sheet in state.registry.sheets:
            label = f"{sheet.name} (gsheets:{sheet.id})"
            seen.setdefault(f"gsheets:{sheet.id}", ("gsheets", sheet.id, label))
    return list(seen.values())


def _workbook(path: str) -> Result:
    from sheets_sync.destinations import Destination, check_writable

    try:
        check_writable(Destination("xlsx", path))
    except SheetsSyncError as error:
        return failed(f"xlsx:{path}", str(error), "choose a path the service may write",
                      f"xlsx:{path}")  # fmt: skip
    return ok(f"xlsx:{path}", "the workbook can be written", f"xlsx:{path}")
