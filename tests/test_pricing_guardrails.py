"""One source for the pricing guardrails (docs/design.md §7): the settings.

The Pricing tab's `Suggested price` keeps to ``SHEETS_SYNC_PRICE_CEILING`` and
``SHEETS_SYNC_PRICE_MAX_CHANGE``, the limits the push enforces, so every
suggestion can be pushed without a reason. A property test computes the tab
through the product's own path (templates loaded with the settings, the query
in the database) over random grids, on SQLite and PostgreSQL, and hands every
suggestion to the push's own check. A template may repeat a guardrail with the
settings' value, never change it.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import TEMPLATES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.config import Settings
from sheets_sync.errors import TemplateError
from sheets_sync.jobs.run import sync_now
from sheets_sync.kpis.runner import build_context, compute_frame
from sheets_sync.pricing.model import Rules
from sheets_sync.pricing.validate import check_price
from sheets_sync.sync import load_all_templates

AS_OF = dt.date(2026, 5, 31)
SELLERS = ("S1", "S2", "S3")
PRODUCTS = ("P1", "P2")
COUNTRIES = ("FR", "DE")
CENT = Decimal("0.01")

SETTINGS = [
    {},  # the defaults: 5000, 0.30
    {"SHEETS_SYNC_PRICE_MAX_CHANGE": "0.1", "SHEETS_SYNC_PRICE_CEILING": "200"},
    {"SHEETS_SYNC_PRICE_MAX_CHANGE": "0.125", "SHEETS_SYNC_PRICE_CEILING": "150.005"},
    {"SHEETS_SYNC_PRICE_MAX_CHANGE": "0.33335", "SHEETS_SYNC_PRICE_CEILING": "999.99"},
    {"SHEETS_SYNC_PRICE_MAX_CHANGE": "0.1234567891", "SHEETS_SYNC_PRICE_CEILING": "333.33"},
    {"SHEETS_SYNC_PRICE_MAX_CHANGE": "1.5", "SHEETS_SYNC_PRICE_CEILING": "300"},
]

cents = st.one_of(
    st.just(0),  # offline
    st.integers(1, 60_000),
    st.sampled_from([1, 2, 3, 7, 333, 3333, 6667, 9999, 14_999, 15_000, 19_999, 20_000, 20_001]),
)
grids = st.dictionaries(
    st.tuples(
        st.sampled_from(SELLERS), st.sampled_from(PRODUCTS), st.sampled_from(schema.GRADES),
        st.sampled_from(COUNTRIES),
    ),
    cents,
    min_size=1,
    max_size=40,
)  # fmt: skip


@pytest.fixture(scope="module")
def market(module_engine: Engine) -> Engine:
    """Sellers and products; each example brings its own grid."""
    created = dt.datetime(2024, 1, 1)
    with module_engine.begin() as conn:
        conn.execute(insert(schema.sellers), [
            {"seller_id": s, "name": s, "country": "FR", "status": "active", "created_at": created}
            for s in SELLERS
        ])  # fmt: skip
        conn.execute(insert(schema.products), [
            {"product_id": p, "category": "smartphone", "brand": "Apple", "model": p,
             "storage_gb": 128, "release_year": 2022} for p in PRODUCTS
        ])  # fmt: skip
    return module_engine


def put_grid(engine: Engine, grid: dict[tuple[str, str, str, str], int]) -> None:
    with engine.begin() as conn:
        conn.execute(delete(schema.price_grid))
        conn.execute(insert(schema.price_grid), [
            {"seller_id": s, "product_id": p, "grade": g, "country": c,
             "price": Decimal(amount) / 100, "currency": "EUR", "version": 1,
             "updated_at": dt.datetime(2026, 5, 1), "updated_by": "test"}
            for (s, p, g, c), amount in grid.items()
        ])  # fmt: skip


def suggestions(engine: Engine, config: Settings) -> list[dict[str, Any]]:
    """The Pricing tab's rows as a sync computes them under ``config``."""
    template = load_all_templates(config)["Pricing"]
    with engine.connect() as conn:
        frame = compute_frame(conn, template, build_context(conn, template, as_of=AS_OF))
    return [dict(zip(frame.headers, row, strict=True)) for row in frame.rows]


def check_every_suggestion(engine: Engine, config: Settings, grid: dict[Any, int]) -> None:
    put_grid(engine, grid)
    rules = Rules.from_settings(config.pricing)
    rows = suggestions(engine, config)
    assert len(rows) == len(grid)
    for row in rows:
        suggested, current = row["Suggested price"], row["Current price"]
        if suggested is None:
            continue
        assert current > 0, row
        problem = check_price(suggested, current, None, rules)
        assert problem is None, (row, problem)
    check_grade_intent(rows, config)


