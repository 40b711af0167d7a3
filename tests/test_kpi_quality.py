"""Quality tab figures equal a straightforward Python computation, on both databases."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from decimal import Decimal
from typing import Any

import helpers
import pytest
from helpers import INJECTION, shipped_template
from kpi_data import CATEGORY, load
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from sheets_sync.errors import TemplateError
from sheets_sync.facts import ensure_fresh
from sheets_sync.jobs.run import sync_now
from sheets_sync.kpis import quality
from sheets_sync.kpis.runner import build_context, compute_frame
from sheets_sync.schema import GRADES

AS_OF = dt.date(2026, 3, 28)
MIDNIGHT = dt.datetime.combine(AS_OF, dt.time())
WINDOWS = (7, 28)
Cell = tuple[str, str]
# Mixed case on purpose: "IMEI…" sorts before "device…" by code point, after it by locale.
REASONS = ["IMEI blacklisted", "Device reported stolen", "device reported stolen", None, ""]


def at(days_before: float, seconds: int = 0) -> dt.datetime:
    """A timestamp ``days_before`` as_of's midnight (fractions allowed), plus seconds."""
    return MIDNIGHT - dt.timedelta(days=days_before) + dt.timedelta(seconds=seconds)


def order(n: int, inspected: dt.datetime | None = None, **fields: Any) -> dict[str, Any]:
    """Order ``Q{n:05d}`` of S1 for a smartphone (P1), inspected at ``inspected`` if given."""
    when = inspected or fields.get("returned_at") or at(40)
    timeline = {"created_at": when - dt.timedelta(days=3)}
    if inspected is not None:
        timeline.update(status="validated", shipped_at=when - dt.timedelta(days=2),
                        received_at=when - dt.timedelta(days=1), inspected_at=when,
                        inspected_grade=fields.get("declared_grade", "good"))  # fmt: skip
    row = helpers.order(f"Q{n:05d}", timeline.pop("created_at"), **timeline)
    return {**row, **fields}


def random_orders(seed: int = 11, count: int = 420) -> list[dict[str, Any]]:
    """A seeded mix of grades, suspensions, counter-offers and returns across both windows."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        inspected = at(rng.randint(-1, 31), rng.choice([0, 1, 43200, 86399]))
        fields: dict[str, Any] = {
            "seller_id": rng.choice(["S1", "S1", "S2", "S3"]),
            "product_id": rng.choice(["P1", "P2", "P3"]),
            "country": rng.choice(["FR", "DE"]),
            "declared_grade": rng.choice(GRADES),
        }
        row = order(n, inspected, **fields)
        row["inspected_grade"] = rng.choice([*GRADES, *GRADES, None, "mint"])
        _outcome(row, rng)
        rows.append(row)
    return rows


def _outcome(row: dict[str, Any], rng: random.Random) -> None:
    """Suspended (by some reason, some lifted later), or counter-offered and maybe returned."""
    u = rng.random()
    if u < 0.12:
        row.update(status=rng.choice(["suspended", "suspended", "paid"]),
                   suspended_reason=rng.choice(REASONS))  # fmt: skip
    elif u < 0.5:
        row.update(counter_offer_price=Decimal("80.00"), status="counter_offered")
        if rng.random() < 0.5:
            returned = row["inspected_at"] + dt.timedelta(days=rng.randint(0, 6), hours=3)
            row.update(counter_offer_status="refused", counter_answered_at=returned,
                       returned_at=returned, status="returned")  # fmt: skip


# -- the independent reference --------------------------------------------------------------


def in_window(ts: dt.datetime | None, days: int) -> bool:
    return ts is not None and AS_OF - dt.timedelta(days=days - 1) <= ts.date() <= AS_OF


def share(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def drop(o: dict[str, Any]) -> int | None:
    """Ranks lost from the declared to the inspected grade; None unless both are grades."""
    if o["declared_grade"] not in GRADES or o["inspected_grade"] not in GRADES:
        return None
    return GRADES.index(o["inspected_grade"]) - GRADES.index(o["declared_grade"])


def suspended(o: dict[str, Any]) -> bool:
    return o["suspended_reason"] is not None or o["status"] == "suspended"


def reason_text(orders: list[dict[str, Any]]) -> str | None:
    counts = Counter(o["suspended_reason"] or "unspecified" for o in orders)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if not ranked:
        return None
    text = "; ".join(f"{reason}: {n}" for reason, n in ranked[:5])
    return text + (f"; +{len(ranked) - 5} other reasons" if len(ranked) > 5 else "")


def reference_cell(orders: list[dict[str, Any]], days: int) -> dict[str, Any]:
    """One seller × category's figures for one window, by plain loops."""
    inspected = [o for o in orders if in_window(o["inspected_at"], days)]
    drops = [drop(o) for o in inspected if drop(o) is not None]
    one, more = drops.count(1), sum(d >= 2 for d in drops)
    countered = sum(o["counter_offer_price"] is not None for o in inspected)
    held = [o for o in inspected if suspended(o)]
    return {
        f"inspected_{days}d": len(inspected),
        f"graded_{days}d": len(drops),
        f"down_one_{days}d": one,
        f"down_two_plus_{days}d": more,
        f"counter_offers_{days}d": countered,
        f"suspended_{days}d": len(held),
        f"returned_{days}d": sum(in_window(o["returned_at"], days) for o in orders),
        f"down_one_share_{days}d": share(one, len(drops)),
        f"down_two_plus_share_{days}d": share(more, len(drops)),
        f"counter_offer_rate_{days}d": share(countered, len(inspected)),
        f"suspension_reasons_{days}d": reason_text(held),
    }


