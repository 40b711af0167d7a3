"""Demo data: consistent, deterministic, bounded in time and realistic, on both databases.

Invariant tests load a small dataset into the real database and check what
was stored (read back through SQLAlchemy). Distribution tests check the
magnitudes of docs/design.md §3 on a ~20k-order dataset built once, in memory.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from helpers import ORDER_LIFECYCLE_COLUMNS
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.db import make_engine
from sheets_sync.demo import DemoSpec, build_frames, generate, yesterday_utc
from sheets_sync.demo.spec import MARKETS
from sheets_sync.errors import ConfigError, DatabaseError

END = dt.date(2025, 6, 30)
CUTOFF = pd.Timestamp(END + dt.timedelta(days=1))
SMALL = DemoSpec(orders=3_000, seed=5, end_date=END, days=60)

CHAIN = ["created_at", "shipped_at", "received_at", "inspected_at", "counter_answered_at"]
OPTIONAL = list(ORDER_LIFECYCLE_COLUMNS)
INSPECTED = {"shipped_at", "received_at", "inspected_at", "inspected_grade"}
COUNTER = {"counter_offer_price", "counter_offer_status", "counter_answered_at"}
# status -> (optional columns always set, optional columns that may be set); the rest are NULL.
STATUS_COLUMNS: dict[str, tuple[set[str], set[str]]] = {
    "created": (set(), set()),
    "cancelled": ({"cancelled_at"}, set()),
    "shipped": ({"shipped_at"}, set()),
    "received": ({"shipped_at", "received_at"}, set()),
    "suspended": (INSPECTED | {"suspended_reason"}, set()),
    "counter_offered": (INSPECTED | {"counter_offer_price"}, set()),
    "validated": (INSPECTED, COUNTER),
    "paid": (INSPECTED | {"paid_at", "paid_price"}, COUNTER),
    "returned": (INSPECTED | COUNTER | {"returned_at"}, set()),
}


def read_tables(engine: Engine) -> dict[str, pd.DataFrame]:
    """Every data table as the library reads it (Decimals, datetimes)."""
    with engine.connect() as conn:
        return {
            t.name: pd.DataFrame(conn.execute(select(t)).mappings().all(), columns=list(t.c.keys()))
            for t in schema.DATA_TABLES
        }


def cents(values: pd.Series) -> pd.Series:
    """Decimal euros -> integer cents (exact), NULL stays NULL."""
    return values.map(lambda v: None if v is None or pd.isna(v) else int(Decimal(v) * 100))


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def stored(request: pytest.FixtureRequest, tmp_path_factory) -> dict[str, pd.DataFrame]:
    """SMALL loaded once per database kind, read back through SQLAlchemy.

    Module-scoped (the invariant tests only read), so it prepares its database
    the way the ``engine`` fixture does: a fresh SQLite file, or the session's
    PostgreSQL database emptied first.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'tradein.db'}"
    else:
        url = request.getfixturevalue("pg_session_url")
    engine = make_engine(url)
    if request.param == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    try:
        generate(engine, SMALL)
        return read_tables(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def big() -> dict[str, pd.DataFrame]:
    return build_frames(DemoSpec(orders=20_000, seed=11, end_date=END, days=120))


# --- consistency, on both databases -------------------------------------------------


def test_sizes_match_the_design(stored):
    assert len(stored["tradein_orders"]) == SMALL.orders
    assert 25 <= len(stored["sellers"]) <= 35
    assert 150 <= len(stored["products"]) <= 300
    assert set(stored["tradein_orders"]["country"]) == set(MARKETS)
    assert set(stored["tradein_orders"]["currency"]) == {"EUR"}
    assert set(stored["tradein_orders"]["status"]) <= set(schema.ORDER_STATUSES)


def test_timestamps_are_ordered(stored):
    orders = stored["tradein_orders"]
    for earlier, later in itertools.pairwise(CHAIN):
        both = orders[earlier].notna() & orders[later].notna()
        assert (orders.loc[both, earlier] <= orders.loc[both, later]).all(), (earlier, later)
    last_step = orders["counter_answered_at"].fillna(orders["inspected_at"])
    for final in ("paid_at", "returned_at"):
        done = orders[final].notna()
        assert (last_step[done] <= orders.loc[done, final]).all(), final
    cancelled = orders["cancelled_at"].notna()
    assert (orders.loc[cancelled, "created_at"] <= orders.loc[cancelled, "cancelled_at"]).all()


def test_each_status_sets_exactly_its_columns(stored):
    orders = stored["tradein_orders"]
    present = orders[OPTIONAL].notna()
    for status, (always, maybe) in STATUS_COLUMNS.items():
        rows = present[orders["status"] == status]
        assert len(rows), f"no {status} order in the demo"
        never = set(OPTIONAL) - always - maybe
        assert rows[sorted(always)].all().all(), status
        assert not rows[sorted(never)].any().any(), status


def test_counter_offers_are_consistent(stored):
    orders = stored["tradein_orders"]
    made = orders["counter_offer_price"].notna()
    offered, counter = cents(orders["offered_price"]), cents(orders["counter_offer_price"])
    assert (counter[made] < offered[made]).all() and (counter[made] > 0).all()
    answered = orders["counter_answered_at"].notna()
    assert (answered == orders["counter_offer_status"].notna()).all()
    assert not (answered & ~made).any()
    accepted = orders["counter_offer_status"] == "accepted"
    assert set(orders.loc[accepted, "status"]) <= {"validated", "paid"}
    assert set(orders.loc[answered & ~accepted, "status"]) == {"returned"}
    assert (
        orders.loc[orders["status"] == "returned", "returned_at"]
        == orders.loc[orders["status"] == "returned", "counter_answered_at"]
    ).all()


def test_paid_price_is_the_accepted_counter_offer_or_the_offer(stored):
    orders = stored["tradein_orders"]
    paid = orders[orders["paid_at"].notna()]
    accepted = paid["counter_offer_status"] == "accepted"
    expected = paid["counter_offer_price"].where(accepted, paid["offered_price"])
    assert (cents(paid["paid_price"]) == cents(expected)).all()
    assert orders.loc[orders["paid_at"].isna(), "paid_price"].isna().all()


def test_grid_never_pays_more_for_a_worse_grade(engine, stored):
    grid = stored["price_grid"]
    assert set(grid["updated_by"]) == {"demo-data"}
    wide = grid.pivot_table(
        index=["seller_id", "product_id", "country"],
        columns="grade",
        values="price",
        aggfunc="first",
    )[list(schema.GRADES)].map(Decimal)
    assert wide.notna().all().all()
    for better, worse in itertools.pairwise(schema.GRADES):
        assert (wide[better] >= wide[worse]).all(), (better, worse)
    assert (wide["good"] > 0).any() and (wide["nf_cracked"] == 0).any()


def test_nothing_happens_after_the_end_date(stored):
    for name, frame in stored.items():
        for column in frame.columns:
            if column.endswith("_at"):
                assert (frame[column].dropna() < CUTOFF).all(), (name, column)
    orders = stored["tradein_orders"]
    last_days = orders[orders["created_at"] >= CUTOFF - pd.Timedelta(days=3)]
    assert {"created", "shipped"} <= set(last_days["status"])
    assert orders["created_at"].min() >= pd.Timestamp(SMALL.start_date)


def test_orders_reference_active_sellers_and_known_products(stored):
    orders, sellers = stored["tradein_orders"], stored["sellers"].set_index("seller_id")
    assert set(sellers.loc[orders["seller_id"].unique(), "status"]) == {"active"}
    assert set(orders["product_id"]) <= set(stored["products"]["product_id"])
    assert orders["order_id"].is_unique


def test_suspended_csat_and_grades(stored):
    orders = stored["tradein_orders"]
    assert orders.loc[orders["status"] == "suspended", "suspended_reason"].str.len().gt(0).all()
    rated = orders["csat"].notna()
    assert set(orders.loc[rated, "status"]) == {"paid"}
    assert orders.loc[rated, "csat"].between(1, 5).all()
    graded = orders["inspected_grade"].notna()
    rank = {g: i for i, g in enumerate(schema.GRADES)}
    assert (
        orders.loc[graded, "inspected_grade"].map(rank)
        >= orders.loc[graded, "declared_grade"].map(rank)
    ).all()


def test_onboarding_steps_in_order_and_sellers_match(stored):
    steps = stored["seller_onboarding"]
    assert (steps.groupby("seller_id").size() == len(schema.ONBOARDING_STEPS)).all()
    order = {s: i for i, s in enumerate(schema.ONBOARDING_STEPS)}
    wide = steps.assign(n=steps["step"].map(order)).pivot(
        index="seller_id", columns="n", values="completed_at"
    )
    done = wide.notna().to_numpy()
    assert (done[:, 1:] <= done[:, :-1]).all(), "a step done before an earlier one"
    sellers = stored["sellers"].set_index("seller_id")
    finished = pd.Series(done.all(axis=1), index=wide.index)
    assert ((sellers["status"] == "onboarding") == ~finished[sellers.index]).all()
    assert (
        sellers.loc[finished[finished].index, "onboarded_at"] == wide[finished].max(axis=1)
    ).all()
    assert sellers.loc[~finished[sellers.index].to_numpy(), "onboarded_at"].isna().all()
    last = wide[~finished].max(axis=1)
    assert (last < CUTOFF - pd.Timedelta(days=14)).any(), "no stalled onboarding"
    assert (last >= CUTOFF - pd.Timedelta(days=14)).any(), "no onboarding in progress"


def test_targets_cover_every_month_market_and_category(stored):
    targets = stored["targets"]
    months = pd.date_range(pd.Timestamp(SMALL.start_date).replace(day=1), END, freq="MS")
    assert len(targets) == len(months) * len(MARKETS) * len(schema.CATEGORIES)
    assert set(pd.to_datetime(targets["month"])) == set(months)
    assert (targets["orders_target"] > 0).all() and (targets["paid_amount_target"] > 0).all()


# --- determinism and safety, on both databases --------------------------------------


def dump(engine: Engine) -> dict[str, list[tuple]]:
    """Raw stored values of every data table, in primary-key order."""
    out = {}
    with engine.connect() as conn:
        for table in schema.DATA_TABLES:
            keys = ", ".join(c.name for c in table.primary_key.columns)
            rows = conn.execute(text(f"SELECT * FROM {table.name} ORDER BY {keys}"))
            out[table.name] = [tuple(row) for row in rows]
    return out


def test_same_seed_and_end_date_give_identical_tables(engine):
    spec = DemoSpec(orders=1_500, seed=3, end_date=END, days=30)
    generate(engine, spec)
    first = dump(engine)
    seen: dict[str, tuple[int, int]] = {}
    summary = generate(
        engine, spec, replace=True, progress=lambda s, d, t: seen.update({s: (d, t)})
    )
    assert dump(engine) == first
    assert summary.counts["tradein_orders"] == 1_500
    assert seen["tradein_orders"] == (1_500, 1_500) and seen["generate"] == (1, 1)


def test_another_seed_gives_other_data():
    one = build_frames(DemoSpec(orders=500, seed=1, end_date=END, days=14))
    two = build_frames(DemoSpec(orders=500, seed=2, end_date=END, days=14))
    assert not one["tradein_orders"].equals(two["tradein_orders"])
    assert not one["price_grid"].equals(two["price_grid"])
    assert not one["sellers"]["name"].equals(two["sellers"]["name"])


def test_refuses_existing_data_and_keeps_it(engine):
    spec = DemoSpec(orders=500, seed=1, end_date=END, days=14)
    generate(engine, spec)
    before = dump(engine)
    with pytest.raises(
        DatabaseError, match=r"already holds data \(500 rows in tradein_orders\).*--replace"
    ):
        generate(engine, spec)
    assert dump(engine) == before


# --- spec ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"orders": -1}, r"--orders must be between 0 and [\d,]+ \(got -1\)"),
        ({"days": 3}, r"--days must be between 7 and 3660 \(got 3\)"),
        ({"seed": -2}, r"--seed must be a non-negative integer \(got -2\)"),
    ],
)
def test_bad_spec_names_the_option(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        DemoSpec(end_date=END, **kwargs)


def test_default_end_date_is_yesterday_utc():
    assert DemoSpec().end_date == yesterday_utc()
    assert yesterday_utc() == dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


def test_frames_do_not_depend_on_the_order_count_for_the_catalogue():
    small = build_frames(DemoSpec(orders=100, seed=9, end_date=END, days=30))
    large = build_frames(DemoSpec(orders=2_000, seed=9, end_date=END, days=30))
    for name in ("sellers", "products", "price_grid", "seller_onboarding"):
        pd.testing.assert_frame_equal(small[name], large[name])


# --- magnitudes of docs/design.md §3 (in memory, ~20k orders) -------------------------------


def test_funnel_magnitudes(big):
    orders = big["tradein_orders"]
    mature = orders[orders["created_at"] < CUTOFF - pd.Timedelta(days=20)]
    assert 0.25 <= mature["shipped_at"].isna().mean() <= 0.40
    inspected = orders[orders["inspected_at"].notna()]
    countered = inspected["counter_offer_price"].notna()
    assert 0.15 <= countered.mean() <= 0.30
    flawless = inspected["declared_grade"] == "flawless"
    assert countered[flawless].mean() > countered[~flawless].mean() * 1.5
    answers = orders["counter_offer_status"].dropna()
    assert 0.60 <= (answers == "accepted").mean() <= 0.75


def test_inspection_and_payment_delays(big):
    orders = big["tradein_orders"]
    inspected = orders[orders["inspected_at"].notna()]
    hours = (inspected["inspected_at"] - inspected["received_at"]).dt.total_seconds() / 3600
    assert 16 <= hours.median() <= 32
    assert 0.85 <= (hours <= 48).mean() <= 0.90
    assert hours.quantile(0.99) > 72, "inspection has no tail"
    paid = orders[orders["paid_at"].notna()]
    validated = paid["counter_answered_at"].fillna(paid["inspected_at"])
    days = (paid["paid_at"] - validated).dt.total_seconds() / 86400
    assert days.between(1, 6).all()
    assert 0.25 <= paid["csat"].notna().mean() <= 0.45


def test_volume_mix(big):
    orders = big["tradein_orders"]
    category = orders["product_id"].map(big["products"].set_index("product_id")["category"])
    assert 0.75 <= (category == "smartphone").mean() <= 0.85
    phones = orders[category == "smartphone"]
    assert phones["product_id"].str.startswith("apple-iphone").mean() > 0.6
    share = orders["seller_id"].value_counts(normalize=True)
    assert share.head(3).sum() > 0.4, "no dominant sellers"
    assert len(share) >= 15
    weekday = orders["created_at"].dt.day_of_week.value_counts()
    assert weekday.max() / weekday.min() > 1.15, "no weekly seasonality"


def test_prices_fall_with_grade_and_over_time(big):
    grid = big["price_grid"]
    wide = grid.pivot_table(
        index=["seller_id", "product_id", "country"], columns="grade", values="price"
    )
    live = wide[wide["good"] > 0]
    assert 0.35 <= (live["cracked"] / live["good"]).median() <= 0.45
    sizes = grid[grid["price"] > 0].groupby("seller_id").size()
    assert sizes.min() < sizes.max() / 3, "every seller bids on everything"
    orders = big["tradein_orders"]
    joined = orders.merge(
        grid.rename(columns={"grade": "declared_grade"}),
        on=["seller_id", "product_id", "country", "declared_grade"],
    )
    ratio = joined["offered_price"] / joined["price"]
    early = joined["created_at"] < joined["created_at"].min() + pd.Timedelta(days=7)
    assert ratio[early].mean() > ratio[~early].mean() > 1.0


def test_targets_are_beaten_in_some_markets_and_missed_in_others(big):
    orders, targets = big["tradein_orders"], big["targets"]
    category = orders["product_id"].map(big["products"].set_index("product_id")["category"])
    month = orders["created_at"].dt.to_period("M").dt.to_timestamp().dt.date
    actual = orders.groupby(
        [month.rename("month"), orders["country"], category.rename("category")]
    ).size()
    may = targets[targets["month"] == dt.date(2025, 5, 1)]
    full = may[may["orders_target"] >= 200].set_index(["month", "country", "category"])
    attainment = actual.reindex(full.index).fillna(0) / full["orders_target"]
    assert (attainment > 1.02).sum() >= 2 and (attainment < 0.98).sum() >= 2
    assert attainment.between(0.75, 1.25).all()
    assert np.isfinite(full["paid_amount_target"]).all()


def test_orders_too_dense_for_money_columns_are_refused_before_any_write(engine):
    """A month's target over NUMERIC(10,2) once stopped the load at a bare database overflow."""
    spec = DemoSpec(orders=1_000_000, days=7, end_date=END)
    with pytest.raises(
        ConfigError, match=r"--days 7 make .*NUMERIC\(10,2\).*\(--days \d+ or more\)"
    ):
        generate(engine, spec)
    assert all(not rows for rows in dump(engine).values())
