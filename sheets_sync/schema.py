"""The data model of docs/design.md §3, as SQLAlchemy Core metadata.

Table and column names are a contract (tests, the sheets and users' own SQL
rely on them). The same metadata creates identical schemas on SQLite and
PostgreSQL. Timestamps are stored as naive UTC; money is NUMERIC(10,2).

Table metadata only: creating the tables, adding columns and installing the
facts triggers is :mod:`sheets_sync.db_init`'s, so this module, the bottom of
the house, imports nothing of ours.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    false,
    text,
)

metadata = MetaData()

Money = Numeric(10, 2, asdecimal=True)

GRADES: tuple[str, ...] = ("flawless", "good", "used", "cracked", "nf_used", "nf_cracked")
"""Best to worst; a grade's rank is its index + 1."""

GRADE_RANK: dict[str, int] = {g: i + 1 for i, g in enumerate(GRADES)}

CATEGORIES: tuple[str, ...] = ("smartphone", "tablet", "laptop", "console", "smartwatch")
SELLER_STATUSES: tuple[str, ...] = ("onboarding", "active", "paused", "offboarded")
ORDER_STATUSES: tuple[str, ...] = (
    "created", "shipped", "received", "counter_offered", "validated", "paid", "cancelled",
    "returned", "suspended",
)  # fmt: skip
COUNTER_OFFER_STATUSES: tuple[str, ...] = ("accepted", "refused", "expired")
ONBOARDING_STEPS: tuple[str, ...] = (
    "contract_signed", "kyc_verified", "pricing_uploaded", "shipping_configured",
    "first_order_received",
)  # fmt: skip
CHANGE_SOURCES: tuple[str, ...] = ("sheet", "cli", "api", "import")
RUN_TRIGGERS: tuple[str, ...] = ("cli", "menu", "cron", "api")
RUN_STATUSES: tuple[str, ...] = ("queued", "running", "succeeded", "failed")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