def reference(orders: list[dict[str, Any]]) -> dict[Cell, dict[str, Any]]:
    """Every seller × category with an inspection or a return in 28 days → its figures."""
    cells: dict[Cell, list[dict[str, Any]]] = {}
    for o in orders:
        cells.setdefault((o["seller_id"], CATEGORY[o["product_id"]]), []).append(o)
    return {
        cell: reference_cell(mine, 7) | reference_cell(mine, 28)
        for cell, mine in sorted(cells.items())
        if any(in_window(o["inspected_at"], 28) or in_window(o["returned_at"], 28) for o in mine)
    }


def reference_status(figures: dict[str, Any], params: dict[str, Any]) -> str:
    window = params["status_window_days"]
    if figures[f"inspected_{window}d"] < params["min_volume"]:
        return "LOW VOLUME"
    colours = set()
    for metric, limits in params["thresholds"].items():
        value = figures[f"{metric}_{window}d"]
        if value is not None and value > limits["red"]:
            colours.add("RED")
        elif value is not None and value > limits["amber"]:
            colours.add("AMBER")
    return "RED" if "RED" in colours else "AMBER" if colours else "GREEN"


# -- running the query ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def market(module_engine: Engine) -> tuple[Engine, list[dict[str, Any]]]:
    """The seeded orders, in one database per kind shared by this module's tests."""
    orders = random_orders()
    load(module_engine, orders)
    return module_engine, orders


def run(engine: Engine, **context: Any) -> dict[Cell, dict[str, Any]]:
    """The Quality rows keyed by (seller, category), as the database returns them."""
    with engine.connect() as conn:
        ensure_fresh(conn)  # the daily facts it rolls up, as the runner does
        result = conn.execute(quality.build(quality.QUERY.context(AS_OF, **context)))
        return {(r["seller_id"], r["category"]): dict(r) for r in result.mappings()}


def expected(value: Any) -> Any:
    return pytest.approx(value, rel=1e-12) if isinstance(value, float) else value


def assert_matches(row: dict[str, Any], figures: dict[str, Any]) -> None:
    for name, value in figures.items():
        assert row[name] == expected(value), name


# -- the figures ------------------------------------------------------------------------------


def test_rows_are_the_cells_with_an_inspection_or_a_return_in_28_days(market):
    engine, orders = market
    assert list(run(engine)) == list(reference(orders))


@pytest.mark.parametrize("days", WINDOWS)
def test_figures_match_reference(market, days):
    engine, orders = market
    rows = run(engine)
    for cell, figures in reference(orders).items():
        window = {k: v for k, v in figures.items() if k.endswith(f"_{days}d")}
        assert_matches(rows[cell], window)


def test_reference_data_exercises_every_measure(market):
    """Guards the dataset: every count is non-zero somewhere, reasons tie and overflow-free."""
    _, orders = market
    cells = reference(orders).values()
    for name in quality.COUNTS:
        for days in WINDOWS:
            assert any(c[f"{name}_{days}d"] for c in cells), (name, days)
    texts = [c["suspension_reasons_28d"] for c in cells if c["suspension_reasons_28d"]]
    assert any("unspecified" in t for t in texts) and any("device" in t for t in texts)
    assert any(c["inspected_28d"] > c["graded_28d"] for c in cells)


