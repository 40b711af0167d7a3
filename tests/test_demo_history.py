"""The demo's price history: chronological, chained to the grid, and the prices orders saw.

Read back from the real databases and checked against an independent
rebuild in pandas (the price in force on a day is the ``old_price`` of the
listing's first change after that day, else its grid price), never against
the generator's own functions.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from test_demo_data import END, SMALL, cents, read_tables, stored  # noqa: F401  (fixture)

from sheets_sync import schema
from sheets_sync.demo import DemoSpec, build_frames

LISTING = ["seller_id", "product_id", "grade", "country"]


def test_changes_are_chronological_imports_inside_the_window(stored):  # noqa: F811
    changes = stored["price_changes"].sort_values("change_id")
    assert len(changes) > 0
    assert changes["changed_at"].is_monotonic_increasing
    assert set(changes["source"]) == {"import"} and set(changes["reason"]) == {"demo history"}
    start = pd.Timestamp(SMALL.start_date)
    assert (changes["changed_at"] > start).all()
    assert (changes["changed_at"] < pd.Timestamp(END + pd.Timedelta(days=1))).all()
    assert (changes["changed_at"] == changes["changed_at"].dt.normalize()).all()


def test_each_listing_chains_to_its_grid_price_and_version(stored):  # noqa: F811
    changes = stored["price_changes"].sort_values("change_id")
    changes = changes.assign(old=cents(changes["old_price"]), new=cents(changes["new_price"]))
    assert (changes["old"] != changes["new"]).all()
    grouped = changes.groupby(LISTING, sort=False)
    previous_new = grouped["new"].shift()
    chained = previous_new.isna() | (previous_new == changes["old"])
    assert chained.all(), "a change's old price is not the listing's previous new price"
    grid = stored["price_grid"].set_index(LISTING)
    last = grouped["new"].last()
    assert (cents(grid.loc[last.index, "price"]) == last).all()
    count = grouped.size().reindex(grid.index, fill_value=0)
    assert (grid["version"] == 1 + count).all()
    assert (grid.loc[count.index[count > 0], "price"] > 0).all(), "an offline listing moved"


def _in_force(rows: pd.DataFrame, changes: pd.DataFrame, grid: pd.DataFrame) -> pd.Series:
    """The price in force on each row's day (``LISTING`` columns + ``created_at``), as stored:
    the old price of the listing's first change on a later day, else the grid price."""
    rows = rows[[*LISTING, "created_at"]].reset_index(drop=True)
    rows["row"] = np.arange(len(rows))
    rows["next_day"] = rows["created_at"].dt.normalize() + pd.Timedelta(days=1)
    later = rows.merge(changes[[*LISTING, "changed_at", "old_price"]], on=LISTING)
    later = later[later["changed_at"] >= later["next_day"]]
    first = later.sort_values("changed_at", kind="stable").groupby("row")["old_price"].first()
    now = rows.merge(grid[[*LISTING, "price"]], on=LISTING, how="left")["price"]
    return first.reindex(rows["row"]).reset_index(drop=True).fillna(now)


def test_orders_were_offered_the_price_in_force_on_their_day(stored):  # noqa: F811
    orders, changes, grid = (stored[t] for t in ("tradein_orders", "price_changes", "price_grid"))
    rows = orders.rename(columns={"declared_grade": "grade"})
    in_force = cents(_in_force(rows, changes, grid))
    assert (in_force.to_numpy() == cents(orders["offered_price"]).to_numpy()).all()
    today = cents(rows.merge(grid, on=LISTING, how="left")["price"])
    assert (today.to_numpy() != in_force.to_numpy()).any(), "the history changed no order's price"


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return build_frames(DemoSpec(orders=20_000, seed=11, end_date=END, days=120))


def test_grades_stay_in_order_every_day(frames):
    """The six grades of a listing move together: a better grade never pays less, any day."""
    changes, grid = frames["price_changes"], frames["price_grid"]
    key = ["seller_id", "product_id", "country"]
    for day in sorted(changes["changed_at"].unique())[::7]:
        later = changes[changes["changed_at"] > day].sort_values("changed_at")
        first = later.groupby(LISTING)["old_price"].first()
        price = grid.set_index(LISTING)["price"]
        price = first.reindex(price.index).fillna(price)
        wide = price.unstack("grade")[list(schema.GRADES)]
        for better, worse in itertools.pairwise(schema.GRADES):
            assert (wide[better] >= wide[worse]).all(), (day, better, worse)
    assert changes.groupby([*key, "changed_at"]).ngroups < len(changes)


def test_the_best_offer_usually_wins_and_runners_up_win_less_by_rank(frames):
    """The rank of each order's winner among its cell's prices in force that day."""
    orders, changes, grid = (frames[t] for t in ("tradein_orders", "price_changes", "price_grid"))
    sample = orders.sample(3_000, random_state=1).rename(columns={"declared_grade": "grade"})
    online = grid.loc[grid["price"] > 0, LISTING]
    rivals = sample[["order_id", "product_id", "grade", "country", "created_at",
                     "offered_price"]].merge(online, on=["product_id", "grade", "country"])  # fmt: skip
    rivals["rival"] = _in_force(rivals, changes, grid).to_numpy()
    rank = 1 + (rivals["rival"] > rivals["offered_price"]).groupby(rivals["order_id"]).sum()
    share = rank.value_counts(normalize=True)
    assert 0.5 <= share[1] <= 0.85
    assert share[1] > share.get(2, 0) > share.get(3, 0) > 0


def test_ranks_shift_over_the_window(frames):
    """Sellers overtake each other: many cells change leader at least once."""
    changes, grid = frames["price_changes"], frames["price_grid"]
    first = changes.sort_values("changed_at").groupby(LISTING)["old_price"].first()
    price = grid.set_index(LISTING)["price"]
    start = first.reindex(price.index).fillna(price)
    cell = ["product_id", "grade", "country"]
    online = (price > 0).to_numpy()
    leader_then = start[online].groupby(cell).idxmax()
    leader_now = price[online].groupby(cell).idxmax()
    changed = (leader_then != leader_now).mean()
    assert 0.1 < changed < 0.9


def test_history_is_the_same_for_a_seed_and_differs_across_seeds():
    one = build_frames(DemoSpec(orders=500, seed=4, end_date=END, days=30))
    again = build_frames(DemoSpec(orders=500, seed=4, end_date=END, days=30))
    other = build_frames(DemoSpec(orders=500, seed=5, end_date=END, days=30))
    pd.testing.assert_frame_equal(one["price_changes"], again["price_changes"])
    pd.testing.assert_frame_equal(one["tradein_orders"], again["tradein_orders"])
    assert not one["price_changes"].equals(other["price_changes"])
    assert np.array_equal(
        one["price_changes"]["change_id"], np.arange(1, len(one["price_changes"]) + 1)
    )