sellers = Table(
    "sellers",
    metadata,
    Column("seller_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("onboarded_at", DateTime, nullable=True),
    _one_of("status", SELLER_STATUSES, "ck_sellers_status"),
)

products = Table(
    "products",
    metadata,
    Column("product_id", Text, primary_key=True),
    Column("category", Text, nullable=False),
    Column("brand", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("storage_gb", Integer, nullable=True),
    Column("release_year", Integer, nullable=False),
    _one_of("category", CATEGORIES, "ck_products_category"),
)

price_grid = Table(
    "price_grid",
    metadata,
    Column("seller_id", Text, ForeignKey("sellers.seller_id"), nullable=False),
    Column("product_id", Text, ForeignKey("products.product_id"), nullable=False),
    Column("grade", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("price", Money, nullable=False),
    Column("currency", Text, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("updated_at", DateTime, nullable=False),
    Column("updated_by", Text, nullable=False),
    PrimaryKeyConstraint("seller_id", "product_id", "grade", "country", name="pk_price_grid"),
    _one_of("grade", GRADES, "ck_price_grid_grade"),
    CheckConstraint("price >= 0", name="ck_price_grid_price"),
    CheckConstraint("version >= 1", name="ck_price_grid_version"),
)

price_changes = Table(
    "price_changes",
    metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("seller_id", Text, nullable=False),
    Column("product_id", Text, nullable=False),
    Column("grade", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("old_price", Money, nullable=True),
    Column("new_price", Money, nullable=False),
    Column("changed_by", Text, nullable=False),
    Column("changed_at", DateTime, nullable=False),
    Column("source", Text, nullable=False),
    Column("request_id", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("trace_id", Text, nullable=True),
    _one_of("source", CHANGE_SOURCES, "ck_price_changes_source"),
    Index("ix_price_changes_request", "request_id"),
    Index("ix_price_changes_row", "seller_id", "product_id", "grade", "country"),
)

"""``request_id`` is the id the service gave the push (the webhook's ``X-Request-Id``, or
``push-<uuid>`` from the CLI), never one a caller chose; ``trace_id`` the platform's
trace id of that request (App Engine's ``X-Cloud-Trace-Context``), else null."""

tradein_orders = Table(
    "tradein_orders",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("seller_id", Text, nullable=False),
    Column("product_id", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("declared_grade", Text, nullable=False),
    Column("offered_price", Money, nullable=False),
    Column("currency", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("shipped_at", DateTime),
    Column("received_at", DateTime),
    Column("inspected_at", DateTime),
    Column("inspected_grade", Text),
    Column("counter_offer_price", Money),
    Column("counter_offer_status", Text),
    Column("counter_answered_at", DateTime),
    Column("paid_at", DateTime),
    Column("paid_price", Money),
    Column("cancelled_at", DateTime),
    Column("returned_at", DateTime),
    Column("suspended_reason", Text),
    Column("csat", SmallInteger),
    _one_of("status", ORDER_STATUSES, "ck_orders_status"),
    CheckConstraint("csat IS NULL OR csat BETWEEN 1 AND 5", name="ck_orders_csat"),
    Index("ix_orders_created_at", "created_at"),
    Index("ix_orders_seller", "seller_id"),
)

seller_onboarding = Table(
    "seller_onboarding",
    metadata,
    Column("seller_id", Text, nullable=False),
    Column("step", Text, nullable=False),
    Column("completed_at", DateTime, nullable=True),
    PrimaryKeyConstraint("seller_id", "step", name="pk_seller_onboarding"),
    _one_of("step", ONBOARDING_STEPS, "ck_onboarding_step"),
)

targets = Table(
    "targets",
    metadata,
    Column("month", Date, nullable=False),
    Column("country", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("orders_target", Integer, nullable=False),
    Column("paid_amount_target", Money, nullable=False),
    PrimaryKeyConstraint("month", "country", "category", name="pk_targets"),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("kind", Text, nullable=False, server_default="sync"),
    Column("spreadsheet", Text, nullable=False),
    Column("trigger", Text, nullable=False),
    Column("requested_by", Text, nullable=True),
    Column("status", Text, nullable=False),
    Column("queued_at", DateTime, nullable=False),
    Column("started_at", DateTime),
    Column("finished_at", DateTime),
    Column("duration_seconds", Float),
    Column("tabs", Text),
    Column("api_calls", Integer),
    Column("cells_written", Integer),
    Column("bytes_sent", Integer),
    Column("rows_written", Integer),
    Column("error", Text),
    Column("warnings", Text),
    Column("quota_wait_seconds", Float),
    _one_of("trigger", RUN_TRIGGERS, "ck_sync_runs_trigger"),
    _one_of("status", RUN_STATUSES, "ck_sync_runs_status"),
    Index("ix_sync_runs_spreadsheet", "spreadsheet", "queued_at"),
)

sync_locks = Table(
    "sync_locks",
    metadata,
    Column("destination", Text, primary_key=True),
    Column("token", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("run_id", Text, nullable=True),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=True),
)
"""Who holds each destination's run lock (sheets_sync/locks/): the SQLite lease
itself, or on PostgreSQL a note beside the advisory lock so a waiting run can
name the holder. ``destination`` is the lock key (a workbook's resolved path)."""

QUOTA_KINDS: tuple[str, ...] = ("read", "write")

sheets_quota = Table(
    "sheets_quota", metadata,
    Column("account", Text, nullable=False), Column("kind", Text, nullable=False),
    Column("recent", Text, nullable=False, server_default=""),
    Column("granted", BigInteger, nullable=False, server_default="0"),
    Column("waited_seconds", Float, nullable=False, server_default="0"),
    PrimaryKeyConstraint("account", "kind", name="pk_sheets_quota"),
    _one_of("kind", QUOTA_KINDS, "ck_sheets_quota_kind"),
)  # fmt: skip
"""The Google Sheets request quota every process and instance shares (sheets_sync/quota/):
per account the product calls Google as and per kind (``read``, ``write``), ``recent`` lists
until when each recent request counts (Unix seconds: its end, or while it is in flight the
latest it may end), the sliding window's log; ``granted`` and ``waited_seconds`` are totals."""

hmac_nonces = Table(
    "hmac_nonces",
    metadata,
    Column("expires_unix", BigInteger, primary_key=True),
    Column("digest", LargeBinary(32), primary_key=True),
    sqlite_with_rowid=False,
)
"""HMAC signatures the webhook has accepted, kept until they leave the time window
(sheets_sync/nonces.py), so a replay is refused by every process and instance sharing
the database. ``digest`` is the SHA-256 of the signature, not the signature. The key
leads with the expiry (Unix seconds), so every insert lands at the same end of one
B-tree and the sweep deletes from the other end (a clustered table on SQLite): a key
led by a random digest dirtied a random page of a large index on every request."""

ALERT_STATUSES: tuple[str, ...] = ("active", "resolved")

alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", Integer, primary_key=True, autoincrement=True),
    Column("rule_id", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("scope_key", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("channels", Text, nullable=False),
    Column("value", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("status", Text, nullable=False),
    Column("first_seen", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Column("resolved_at", DateTime, nullable=True),
    Column("notified", Boolean, nullable=False, server_default=false()),
    Column("resolved_notified", Boolean, nullable=False, server_default=false()),
    _one_of("status", ALERT_STATUSES, "ck_alerts_status"),
    Index(
        "ux_alerts_active", "rule_id", "scope_key", unique=True,
        sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'"),
    ),
)  # fmt: skip
"""Alert state (sheets_sync/alerts/state.py): at most one active row per rule and scope
key (the partial unique index), so two evaluations at once cannot raise it twice."""

alert_notifications = Table(
    "alert_notifications",
    metadata,
    Column("notification_id", Integer, primary_key=True, autoincrement=True),
    Column("channel", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("claimed_until", DateTime, nullable=True),
    Column("delivered_at", DateTime, nullable=True),
    Index("ix_alert_notifications_pending", "delivered_at"),
)
"""The notification outbox (sheets_sync/alerts/notify.py): a row is queued in the
same transaction as the alert change it announces, and stays until delivered."""

FACT_MEASURES: tuple[str, ...] = (
    "orders_created", "offered_cents", "created_shipped", "shipped", "received",
    "inspected", "inspected_within_sla", "counter_offers", "graded", "down_one",
    "down_two_plus", "suspended", "counter_answered", "counter_offers_accepted",
    "counter_offers_refused", "paid", "paid_cents", "csat_sum", "csat_responses",
    "pay_seconds", "pay_n", "cancelled", "returned",
)  # fmt: skip
"""The additive measures of ``kpi_daily_facts`` (sheets_sync/facts/measures.py defines them)."""

FACT_DIMENSIONS: tuple[str, ...] = ("day", "country", "seller_id", "category")

kpi_daily_facts = Table(
    "kpi_daily_facts",
    metadata,
    Column("day", Date, nullable=False),
    Column("country", Text, nullable=False),
    Column("seller_id", Text, nullable=False),
    Column("category", Text, nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in FACT_MEASURES),
    PrimaryKeyConstraint(*FACT_DIMENSIONS, name="pk_kpi_daily_facts"),
)
"""One row per day × country × seller × category with any order event: the additive
measures every order-reading KPI tab rolls up (sheets_sync/facts/). Money in cents."""

kpi_suspension_facts = Table(
    "kpi_suspension_facts",
    metadata,
    Column("day", Date, nullable=False),
    Column("country", Text, nullable=False),
    Column("seller_id", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("suspended", BigInteger, nullable=False),
    PrimaryKeyConstraint(*FACT_DIMENSIONS, "reason", name="pk_kpi_suspension_facts"),
)
"""Suspensions per inspection day × cell × reason (the Quality tab's reason lists)."""

kpi_fact_changes = Table(
    "kpi_fact_changes",
    metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("sign", SmallInteger, nullable=False),
    Column("full_rebuild", Boolean, nullable=False, server_default=false()),
    *(Column(c.name, c.type) for c in tradein_orders.columns),
)
"""The change log the database's triggers fill (sheets_sync/facts/triggers.py): the old
image of a changed or deleted order with sign -1, the new image of an inserted or
changed one with +1; ``full_rebuild`` marks a change facts cannot follow row by row
(a product's category changed). Consumed, then emptied, by the facts refresh."""

kpi_fact_state = Table(
    "kpi_fact_state",
    metadata,
    Column("name", Text, primary_key=True),
    Column("built_at", DateTime, nullable=False),
    Column("refreshed_at", DateTime, nullable=False),
    Column("last_change_id", Integer, nullable=True),
    Column("changes_applied", Integer, nullable=False, server_default="0"),
)
"""The watermark: when the facts were last fully built and refreshed, and the last change
applied. No row means never built (the next refresh builds them in full)."""

winmodel_counts = Table(
    "winmodel_counts", metadata,
    Column("day", Date, nullable=False), Column("category", Text, nullable=False),
    Column("country", Text, nullable=False), Column("rank_bucket", SmallInteger, nullable=False),
    Column("gap_bucket", SmallInteger, nullable=False),
    Column("exposure", BigInteger, nullable=False), Column("wins", BigInteger, nullable=False),
    PrimaryKeyConstraint("day", "category", "country", "rank_bucket", "gap_bucket",
                         name="pk_winmodel_counts"),
)  # fmt: skip
"""The win model's exposure and wins per day × category × country × position
(sheets_sync/winmodel/counts.py): what its fit sums instead of rebuilding the past."""

winmodel_days = Table(
    "winmodel_days", metadata,
    Column("day", Date, primary_key=True), Column("stale", Boolean, nullable=False),
)  # fmt: skip
"""The days ``winmodel_counts`` holds; ``stale`` set by the triggers when an order of the
day, or a price change on or before it, was written since (sheets_sync/facts/triggers.py)."""

DATA_TABLES: tuple[Table, ...] = (
    sellers, products, price_grid, price_changes, tradein_orders, seller_onboarding, targets,
)  # fmt: skip
"""Tables the demo generator fills (and ``--replace`` empties), children last."""


ADDED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("price_changes", "trace_id"),
    ("sync_runs", "warnings"),
    ("sync_runs", "quota_wait_seconds"),
)
"""Nullable columns added to a table after it first shipped: ``sheets-sync init-db`` adds
each one to a database made before it (creating tables makes missing tables, not columns;
:func:`sheets_sync.db_init.init_db`)."""
