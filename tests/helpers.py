"""Builders several test files need, each with one home here.

Tab templates (built in code, written as YAML files, or the shipped ones), the
``tradein_orders`` column list and an order factory, the formula-injection text,
and a metadata look-up for the emulator tests. KPI datasets and their
plain-Python references stay in ``kpi_data``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import gspread

from sheets_sync.kpis.registry import query_columns
from sheets_sync.tab_templates import TabTemplate, load_template
from sheets_sync.tab_templates.model import ColumnSpec, ColumnType

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# Text that a sheet would run as a formula were it written USER_ENTERED: every
# destination must keep it literal (text to sheets is RAW).
INJECTION = '=IMPORTXML("http://example.com","//a")'

# `tradein_orders` (docs/design.md §3): what an order has from its creation …
ORDER_CREATION_COLUMNS = (
    "order_id", "seller_id", "product_id", "country", "declared_grade", "offered_price",
    "currency", "status", "created_at",
)  # fmt: skip
# … what its lifecycle fills in (NULL until it gets there) …
ORDER_LIFECYCLE_COLUMNS = (
    "shipped_at", "received_at", "inspected_at", "inspected_grade", "counter_offer_price",
    "counter_offer_status", "counter_answered_at", "paid_at", "paid_price", "cancelled_at",
    "returned_at", "suspended_reason",
)  # fmt: skip
# … and the whole row, in the contract's order (csat is the seller's optional rating).
ORDER_COLUMNS = (*ORDER_CREATION_COLUMNS, *ORDER_LIFECYCLE_COLUMNS, "csat")


def order(order_id: str, created: dt.datetime, **fields: Any) -> dict[str, Any]:
    """A ``tradein_orders`` row with every column, just created: seller S1 offers
    100.00 EUR for a good P1 in FR; ``fields`` override any column, the rest are NULL.

    An unknown field fails here, so a typo cannot silently leave a column NULL.
    """
    unknown = sorted(set(fields) - set(ORDER_COLUMNS))
    if unknown:
        raise ValueError(f"order {order_id}: no column(s) {unknown} in tradein_orders")
    row: dict[str, Any] = dict.fromkeys(ORDER_COLUMNS)
    row.update(
        order_id=order_id, seller_id="S1", product_id="P1", country="FR",
        declared_grade="good", offered_price=Decimal("100.00"), currency="EUR",
        status="created", created_at=created,
    )  # fmt: skip
    row.update(fields)
    return row


def shipped_template(name: str) -> TabTemplate:
    """A shipped template by file name (``kpi_daily``…), validated against the built-in queries."""
    return load_template(TEMPLATES / "tabs" / f"{name}.yaml", query_columns())


def column(header: str, type: ColumnType = ColumnType.TEXT, **options: Any) -> ColumnSpec:
    """A column whose source is its header in snake_case, as a YAML column without ``source``."""
    source = "_".join("".join(c if c.isalnum() else " " for c in header.lower()).split())
    return ColumnSpec(header, source, type, **options)


def tab(title: str, *columns: ColumnSpec, **fields: Any) -> TabTemplate:
    """A template built in code, for backend tests that need no query or YAML file."""
    return TabTemplate(title=title, columns=columns, **fields)


def write_template_files(yaml_path: Path, yaml_text: str, sql_path: Path, sql: str) -> Path:
    """A user template as a team writes it: its (dedented) YAML and its SQL file.

    Parent folders are created, so a ``tabs/`` + ``sql/`` layout is one call too.
    Returns the YAML path, which is what the loader and its errors name.
    """
    for path, text in ((sql_path, sql), (yaml_path, textwrap.dedent(yaml_text))):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return yaml_path


def sheet_meta(sh: gspread.Spreadsheet, title: str = "Sheet1") -> dict[str, Any]:
    """One sheet's entry of the spreadsheet metadata, found by title."""
    meta = sh.fetch_sheet_metadata()
    return next(s for s in meta["sheets"] if s["properties"]["title"] == title)


def templates_with_daily_window(folder: Path, days: int) -> Path:
    """A copy of the shipped templates in ``folder`` with KPI Daily on a ``days``-day window.

    A short window makes every day's sync delete the rows of the day that left it.
    """
    shutil.copytree(TEMPLATES, folder)
    daily = folder / "tabs" / "kpi_daily.yaml"
    daily.write_text(daily.read_text().replace("window_days: 90", f"window_days: {days}"))
    return folder


class FakeClock:
    """A monotonic clock and its ``sleep`` for the retry layer: tests never wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def wait_until_run_ended(engine: Any, run_id: str, seconds: float = 60) -> dict[str, Any]:
    """The run's row once it is neither queued nor running (an executor runs it elsewhere)."""
    from sheets_sync.jobs import runs

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = runs.get_run(engine, run_id)
        if run is not None and run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still active after {seconds} s")
