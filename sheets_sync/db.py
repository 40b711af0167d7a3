"""Engines and connections, with failures turned into messages a user can act on."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Table, create_engine, event, exc, func, inspect, select
from sqlalchemy.engine import Connection, Engine, make_url

from sheets_sync import schema
from sheets_sync.errors import ConfigError, DatabaseError, SchemaError

# SQLite has no DECIMAL type; SQLAlchemy round-trips NUMERIC(10,2) through
# floats and quantizes on the way out, which is exact for cents. The warning
# it emits on every query says just that, so it is silenced here once.
warnings.filterwarnings("ignore", message=".*does \\*not\\* support Decimal objects natively.*")

_DRIVERS = {
    "sqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}

SQLITE_BUSY_SECONDS = 30
"""How long a SQLite statement waits for another connection's write lock: long enough for
a sync's short writes, short enough that a stuck writer shows up as an error."""


def normalise_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` as psycopg 3 URLs."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError as err:
        raise ConfigError(
            f"SHEETS_SYNC_DATABASE_URL={url!r} is not a database URL; use e.g. "
            "sqlite:///tradein.db or postgresql+psycopg://user@127.0.0.1:5432/db"
        ) from err
    except ValueError as err:  # SQLAlchemy parses the port with int()
        raise ConfigError(
            f"SHEETS_SYNC_DATABASE_URL={url!r}: the port is not a number; write it as digits, "
            "e.g. postgresql+psycopg://user@127.0.0.1:5432/db"
        ) from err
    backend = parsed.get_backend_name()
    if backend not in _DRIVERS:
        raise ConfigError(
            f"unsupported database {backend!r} in {url!r}: use sqlite:/// or postgresql+psycopg://"
        )
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(
    url: str,
    echo: bool = False,
    busy_seconds: float = SQLITE_BUSY_SECONDS,
    autocommit: bool = False,
) -> Engine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout for concurrent readers.

    ``busy_seconds=0`` makes a SQLite statement that meets another writer fail at
    once ("database is locked"), for a caller that waits its own way
    (:func:`retry_while_locked`). ``autocommit`` makes every statement its own
    transaction on every connection, set once when it opens (asked per use
    instead, SQLAlchemy resets it with two statements at each check-in).
    """
    url = normalise_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if autocommit:
        kwargs["isolation_level"] = "AUTOCOMMIT"
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": busy_seconds}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        _ping_when_idle(engine)
    return engine


LOCKED_PAUSE_MIN = 0.0001
LOCKED_PAUSE_MAX = 0.002
T = TypeVar("T")


def retry_while_locked(write: Callable[[], T], wait_seconds: float = SQLITE_BUSY_SECONDS) -> T:
    """``write()``, tried again after a short pause while SQLite says another writer has the lock.

    SQLite's own busy wait sleeps 1, 2, 5, 10, 15 … ms between tries: fine for a
    batch job, but two webhook processes writing a few hundred times a second
    then keep finding the lock taken just as they wake, and a tiny insert waits
    tens of milliseconds. A lock held for a tenth of a millisecond is better
    waited for in tenths of a millisecond, doubling up to :data:`LOCKED_PAUSE_MAX`.
    """
    deadline, pause = time.monotonic() + wait_seconds, LOCKED_PAUSE_MIN
    while True:
        try:
            return write()
        except exc.OperationalError as error:
            if "locked" not in str(error.orig) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, LOCKED_PAUSE_MAX)


PING_IDLE_SECONDS = 5.0
"""A pooled PostgreSQL connection idle longer than this is pinged before use."""


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only if it sat idle: a dead one is replaced.

    ``pool_pre_ping`` pings on *every* checkout: a round trip that was a
    quarter of the time a busy webhook spent waiting for PostgreSQL
    (bench/webhook.py). A connection in steady use has just proved itself;
    one back from idle (the server restarted, a proxy dropped it) is pinged and,
    if dead, the pool opens a fresh one, as with ``pool_pre_ping``. A
    connection dying while in use fails that one statement (the webhook answers
    503 with Retry-After) and SQLAlchemy then discards the pool's other
    connections of that age, so the next request reconnects.
    """

    @event.listens_for(engine, "checkin")
    def _idle_since(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(f"pooled connection is dead: {error}") from error


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextmanager
def sqlite_immediate(conn: Connection, wait_seconds: float | None = None) -> Iterator[Connection]:
    """A SQLite transaction that takes the database's one write lock at ``BEGIN``.

    Sections that read, then write on what they read, must not both read and then
    race for the upgrade (one would fail with "database is locked" mid-way).
    ``wait_seconds`` raises the busy wait for this section only (a full facts build
    may hold the lock for minutes); the engine's own wait is restored after.
    """
    conn.execution_options(isolation_level="AUTOCOMMIT")  # BEGIN / COMMIT issued here
    if wait_seconds is not None:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait_seconds * 1000)}")
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")
    finally:
        if wait_seconds is not None:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_SECONDS * 1000}")


def describe(engine: Engine) -> str:
    """Where the engine points, without the password (for messages and logs)."""
    url = engine.url
    if engine.dialect.name == "sqlite":
        return f"SQLite database {url.database or ':memory:'}"
    return f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}/{url.database}"


def check_connection(engine: Engine) -> None:
    """Fail early with host and port when the database cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(select(1))
    except exc.DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise DatabaseError(
            f"cannot connect to {describe(engine)}: {reason}. {_connection_fix(engine)}"
        ) from error


def _connection_fix(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        return (
            "Check SHEETS_SYNC_DATABASE_URL: it must name a SQLite database file "
            "(or a new path, then run `sheets-sync init-db`)."
        )
    return "Check SHEETS_SYNC_DATABASE_URL and that the server is running."


def bad_timestamp_error(
    conn: Connection, table: Table, columns: Sequence[str], error: ValueError
) -> DatabaseError:
    """Name the column of ``table`` holding text that is not a timestamp, and the value.

    SQLite stores any text in a DATETIME column; the driver only fails when the
    value is read back. Each column is read alone to find the culprit (this runs
    on the error path only).
    """
    culprit = next((c for c in columns if _unreadable(conn, table, c)), None)
    where = f"{table.name}.{culprit}" if culprit else f"a timestamp column of {table.name}"
    return DatabaseError(
        f"{where} holds a value that is not a timestamp ({error}); correct or clear it "
        "in the database (write timestamps as YYYY-MM-DD HH:MM:SS)"
    )


def _unreadable(conn: Connection, table: Table, column: str) -> bool:
    try:
        conn.execute(select(func.max(table.c[column])).select_from(table)).all()
        conn.execute(select(func.min(table.c[column])).select_from(table)).all()
    except ValueError:
        return True
    return False


def missing_tables(engine: Engine) -> list[str]:
    """Tables of the schema the database does not have yet."""
    present = set(inspect(engine).get_table_names())
    return [t for t in schema.metadata.tables if t not in present]


def missing_columns(engine: Engine) -> list[str]:
    """``table.column`` of each :data:`~sheets_sync.schema.ADDED_COLUMNS` entry an existing
    table lacks."""
    inspector = inspect(engine)
    present = set(inspector.get_table_names())
    missing = []
    for table, column in schema.ADDED_COLUMNS:
        if table in present and column not in {c["name"] for c in inspector.get_columns(table)}:
            missing.append(f"{table}.{column}")
    return missing


def require_schema(engine: Engine) -> None:
    """Refuse to run a job against a database that was never initialised (or not since an
    upgrade added a table or column): :class:`SchemaError` naming `sheets-sync init-db`.

    A missing SQLite file is reported before connecting, since connecting would
    leave an empty database file behind in the user's folder.
    """
    database = engine.url.database
    is_file = engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
    if is_file and not Path(str(database)).exists():
        raise SchemaError(
            f"SQLite database {database} does not exist; run `sheets-sync demo` (demo data) "
            "or `sheets-sync init-db`, or set SHEETS_SYNC_DATABASE_URL to your database."
        )
    check_connection(engine)
    missing = missing_tables(engine)
    if missing:
        raise SchemaError(
            f"{describe(engine)} has no table(s) {', '.join(missing)}; "
            "run `sheets-sync init-db` (or `sheets-sync demo-data`) first."
        )
    columns = missing_columns(engine)
    if columns:
        raise SchemaError(
            f"{describe(engine)} has no column(s) {', '.join(columns)}, added since it was "
            "made; run `sheets-sync init-db` (it adds them and keeps the data)."
        )
