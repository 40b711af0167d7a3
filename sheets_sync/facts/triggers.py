"""The triggers that fill the change log, on SQLite and PostgreSQL.

Triggers, rather than an ``updated_at`` column our writers maintain, because
they also catch the writers we do not control (an ops script, a psql session, a
back-office tool): every insert, update or delete of an order logs its old image
(sign -1) and its new image (+1) in the same transaction, so the facts refresh
(:mod:`.maintain`) finds what changed without scanning ``tradein_orders``.

- SQLite: row-level ``AFTER`` triggers (one log row per image).
- PostgreSQL: statement-level ``AFTER`` triggers with transition tables, so a
  bulk ``UPDATE`` of 100,000 orders logs them with one ``INSERT … SELECT``;
  ``TRUNCATE`` marks a full rebuild.
- Both: a product's category change (or its deletion) marks a full rebuild,
  since every order of the product moves to another category; so does a new
  product that already has orders (the order feed often lands before the
  catalogue feed): they were counted under ``unknown``
  (:data:`.measures.UNKNOWN_CATEGORY`) and move to the product's category. The
  look-up uses ``ix_orders_product``, created here with the triggers, so a
  catalogue load costs an index probe per product, not a scan of the orders.

Bulk loads (the demo loader) drop the triggers, load, recreate them and mark the
facts unbuilt, in one transaction (:func:`.maintain.bulk_load`): the next
refresh builds them in full, once.
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from sheets_sync.facts.measures import UNKNOWN_CATEGORY
from sheets_sync.facts.stale_days import (
    WINMODEL_PG_TRIGGERS,
    WINMODEL_SQLITE_TRIGGERS,
    winmodel_pg_ddl,
    winmodel_sqlite_ddl,
)
from sheets_sync.schema import tradein_orders

ORDER_COLUMNS = tuple(c.name for c in tradein_orders.columns)
LOG_COLUMNS = ", ".join(("sign", *ORDER_COLUMNS))

SQLITE_TRIGGERS = ("kpi_facts_orders_insert", "kpi_facts_orders_update",
                   "kpi_facts_orders_delete", "kpi_facts_products_insert",
                   "kpi_facts_products_update", "kpi_facts_products_delete")  # fmt: skip
PG_TRIGGERS = {
    "kpi_facts_orders_insert": "tradein_orders",
    "kpi_facts_orders_update": "tradein_orders",
    "kpi_facts_orders_delete": "tradein_orders",
    "kpi_facts_orders_truncate": "tradein_orders",
    "kpi_facts_products": "products",
}
FULL_REBUILD = (
    "INSERT INTO kpi_fact_changes (sign, full_rebuild) VALUES (0, TRUE); "
    "UPDATE winmodel_days SET stale = TRUE WHERE NOT stale"
)
"""The facts rebuilt in full, and every day the win model counted recounted (its counts
are per category too, and leave out orders without a product)."""
HAS_ORDERS = "EXISTS (SELECT 1 FROM tradein_orders WHERE product_id = NEW.product_id)"
"""A product just inserted already has orders (they were counted under ``unknown``)."""
ORDERS_BY_PRODUCT = "CREATE INDEX IF NOT EXISTS ix_orders_product ON tradein_orders (product_id)"
"""What :data:`HAS_ORDERS` probes: created with the triggers, dropped with them (a bulk load
then builds it once, after the rows, rather than row by row)."""
UNKNOWN_CELLS = (
    "CREATE INDEX IF NOT EXISTS ix_facts_unknown ON kpi_daily_facts (day) "
    f"WHERE category = '{UNKNOWN_CATEGORY}'"
)
"""The facts' ``unknown`` cells alone (a partial index, a few rows): what a sync reads to
warn about orders whose product is not in the catalogue (:mod:`.unknown`). Kept by a bulk
load (the facts are not reloaded row by row)."""


def _image(sign: int, alias: str) -> str:
    """``INSERT`` of one row image (``NEW`` / ``OLD``) into the log."""
    values = ", ".join(f"{alias}.{c}" for c in ORDER_COLUMNS)
    return f"INSERT INTO kpi_fact_changes ({LOG_COLUMNS}) VALUES ({sign}, {values});"


def _sqlite_ddl() -> list[str]:
    category_moved = "OLD.category IS NOT NEW.category OR OLD.product_id IS NOT NEW.product_id"
    return [
        ORDERS_BY_PRODUCT,
        UNKNOWN_CELLS,
        "CREATE TRIGGER IF NOT EXISTS kpi_facts_orders_insert AFTER INSERT ON tradein_orders "
        f"BEGIN {_image(1, 'NEW')} END",
        "CREATE TRIGGER IF NOT EXISTS kpi_facts_orders_update AFTER UPDATE ON tradein_orders "
        f"BEGIN {_image(-1, 'OLD')} {_image(1, 'NEW')} END",
        "CREATE TRIGGER IF NOT EXISTS kpi_facts_orders_delete AFTER DELETE ON tradein_orders "
        f"BEGIN {_image(-1, 'OLD')} END",
        "CREATE TRIGGER IF NOT EXISTS kpi_facts_products_insert AFTER INSERT ON products "
        f"WHEN {HAS_ORDERS} BEGIN {FULL_REBUILD}; END",
        "CREATE TRIGGER IF NOT EXISTS kpi_facts_products_update AFTER UPDATE ON products "
        f"WHEN {category_moved} BEGIN {FULL_REBUILD}; END",
        "CREATE TRIGGER IF NOT EXISTS kpi_facts_products_delete AFTER DELETE ON products "
        f"BEGIN {FULL_REBUILD}; END",
        *winmodel_sqlite_ddl(),
    ]


def _pg_copy(sign: int, table: str) -> str:
    columns = ", ".join(ORDER_COLUMNS)
    return f"INSERT INTO kpi_fact_changes ({LOG_COLUMNS}) SELECT {sign}, {columns} FROM {table};"


def _pg_function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body} RETURN NULL; END $$"
    )


def _pg_ddl() -> list[str]:
    category_moved = (
        f"IF TG_OP = 'INSERT' THEN IF {HAS_ORDERS} THEN {FULL_REBUILD}; END IF; "
        "ELSIF TG_OP = 'DELETE' OR OLD.category IS DISTINCT FROM NEW.category "
        f"OR OLD.product_id IS DISTINCT FROM NEW.product_id THEN {FULL_REBUILD}; END IF;"
    )
    statement = "FOR EACH STATEMENT EXECUTE FUNCTION"
    return [
        ORDERS_BY_PRODUCT,
        UNKNOWN_CELLS,
        _pg_function("kpi_facts_log_inserted", _pg_copy(1, "new_rows")),
        _pg_function("kpi_facts_log_updated", _pg_copy(-1, "old_rows") + _pg_copy(1, "new_rows")),
        _pg_function("kpi_facts_log_deleted", _pg_copy(-1, "old_rows")),
        _pg_function("kpi_facts_log_rebuild", f"{FULL_REBUILD};"),
        _pg_function("kpi_facts_log_product", category_moved),
        "CREATE OR REPLACE TRIGGER kpi_facts_orders_insert AFTER INSERT ON tradein_orders "
        f"REFERENCING NEW TABLE AS new_rows {statement} kpi_facts_log_inserted()",
        "CREATE OR REPLACE TRIGGER kpi_facts_orders_update AFTER UPDATE ON tradein_orders "
        f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows {statement} "
        "kpi_facts_log_updated()",
        "CREATE OR REPLACE TRIGGER kpi_facts_orders_delete AFTER DELETE ON tradein_orders "
        f"REFERENCING OLD TABLE AS old_rows {statement} kpi_facts_log_deleted()",
        "CREATE OR REPLACE TRIGGER kpi_facts_orders_truncate AFTER TRUNCATE ON tradein_orders "
        f"{statement} kpi_facts_log_rebuild()",
        "CREATE OR REPLACE TRIGGER kpi_facts_products AFTER INSERT OR UPDATE OR DELETE ON products "
        "FOR EACH ROW EXECUTE FUNCTION kpi_facts_log_product()",
        *winmodel_pg_ddl(),
    ]


def create_triggers(conn: Connection) -> None:
    """Create the triggers if missing (idempotent), in the caller's transaction."""
    for statement in _sqlite_ddl() if conn.dialect.name == "sqlite" else _pg_ddl():
        conn.exec_driver_sql(statement)


def drop_triggers(conn: Connection) -> None:
    """Drop the triggers and their index (a bulk load recreates them, rebuilds the facts after).

    Every day the win model counted turns stale: what is written until the triggers
    are back escapes them.
    """
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_orders_product")
    conn.exec_driver_sql("UPDATE winmodel_days SET stale = TRUE WHERE NOT stale")
    if conn.dialect.name == "sqlite":
        for name in (*SQLITE_TRIGGERS, *WINMODEL_SQLITE_TRIGGERS):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        return
    for name, table in (PG_TRIGGERS | WINMODEL_PG_TRIGGERS).items():
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table}")


def install_triggers(engine: Engine) -> None:
    """Create the triggers in their own transaction (``init_db`` calls this)."""
    with engine.begin() as conn:
        create_triggers(conn)
