"""Sync Status: the last runs recorded in ``sync_runs``, newest first.

``when`` is the moment a run started, or was queued when it has not started
yet; ``duration_seconds`` is the recorded duration, else computed from the
start and finish timestamps (NULL while running). The error and warnings are cut to
``max_error_chars`` so one long traceback cannot break a sheet's per-cell
limit. The template's ``limit`` param (default 50) is how many runs are shown;
there is no date window: the tab shows the latest runs whatever their age.

``filters`` do not apply: a run is not a market's (it writes every market of
its spreadsheet), so a sheet scoped to some countries still shows the runs,
which carry no order, seller or price data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, cast, func, select
from sqlalchemy.sql import Select

from sheets_sync.kpis.common import int_param
from sheets_sync.kpis.query import BuiltinQuery, QueryContext
from sheets_sync.schema import sync_runs
from sheets_sync.vocabulary.sqlfuncs import seconds_between

DEFAULTS: dict[str, Any] = {"limit": 50, "max_error_chars": 1000}

COLUMNS = (
    "run_id",
    "when",
    "trigger",
    "requested_by",
    "kind",
    "spreadsheet",
    "status",
    "duration_seconds",
    "tabs",
    "api_calls",
    "cells_written",
    "bytes_sent",
    "error",
    "warnings",
    "quota_wait_seconds",
)


def build(ctx: QueryContext) -> Select[Any]:
    """The ``limit`` latest runs; ties on time broken by run id so the order is stable."""
    limit = int_param(ctx.params, "limit", 1)
    max_error = int_param(ctx.params, "max_error_chars", 1)
    r = sync_runs.c
    when = func.coalesce(r.started_at, r.queued_at)
    measured = cast(seconds_between(r.finished_at, r.started_at), Float)
    return (
        select(
            r.run_id, when.label("when"), r.trigger, r.requested_by, r.kind, r.spreadsheet,
            r.status, func.coalesce(r.duration_seconds, measured).label("duration_seconds"),
            r.tabs, r.api_calls, r.cells_written, r.bytes_sent,
            func.substr(r.error, 1, max_error).label("error"),
            func.substr(r.warnings, 1, max_error).label("warnings"), r.quota_wait_seconds,
        )
        .order_by(when.desc(), r.run_id.desc())
        .limit(limit)
    )  # fmt: skip


QUERY = BuiltinQuery(
    name="sync_status", build=build, columns=COLUMNS, defaults=DEFAULTS, keeps_order=True
)  # keyed by run id, newest first