def check_grade_intent(rows: list[dict[str, Any]], config: Settings) -> None:
    """What the suggestion means to keep (kpis/pricing.py): at most the lowest proposal
    (suggestion, else current price) of the better active grades of the same seller ×
    product × market, unless that would take it under its own reason-free floor."""
    share = config.pricing.price_guardrails[1]
    if share != share.quantize(Decimal("0.000001")):
        return  # applied truncated to 6 decimals: its floor may sit a cent higher
    rank = schema.GRADE_RANK
    proposals = {
        (r["Seller ID"], r["Product ID"], r["Country"], rank[r["Grade"]]): (
            r["Suggested price"] if r["Suggested price"] is not None else r["Current price"]
        )
        for r in rows
        if r["Current price"] > 0
    }
    for r in rows:
        if r["Suggested price"] is None:
            continue
        group, own = (r["Seller ID"], r["Product ID"], r["Country"]), rank[r["Grade"]]
        above = [p for (*g, k), p in proposals.items() if tuple(g) == group and k < own]
        current = r["Current price"]
        floor = max(current - (current * share).quantize(CENT, rounding=ROUND_DOWN), CENT)
        assert not above or r["Suggested price"] <= min(above) or r["Suggested price"] == floor, r


@pytest.mark.parametrize("environ", SETTINGS, ids=lambda e: "-".join(e.values()) or "defaults")
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(grid=grids)
def test_every_suggestion_is_a_price_the_push_takes_without_a_reason(
    market: Engine, environ: dict[str, str], grid: dict[Any, int]
) -> None:
    check_every_suggestion(market, Settings.load(environ=environ), grid)


@settings(max_examples=30, deadline=None)
@given(
    grid=grids,
    max_change=st.decimals(Decimal("0.001"), Decimal("2"), places=5),
    ceiling=st.decimals(Decimal("1"), Decimal("700"), places=3),
)
def test_every_suggestion_passes_under_any_guardrails(
    market: Engine, grid: dict[Any, int], max_change: Decimal, ceiling: Decimal
) -> None:
    environ = {
        "SHEETS_SYNC_PRICE_MAX_CHANGE": str(max_change),
        "SHEETS_SYNC_PRICE_CEILING": str(ceiling),
    }
    check_every_suggestion(market, Settings.load(environ=environ), grid)


@pytest.mark.parametrize(
    ("current", "to_win", "percent", "expected"),
    [
        ("33.33", "99.00", "0.30", "43.32"),  # 33.33 × 30 % = 9.999: 9.99, not 10.00
        ("33.33", "2.00", "0.30", "23.34"),
        ("66.67", "99.00", "0.15", "76.67"),  # 10.0005 → 10.00
        ("200.00", "300.00", "0.33335", "266.67"),  # 66.67: in basis points (3334), 66.68
    ],
)
def test_a_capped_suggestion_stops_at_the_last_cent_the_push_allows(
    market: Engine, current: str, to_win: str, percent: str, expected: str
) -> None:
    grid = {
        ("S1", "P1", "good", "FR"): int(Decimal(current) * 100),
        ("S2", "P1", "good", "FR"): int((Decimal(to_win) - 1) * 100),  # + step 1.00
    }
    put_grid(market, grid)
    config = Settings.load(environ={"SHEETS_SYNC_PRICE_MAX_CHANGE": percent})
    [mine] = [r for r in suggestions(market, config) if r["Seller ID"] == "S1"]
    assert mine["Suggested price"] == Decimal(expected)
    rules = Rules.from_settings(config.pricing)
    assert check_price(mine["Suggested price"], Decimal(current), None, rules) is None
    beyond = mine["Suggested price"] + (CENT if Decimal(to_win) > Decimal(current) else -CENT)
    assert check_price(beyond, Decimal(current), None, rules) is not None


# -- the template cannot disagree ------------------------------------------------------------


def guardrails(config: Settings) -> tuple[Decimal, Decimal]:
    return Rules.from_settings(config.pricing).ceiling, Rules.from_settings(
        config.pricing
    ).max_change


def test_the_push_and_the_tab_read_the_same_guardrails() -> None:
    for environ in SETTINGS:
        config = Settings.load(environ=environ)
        assert guardrails(config) == config.pricing.price_guardrails
        params = load_all_templates(config)["Pricing"].params
        ceiling, share = config.pricing.price_guardrails
        assert (params["ceiling"], params["max_change_pct"]) == (ceiling, share * 100)


