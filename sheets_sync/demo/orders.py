"""The order funnel, vectorised: who wins each order, and how far it got by the end date.

Each order draws a market × product × declared grade, is won by a seller who
bids on it (usually the best offer), then walks the funnel: ship or cancel,
receive, inspect (maybe suspend or counter-offer), answer, pay or return.
Every step's time is drawn for every order, then everything at or after the
cut-off (midnight after the end date) is erased, so the last days are still
in flight — a snapshot of last night's data.

Internally times are int64 seconds since the epoch and money int64 cents.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sheets_sync.demo.history import History, prices_on
from sheets_sync.demo.market import CATEGORY_SENSITIVITY, COUNTRY_SENSITIVITY, choose
from sheets_sync.demo.sellers import MARKET_WEIGHT, N_DOMINANT
from sheets_sync.demo.spec import CURRENCY, MARKETS, DemoSpec
from sheets_sync.schema import GRADES

NEVER = np.iinfo(np.int64).max
DAY, HOUR = 86_400, 3_600

DECLARED_GRADE_MIX = np.array([0.15, 0.35, 0.25, 0.12, 0.08, 0.05])
WEEKDAY_FACTOR = np.array([1.05, 1.00, 0.97, 0.95, 0.92, 0.86, 1.15])  # Monday first
HOUR_WEIGHT = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 4, 4.5, 5, 5.5, 5.5, 5, 4.5, 4.5, 5, 6, 7, 7.5, 6.5, 4, 2]
)
SHIP_RATE_BY_MARKET = np.array([0.67, 0.70, 0.62, 0.60, 0.71, 0.66, 0.69])
COUNTER_RATE_BY_GRADE = np.array([0.40, 0.22, 0.16, 0.12, 0.10, 0.05])
P_SUSPENDED = 0.006
P_CSAT = 0.35
ANSWER_SHARE = (0.68, 0.22, 0.10)  # accepted, refused, expired
COUNTER_EXPIRY_DAYS = 7
ORDER_EXPIRY_DAYS = 14
SUSPENDED_REASONS = np.array(
    [
        "Activation lock (iCloud) still on",
        "IMEI blacklisted",
        "Device reported stolen",
        "Different model received",
        "Suspected counterfeit",
    ],
    dtype=object,
)
CSAT_MIX = {False: [0.04, 0.04, 0.09, 0.28, 0.55], True: [0.10, 0.13, 0.22, 0.30, 0.25]}


def _created(spec: DemoSpec, rng: np.random.Generator) -> np.ndarray:
    """Creation times, sorted: weekly seasonality, mild growth, evening peaks."""
    days = np.arange(spec.days)
    first = np.datetime64(spec.start_date, "D")
    weekday = (first + days).astype("datetime64[D]").view("int64")
    weekday = (weekday + 3) % 7  # 1970-01-01 was a Thursday
    weight = WEEKDAY_FACTOR[weekday] * (1 + 0.15 * days / spec.days)
    weight *= rng.lognormal(0, 0.06, spec.days)
    per_day = rng.multinomial(spec.orders, weight / weight.sum())
    day = np.repeat(days, per_day)
    hour = rng.choice(24, spec.orders, p=HOUR_WEIGHT / HOUR_WEIGHT.sum())
    second = hour * HOUR + rng.integers(0, HOUR, spec.orders)
    start = first.astype("datetime64[s]").astype(np.int64)
    return np.sort(start + day * DAY + second)


def _candidates(grid: pd.DataFrame, products: pd.DataFrame) -> dict[str, np.ndarray]:
    """Biddable listings grouped by market × product × grade, best price first."""
    price = grid["price"].to_numpy().reshape(-1, len(GRADES))
    base = grid.iloc[:: len(GRADES)]
    product = pd.Index(products["product_id"]).get_indexer(base["product_id"].to_numpy())
    country = pd.Index(MARKETS).get_indexer(pd.Index(base["country"]))
    b_idx, g_idx = np.nonzero(price > 0)
    key = (product[b_idx] * len(MARKETS) + country[b_idx]) * len(GRADES) + g_idx
    order = np.lexsort((base["seller_id"].to_numpy()[b_idx], -price[b_idx, g_idx], key))
    key, b_idx, g_idx = key[order], b_idx[order], g_idx[order]
    keys, start, count = np.unique(key, return_index=True, return_counts=True)
    sensitivity = _sensitivity(keys, products)
    p_w = products["weight"].to_numpy()[keys // (len(MARKETS) * len(GRADES))]
    c_w = MARKET_WEIGHT[(keys // len(GRADES)) % len(MARKETS)]
    weight = p_w * c_w * DECLARED_GRADE_MIX[keys % len(GRADES)]
    return {
        "price": price,
        "base_seller": base["seller_id"].to_numpy(),
        "base_product": base["product_id"].to_numpy(),
        "base_country": base["country"].to_numpy(),
        "b_idx": b_idx,
        "g_idx": g_idx,
        "start": start,
        "count": count,
        "weight": weight / weight.sum(),
        "sensitivity": sensitivity,
    }


def _sensitivity(keys: np.ndarray, products: pd.DataFrame) -> np.ndarray:
    """The customers' price sensitivity of each cell: its category's × its country's."""
    category = products["category"].to_numpy()[keys // (len(MARKETS) * len(GRADES))]
    by_category = pd.Series(category).map(CATEGORY_SENSITIVITY).fillna(0.2).to_numpy()
    return by_category * COUNTRY_SENSITIVITY[(keys // len(GRADES)) % len(MARKETS)]


def _winners(
    cand: dict[str, np.ndarray],
    created: np.ndarray,
    spec: DemoSpec,
    history: History,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(listing base, declared grade, day, offered cents) per order, at that day's prices."""
    n = created.size
    if len(cand["weight"]) == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, empty
    cell = rng.choice(len(cand["weight"]), n, p=cand["weight"])
    day = created // DAY - np.datetime64(spec.start_date, "D").astype(np.int64)
    choice = choose(cand, cell, day, history, cand["sensitivity"], rng)
    return cand["b_idx"][choice.pick], cand["g_idx"][choice.pick], day, choice.cents


def _seller_quality(sellers: pd.DataFrame, rng: np.random.Generator) -> tuple[dict, dict]:
    """Per-seller multipliers of inspection time and counter-offer rate.

    The big sellers run tight operations; two mid-sized ones lag (slow
    inspections, many counter-offers) so the scorecard and alerts have work.
    """
    rank = sellers["rank"].to_numpy()
    big = rank < N_DOMINANT
    slow = np.where(big, rng.uniform(0.92, 1.08, rank.size), rng.uniform(0.8, 1.25, rank.size))
    picky = np.where(big, rng.uniform(0.9, 1.1, rank.size), rng.uniform(0.7, 1.3, rank.size))
    tail = np.nonzero(~big & (sellers["status"] == "active").to_numpy())[0]
    laggards = rng.choice(tail, min(2, tail.size), replace=False)
    slow[laggards], picky[laggards] = 2.2, 1.8
    ids = sellers["seller_id"].to_numpy()
    return dict(zip(ids, slow, strict=True)), dict(zip(ids, picky, strict=True))


def _delay(
    rng: np.random.Generator, n: int, median_h: float, sigma: float, lo_h: float, hi_h: float
) -> np.ndarray:
    """Log-normal delays in whole seconds, clipped to [lo_h, hi_h] hours."""
    hours = np.clip(rng.lognormal(np.log(median_h), sigma, n), lo_h, hi_h)
    return (hours * HOUR).astype(np.int64)


def _fulfilment(
    n: int, created: np.ndarray, market: np.ndarray, slow: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Ship or cancel, transit, inspection: times for every order (NEVER when skipped)."""
    ship = rng.random(n) < SHIP_RATE_BY_MARKET[market]
    early_cancel = rng.random(n) < 0.35
    cancel_after = np.where(
        early_cancel, _delay(rng, n, 30, 1.0, 0.1, 13.9 * 24), ORDER_EXPIRY_DAYS * DAY
    )
    ship_after = _delay(rng, n, 40, 0.7, 1, 13 * 24)
    transit = _delay(rng, n, 50, 0.35, 12, 8 * 24)
    inspect = (_delay(rng, n, 23, 0.6, 0.5, 20 * 24) * slow).astype(np.int64)
    shipped = np.where(ship, created + ship_after, NEVER)
    received = np.where(ship, shipped + transit, NEVER)
    return {
        "ship": ship,
        "cancelled_at": np.where(ship, NEVER, created + cancel_after),
        "shipped_at": shipped,
        "received_at": received,
        "inspected_at": np.where(ship, received + inspect, NEVER),
    }


def _inspection(
    n: int, g: np.ndarray, ship: np.ndarray, picky: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Suspensions, counter-offers and the inspected grade (worse when countered)."""
    suspended = ship & (rng.random(n) < P_SUSPENDED)
    counter = ship & ~suspended & (rng.random(n) < COUNTER_RATE_BY_GRADE[g] * picky)
    worse = np.minimum(g + 1 + (rng.random(n) < 0.3), len(GRADES) - 1)
    return {
        "suspended": suspended,
        "counter": counter,
        "inspected_grade": np.where(counter, worse, g),
        "reason": SUSPENDED_REASONS[rng.integers(0, len(SUSPENDED_REASONS), n)],
    }


def counter_cents(
    offered: np.ndarray, same_grade: np.ndarray, worse_price: np.ndarray
) -> np.ndarray:
    """A counter-offer: the seller's price that day for the inspected grade, capped at 90%
    of the offer; 70% of the offer when the grade is unchanged (e.g. missing parts), 50%
    when the seller's listing for the inspected grade is offline. Always below the offer."""
    capped = np.minimum(worse_price, offered * 9 // 10)
    return np.where(same_grade, offered * 7 // 10, np.where(worse_price > 0, capped, offered // 2))


def _answers(
    n: int, inspected: np.ndarray, counter: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The customer's answer to a counter-offer, and when (expiry after 7 days)."""
    u = rng.random(n)
    accepted, refused = u < ANSWER_SHARE[0], (u >= ANSWER_SHARE[0]) & (u < sum(ANSWER_SHARE[:2]))
    after = np.where(
        accepted,
        _delay(rng, n, 10, 1.0, 0.1, 6.9 * 24),
        np.where(refused, _delay(rng, n, 14, 1.0, 0.1, 6.9 * 24), COUNTER_EXPIRY_DAYS * DAY),
    )
    answer = np.where(accepted, "accepted", np.where(refused, "refused", "expired")).astype(object)
    answered = np.where(counter & (inspected != NEVER), inspected + after, NEVER)
    return {"accepted": accepted, "answer": answer, "answered_at": answered}


def _cut(times: dict[str, np.ndarray], cutoff: int) -> dict[str, np.ndarray]:
    """Erase everything at or after the cut-off (the end date's midnight)."""
    return {k: np.where(v >= cutoff, NEVER, v) for k, v in times.items()}


def _status(t: dict[str, np.ndarray], suspended: np.ndarray, counter: np.ndarray) -> np.ndarray:
    """The row's final state, read off which timestamps survived the cut-off."""
    has = {k: v != NEVER for k, v in t.items()}
    conditions = [
        has["cancelled_at"],
        has["paid_at"],
        has["returned_at"],
        has["inspected_at"] & suspended,
        has["inspected_at"] & counter & ~has["counter_answered_at"],
        has["inspected_at"],
        has["received_at"],
        has["shipped_at"],
    ]
    choices = [
        "cancelled",
        "paid",
        "returned",
        "suspended",
        "counter_offered",
        "validated",
        "received",
        "shipped",
    ]
    return np.select(conditions, choices, default="created").astype(object)


def _as_datetime(seconds: np.ndarray) -> np.ndarray:
    """int64 epoch seconds (NEVER = missing) as datetime64[s] with NaT."""
    return np.where(seconds == NEVER, np.iinfo(np.int64).min, seconds).view("datetime64[s]")


def _nullable(values: np.ndarray, present: np.ndarray) -> pd.arrays.IntegerArray:
    """Nullable integers (money in cents, CSAT): missing where ``present`` is False."""
    return pd.arrays.IntegerArray(np.where(present, values, 0).astype(np.int64), mask=~present)


def _text(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    out = values.astype(object)
    out[~present] = None
    return out


def orders_frame(
    spec: DemoSpec,
    sellers: pd.DataFrame,
    products: pd.DataFrame,
    grid: pd.DataFrame,
    history: History,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """``tradein_orders`` rows, money in integer cents, times as datetime64[s]."""
    cand = _candidates(grid, products)
    created = _created(spec, rng)
    n = created.size
    b, g, day, offered = _winners(cand, created, spec, history, rng)
    seller_ids = cand["base_seller"][b]
    slow_by, picky_by = _seller_quality(sellers, rng)
    slow = pd.Series(seller_ids).map(slow_by).to_numpy(dtype=float)
    picky = pd.Series(seller_ids).map(picky_by).to_numpy(dtype=float)
    market = pd.Index(MARKETS).get_indexer(cand["base_country"][b])

    t = _fulfilment(n, created, market, slow, rng)
    insp = _inspection(n, g, t.pop("ship"), picky, rng)
    ans = _answers(n, t["inspected_at"], insp["counter"], rng)
    paid_after = rng.integers(DAY, 6 * DAY, n)
    pays = (t["inspected_at"] != NEVER) & ~insp["suspended"] & (~insp["counter"] | ans["accepted"])
    validated = np.where(insp["counter"], ans["answered_at"], t["inspected_at"])
    t["counter_answered_at"] = ans["answered_at"]
    t["paid_at"] = np.where(pays & (validated != NEVER), validated + paid_after, NEVER)
    t["returned_at"] = np.where(insp["counter"] & ~ans["accepted"], ans["answered_at"], NEVER)
    cutoff = int(np.datetime64(spec.cutoff, "s").astype(np.int64))
    t = _cut(t, cutoff)

    worse = prices_on(cand["price"][b, insp["inspected_grade"]], history.factor(b, day))
    counter = counter_cents(offered, insp["inspected_grade"] == g, worse)
    inspected = t["inspected_at"] != NEVER
    countered = insp["counter"] & inspected
    answered = t["counter_answered_at"] != NEVER
    paid = t["paid_at"] != NEVER
    grades = np.array(GRADES, dtype=object)
    frame = pd.DataFrame(
        {
            "order_id": pd.Series(np.arange(1, n + 1))
            .astype(str)
            .str.zfill(8)
            .radd("TI")
            .to_numpy(),
            "seller_id": seller_ids,
            "product_id": cand["base_product"][b],
            "country": cand["base_country"][b],
            "declared_grade": grades[g],
            "offered_price": offered,
            "currency": np.full(n, CURRENCY, dtype=object),
            "status": _status(t, insp["suspended"], insp["counter"]),
            "created_at": created.view("datetime64[s]"),
        }
    )
    for column in ("shipped_at", "received_at", "inspected_at"):
        frame[column] = _as_datetime(t[column])
    frame["inspected_grade"] = _text(grades[insp["inspected_grade"]], inspected)
    frame["counter_offer_price"] = _nullable(counter, countered)
    frame["counter_offer_status"] = _text(ans["answer"], answered)
    frame["counter_answered_at"] = _as_datetime(t["counter_answered_at"])
    frame["paid_at"] = _as_datetime(t["paid_at"])
    frame["paid_price"] = _nullable(np.where(insp["counter"], counter, offered), paid)
    frame["cancelled_at"] = _as_datetime(t["cancelled_at"])
    frame["returned_at"] = _as_datetime(t["returned_at"])
    frame["suspended_reason"] = _text(insp["reason"], insp["suspended"] & inspected)
    frame["csat"] = _nullable(_csat(n, insp["counter"], rng), paid & (rng.random(n) < P_CSAT))
    return frame


def _csat(n: int, countered: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scores 1–5: mostly happy, less so after a counter-offer."""
    plain = rng.choice(5, n, p=CSAT_MIX[False]) + 1
    after_counter = rng.choice(5, n, p=CSAT_MIX[True]) + 1
    return np.where(countered, after_counter, plain)