def test_status_follows_the_shipped_template(market):
    engine, orders = market
    params = shipped_template("quality").params
    rows = run(engine, params=params)
    statuses = {cell: reference_status(f, params) for cell, f in reference(orders).items()}
    assert {cell: row["status"] for cell, row in rows.items()} == statuses


def test_filters_restrict_the_orders_counted(market):
    engine, orders = market
    rows = run(engine, filters={"country": ("DE",), "category": ("smartphone",)})
    german = [
        o for o in orders if o["country"] == "DE" and CATEGORY[o["product_id"]] == "smartphone"
    ]
    figures = reference(german)
    assert list(rows) == list(figures) and {c for _, c in rows} == {"smartphone"}
    for cell, values in figures.items():
        assert_matches(rows[cell], values)


# Window boundaries: day 1 is as_of itself, so day 7 starts 6 days before its midnight.
EDGES = [
    (at(0, 86399), True, True),  # last second of as_of
    (at(6), True, True),  # first second of day 7
    (at(7, 86399), False, True),  # last second of day 8
    (at(27), False, True),  # first second of day 28
    (at(28, 86399), False, False),  # last second of day 29
    (at(-1), False, False),  # the day after as_of
]


@pytest.mark.parametrize(("when", "in_7", "in_28"), EDGES)
def test_inspection_measures_are_dated_by_inspection(engine, when, in_7, in_28):
    """Inspected, graded, downgraded, countered and suspended all move with ``inspected_at``."""
    load(engine, [
        order(1, when, declared_grade="flawless", inspected_grade="used",
              counter_offer_price=Decimal("60.00"), suspended_reason="IMEI blacklisted"),
        order(2, at(2)),  # keeps the cell listed whatever the edge
    ])  # fmt: skip
    row = run(engine)[("S1", "smartphone")]
    for days, inside in ((7, in_7), (28, in_28)):
        figures = [row[f"{m}_{days}d"] for m in ("inspected", "graded", "down_two_plus",
                                                 "counter_offers", "suspended")]  # fmt: skip
        assert figures == [1 + inside, 1 + inside, int(inside), int(inside), int(inside)]
        reasons = "IMEI blacklisted: 1" if inside else None
        assert row[f"suspension_reasons_{days}d"] == reasons


@pytest.mark.parametrize(("when", "in_7", "in_28"), EDGES)
def test_returns_are_dated_by_the_return(engine, when, in_7, in_28):
    """Inspected long before the window: the return alone counts, and lists the cell."""
    load(engine, [order(1, at(40), counter_offer_price=Decimal("60.00"), returned_at=when)])
    rows = run(engine)
    assert (("S1", "smartphone") in rows) is in_28
    if in_28:
        row = rows[("S1", "smartphone")]
        assert (row["returned_7d"], row["returned_28d"]) == (int(in_7), 1)
        assert (row["inspected_28d"], row["counter_offers_28d"]) == (0, 0)


@pytest.mark.parametrize(
    ("declared", "inspected", "graded", "one", "more"),
    [
        ("good", "good", 1, 0, 0),  # as declared
        ("good", "used", 1, 1, 0),  # one grade down
        ("good", "cracked", 1, 0, 1),  # two down
        ("flawless", "nf_cracked", 1, 0, 1),  # five down
        ("cracked", "used", 1, 0, 0),  # an upgrade is not a downgrade
        ("nf_cracked", "flawless", 1, 0, 0),
        ("good", None, 0, 0, 0),  # no inspected grade: not compared
        ("good", "mint", 0, 0, 0),  # not a grade: not compared
    ],
)
def test_declared_vs_inspected_grade(engine, declared, inspected, graded, one, more):
    load(engine, [order(1, at(1), declared_grade=declared, inspected_grade=inspected)])
    row = run(engine)[("S1", "smartphone")]
    assert (row["inspected_7d"], row["graded_7d"]) == (1, graded)
    assert (row["down_one_7d"], row["down_two_plus_7d"]) == (one, more)
    shares = (row["down_one_share_7d"], row["down_two_plus_share_7d"])
    assert shares == ((one, more) if graded else (None, None))