def test_the_shipped_template_no_longer_repeats_them() -> None:
    text = (TEMPLATES / "tabs" / "pricing.yaml").read_text()
    params = text.split("params:", 1)[1].split("freeze:", 1)[0]
    assert "ceiling" not in params and "max_change_pct" not in params


def with_pricing_params(folder: Path, lines: str) -> Settings:
    """The shipped templates in ``folder`` with ``lines`` added under Pricing's params."""
    shutil.copytree(TEMPLATES, folder)
    pricing = folder / "tabs" / "pricing.yaml"
    pricing.write_text(pricing.read_text().replace("  step: 1.00\n", f"  step: 1.00\n{lines}"))
    return Settings().replace(templates_dir=folder)


@pytest.mark.parametrize(
    ("lines", "environ"),
    [
        ("  max_change_pct: 30\n  ceiling: 5000.00\n", {}),
        ("  max_change_pct: 30.0\n  ceiling: 5000\n", {}),
        ("  max_change_pct: 10\n  ceiling: 200\n",
         {"SHEETS_SYNC_PRICE_MAX_CHANGE": "0.1", "SHEETS_SYNC_PRICE_CEILING": "200"}),
        ("  max_change_pct: 12.5\n",
         {"SHEETS_SYNC_PRICE_MAX_CHANGE": "0.125", "SHEETS_SYNC_PRICE_CEILING": "150.005"}),
    ],
)  # fmt: skip
def test_a_template_repeating_the_settings_values_loads(
    tmp_path: Path, lines: str, environ: dict[str, str]
) -> None:
    folder = with_pricing_params(tmp_path / "templates", lines).files.templates_dir
    config = Settings.load(environ=environ, templates_dir=folder)
    params = load_all_templates(config)["Pricing"].params
    assert params["ceiling"] == config.pricing.price_guardrails[0]


@pytest.mark.parametrize(
    ("lines", "environ", "says"),
    [
        ("  max_change_pct: 25\n", {},
         "params.max_change_pct: 25 is not what SHEETS_SYNC_PRICE_MAX_CHANGE=0.3 sets (the "
         "largest change the pricing push accepts without a reason, i.e. `max_change_pct: 30`). "
         "Fix: remove `max_change_pct:` from `params:` (the tab follows "
         "SHEETS_SYNC_PRICE_MAX_CHANGE), or set SHEETS_SYNC_PRICE_MAX_CHANGE=0.25 if that limit "
         "is what you meant"),
        ("  ceiling: 5000.00\n", {"SHEETS_SYNC_PRICE_CEILING": "200"},
         "params.ceiling: 5000.0 is not what SHEETS_SYNC_PRICE_CEILING=200 sets (the highest "
         "price the pricing push accepts). Fix: remove `ceiling:` from `params:` (the tab "
         "follows SHEETS_SYNC_PRICE_CEILING), or set SHEETS_SYNC_PRICE_CEILING=5000"),
        ("  ceiling: lots\n", {},
         "params.ceiling: 'lots' is not what SHEETS_SYNC_PRICE_CEILING=5000 sets (the highest "
         "price the pricing push accepts). Fix: remove `ceiling:` from `params:` (the tab "
         "follows SHEETS_SYNC_PRICE_CEILING)"),
    ],
)  # fmt: skip
def test_a_template_disagreeing_with_the_settings_fails_naming_file_line_key_and_fix(
    tmp_path: Path, lines: str, environ: dict[str, str], says: str
) -> None:
    folder = with_pricing_params(tmp_path / "templates", lines).files.templates_dir
    config = Settings.load(environ=environ, templates_dir=folder)
    with pytest.raises(TemplateError) as error:
        load_all_templates(config)
    line = 1 + (folder / "tabs" / "pricing.yaml").read_text().splitlines().index(
        lines.splitlines()[0]
    )
    assert str(error.value).startswith(f"{folder / 'tabs' / 'pricing.yaml'}:{line}: {says}")


def test_a_sync_with_a_disagreeing_template_writes_nothing(
    tmp_path: Path, engine: Engine, db_url: str
) -> None:
    folder = with_pricing_params(
        tmp_path / "templates", "  max_change_pct: 50\n"
    ).files.templates_dir
    config = Settings.load(environ={}, templates_dir=folder, database_url=db_url)
    book = tmp_path / "ops.xlsx"
    with pytest.raises(TemplateError, match=re.escape("params.max_change_pct: 50 is not")):
        sync_now(engine, config, f"xlsx:{book}", tabs=["KPI Daily"])
    assert not book.exists()
    with engine.connect() as conn:
        assert conn.execute(schema.sync_runs.select()).all() == []
