"""What the endpoints share per app: the engine, the executor, the registry, a connection.

As in Flask's tutorial, a request's database connection lives in ``g`` and is
closed at teardown; process-wide things (the engine and its pool, made once per
app here and used by every endpoint and by authentication's replay ledger, the
job executor, the validated registry) live in ``app.extensions``. The registry is
loaded when the app is created, so a typo in ``sheets-sync.yaml`` stops the
service at start-up rather than failing the nightly sync.
"""

from __future__ import annotations

import logging
import threading
from typing import cast

from flask import Flask, current_app, g
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from sheets_sync import db
from sheets_sync.config import Settings
from sheets_sync.errors import DatabaseError, SchemaError
from sheets_sync.jobs.executor import InProcessExecutor
from sheets_sync.jobs.processes import SyncProcesses
from sheets_sync.jobs.queue import sweep_stale
from sheets_sync.registry import Registry, load_registry
from sheets_sync.sync import load_all_templates
from webhook import logs

log = logging.getLogger(__name__)

ENGINE_KEY = "sheets_sync.engine"
"""``app.extensions`` key of the app's database engine (made on first use)."""
EXECUTOR_KEY = "sheets_sync.executor"
REGISTRY_KEY = "sheets_sync.registry"
TITLES_KEY = "sheets_sync.template_titles"
SCHEMA_READY_KEY = "sheets_sync.schema_ready"
_executor_lock = threading.Lock()


def settings() -> Settings:
    return cast(Settings, current_app.config["SETTINGS"])


def raw_engine() -> Engine:
    """The app's database engine, made on first use, the schema not checked (the replay
    ledger of :mod:`webhook.auth` and the schema check itself use it)."""
    found = current_app.extensions.get(ENGINE_KEY)
    if found is None:
        made = db.make_engine(settings().database.database_url)
        found = current_app.extensions.setdefault(ENGINE_KEY, made)
        if found is not made:
            made.dispose()
    return cast(Engine, found)


def engine() -> Engine:
    """The app's engine, once this process has seen the database hold the whole schema.

    Until then each call checks (:func:`sheets_sync.db.require_schema`): a database
    without the schema is a :class:`~sheets_sync.errors.SchemaError` (503 naming
    `sheets-sync init-db`) before any query or Sheets call, on every endpoint.
    """
    made = raw_engine()
    if not current_app.extensions.get(SCHEMA_READY_KEY):
        db.require_schema(made)
        current_app.extensions[SCHEMA_READY_KEY] = True
    return made


def schema_problem() -> SchemaError | None:
    """What the database lacks now (checked again: a table may have been dropped since)."""
    current_app.extensions.pop(SCHEMA_READY_KEY, None)
    try:
        db.require_schema(raw_engine())
    except SchemaError as error:
        return error
    except (DatabaseError, SQLAlchemyError):
        return None
    current_app.extensions[SCHEMA_READY_KEY] = True
    return None


def registry() -> Registry:
    return cast(Registry, current_app.extensions[REGISTRY_KEY])


def template_titles() -> tuple[str, ...]:
    """Every tab title the templates define (loaded once per app)."""
    titles = current_app.extensions.get(TITLES_KEY)
    if titles is None:
        titles = current_app.extensions.setdefault(
            TITLES_KEY, tuple(load_all_templates(settings()))
        )
    return cast(tuple[str, ...], titles)


def executor() -> InProcessExecutor:
    """This process's job executor, made on first use.

    Cloud Tasks when ``SHEETS_SYNC_TASKS_QUEUE`` is set (:mod:`sheets_sync.jobs.cloud_tasks`),
    else ``SHEETS_SYNC_JOB_WORKERS`` threads of this process, each running its sync
    itself or, with ``SHEETS_SYNC_JOB_PROCESSES``, in a lower-priority child process
    (as do the tasks' deliveries this instance receives, :mod:`webhook.tasks_api`).
    """
    with _executor_lock:
        pool = current_app.extensions.get(EXECUTOR_KEY)
        if pool is None:
            pool = _make_executor(settings())
            current_app.extensions[EXECUTOR_KEY] = pool
    return cast(InProcessExecutor, pool)


def _make_executor(config: Settings) -> InProcessExecutor:
    processes = SyncProcesses(config, logs.init_sync_process) if config.jobs.job_processes else None
    if config.tasks.tasks_queue:
        from sheets_sync.jobs.cloud_tasks import CloudTasksExecutor

        return CloudTasksExecutor(engine(), config, processes=processes)
    return InProcessExecutor(engine(), config, config.jobs.job_workers, processes)


def get_db() -> Connection:
    """The request's connection, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = engine().connect()
    return cast(Connection, g.db)


def _close_db(_error: BaseException | None = None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def _sweep_at_start(app: Flask) -> None:
    """Fail runs left running by a process that died; a database down now is not fatal."""
    with app.app_context():
        try:
            sweep_stale(engine(), settings())  # engine() checks the schema first
        except (DatabaseError, SQLAlchemyError) as error:
            log.warning("start-up sweep of dead runs skipped: %s", str(error).splitlines()[0])


def init_app(app: Flask) -> None:
    config: Settings = app.config["SETTINGS"]
    app.extensions[REGISTRY_KEY] = load_registry(config, lambda: load_all_templates(config))
    app.teardown_appcontext(_close_db)
    _sweep_at_start(app)
