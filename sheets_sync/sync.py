"""The sync engine: templates → frames computed in the database → one backend write.

It does not know which backend it talks to (docs/design.md §6): it loads the
templates once, computes every selected tab's frame, then hands them over in
one ``write_tabs`` call. The backend, which alone knows what its destination
already holds, fits them to the limits before its first write (truncating a
window only where the template allows it) and reports what it wrote; the
result and ``sync_runs`` are built from that report. Every run is recorded in
``sync_runs``; the run is marked running before the frames are computed, so
the ``Sync Status`` tab shows the run writing it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from sheets_sync import db, runs
from sheets_sync.archive import ARCHIVE_TITLE
from sheets_sync.backends.base import SheetBackend, WriteOptions, WriteReport, WrittenTab
from sheets_sync.config import Settings
from sheets_sync.destinations import open_destination
from sheets_sync.errors import ConfigError, NotStarted, RunChanged
from sheets_sync.frame import TabFrame
from sheets_sync.guards import AsOf, check_unique_keys, resolve_as_of
from sheets_sync.jobs import fail_dead_running
from sheets_sync.locks import destination_lock
from sheets_sync.templates import TabTemplate, load_templates


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

    ``written`` is the backend's report with each tab's compute time attached.
    """

    run_id: str
    destination: str
    as_of: dt.date | None
    written: WriteReport = field(default_factory=WriteReport)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

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
    """Every template of ``settings.templates_dir``, validated against the built-in queries.

    Parsed once per version of the folder: a service syncing many times a minute
    spent a tenth of its CPU re-reading the same YAML. A file added, removed or
    edited there is read again on the next call, and a broken edit fails that
    call as before. The params settings own (the Pricing guardrails) come from
    ``settings``, and are part of that version.
    """
    from sheets_sync.kpis.registry import query_columns, setting_params

    directory = settings.templates_dir
    owned = setting_params(settings)
    version = _folder_version(directory) + repr(owned).encode()
    with _TEMPLATES_LOCK:
        cached = _TEMPLATES.get(directory)
        if cached is not None and cached[0] == version:
            return dict(cached[1])
    templates = load_templates(directory, query_columns(), owned)
    with _TEMPLATES_LOCK:
        _TEMPLATES[directory] = (version, templates)
    return dict(templates)


_TEMPLATES: dict[Path, tuple[bytes, dict[str, TabTemplate]]] = {}
_TEMPLATES_LOCK = threading.Lock()


def _folder_version(directory: Path) -> bytes:
    """A digest of every file's name and bytes under ``directory`` (modification times
    are too coarse: two saves within a few milliseconds can share one)."""
    digest = hashlib.sha256()
    files = sorted(p for p in directory.rglob("*") if p.is_file()) if directory.is_dir() else []
    for path in files:
        digest.update(str(path).encode() + b"\0")
        with contextlib.suppress(OSError):  # removed while listed: the next call sees it gone
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.digest()


