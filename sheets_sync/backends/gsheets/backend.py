"""``gsheets:SPREADSHEET_ID``: the managed tabs written with a handful of HTTP requests.

A sync is: one ``spreadsheets.get`` (metadata and charts, field mask), one
``developerMetadata:search`` (which sheets, columns and charts are the
product's, see :mod:`.ownership`, :mod:`.columns` and :mod:`.charts`), one
``values:batchGet`` of the whole rows of every existing managed sheet (inside
its grid; the hidden chart-table sheets and ``Archived notes`` too), one
``spreadsheets:batchUpdate`` carrying all structure (applied atomically by
Google; rows leaving a keyed tab and their team notes moving to ``Archived
notes`` are in it), then ``values:batchUpdate`` bodies of changed cells under
the payload cap. A team sheet titled like a managed one, or a keyed tab about
to lose too many rows, stops the run after the reads, before any write. Limits are fitted once per plan through :mod:`sheets_sync.backends.fit`: what
each tab allows on its own before any request, the spreadsheet's cell total
(other sheets, pivot sheets, the team's columns) after the metadata read,
before any write. The report is built from the plan actually sent, so a tab
cut to fit is reported with the rows it really got.

If the structural batch fails in a way that may or may not have applied it
(a 5xx, a dropped connection), it is never replayed blindly: the state is read
again and a fresh plan is sent, so row deletions cannot happen twice. A value
write that fails for good leaves a mix of old and new cells; the next run
diffs against what is actually there and converges.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from google.auth.credentials import Credentials
from sqlalchemy.engine import Engine

from sheets_sync.archive import ARCHIVE_TITLE
from sheets_sync.backends.base import (
    DEFAULT_OPTIONS,
    CellWrite,
    ColumnValues,
    WriteOptions,
    WriteReport,
)
from sheets_sync.backends.fit import fit_cell_total, fit_each_tab
from sheets_sync.backends.gsheets import cellio
from sheets_sync.backends.gsheets.auth import account_email, load_credentials, make_session
from sheets_sync.backends.gsheets.cells import columns_range, quote_title
from sheets_sync.backends.gsheets.charts import data_title
from sheets_sync.backends.gsheets.http import RetryingHTTPClient, RetryPolicy
from sheets_sync.backends.gsheets.ownership import Ownership, resolve
from sheets_sync.backends.gsheets.plan import Plan, build_plan, cells_besides_frames
from sheets_sync.backends.gsheets.quota import governor
from sheets_sync.backends.gsheets.state import (
    METADATA_FIELDS,
    SEARCH_BODY,
    BookState,
    value_read_params,
)
from sheets_sync.config.parts import SheetsSettings
from sheets_sync.errors import DestinationError, SheetsAPIError, TransientSheetsAPIError
from sheets_sync.frame import TabFrame
from sheets_sync.limits import GOOGLE_LIMITS, Limits

log = logging.getLogger(__name__)
_T = TypeVar("_T")

STRUCTURE_ATTEMPTS = 3


class GoogleSheetsBackend:
    """The Google Sheets destination (real gspread HTTP client, our retry policy)."""

    limits: Limits = GOOGLE_LIMITS

    def __init__(
        self,
        sheets: SheetsSettings,
        spreadsheet_id: str,
        http: RetryingHTTPClient | None = None,
        credentials: Credentials | None = None,
        engine: Engine | None = None,
    ) -> None:
        """``credentials`` default to :func:`load_credentials`; ``http`` to our retrying client,
        whose requests wait for the Sheets quota shared through ``engine``'s database."""
        self.sheets = sheets
        self.spreadsheet_id = spreadsheet_id
        if credentials is None and http is None:
            credentials = load_credentials(sheets)
        self.account = account_email(credentials)
        if http is None:
            http = RetryingHTTPClient(
                make_session(sheets, credentials),
                RetryPolicy(deadline_seconds=sheets.retry_deadline_seconds),
                timeout=sheets.request_timeout_seconds,
                quota=governor(engine, sheets, credentials),
            )
        self.http = http
        self._tags: dict[str, cellio.Located] = {}  # a push's tab, found by read_managed

    @property
    def destination(self) -> str:
        return f"gsheets:{self.spreadsheet_id}"

    @property
    def quota_wait_seconds(self) -> float:
        return self.http.quota_wait_seconds

    def write_tabs(
        self, frames: Sequence[TabFrame], options: WriteOptions = DEFAULT_OPTIONS
    ) -> WriteReport:
        fitted = fit_each_tab(frames, self.limits)  # before any request
        before = (self.http.counters.requests, self.http.counters.bytes_sent)
        plan = self._write_structure(fitted, options)
        for body in plan.value_bodies:
            self.http.values_batch_update(self.spreadsheet_id, body)
        log.info(
            "gsheets %s: %d structural requests, %d value bodies, %d cells",
            self.spreadsheet_id, len(plan.requests), len(plan.value_bodies), plan.cells_written,
        )  # fmt: skip
        return WriteReport(
            tabs=plan.tabs,
            api_calls=self.http.counters.requests - before[0],
            bytes_sent=self.http.counters.bytes_sent - before[1],
        )

    def _write_structure(self, frames: Sequence[TabFrame], options: WriteOptions) -> Plan:
        """Read, plan and send the structural batch; re-plan if it may have half-landed."""
        deadline = time.monotonic() + self.sheets.retry_deadline_seconds
        for attempt in range(1, STRUCTURE_ATTEMPTS + 1):
            plan = self._plan(frames, options)
            if not plan.requests:
                return plan
            try:
                self.http.batch_update(self.spreadsheet_id, {"requests": plan.requests})
                return plan
            except TransientSheetsAPIError as error:
                if attempt == STRUCTURE_ATTEMPTS or time.monotonic() > deadline:
                    raise
                log.warning(
                    "gsheets %s: structural batch failed (%s); re-planning",
                    self.spreadsheet_id,
                    error,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _plan(self, frames: Sequence[TabFrame], options: WriteOptions) -> Plan:
        """Read the spreadsheet, fit the cell total to what it holds, plan against it.

        The guards (team sheets, shrink, a team sheet in the archive's place) raise
        here, after the reads and before the structural batch.
        """
        owned = self._read_state(frames, options)
        state = owned.state
        fitted = fit_cell_total(frames, self.limits, cells_besides_frames(state, frames))
        plan = build_plan(
            state,
            fitted,
            self.sheets.payload_cap_bytes,
            options,
            archive_blocked=owned.archive_blocked,
        )
        plan.requests[:0] = owned.requests
        return plan

    def _read_state(self, frames: Sequence[TabFrame], options: WriteOptions) -> Ownership:
        """Metadata, tags, then the whole rows (inside each grid) of our existing tabs."""
        state = BookState.from_metadata(self._metadata())
        tags = self.http.developer_metadata_search(self.spreadsheet_id, SEARCH_BODY)
        owned = resolve(state.with_tags(tags), frames, options)
        sheets = owned.state.sheets
        wanted = [f.title for f in frames] + [
            data_title(f.title) for f in frames if f.template.charts
        ]
        wanted += [] if owned.archive_blocked else [ARCHIVE_TITLE]  # notes coming home
        titles = [t for t in wanted if t in sheets]
        if not titles:
            return owned
        ranges = [columns_range(sheets[t].title, max(sheets[t].col_count, 1)) for t in titles]
        answer = self.http.values_batch_get(self.spreadsheet_id, ranges, params=value_read_params())
        values = owned.state.with_values(titles, answer.get("valueRanges", []))
        return Ownership(values, owned.requests, owned.archive_blocked)

    def _metadata(self) -> dict[str, Any]:
        try:
            meta: dict[str, Any] = self.http.spreadsheets_get(
                self.spreadsheet_id, params={"fields": METADATA_FIELDS}
            )
        except SheetsAPIError as error:
            if error.status in (403, 404):
                raise self._not_shared(error) from error
            raise
        return meta

    def _not_shared(self, error: SheetsAPIError) -> DestinationError:
        what = "not found" if error.status == 404 else "not accessible"
        fix = (
            f"share it with {self.account} as Editor"
            if self.account
            else "share it as Editor with the service account the app runs as"
        )
        return DestinationError(
            f"spreadsheet {self.spreadsheet_id} is {what} ({error.status}): {fix}, "
            "and check the id against the sheet's URL (docs.google.com/spreadsheets/d/<ID>/edit)"
        )

    def read_tab(self, title: str) -> list[list[Any]]:
        """Cells as the user typed them: formulas as text, dates as serial numbers."""
        try:
            answer = self.http.values_get(
                self.spreadsheet_id, quote_title(title), params=value_read_params()
            )
        except SheetsAPIError as error:
            if error.status in (403, 404):
                raise self._not_shared(error) from error
            if error.status == 400:
                raise DestinationError(
                    f"spreadsheet {self.spreadsheet_id} has no tab {title!r}; run a sync to create it"
                ) from error
            raise
        return [list(row) for row in answer.get("values", [])]

    # -- pricing push (sheets_sync/backends/gsheets/cellio.py) -------------------

    def read_managed(self, title: str, headers: Sequence[str]) -> ColumnValues | None:
        """Two requests: the tags' search, then the tagged columns by metadata id."""
        before = (self.http.counters.requests, self.http.counters.bytes_sent)
        located = self._located(title, refresh=True)
        if located is None:
            return None
        result = self._shared(lambda: cellio.read(self.http, self.spreadsheet_id, located, headers))
        result.api_calls = self.http.counters.requests - before[0]
        result.bytes_sent = self.http.counters.bytes_sent - before[1]
        return result

    def write_planned(
        self,
        title: str,
        headers: Sequence[str],
        plan: Callable[[ColumnValues], Sequence[CellWrite]],
    ) -> WriteReport:
        """The columns read again by the metadata ids found by :meth:`read_managed` (the
        tags move with the columns), then the write: two requests when nothing fails."""
        located = self._located(title)
        if located is None:
            raise DestinationError(
                f"spreadsheet {self.spreadsheet_id} has no managed tab {title!r} any more; "
                f"run `sheets-sync sync --to {self.destination} --tabs {title}` to restore it"
            )
        cap, deadline = (
            self.sheets.payload_cap_bytes,
            self.sheets.retry_deadline_seconds,
        )
        return self._shared(
            lambda: cellio.write_planned(
                self.http, self.spreadsheet_id, located, headers, plan, cap, deadline
            )
        )

    def _located(self, title: str, refresh: bool = False) -> cellio.Located | None:
        if refresh or title not in self._tags:
            found = self._shared(lambda: cellio.locate(self.http, self.spreadsheet_id, title))
            if found is None:
                self._tags.pop(title, None)
                return None
            self._tags[title] = found
        return self._tags[title]

    def _shared(self, call: Callable[[], _T]) -> _T:
        """A 403/404 is the spreadsheet not shared (or gone): one line naming the fix."""
        try:
            return call()
        except SheetsAPIError as error:
            if error.status in (403, 404):
                raise self._not_shared(error) from error
            raise
