"""The sync engine: templates → frames computed in the database → one backend write.

It does not know which backend it talks to (docs/design.md §6): it loads the
templates once, computes every selected tab's frame, then hands them over in
one ``write_tabs`` call. The backend, which alone knows what its destination
already holds, fits them to the limits before its first write (truncating a
window only where the template allows it) and reports what it wrote; the
result is built from that report.

One sync, not a run's life: it writes nothing to ``sync_runs``. The job layer
(:mod:`sheets_sync.jobs.run`) records the run, claims it (marked running before
the frames are computed, so the ``Sync Status`` tab shows the run writing it),
calls :func:`run_sync` and records its end from the result.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection, Engine

from sheets_sync import db
from sheets_sync.archive import ARCHIVE_TITLE
from sheets_sync.backends.base import SheetBackend, WriteOptions, WriteReport, WrittenTab
from sheets_sync.config import Settings
from sheets_sync.destinations import open_destination
from sheets_sync.errors import ConfigError
from sheets_sync.facts.unknown import unknown_products, unknown_warning
from sheets_sync.frame import TabFrame
from sheets_sync.guards import AsOf, check_unique_keys, resolve_as_of
from sheets_sync.tab_templates import TabTemplate
from sheets_sync.tab_templates.cache import cached_templates


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a run, for progress displays: ``phase`` is compute, write or done."""

    phase: str
    title: str
    index: int
    total: int
    rows: int = 0


Progress = Callable[[ProgressEvent], None]


@dataclass
class SyncResult:
    """What a run did, for the CLI summary, the webhook and tests.

    ``written`` is the backend's report with each tab's compute time attached;
    ``quota_wait_seconds`` how long its requests waited for the shared Sheets quota.
    """

    run_id: str
    destination: str
    as_of: dt.date | None
    written: WriteReport = field(default_factory=WriteReport)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    quota_wait_seconds: float = 0.0

    @property
    def tabs(self) -> list[WrittenTab]:
        return self.written.tabs

    @property
    def cells_written(self) -> int:
        return self.written.cells_written

    @property
    def rows_written(self) -> int:
        return self.written.rows_written

    @property
    def api_calls(self) -> int:
        return self.written.api_calls

    @property
    def bytes_sent(self) -> int:
        return self.written.bytes_sent


def load_all_templates(settings: Settings) -> dict[str, TabTemplate]:
    """Every template of ``settings.files.templates_dir``, validated against the built-in queries.

    Parsed once per version of its template files (:mod:`sheets_sync.tab_templates.cache`);
    the params settings own (the Pricing guardrails) come from ``settings``, and are
    part of that version.
    """
    from sheets_sync.kpis.registry import query_columns, setting_params

    return cached_templates(settings.files.templates_dir, query_columns, setting_params(settings))


def select_templates(
    templates: Mapping[str, TabTemplate], titles: Sequence[str] | None
) -> list[TabTemplate]:
    """The templates named by ``titles`` (all when None), in template order.

    The tabs a selected tab's charts read come along: a chart is drawn from its
    source's frame of this run, never from stale data; so do the tabs they are drawn
    on (Pricing opportunities' chart sits on the Dashboard), never drawn on a sheet
    this run did not make.
    """
    if not titles:
        return list(templates.values())
    wanted = [t.strip() for t in titles if t.strip()]
    unknown = [t for t in wanted if t not in templates]
    if unknown:
        raise ConfigError(
            f"unknown tab(s) {', '.join(repr(t) for t in unknown)}; the tabs are: "
            f"{', '.join(templates)} (titles are case-sensitive; separate them with commas)"
        )
    wanted = _with_chart_tabs(templates, wanted)
    return [t for title, t in templates.items() if title in wanted]


def _with_chart_tabs(templates: Mapping[str, TabTemplate], titles: list[str]) -> list[str]:
    """``titles`` and, transitively, the tabs their charts read or are drawn on."""
    wanted, todo = set(titles), list(titles)
    while todo:
        title = todo.pop()
        for chart in templates[title].charts:
            for other in (chart.source_title(title), chart.sheet_title(title)):
                if other not in wanted:
                    wanted.add(other)
                    todo.append(other)
    return list(wanted)


@dataclass(frozen=True)
class SyncPlan:
    """What one sync writes where, settled before any run is recorded.

    Planning raises the usage errors (unknown tab, bad destination, uninitialised
    database), so a run is recorded only for a sync that can start.
    """

    backend: SheetBackend
    templates: list[TabTemplate]

    @property
    def destination(self) -> str:
        return self.backend.destination

    @property
    def titles(self) -> list[str]:
        return [t.title for t in self.templates]


