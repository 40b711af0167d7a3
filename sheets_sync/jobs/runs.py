"""Recording runs in ``sync_runs``: queued → running → succeeded / failed.

The only module that writes ``sync_runs``: every status change of a run — queued,
widened, claimed, marked running, succeeded or failed, swept dead — is a
function here, so "where does a run's status change?" has one answer. Whoever
decides a change (the queue, a runner, the sweep's liveness rule) calls one.

Each status change is its own short transaction, committed at once, so the
``Sync Status`` tab computed during a run already shows it as running, the
webhook can report progress, and a run that crashes half-way is still
recorded as failed with its error (the failure is written on a fresh
connection, outside whatever transaction broke).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine, RowMapping

from sheets_sync.backends.base import WriteReport
from sheets_sync.clock import utcnow
from sheets_sync.errors import ConfigError, SheetsSyncError
from sheets_sync.schema import RUN_TRIGGERS, sync_runs

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000
ACTIVE = ("queued", "running")
"""The statuses of a run not ended yet."""
KIND = "sync"
"""``sync_runs.kind`` of a sync (a pricing push records ``pricing``)."""


def queue_run(
    engine: Engine,
    spreadsheet: str,
    trigger: str = "cli",
    requested_by: str | None = None,
    tabs: Sequence[str] = (),
    kind: str = "sync",
    connection: Connection | None = None,
) -> str:
    """Insert a queued run and return its id (a UUID4 string).

    ``connection`` puts the insert in the caller's transaction (the webhook's
    queue-or-join, :mod:`sheets_sync.jobs.queue`); otherwise it commits at once.
    """
    if trigger not in RUN_TRIGGERS:
        raise ConfigError(f"unknown run trigger {trigger!r}; use one of {list(RUN_TRIGGERS)}")
    run_id = str(uuid.uuid4())
    insert = sync_runs.insert().values(
        run_id=run_id,
        kind=kind,
        spreadsheet=spreadsheet,
        trigger=trigger,
        requested_by=requested_by,
        status="queued",
        queued_at=utcnow(),
        tabs=", ".join(tabs) or None,
    )
    if connection is not None:
        connection.execute(insert)
        return run_id
    with engine.begin() as conn:
        conn.execute(insert)
    return run_id


def widen_run(conn: Connection, run_id: str, recorded: str | None, wanted: Sequence[str]) -> bool:
    """Add ``wanted`` to a queued run's tabs, only if it is still queued with ``recorded``.

    Conditional, like :func:`claim_run`: a runner that claimed the run in
    between wins, and the caller queues a new run instead.
    """
    tabs = recorded.split(", ") if recorded else []
    union = ", ".join([*tabs, *(t for t in wanted if t not in tabs)]) if wanted else None
    c = sync_runs.c
    same = c.tabs.is_(None) if recorded is None else c.tabs == recorded
    widened = conn.execute(
        update(sync_runs)
        .where((c.run_id == run_id) & (c.status == "queued") & same)
        .values(tabs=union)
    )
    return widened.rowcount == 1


def mark_running(engine: Engine, run_id: str) -> None:
    _update(engine, run_id, status="running", started_at=utcnow())


def claim_run(engine: Engine, run_id: str, tabs: Sequence[str] | None) -> bool:
    """queued → running, only if the run is still queued for exactly ``tabs`` (None = all).

    One conditional ``UPDATE``: of two deliveries of the same run, one wins; a
    runner that read the tabs before a refresh widened them loses and reads again.
    """
    expected = ", ".join(tabs or ()) or None
    c = sync_runs.c
    where = (c.run_id == run_id) & (c.status == "queued")
    where &= c.tabs.is_(None) if expected is None else c.tabs == expected
    with engine.begin() as conn:
        claimed = conn.execute(
            update(sync_runs).where(where).values(status="running", started_at=utcnow())
        )
    return claimed.rowcount == 1


def mark_succeeded(
    engine: Engine,
    run_id: str,
    *,
    tabs: Sequence[str],
    written: WriteReport,
    warnings: Sequence[str] = (),
    quota_wait_seconds: float | None = None,
) -> None:
    """Record the figures the backend reported, so a tab it cut to fit counts as cut.

    The run's warnings (orders counted under ``unknown``, team notes archived, …)
    are kept with it, one per line, so a run started from the menu says them in
    the sidebar and the Sync Status tab, not only in a terminal nobody watched;
    ``quota_wait_seconds``, how long its requests waited for the shared Sheets quota.
    A note made while it was queued (its wait for memory, :func:`note_queued`)
    stays first.
    """
    finished = utcnow()
    run = get_run(engine, run_id)
    noted = [run["warnings"]] if run and run["warnings"] else []
    _update(
        engine,
        run_id,
        status="succeeded",
        finished_at=finished,
        duration_seconds=_since(run["started_at"] if run else None, finished),
        tabs=", ".join(tabs),
        api_calls=written.api_calls,
        cells_written=written.cells_written,
        bytes_sent=written.bytes_sent,
        rows_written=written.rows_written,
        error=None,
        warnings="\n".join([*noted, *warnings])[:MAX_ERROR_CHARS] or None,
        quota_wait_seconds=_seconds(quota_wait_seconds),
    )


def note_queued(engine: Engine, run_id: str, note: str) -> None:
    """Say on a run still queued why it has not started (or how long it waited), in its
    warnings: the sidebar, ``GET /runs/<id>`` and the Sync Status tab show them."""
    _update(engine, run_id, "queued", warnings=note[:MAX_ERROR_CHARS])


def mark_failed(
    engine: Engine,
    run_id: str,
    error: BaseException | str,
    only_if: str | None = None,
    quota_wait_seconds: float | None = None,
) -> None:
    """Record the failure; the message is what the user saw, cut to a sheet-safe length.

    ``only_if`` a status: leave the run alone unless it still has it (a run
    that never started must not overwrite another delivery that did).
    ``quota_wait_seconds``: how long it waited for Sheets quota before it failed (None:
    not known, as for a run that failed before it started).
    """
    finished = utcnow()
    message = error if isinstance(error, str) else describe_error(error)
    _update(
        engine,
        run_id,
        only_if,
        status="failed",
        finished_at=finished,
        duration_seconds=_duration(engine, run_id, finished),
        error=message[:MAX_ERROR_CHARS],
        quota_wait_seconds=_seconds(quota_wait_seconds),
    )


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


WhyDead = Callable[[RowMapping, dt.datetime], str | None]
"""The liveness rule: why an active run is dead at a moment, or None while it lives."""


def sweep(
    conn: Connection,
    why_dead: WhyDead,
    destination: str | None,
    statuses: Sequence[str] = ACTIVE,
) -> list[str]:
    """Fail the syncs (of ``statuses``) that ``why_dead`` finds dead, in the caller's transaction.

    The rule is the caller's (the liveness rule of :mod:`sheets_sync.jobs.queue`); the
    write is here, with the reason in the run's error. Returns their ids.
    """
    now = utcnow()
    where = (sync_runs.c.kind == KIND) & sync_runs.c.status.in_(statuses)
    if destination is not None:
        where &= sync_runs.c.spreadsheet == destination
    candidates = conn.execute(select(sync_runs).where(where)).mappings().all()
    swept = []
    for run in candidates:
        why = why_dead(run, now)
        if why is None:
            continue
        _fail_active(conn, run, now, f"marked failed: {why}; request the sync again")
        swept.append(str(run["run_id"]))
    if swept:
        log.warning("marked %d dead run(s) failed: %s", len(swept), ", ".join(swept))
    return swept


def _fail_active(conn: Connection, run: RowMapping, now: dt.datetime, message: str) -> None:
    started = run["started_at"]
    conn.execute(
        update(sync_runs)
        .where((sync_runs.c.run_id == run["run_id"]) & sync_runs.c.status.in_(ACTIVE))
        .values(
            status="failed",
            finished_at=now,
            duration_seconds=round((now - started).total_seconds(), 3) if started else None,
            error=message,
        )
    )


def describe_error(error: BaseException) -> str:
    """Library errors carry their own message; anything else also names its type."""
    text = str(error) or repr(error)
    return text if isinstance(error, SheetsSyncError) else f"{type(error).__name__}: {text}"


def get_run(engine: Engine, run_id: str) -> dict[str, Any] | None:
    """The run's row as a dict (for the CLI, the webhook's status endpoint and tests)."""
    with engine.connect() as conn:
        row = conn.execute(select(sync_runs).where(sync_runs.c.run_id == run_id)).first()
    return dict(row._mapping) if row is not None else None


def last_start(engine: Engine, spreadsheet: str, kind: str = "sync") -> dt.datetime | None:
    """When the latest run of ``spreadsheet`` started (None: none ever did)."""
    c = sync_runs.c
    query = select(func.max(c.started_at)).where((c.spreadsheet == spreadsheet) & (c.kind == kind))
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def recent_runs(conn: Connection, spreadsheet: str, limit: int) -> list[dict[str, Any]]:
    """The last ``limit`` runs (syncs and pushes) of one destination, newest first.

    For the add-on sidebar: ordered by when they were queued, the run id
    breaking ties so two runs queued in the same microsecond keep one order.
    """
    query = (
        select(sync_runs)
        .where(sync_runs.c.spreadsheet == spreadsheet)
        .order_by(sync_runs.c.queued_at.desc(), sync_runs.c.run_id.desc())
        .limit(limit)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def _duration(engine: Engine, run_id: str, finished: dt.datetime) -> float | None:
    run = get_run(engine, run_id)
    return _since(run["started_at"] if run else None, finished)


def _since(started: dt.datetime | None, finished: dt.datetime) -> float | None:
    return round((finished - started).total_seconds(), 3) if started else None


def _update(engine: Engine, run_id: str, only_if: str | None = None, **values: Any) -> None:
    where = sync_runs.c.run_id == run_id
    if only_if is not None:
        where &= sync_runs.c.status == only_if
    with engine.begin() as conn:
        conn.execute(update(sync_runs).where(where).values(**values))
