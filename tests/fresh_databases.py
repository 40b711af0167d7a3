"""Fresh databases per test, cheaply: the schema is built once, then copied or emptied.

``init_db`` builds some twenty tables with their indexes and the facts
triggers; doing that for every test of the suite cost most of a PostgreSQL
test's time (0.75 s of setup, against 0.06 s for emptying the tables) and a
tenth of a second per SQLite test. So:

- **SQLite**: one database built by ``init_db`` per test session (and xdist
  worker) is the template; each test gets a byte copy of its file.
- **PostgreSQL**: the session database's ``public`` schema is rebuilt only
  when a test changed its *shape* (a dropped trigger, an added column, a new
  table: a fingerprint of the catalogue tells); otherwise every table is
  emptied with the triggers off (``session_replication_role = replica``, so
  no trigger logs the deletes and no foreign key orders them) and every
  sequence restarted, which leaves exactly what ``init_db`` leaves: empty
  tables, sequences at their start.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from sheets_sync.db import make_engine
from sheets_sync.db_init import init_db

SHAPE = """
SELECT md5(string_agg(part, ',' ORDER BY part)) FROM (
  SELECT 'c:' || table_name || '.' || column_name || ':' || data_type || ':' ||
         is_nullable || ':' || coalesce(column_default, '') AS part
    FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL SELECT 'i:' || indexname || ':' || indexdef FROM pg_indexes
    WHERE schemaname = 'public'
  UNION ALL SELECT 't:' || tgname || ':' || tgrelid::regclass::text || ':' || tgenabled::text
    FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
    WHERE NOT tgisinternal AND r.relnamespace = 'public'::regnamespace
  UNION ALL SELECT 'k:' || conname || ':' || pg_get_constraintdef(oid) FROM pg_constraint
    WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT 'f:' || proname || ':' || md5(prosrc) FROM pg_proc
    WHERE pronamespace = 'public'::regnamespace
  UNION ALL SELECT 's:' || sequencename FROM pg_sequences WHERE schemaname = 'public'
  UNION ALL SELECT 'o:' || relname || ':' || relkind::text FROM pg_class
    WHERE relnamespace = 'public'::regnamespace AND relkind NOT IN ('r', 'i', 'S')
) AS shape
"""
"""Everything of ``public`` a test could change besides rows: columns, indexes, triggers
(enabled or not), constraints, functions, sequences, views and other relations."""

_pristine_shape: dict[str, str] = {}
"""Per session database URL: the shape ``init_db`` left."""


def copy_sqlite_template(template: Path, target: Path) -> str:
    """A new SQLite database at ``target``, a copy of ``template`` (built on first use)."""
    if not template.exists():
        engine = make_engine(f"sqlite:///{template}")
        init_db(engine)
        engine.dispose()
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def fresh_postgres(url: str) -> None:
    """Leave the session database as ``init_db`` leaves a new one."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if _pristine_shape.get(url) == _shape(conn):
                _empty(conn)
                return
        _rebuild(engine)
        with engine.connect() as conn:
            _pristine_shape[url] = _shape(conn)
    finally:
        engine.dispose()


def _shape(conn: Connection) -> str:
    return str(conn.execute(text(SHAPE)).scalar_one())


def _empty(conn: Connection) -> None:
    tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    sequences = conn.execute(
        text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
    )
    conn.execute(text("SET LOCAL session_replication_role = replica"))
    for (table,) in tables.all():
        conn.execute(text(f'DELETE FROM public."{table}"'))
    for (sequence,) in sequences.all():
        conn.execute(text(f'ALTER SEQUENCE public."{sequence}" RESTART'))


def _rebuild(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    init_db(engine)
