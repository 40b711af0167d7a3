"""Initialising a database (``sheets-sync init-db``): tables, added columns, the facts triggers.

Above both the table metadata (:mod:`sheets_sync.schema`) and the facts
(:mod:`sheets_sync.facts.triggers`), so the schema, the bottom of the house,
imports neither: every path that initialises a database (the CLI, the demo,
the benches, the tests) calls :func:`init_db` and so gets the triggers that
log order changes for the facts refresh.
"""

from __future__ import annotations

from sqlalchemy import exc
from sqlalchemy.engine import Engine

from sheets_sync.db import check_connection, missing_columns
from sheets_sync.facts.triggers import install_triggers
from sheets_sync.schema import metadata


def init_db(engine: Engine) -> None:
    """Create the schema if missing (idempotent, never drops data).

    Missing tables, indexes and :data:`~sheets_sync.schema.ADDED_COLUMNS`, then
    the facts triggers (which need the tables).
    """
    check_connection(engine)
    metadata.create_all(engine, checkfirst=True)
    add_missing_columns(engine)
    install_triggers(engine)


def add_missing_columns(engine: Engine) -> list[str]:
    """``ALTER TABLE … ADD COLUMN`` for each missing added column (nullable: no rewrite).

    Two ``init-db`` at once may both find a column missing: PostgreSQL's ``IF NOT
    EXISTS`` makes the second a no-op, and on SQLite its "duplicate column" is taken
    as done.
    """
    added = []
    for name in missing_columns(engine):
        table, column = name.split(".")
        kind = metadata.tables[table].c[column].type.compile(dialect=engine.dialect)
        guard = "IF NOT EXISTS " if engine.dialect.name == "postgresql" else ""
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {guard}{column} {kind}")
        except exc.OperationalError as error:
            if "duplicate column" not in str(error.orig):
                raise
        added.append(name)
    return added
