"""The triggers that mark the win model's counted days stale, on SQLite and PostgreSQL.

The win model keeps its exposure and wins per day (``winmodel_counts``, the
days in ``winmodel_days``) and recounts only what a write may have changed
(:mod:`sheets_sync.winmodel.counts`). A day depends on the orders created that
day and on the prices in force that day, so:

- an order inserted or deleted, or updated in what the model reads (its day,
  seller, product, grade or country; not its status, which changes daily),
  marks its day (both days when it moves);
- a ``price_changes`` row written (a push's, or one dated in the past) marks
  its day and every later one: a listing's price from that day on may differ;
- a ``price_grid`` price updated marks the days from its ``updated_at`` on (a
  push stamps now, so today); a listing added or removed marks every day (with
  no change of its own, the model takes its price as held since ever);
- what the facts rebuild in full (a product's category moved, ``TRUNCATE``)
  marks every day (:data:`sheets_sync.facts.triggers.FULL_REBUILD`).

Assumed, as the push writes them: a change's ``old_price`` is the price that
held before it. A history rewritten otherwise (an ``old_price`` edited, a grid
price written without its change) is recounted by ``rebuild``.
Only days already counted are touched (``NOT stale`` rows), an index look-up.
"""

from __future__ import annotations

MARK = "UPDATE winmodel_days SET stale = TRUE WHERE NOT stale AND "
ORDER_KEYS = ("created_at", "seller_id", "product_id", "declared_grade", "country")
WINMODEL_SQLITE_TRIGGERS = (
    "winmodel_orders_insert", "winmodel_orders_update", "winmodel_orders_delete",
    "winmodel_changes_insert", "winmodel_changes_update", "winmodel_changes_delete",
    "winmodel_grid_insert", "winmodel_grid_update", "winmodel_grid_delete",
)  # fmt: skip
WINMODEL_PG_TRIGGERS = {
    "winmodel_orders_insert": "tradein_orders",
    "winmodel_orders_update": "tradein_orders",
    "winmodel_orders_delete": "tradein_orders",
    "winmodel_changes_insert": "price_changes",
    "winmodel_changes_update": "price_changes",
    "winmodel_changes_delete": "price_changes",
    "winmodel_changes_truncate": "price_changes",
    "winmodel_grid": "price_grid",
}
ALL_DAYS = "UPDATE winmodel_days SET stale = TRUE WHERE NOT stale"


def _sqlite_trigger(name: str, event: str, body: str, when: str = "") -> str:
    condition = f"WHEN {when} " if when else ""
    return f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} {condition}BEGIN {body} END"


def winmodel_sqlite_ddl() -> list[str]:
    """Row-level triggers: each written row marks its own day(s)."""
    moved = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ORDER_KEYS)
    order_day = MARK + "day = date({}.created_at);"
    from_day = MARK + "day >= date({}.changed_at);"
    return [
        _sqlite_trigger("winmodel_orders_insert", "INSERT ON tradein_orders",
                        order_day.format("NEW")),
        _sqlite_trigger("winmodel_orders_update", "UPDATE ON tradein_orders",
                        order_day.format("OLD") + " " + order_day.format("NEW"), moved),
        _sqlite_trigger("winmodel_orders_delete", "DELETE ON tradein_orders",
                        order_day.format("OLD")),
        _sqlite_trigger("winmodel_changes_insert", "INSERT ON price_changes",
                        from_day.format("NEW")),
        _sqlite_trigger("winmodel_changes_update", "UPDATE ON price_changes",
                        from_day.format("OLD") + " " + from_day.format("NEW")),
        _sqlite_trigger("winmodel_changes_delete", "DELETE ON price_changes",
                        from_day.format("OLD")),
        _sqlite_trigger("winmodel_grid_insert", "INSERT ON price_grid", f"{ALL_DAYS};"),
        _sqlite_trigger("winmodel_grid_update", "UPDATE ON price_grid",
                        MARK + "day >= date(NEW.updated_at);", "OLD.price IS NOT NEW.price"),
        _sqlite_trigger("winmodel_grid_delete", "DELETE ON price_grid", f"{ALL_DAYS};"),
    ]  # fmt: skip