def plan_sync(
    engine: Engine,
    settings: Settings,
    destination: str | SheetBackend,
    tabs: Sequence[str] | None = None,
) -> SyncPlan:
    """The templates of ``tabs`` (all when None) and the destination's opened backend."""
    selected = select_templates(load_all_templates(settings), tabs)
    backend = (
        open_destination(destination, settings.sheets, engine)
        if isinstance(destination, str)
        else destination
    )
    db.require_schema(engine)
    return SyncPlan(backend, selected)


def run_sync(
    engine: Engine,
    plan: SyncPlan,
    run_id: str,
    options: WriteOptions,
    progress: Progress | None = None,
    as_of: dt.date | None = None,
    filters: Mapping[str, tuple[str, ...]] | None = None,
) -> SyncResult:
    """Compute the plan's tabs and write them in one backend call; record nothing.

    The run's life is the job layer's (:mod:`sheets_sync.jobs.run`): it records
    the run, claims it under the destination's lock, calls this, and marks the
    run succeeded or failed before letting the lock go. ``run_id`` only names
    the run in the result. ``options`` are the guards of the team's sheet this
    run lifts (see :class:`WriteOptions`).
    """
    started = time.perf_counter()
    notify = progress or (lambda event: None)
    with engine.connect() as conn:
        resolved, frames, compute_seconds = _compute(conn, plan.templates, as_of, filters, notify)
        facts_said = _facts_warnings(conn, plan.templates, resolved.day)
    backend = plan.backend
    notify(ProgressEvent("write", backend.destination, len(frames), len(frames)))
    waited_before = backend.quota_wait_seconds
    written = backend.write_tabs(frames, options)
    for tab in written.tabs:
        tab.compute_seconds = compute_seconds.get(tab.title, 0.0)
    seconds = time.perf_counter() - started
    warnings = [*resolved.warnings, *facts_said, *_archive_warnings(written)]
    result = SyncResult(run_id, backend.destination, resolved.day, written, seconds, warnings)
    result.quota_wait_seconds = backend.quota_wait_seconds - waited_before
    notify(ProgressEvent("done", backend.destination, len(frames), len(frames)))
    return result


def _facts_warnings(conn: Connection, templates: Sequence[TabTemplate], day: dt.date) -> list[str]:
    """What the facts behind this sync's KPI tabs need the team to know: orders counted
    under ``unknown`` (their product not in the catalogue yet).

    Only a sync that computed a tab from the facts says it (it has just refreshed
    them, and its figures are the ones concerned); one indexed read of the facts'
    ``unknown`` cells. Drift is the nightly alert's (``facts_drift``), not every
    sync's: the quick check costs more than a sync should pay (docs/design.md §4).
    """
    from sheets_sync.kpis.registry import builtin_query

    if not any(t.sql_path is None and builtin_query(str(t.query), t.title).reads_facts
               for t in templates):  # fmt: skip
        return []
    found = unknown_products(conn, day)
    return [] if found is None else [unknown_warning(found, day)]


def _archive_warnings(written: WriteReport) -> list[str]:
    """One line per tab whose leaving rows carried the team's cells, one per tab whose
    returning rows got theirs back, and what the backend said about the team's cells."""
    out = []
    for tab in written.tabs:
        if tab.archived_notes:
            out.append(
                f"{tab.archived_notes:,} team cell(s) moved to {ARCHIVE_TITLE!r} "
                f"(rows that left {tab.title})"
            )
        if tab.restored_notes:
            out.append(
                f"{tab.restored_notes:,} archived team cell(s) back on their rows in "
                f"{tab.title} (marked 'Restored at' in {ARCHIVE_TITLE!r})"
            )
        out.extend(tab.warnings)
    return out


def _compute(
    conn: Connection,
    selected: Sequence[TabTemplate],
    as_of: dt.date | None,
    filters: Mapping[str, tuple[str, ...]] | None,
    notify: Progress,
) -> tuple[AsOf, list[TabFrame], dict[str, float]]:
    """Every frame, all as of the same day; refused before any write if keys repeat."""
    from sheets_sync.kpis.runner import build_context, compute_frame

    resolved = resolve_as_of(conn, as_of)
    day = resolved.day
    frames: list[TabFrame] = []
    seconds: dict[str, float] = {}
    shared: dict[Any, Any] = {}  # what several tabs use, made once per sync (the win model)
    for index, template in enumerate(selected):
        notify(ProgressEvent("compute", template.title, index, len(selected)))
        start = time.perf_counter()
        context = build_context(conn, template, as_of=day, filters=filters, shared=shared)
        frames.append(compute_frame(conn, template, context))
        seconds[template.title] = time.perf_counter() - start
        notify(
            ProgressEvent(
                "computed", template.title, index + 1, len(selected), rows=len(frames[-1].rows)
            )
        )
    check_unique_keys(frames)
    return resolved, frames, seconds
