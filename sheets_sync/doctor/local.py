"""The checks that need nothing but this machine and the database.

Each reuses what the commands already do (``Settings.load``,
``db.require_schema``, ``facts.check``, the template and registry loaders), so
the doctor cannot pass what a sync would then refuse.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine, make_url

from sheets_sync import db, facts, schema
from sheets_sync.config import Settings
from sheets_sync.config.env import ENV_PREFIX
from sheets_sync.doctor.result import NETWORK_TIMEOUT_SECONDS, Result, State, failed, ok
from sheets_sync.errors import ConfigError, DatabaseError, SchemaError, SheetsSyncError


def check_settings(state: State) -> Result:
    try:
        state.settings = Settings.load(environ=state.environ)
    except ConfigError as error:
        return failed(
            "settings", str(error),
            "correct that variable where the service's environment is set (app.yaml, the "
            "shell, or its Secret Manager secret) and run `sheets-sync doctor` again",
        )  # fmt: skip
    count = sum(1 for key in state.environ if key.startswith(ENV_PREFIX))
    return ok("settings", f"valid ({count} {ENV_PREFIX}* variable(s) set, the rest defaults)")


def _engine(settings: Settings) -> Engine:
    """The settings' database, giving up on an unanswering PostgreSQL within the timeout."""
    url = make_url(db.normalise_url(settings.database.database_url))
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": str(int(NETWORK_TIMEOUT_SECONDS))})
    return db.make_engine(url.render_as_string(hide_password=False))


def _missing_file(engine: Engine) -> Path | None:
    """A SQLite database file that does not exist (connecting would leave an empty one)."""
    name = engine.url.database
    if engine.dialect.name != "sqlite" or name in (None, "", ":memory:"):
        return None
    path = Path(str(name))
    return None if path.exists() else path


def check_database(state: State) -> Result:
    assert state.settings is not None
    try:
        state.engine = engine = _engine(state.settings)
    except ConfigError as error:
        return failed("database", str(error), f"correct {ENV_PREFIX}DATABASE_URL")
    missing = _missing_file(engine)
    if missing is not None:
        return failed(
            "database", f"SQLite database {missing} does not exist",
            f"set {ENV_PREFIX}DATABASE_URL to your database, or create this one with "
            "`sheets-sync init-db` (or `sheets-sync demo` for demo data)",
        )  # fmt: skip
    try:
        db.check_connection(engine)
    except DatabaseError as error:
        return failed(
            "database", str(error), f"correct {ENV_PREFIX}DATABASE_URL or start the server"
        )
    return ok("database", f"{db.describe(engine)} answers")


def check_schema(state: State) -> Result:
    assert state.engine is not None
    try:
        db.require_schema(state.engine)
    except SchemaError as error:
        return failed(
            "schema", str(error), "run `sheets-sync init-db` (it adds what is missing, keeps data)"
        )
    return ok("schema", f"present and current ({len(schema.metadata.tables)} tables)")


def check_facts(state: State) -> Result:
    """The logged changes are applied first (as every sync does), then compared in full."""
    assert state.engine is not None
    reports = facts.check(state.engine)
    stale = [r for r in reports if not r.equal]
    if stale:
        counts = ", ".join(f"{r.table}: {r.missing:,} row(s) missing, {r.extra:,} extra"
                           for r in stale)  # fmt: skip
        return failed(
            "facts", f"the daily facts differ from the orders ({counts})",
            "run `sheets-sync facts rebuild`, then `sheets-sync init-db` to recreate the "
            "kpi_facts_* triggers if someone dropped them",
        )  # fmt: skip
    return ok("facts", "fresh: equal to a full computation from the orders")


def check_templates(state: State) -> Result:
    from sheets_sync.alerts.rules import load_rules
    from sheets_sync.alerts.run import rules_path
    from sheets_sync.sync import load_all_templates

    assert state.settings is not None
    try:
        tabs = load_all_templates(state.settings)
        rules = load_rules(rules_path(state.settings))
    except SheetsSyncError as error:
        return failed(
            "templates", str(error),
            f"correct the file named (or {ENV_PREFIX}TEMPLATES_DIR); "
            "docs: the README's \"Adding a report\" and \"Alerts\" sections",
        )  # fmt: skip
    where = state.settings.files.templates_dir
    return ok("templates", f"{len(tabs)} tab(s) and {len(rules)} alert rule(s) from {where}")


def check_registry(state: State) -> Result:
    from sheets_sync.registry import load_registry
    from sheets_sync.sync import load_all_templates

    assert state.settings is not None
    settings = state.settings
    try:
        state.registry = registry = load_registry(settings, lambda: load_all_templates(settings))
    except ConfigError as error:
        return failed(
            "registry", str(error),
            "correct sheets-sync.yaml (the README's \"The spreadsheet registry\" section)",
        )  # fmt: skip
    path = state.settings.files.config_file
    if not path.exists():
        return ok("registry", f"no {path}: no spreadsheet registered (`--all` checks none)")
    return ok("registry", f"{len(registry.sheets)} spreadsheet(s) registered in {path}")