def _pg_function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body} RETURN NULL; END $$"
    )


def _pg_moved_days() -> str:
    """Days of the orders whose read columns changed: both images (multisets, so two
    identical orders of which one moved still mark the day it left)."""
    keys = ", ".join(ORDER_KEYS)
    old = f"SELECT {keys} FROM old_rows"
    new = f"SELECT {keys} FROM new_rows"
    return (
        f"SELECT CAST(created_at AS DATE) FROM ({old} EXCEPT ALL {new}) AS gone UNION "
        f"SELECT CAST(created_at AS DATE) FROM ({new} EXCEPT ALL {old}) AS came"
    )


def _pg_from_day(*tables: str) -> str:
    earliest = " UNION ALL ".join(f"SELECT changed_at FROM {t}" for t in tables)
    return MARK + f"day >= (SELECT CAST(min(changed_at) AS DATE) FROM ({earliest}) AS c);"


def _pg_trigger(name: str, event: str, tables: str, function: str) -> str:
    referencing = f"REFERENCING {tables} " if tables else ""
    return (
        f"CREATE OR REPLACE TRIGGER {name} AFTER {event} {referencing}"
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
    )


def winmodel_pg_ddl() -> list[str]:
    """Statement-level triggers with transition tables: one ``UPDATE`` per statement."""
    grid = (
        f"IF TG_OP = 'UPDATE' THEN IF OLD.price IS DISTINCT FROM NEW.price THEN "
        f"{MARK} day >= CAST(NEW.updated_at AS DATE); END IF; ELSE {ALL_DAYS}; END IF;"
    )
    old, new = "OLD TABLE AS old_rows", "NEW TABLE AS new_rows"
    both = f"{old} {new}"
    return [
        _pg_function("winmodel_orders_inserted",
                     MARK + "day IN (SELECT CAST(created_at AS DATE) FROM new_rows);"),
        _pg_function("winmodel_orders_updated", MARK + f"day IN ({_pg_moved_days()});"),
        _pg_function("winmodel_orders_deleted",
                     MARK + "day IN (SELECT CAST(created_at AS DATE) FROM old_rows);"),
        _pg_function("winmodel_changes_inserted", _pg_from_day("new_rows")),
        _pg_function("winmodel_changes_updated", _pg_from_day("old_rows", "new_rows")),
        _pg_function("winmodel_changes_deleted", _pg_from_day("old_rows")),
        _pg_function("winmodel_all_days", f"{ALL_DAYS};"),
        _pg_function("winmodel_grid_written", grid),
        _pg_trigger("winmodel_orders_insert", "INSERT ON tradein_orders", new,
                    "winmodel_orders_inserted"),
        _pg_trigger("winmodel_orders_update", "UPDATE ON tradein_orders", both,
                    "winmodel_orders_updated"),
        _pg_trigger("winmodel_orders_delete", "DELETE ON tradein_orders", old,
                    "winmodel_orders_deleted"),
        _pg_trigger("winmodel_changes_insert", "INSERT ON price_changes", new,
                    "winmodel_changes_inserted"),
        _pg_trigger("winmodel_changes_update", "UPDATE ON price_changes", both,
                    "winmodel_changes_updated"),
        _pg_trigger("winmodel_changes_delete", "DELETE ON price_changes", old,
                    "winmodel_changes_deleted"),
        _pg_trigger("winmodel_changes_truncate", "TRUNCATE ON price_changes", "",
                    "winmodel_all_days"),
        "CREATE OR REPLACE TRIGGER winmodel_grid AFTER INSERT OR UPDATE OR DELETE ON price_grid "
        "FOR EACH ROW EXECUTE FUNCTION winmodel_grid_written()",
    ]  # fmt: skip