def test_zero_denominators_give_empty_rates(engine):
    """A cell with returns only has no rate at all; one with no graded order no shares."""
    load(engine, [
        order(1, at(35), returned_at=at(3)),
        order(2, at(2), product_id="P3", inspected_grade=None,
              counter_offer_price=Decimal("50.00")),
    ])  # fmt: skip
    rows = run(engine)
    returned, ungraded = rows[("S1", "smartphone")], rows[("S1", "laptop")]
    assert (returned["inspected_7d"], returned["returned_7d"]) == (0, 1)
    assert all(returned[f"{rate}_{w}d"] is None for rate in quality.RATES for w in WINDOWS)
    assert (ungraded["inspected_7d"], ungraded["graded_7d"]) == (1, 0)
    assert ungraded["down_one_share_7d"] is ungraded["down_two_plus_share_7d"] is None
    assert ungraded["counter_offer_rate_7d"] == 1.0
    assert returned["status"] == ungraded["status"] == "LOW VOLUME"


def _suspended(n: int, reason: str | None, days_before: float = 1, **fields: Any) -> dict:
    return order(n, at(days_before), suspended_reason=reason, status="suspended", **fields)


def test_suspensions_are_listed_by_reason_most_frequent_first(engine):
    spec = [("IMEI blacklisted", 1)] * 3 + [("device reported stolen", 2)] * 2 + [
        ("Suspected counterfeit", 20), (None, 1), ("", 3),
    ]  # fmt: skip
    orders = [_suspended(n, reason, days) for n, (reason, days) in enumerate(spec)]
    orders.append(order(99, at(1), status="paid", suspended_reason="Different model received"))
    load(engine, orders)
    row = run(engine)[("S1", "smartphone")]
    assert (row["suspended_7d"], row["suspended_28d"]) == (8, 9)
    # Ties by code point: upper case first, whatever the database's locale.
    assert row["suspension_reasons_7d"] == (
        "IMEI blacklisted: 3; device reported stolen: 2; unspecified: 2; "
        "Different model received: 1"
    )
    assert row["suspension_reasons_28d"] == (
        "IMEI blacklisted: 3; device reported stolen: 2; unspecified: 2; "
        "Different model received: 1; Suspected counterfeit: 1"
    )
    assert row["suspension_reasons_28d"] == reason_text([o for o in orders if suspended(o)])


def test_a_suspended_status_without_a_reason_counts_as_unspecified(engine):
    load(engine, [_suspended(1, None), order(2, at(1), status="paid")])
    row = run(engine)[("S1", "smartphone")]
    assert (row["suspended_7d"], row["suspension_reasons_7d"]) == (1, "unspecified: 1")


def test_more_reasons_than_listed_are_summed_up(engine):
    reasons = ["A", "B", "C", "D", "E", "F", "G"]
    load(engine, [_suspended(n, r) for n, r in enumerate(reasons)] + [_suspended(9, "G")])
    row = run(engine)[("S1", "smartphone")]
    assert row["suspension_reasons_7d"] == "G: 2; A: 1; B: 1; C: 1; D: 1; +2 other reasons"


# -- the RAG status ---------------------------------------------------------------------------

LIMITS = {
    "min_volume": 20,
    "status_window_days": 28,
    "thresholds": {
        "down_one_share": {"direction": "above", "amber": 0.20, "red": 0.30},
        "down_two_plus_share": {"direction": "above", "amber": 0.05, "red": 0.10},
    },
}


def _graded_batch(one: int, more: int, volume: int = 20, ungraded: int = 0) -> list[dict]:
    """``volume`` orders inspected 10 days ago: ``one`` a grade down, ``more`` two down,
    the last ``ungraded`` without an inspected grade."""
    rows = []
    for n in range(volume):
        grade = "used" if n < one else "cracked" if n < one + more else "good"
        rows.append(order(n, at(10), inspected_grade=None if n >= volume - ungraded else grade))
    return rows


@pytest.mark.parametrize(
    ("one", "more", "volume", "ungraded", "status"),
    [
        (4, 0, 20, 0, "GREEN"),  # 0.20 exactly on amber: keeps the better colour
        (5, 0, 20, 0, "AMBER"),  # 0.25
        (6, 0, 20, 0, "AMBER"),  # 0.30 exactly on red
        (7, 0, 20, 0, "RED"),  # 0.35
        (0, 1, 20, 0, "GREEN"),  # two or more: 0.05 on amber
        (0, 2, 20, 0, "AMBER"),  # 0.10 on red
        (0, 3, 20, 0, "RED"),  # 0.15
        (5, 3, 20, 0, "RED"),  # the worst colour wins
        (3, 0, 20, 10, "AMBER"),  # shares are out of graded orders: 3 / 10 = 0.30
        (7, 3, 19, 0, "LOW VOLUME"),  # under min_volume inspected, whatever the rates
        (7, 3, 20, 20, "GREEN"),  # volume counts inspected orders; no share, no colour
    ],
)
def test_rag_thresholds_at_and_around_limits(engine, one, more, volume, ungraded, status):
    orders = _graded_batch(one, more, volume, ungraded)
    load(engine, orders)
    row = run(engine, params=LIMITS)[("S1", "smartphone")]
    figures = reference(orders)[("S1", "smartphone")]
    assert_matches(row, figures)
    assert row["status"] == reference_status(figures, LIMITS) == status


