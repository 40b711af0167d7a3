"""A synced spreadsheet's KPI tabs against an independent computation (bench/nightly.py).

The tab is read back from the emulator as Google gives it (unformatted values,
dates as serial numbers) and compared, as a set of rows, with the pandas
baseline of bench/kpis_baseline.py computed on the same database as of the
same day; a market team's sheet is compared with the baseline's rows of its
countries (every KPI tab compared here has a ``Country`` column). The raw tables
are read once for every sheet and tab, streamed (10,000,000 orders fit).

Run on its own (a night's database and emulator still up):
    .venv/bin/python -P bench/nightly_check.py --db-url URL --sheets-url URL
        --sheet "Head office=ID" --sheet "Market team 1 FR=ID:FR"
"""

# ruff: noqa: E402  (sys.path must be fixed before the package is imported)
from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.append(str(BENCH))

import argparse
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import kpis_baseline
from gspread.utils import DateTimeOption, ValueRenderOption

from sheets_emulator.client import emulator_client
from sheets_sync.db import make_engine
from sheets_sync.kpis.registry import query_columns
from sheets_sync.kpis.runner import build_context, default_as_of
from sheets_sync.tab_templates import TabTemplate
from sheets_sync.tab_templates.loader import load_templates

TEMPLATES = BENCH.parent / "templates" / "tabs"
EPOCH = dt.date(1899, 12, 30)  # Sheets' serial day 0


def normal(value: Any) -> Any:
    """One cell as comparable: numbers rounded, dates as serial days, empty as ""."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        delta = value - dt.datetime(1899, 12, 30, tzinfo=value.tzinfo)
        return round(delta.total_seconds() / 86400, 4)
    if isinstance(value, dt.date):
        return float((value - EPOCH).days)
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return round(float(value), 4)
    return str(value)


def sheet_rows(sheets_url: str, sheet_id: str, template: TabTemplate) -> list[tuple[Any, ...]]:
    """The tab's data rows (below its header row), as many columns as the template has."""
    tab = emulator_client(sheets_url).open_by_key(sheet_id).worksheet(template.title)
    values = tab.get_values(value_render_option=ValueRenderOption.unformatted,
                            date_time_render_option=DateTimeOption.serial_number)  # fmt: skip
    width = len(template.columns)
    first = template.columns[0].header
    start = next(i for i, row in enumerate(values) if row and row[0] == first) + 1
    rows = [list(row[:width]) + [""] * (width - len(row[:width])) for row in values[start:]]
    return [tuple(normal(v) for v in row) for row in rows if any(v != "" for v in row)]


def baseline_rows(
    tables: kpis_baseline.Tables, template: TabTemplate, countries: Sequence[str]
) -> list[tuple[Any, ...]]:
    conn = tables.conn
    as_of = default_as_of(conn)
    ctx = build_context(conn, template, as_of=as_of)
    params = {**ctx.params, "window_days": ctx.window_days}
    rows = kpis_baseline.compute(tables, template, as_of, params)
    if countries:
        at = [c.header for c in template.columns].index("Country")
        rows = [r for r in rows if r[at] in countries]
    return [tuple(normal(v) for v in row) for row in rows]


def compare_sheets(db_url: str, sheets_url: str, sheets: Sequence[tuple[str, str, Sequence[str]]],
                   titles: Sequence[str]) -> list[str]:  # fmt: skip
    """Each sheet's (name, id, countries) lines, the raw tables read once for all of them."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            tables = kpis_baseline.Tables(conn, streamed=True)
            return [f"{name}: {line}" for name, sheet_id, countries in sheets
                    for line in compare_tabs(tables, sheets_url, sheet_id, countries, titles)]  # fmt: skip
    finally:
        engine.dispose()


def compare_tabs(tables: kpis_baseline.Tables, sheets_url: str, sheet_id: str,
                 countries: Sequence[str], titles: Sequence[str]) -> list[str]:  # fmt: skip
    """One line per tab: equal (with its row count), or how many rows differ and the first."""
    templates = load_templates(TEMPLATES, query_columns())
    out = []
    for title in titles:
        template = templates[title.strip()]
        synced = sorted(sheet_rows(sheets_url, sheet_id, template), key=repr)
        expected = sorted(baseline_rows(tables, template, countries), key=repr)
        if synced == expected:
            out.append(f"{template.title}: equal to the pandas baseline ({len(synced)} rows)")
            continue
        extra = [r for r in synced if r not in expected]
        missing = [r for r in expected if r not in synced]
        out.append(
            f"{template.title}: DIFFERS — {len(synced)} rows vs {len(expected)}; "
            f"{len(extra)} only in the sheet (first {extra[:1]}), "
            f"{len(missing)} only in the baseline (first {missing[:1]})"
        )
    return out


def main() -> None:
    """Re-run the check on a night's database and emulator that are still up."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--sheets-url", required=True)
    parser.add_argument("--sheet", action="append", required=True,
                        help="NAME=ID[:COUNTRY,COUNTRY]; repeat for each sheet")  # fmt: skip
    parser.add_argument("--compare", default="KPI Weekly,KPI Monthly")
    args = parser.parse_args()
    sheets = []
    for given in args.sheet:
        name, _, rest = given.partition("=")
        sheet_id, _, countries = rest.partition(":")
        sheets.append((name, sheet_id, [c for c in countries.split(",") if c]))
    for line in compare_sheets(args.db_url, args.sheets_url, sheets, args.compare.split(",")):
        print(line, flush=True)


if __name__ == "__main__":
    main()