def select_templates(
    templates: Mapping[str, TabTemplate], titles: Sequence[str] | None
) -> list[TabTemplate]:
    """The templates named by ``titles`` (all when None), in template order.

    The tabs a selected tab's charts read come along: a chart is drawn from its
    source's frame of this run, never from stale data.
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
    wanted += [c.source_title(t) for t in wanted for c in templates[t].charts]
    return [t for title, t in templates.items() if title in wanted]


def run_sync(
    engine: Engine,
    settings: Settings,
    destination: str | SheetBackend,
    tabs: Sequence[str] | None = None,
    trigger: str = "cli",
    requested_by: str | None = None,
    progress: Progress | None = None,
    as_of: dt.date | None = None,
    filters: Mapping[str, tuple[str, ...]] | None = None,
    run_id: str | None = None,
    allow_shrink: bool = False,
    adopt: bool = False,
    fail_unstarted: bool = True,
) -> SyncResult:
    """Compute and write the selected tabs; record the run; raise on failure.

    ``run_id`` lets a caller that queued the run already (the webhook) have it
    picked up here; otherwise a run is queued now. Usage errors (unknown tab,
    bad destination, uninitialised database) are raised before any run is
    recorded; anything failing after that is recorded as failed and re-raised.
    ``allow_shrink`` and ``adopt`` lift two guards of the team's sheet for this
    run (see :class:`WriteOptions`).

    One run per destination at a time (:mod:`sheets_sync.locks`): the run stays
    ``queued`` while it waits for another run on the same destination, so the
    webhook joins it instead of queueing a twin; it is marked running, written
    and marked done (succeeded or failed) under the lock, so the next run's
    ``Sync Status`` already shows it finished, and a ``running`` run without its
    lock is a dead one. The lock is taken in the run's name *before* the run is
    marked running, so a live run is never taken for dead; holding it, the run
    first fails the destination's runs still marked running, whose process was
    killed while it held the lock (:func:`sheets_sync.jobs.fail_dead_running`).
    A wait that runs out is recorded as failed with the :class:`BusyError`
    naming the holder, and a queued row never stays behind — unless
    ``fail_unstarted`` is False (:func:`sheets_sync.jobs.run_queued`): then a run
    that could not start (lock busy, database gone) stays queued and
    :class:`NotStarted` is raised from the cause.

    A run queued by the caller starts only if it is still queued with the tabs
    the caller passed (:func:`runs.claim_run`); otherwise :class:`RunChanged`
    is raised and the run is left as it is.
    """
    selected = select_templates(load_all_templates(settings), tabs)
    backend = (
        open_destination(destination, settings) if isinstance(destination, str) else destination
    )
    db.require_schema(engine)
    titles = [t.title for t in selected]
    claim_tabs = tabs or None
    if run_id is None:
        run_id = runs.queue_run(engine, backend.destination, trigger, requested_by, titles)
        claim_tabs = titles
    lock = destination_lock(
        engine,
        backend.destination,
        f"{trigger} by {requested_by}" if requested_by else trigger,
        run_id=run_id,
        wait_seconds=settings.lock_wait_seconds,
        lease_seconds=settings.lock_lease_seconds,
    )
    started = recorded = False
    try:
        with lock:
            fail_dead_running(engine, settings, backend.destination)  # killed while holding it
            if not runs.claim_run(engine, run_id, claim_tabs):
                raise RunChanged(f"run {run_id} is no longer queued as read; not started")
            started = True
            try:
                options = WriteOptions(allow_shrink, settings.max_shrink_share, adopt)
                result = _run(engine, backend, selected, run_id, progress, as_of, filters, options)
                runs.mark_succeeded(engine, run_id, tabs=titles, written=result.written)
            except BaseException as error:
                runs.mark_failed(engine, run_id, error)  # under the lock: never running without it
                recorded = True
                raise
    except RunChanged:
        raise
    except BaseException as error:
        if (started and not recorded) or (not started and fail_unstarted):
            runs.mark_failed(engine, run_id, error, only_if=None if started else "queued")
        if not started and not fail_unstarted:
            raise NotStarted(f"run {run_id} could not start: {error}") from error
        raise
    return result


def _run(
    engine: Engine,
    backend: SheetBackend,
    selected: Sequence[TabTemplate],
    run_id: str,
    progress: Progress | None,
    as_of: dt.date | None,
    filters: Mapping[str, tuple[str, ...]] | None,
    options: WriteOptions,
) -> SyncResult:
    started = time.perf_counter()
    notify = progress or (lambda event: None)
    with engine.connect() as conn:
        resolved, frames, compute_seconds = _compute(conn, selected, as_of, filters, notify)
    notify(ProgressEvent("write", backend.destination, len(frames), len(frames)))
    written = backend.write_tabs(frames, options)
    for tab in written.tabs:
        tab.compute_seconds = compute_seconds.get(tab.title, 0.0)
    seconds = time.perf_counter() - started
    warnings = [*resolved.warnings, *_archive_warnings(written)]
    result = SyncResult(run_id, backend.destination, resolved.day, written, seconds, warnings)
    notify(ProgressEvent("done", backend.destination, len(frames), len(frames)))
    return result


def _archive_warnings(written: WriteReport) -> list[str]:
    """One line per tab whose leaving rows carried the team's cells."""
    return [
        f"{tab.archived_notes:,} team cell(s) moved to {ARCHIVE_TITLE!r} "
        f"(rows that left {tab.title})"
        for tab in written.tabs
        if tab.archived_notes
    ]


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
    for index, template in enumerate(selected):
        notify(ProgressEvent("compute", template.title, index, len(selected)))
        start = time.perf_counter()
        context = build_context(conn, template, as_of=day, filters=filters)
        frames.append(compute_frame(conn, template, context))
        seconds[template.title] = time.perf_counter() - start
        notify(
            ProgressEvent(
                "computed", template.title, index + 1, len(selected), rows=len(frames[-1].rows)
            )
        )
    check_unique_keys(frames)
    return resolved, frames, seconds