def test_status_window_and_counter_offer_rate_thresholds(engine):
    """On the 7-day window, orders inspected 10 days ago are not volume."""
    orders = _graded_batch(0, 0, volume=30)
    for o in orders[:12]:
        o.update(inspected_at=at(2), counter_offer_price=Decimal("70.00"))
    load(engine, orders)
    params = {"min_volume": 12, "status_window_days": 7, "thresholds": {
        "counter_offer_rate": {"direction": "above", "amber": 0.5, "red": 0.9},
    }}  # fmt: skip
    row = run(engine, params=params)[("S1", "smartphone")]
    assert (row["inspected_7d"], row["counter_offer_rate_7d"]) == (12, 1.0)
    assert row["counter_offer_rate_28d"] == pytest.approx(12 / 30)
    assert row["status"] == "RED"
    assert run(engine, params={**params, "min_volume": 13})[("S1", "smartphone")]["status"] == (
        "LOW VOLUME"
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"thresholds": {"sla_rate": {"direction": "below", "amber": 0.9, "red": 0.8}}},
         "params.thresholds.sla_rate: unknown metric. Fix: use one of ['down_one_share', "
         "'down_two_plus_share', 'counter_offer_rate']"),
        ({"thresholds": {"down_one_share": {"direction": "above", "amber": 0.3, "red": 0.2}}},
         "red 0.2 is not beyond amber 0.3"),
        ({"status_window_days": 14}, "params.status_window_days: 14 is not a window of this tab"),
        ({"min_volume": -1}, "params.min_volume: -1 is not a whole number ≥ 0"),
    ],
)  # fmt: skip
def test_bad_params_name_the_key_and_the_fix(params, message):
    with pytest.raises(TemplateError, match="Fix:") as error:
        quality.build(quality.QUERY.context(AS_OF, params=params))
    assert message in str(error.value)


# -- the tab ----------------------------------------------------------------------------------


def test_template_runs_through_the_runner(market):
    """Every column of the shipped template maps onto the query and comes out typed."""
    engine, orders = market
    template = shipped_template("quality")
    with engine.connect() as conn:
        frame = compute_frame(conn, template, build_context(conn, template, as_of=AS_OF))
    figures = reference(orders)
    assert [(r[0], r[2]) for r in frame.rows] == list(figures)
    for row in frame.rows:
        values = dict(zip((c.source for c in template.columns), row, strict=True))
        cell = figures[(values["seller_id"], values["category"])]
        for name, value in cell.items():
            assert values[name] == (pytest.approx(value, abs=1e-6) if isinstance(value, float)
                                    else value), name  # fmt: skip


def test_the_tab_syncs_to_a_workbook(engine, settings, tmp_path):
    orders = [
        order(1, at(1), seller_id="S2", declared_grade="flawless", inspected_grade="cracked"),
        order(2, at(3), seller_id="S2", product_id="P3", suspended_reason="IMEI blacklisted"),
    ]
    load(engine, orders)
    book = tmp_path / "ops.xlsx"
    sync_now(engine, settings, f"xlsx:{book}", tabs=["Quality"], as_of=AS_OF)
    sheet = load_workbook(book)["Quality"]
    header, *values = sheet.values
    rows = [dict(zip(header, r, strict=True)) for r in values]
    assert [(r["Seller ID"], r["Seller"], r["Category"]) for r in rows] == [
        ("S2", INJECTION, "laptop"),
        ("S2", INJECTION, "smartphone"),
    ]
    laptop, phone = rows
    assert (phone["Down 2+ grades 7d"], phone["Down 2+ grades share 7d"]) == (1, 1.0)
    assert laptop["Suspension reasons 28d"] == "IMEI blacklisted: 1"
    assert {r["Status"] for r in rows} == {"LOW VOLUME"}
    assert sheet["M2"].number_format == "0.0%"
