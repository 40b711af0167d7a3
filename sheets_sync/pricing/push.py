"""A pricing push end to end: the one entry point the CLI and the webhook call (docs/design.md §7).

read the tab's edited rows (the product's own columns only) → screen each
row on the sheet alone (its key, its market: :func:`.validate.screen`) →
assess and apply the rest in one transaction (:mod:`.apply`) → read the keys
again and write every row's outcome to the row holding its key now, in one
write (:mod:`.sheet`). Row contents never fail a push: each problem is that
row's `Status`.

A push "ran" whatever rows were rejected or conflicted: that is the team's
feedback, in `Status`. It fails (raises) when it could not run (no tab, a
missing column, the database refused) or could not write its result back; in
the last case the database already holds the applied edits, and the message
says that a new push reports them as applied without applying them twice.

Every push is recorded in ``sync_runs`` (kind ``pricing``), its counts in the
``tabs`` column the `Sync Status` tab shows (``Pricing: 3 applied, 1 rejected,
0 conflicts, 0 unchanged``), ``rows_written`` the edited rows reported back.
It holds the destination's run lock (:mod:`sheets_sync.locks`), so a push and
a sync of the same spreadsheet never overlap. A dry run (the add-on's
"Preview") reads and assesses only: no lock, no ``sync_runs`` row, no write to the
sheet or the prices; it adds the expected effect of the edits that would apply
(:mod:`.impact`: advisory, it never fails the preview).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from sheets_sync import db
from sheets_sync.backends.base import SheetBackend, WriteReport, WrittenTab
from sheets_sync.config import Settings
from sheets_sync.destinations import open_destination
from sheets_sync.errors import PricingError, SheetsSyncError
from sheets_sync.jobs import runs
from sheets_sync.locks import destination_lock
from sheets_sync.pricing.apply import decide_and_apply
from sheets_sync.pricing.impact import Effect, expected_effect
from sheets_sync.pricing.model import Kind, Outcome, Rules, SheetRow
from sheets_sync.pricing.sheet import TITLE, read_edits, write_back
from sheets_sync.pricing.validate import screen

KIND = "pricing"


@dataclass
class PushSummary:
    """What a push did (or, for a dry run, would do), row by row."""

    destination: str
    user: str
    request_id: str
    dry_run: bool
    run_id: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)
    api_calls: int = 0
    bytes_sent: int = 0
    cells_written: int = 0
    countries: tuple[str, ...] | None = None
    """The markets this sheet may price (a market team's registered sheet); None: all."""
    trace_id: str | None = None
    quota_wait_seconds: float = 0.0
    """How long its Sheets requests waited for the shared quota."""
    effect: Effect | None = None
    """A preview's expected effect of the edits that would apply (:mod:`.impact`)."""

    def count(self, kind: Kind) -> int:
        return sum(1 for o in self.outcomes if o.kind is kind)

    @property
    def applied(self) -> int:
        return self.count(Kind.APPLIED)

    @property
    def rejected(self) -> int:
        return self.count(Kind.REJECTED)

    @property
    def conflicts(self) -> int:
        return self.count(Kind.CONFLICT)

    @property
    def unchanged(self) -> int:
        return self.count(Kind.UNCHANGED)

    @property
    def not_written_back(self) -> list[Outcome]:
        """Outcomes whose row was moved or deleted before the write-back found it."""
        return [o for o in self.outcomes if o.written_back is False]

    def describe(self) -> str:
        """``Pricing: 3 applied, 1 rejected, 0 conflicts, 0 unchanged`` (Sync Status)."""
        if not self.outcomes:
            return f"{TITLE}: nothing to push (no New price typed)"
        counts = Counter(o.kind for o in self.outcomes)
        lost = len(self.not_written_back)
        return (
            f"{TITLE}: {counts[Kind.APPLIED]} applied, {counts[Kind.REJECTED]} rejected, "
            f"{counts[Kind.CONFLICT]} conflicts, {counts[Kind.UNCHANGED]} unchanged"
            + (f", {lost} not written back (rows moved or deleted)" if lost else "")
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``--json``, the webhook's answer)."""
        return {
            "run_id": self.run_id, "destination": self.destination, "user": self.user,
            "request_id": self.request_id, "dry_run": self.dry_run,
            "applied": self.applied, "rejected": self.rejected, "conflicts": self.conflicts,
            "unchanged": self.unchanged, "not_written_back": len(self.not_written_back),
            "api_calls": self.api_calls,
            "cells_written": self.cells_written,
            "quota_wait_seconds": round(self.quota_wait_seconds, 3),
            "seconds": {k: round(v, 3) for k, v in self.phases.items()},
            "expected_effect": self.effect.to_dict() if self.effect is not None else None,
            "rows": [_row_dict(o, self.effect) for o in self.outcomes],
        }  # fmt: skip


def _row_dict(outcome: Outcome, effect: Effect | None) -> dict[str, Any]:
    key = outcome.key
    mine = effect.of(key) if effect is not None and outcome.to_write else None
    return {
        "row": outcome.row_now or outcome.row.row, "seller_id": key.seller,
        "product_id": key.product, "grade": key.grade, "country": key.country,
        "outcome": outcome.kind.value,
        "price": None if outcome.price is None else str(outcome.price),
        "version": outcome.version, "status": outcome.status(),
        "written_back": outcome.written_back, "note": not_written_note(outcome),
        "expected_effect": mine.to_dict() if mine is not None else None,
    }  # fmt: skip


def not_written_note(outcome: Outcome) -> str | None:
    """What the summary says of an outcome no row could show (None when it was shown)."""
    if outcome.written_back is not False:
        return None
    done = "applied" if outcome.kind is Kind.APPLIED else outcome.kind.value
    return f"{done}, not written back: the row was moved or deleted"


def push_pricing(
    engine: Engine,
    settings: Settings,
    source: str | SheetBackend,
    user: str,
    request_id: str | None = None,
    dry_run: bool = False,
    trigger: str = "cli",
    countries: Collection[str] | None = None,
    trace_id: str | None = None,
) -> PushSummary:
    """Push the `Pricing` tab's edits of ``source`` as ``user``; see the module docstring.

    ``request_id`` is stored on every ``price_changes`` row (the webhook's own;
    a fresh one otherwise). ``countries``: the markets the sheet may price (a
    market team's registered sheet); a row of another market is that row's
    rejection, in the CLI and the webhook alike. ``trace_id``: the platform's trace
    id (App Engine), stored beside the request id in the same transaction.
    """
    if not user or not user.strip():
        raise PricingError("a push needs the user it is made for; pass --user EMAIL")
    backend = (
        open_destination(source, settings.sheets, engine) if isinstance(source, str) else source
    )
    db.require_schema(engine)
    summary = PushSummary(backend.destination, user.strip(), request_id or _request_id(), dry_run)
    summary.countries = tuple(countries) if countries else None
    summary.trace_id = trace_id
    waited_before = backend.quota_wait_seconds

    def waited() -> float:
        summary.quota_wait_seconds = backend.quota_wait_seconds - waited_before
        return summary.quota_wait_seconds

    if dry_run:
        _push(engine, settings, backend, summary)
        waited()
        return summary
    summary.run_id = runs.queue_run(
        engine, backend.destination, trigger, summary.user, [TITLE], kind=KIND
    )
    lock = destination_lock(
        engine, backend.destination, f"pricing push ({trigger}) by {summary.user}",
        run_id=summary.run_id, wait_seconds=settings.locks.lock_wait_seconds,
        lease_seconds=settings.locks.lock_lease_seconds,
    )  # fmt: skip
    try:
        with lock:
            runs.mark_running(engine, summary.run_id)
            _push(engine, settings, backend, summary)
            runs.mark_succeeded(
                engine, summary.run_id, tabs=[summary.describe()], written=_report(summary),
                quota_wait_seconds=waited(),
            )  # fmt: skip
    except BaseException as error:
        runs.mark_failed(engine, summary.run_id, error, quota_wait_seconds=waited())
        raise
    return summary


def _request_id() -> str:
    return f"push-{uuid.uuid4()}"


def _push(engine: Engine, settings: Settings, backend: SheetBackend, summary: PushSummary) -> None:
    started = time.perf_counter()
    rows, read = read_edits(backend)
    summary.api_calls += read.api_calls
    summary.bytes_sent += read.bytes_sent
    summary.phases["read"] = time.perf_counter() - started
    started = time.perf_counter()
    screened = {row.row: screen(row, summary.countries) for row in rows}
    judged = decide_and_apply(
        engine, [row for row in rows if screened[row.row] is None],
        Rules.from_settings(settings.pricing), summary.user, summary.request_id, summary.dry_run,
        trace_id=summary.trace_id,
    )  # fmt: skip
    summary.outcomes = _in_row_order(rows, screened, judged)
    summary.phases["apply"] = time.perf_counter() - started
    if summary.dry_run:
        started = time.perf_counter()
        summary.effect = expected_effect(engine, summary.outcomes)
        summary.phases["expected_effect"] = time.perf_counter() - started
    if summary.dry_run or not summary.outcomes:
        return
    started = time.perf_counter()
    try:
        written = write_back(backend, summary.outcomes)
    except (SheetsSyncError, OSError) as error:
        raise _write_back_failed(summary, error) from error
    summary.phases["write"] = time.perf_counter() - started
    summary.cells_written = written.cells_written
    summary.api_calls += written.api_calls
    summary.bytes_sent += written.bytes_sent


def _in_row_order(
    rows: Sequence[SheetRow], screened: Mapping[int, str | None], judged: Sequence[Outcome]
) -> list[Outcome]:
    """The screened-out rows' rejections and the judged rows' outcomes, in sheet order."""
    by_row = {outcome.row.row: outcome for outcome in judged}
    return [
        by_row.get(row.row) or Outcome(row, Kind.REJECTED, screened[row.row] or "") for row in rows
    ]


def _write_back_failed(summary: PushSummary, error: Exception) -> PricingError:
    applied = sum(1 for o in summary.outcomes if o.to_write)
    done = (
        f"{applied} new price(s) are live in the database, but"
        if applied
        else "no price was changed, and"
    )
    return PricingError(
        f"{done} {summary.destination} could not be updated with the results ({error}); "
        "push again: the sheet gets every row's Status and nothing is applied twice"
    )


def _report(summary: PushSummary) -> WriteReport:
    tab = WrittenTab(TITLE, len(summary.outcomes), summary.cells_written)
    tab.write_seconds = summary.phases.get("write", 0.0)
    return WriteReport([tab], summary.api_calls, summary.bytes_sent)
