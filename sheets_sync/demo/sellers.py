"""Sellers, their onboarding and their price grid.

A few large refurbishers bid on nearly everything in every market and win
most orders; a long tail bids on a subset of products in one to a few
markets. Some sellers are still onboarding (a couple stalled), a few are
paused or offboarded (their listings are offline, price 0).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sheets_sync.demo.spec import MARKETS, DemoSpec
from sheets_sync.schema import GRADES, ONBOARDING_STEPS

N_ACTIVE, N_ONBOARDING, N_PAUSED, N_OFFBOARDED = 23, 4, 2, 1
N_DOMINANT = 4
MARKET_WEIGHT = np.array([0.30, 0.25, 0.13, 0.14, 0.08, 0.06, 0.04])
COUNTRY_PRICE = np.array([1.00, 1.03, 0.94, 0.95, 1.01, 0.99, 1.00])
GRADE_FACTOR_RANGE = (  # share of the good-grade price, per grade (low, high)
    (1.08, 1.18),
    (1.0, 1.0),
    (0.76, 0.86),
    (0.36, 0.44),
    (0.18, 0.26),
    (0.08, 0.14),
)
ONBOARDING_GAP_DAYS = ((1, 5), (2, 10), (1, 7), (1, 5), (2, 10))
"""Days between one onboarding step and the next (the first: after sign-up)."""

_NAME_HEADS = (
    "Reboot",
    "ReNew",
    "Second Life",
    "Phoenix",
    "Greenloop",
    "Circulo",
    "Revivo",
    "Restart",
    "Nova",
    "Clever",
    "Eurotronic",
    "Mint",
    "Rebuy",
    "Upcycle",
    "Alpen",
    "Atlas",
    "Bluewave",
    "Kappa",
    "Lumen",
    "Orbit",
    "Pixel",
    "Quantum",
    "Rhein",
    "Sierra",
    "Vita",
    "Zenith",
    "Helix",
    "Loire",
    "Tulip",
    "Iberia",
    "Adriatic",
    "Flanders",
)
_NAME_TAILS = (
    "Mobile",
    "Devices",
    "Tech",
    "Phones",
    "Electronics",
    "Refurb",
    "Recommerce",
    "Repair",
    "Trade",
    "Reuse",
)
_LEGAL_FORM = {
    "FR": "SAS",
    "DE": "GmbH",
    "ES": "S.L.",
    "IT": "S.r.l.",
    "NL": "B.V.",
    "BE": "BV",
    "AT": "GmbH",
}


def _names(rng: np.random.Generator, countries: list[str]) -> list[str]:
    """Unique, company-like names with the legal form of the seller's HQ country."""
    heads = rng.permutation(len(_NAME_HEADS))[: len(countries)]
    tails = rng.integers(0, len(_NAME_TAILS), len(countries))
    return [
        f"{_NAME_HEADS[h]} {_NAME_TAILS[t]} {_LEGAL_FORM[c]}"
        for h, t, c in zip(heads, tails, countries, strict=True)
    ]


def _epoch_seconds(day: dt.date) -> int:
    return int(np.datetime64(day, "s").astype(np.int64))


def _statuses() -> list[str]:
    """Statuses by dominance rank: the big sellers are active, the tail holds the rest."""
    return (
        ["active"] * N_ACTIVE
        + ["paused"] * N_PAUSED
        + ["offboarded"] * N_OFFBOARDED
        + ["onboarding"] * N_ONBOARDING
    )


def sellers_frame(spec: DemoSpec, rng: np.random.Generator) -> pd.DataFrame:
    """Sellers ranked by dominance (``rank`` 0 is the biggest), ids shuffled."""
    statuses = _statuses()
    n = len(statuses)
    countries = [str(c) for c in rng.choice(MARKETS, n, p=MARKET_WEIGHT)]
    countries[:N_DOMINANT] = ["FR", "DE", "FR", "ES"]
    ids = [f"SEL-{i + 1:03d}" for i in rng.permutation(n)]
    onboarding = np.array([s == "onboarding" for s in statuses])
    stalled = onboarding & (np.arange(n) % 2 == 0)
    # Established sellers signed up months before the window; onboarding ones lately.
    age_days = np.where(
        onboarding,
        np.where(stalled, rng.uniform(45, 75, n), rng.uniform(3, 15, n)),
        rng.uniform(120, 900, n),
    )
    start, end = (_epoch_seconds(d) for d in (spec.start_date, spec.end_date))
    anchor = np.where(onboarding, end, start)
    created = (anchor - (age_days * 86_400).astype(np.int64)) // 60 * 60
    return pd.DataFrame(
        {
            "seller_id": ids,
            "name": _names(rng, countries),
            "country": countries,
            "status": statuses,
            "created_at": created.view("datetime64[s]"),
            "rank": np.arange(n),
            "stalled": stalled,
        }
    )


def onboarding_frame(
    sellers: pd.DataFrame, spec: DemoSpec, rng: np.random.Generator
) -> pd.DataFrame:
    """Five steps per seller; onboarding sellers stop early (stalled ones long ago)."""
    n, k = len(sellers), len(ONBOARDING_STEPS)
    gaps = np.column_stack([rng.uniform(lo, hi, n) for lo, hi in ONBOARDING_GAP_DAYS])
    done_at = sellers["created_at"].to_numpy()[:, None] + (np.cumsum(gaps, axis=1) * 86400).astype(
        "timedelta64[s]"
    )
    steps_done = np.full(n, k)
    onboarding = (sellers["status"] == "onboarding").to_numpy()
    steps_done[onboarding] = np.where(sellers["stalled"].to_numpy()[onboarding], 2, 4)
    done = (np.arange(k)[None, :] < steps_done[:, None]) & (done_at < np.datetime64(spec.cutoff))
    frame = pd.DataFrame(
        {
            "seller_id": np.repeat(sellers["seller_id"].to_numpy(), k),
            "step": np.tile(np.array(ONBOARDING_STEPS, dtype=object), n),
            "completed_at": np.where(done, done_at, np.datetime64("NaT")).ravel(),
        }
    )
    frame["completed_at"] = frame["completed_at"].astype("datetime64[s]")
    return frame


def onboarded_at(onboarding: pd.DataFrame) -> pd.Series:
    """When the last step was completed, per seller (NaT while a step is pending)."""
    grouped = onboarding.groupby("seller_id", sort=False)["completed_at"]
    complete = grouped.count() == len(ONBOARDING_STEPS)
    return grouped.max().where(complete)


def _coverage(rank: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Which share of products and how many markets each seller bids on, by rank."""
    big = rank < N_DOMINANT
    mid = (rank >= N_DOMINANT) & (rank < 10)
    share = np.where(
        big,
        rng.uniform(0.88, 0.98, rank.size),
        np.where(mid, rng.uniform(0.45, 0.75, rank.size), rng.uniform(0.15, 0.45, rank.size)),
    )
    markets = np.where(
        big, 7, np.where(mid, rng.integers(3, 7, rank.size), rng.integers(1, 4, rank.size))
    )
    return share, markets


def _seller_markets(
    sellers: pd.DataFrame, n_markets: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Boolean sellers × markets: the HQ country first, then the busiest others."""
    out = np.zeros((len(sellers), len(MARKETS)), dtype=bool)
    for i, (hq, k) in enumerate(zip(sellers["country"], n_markets, strict=True)):
        others = [m for m in range(len(MARKETS)) if MARKETS[m] != hq]
        p = MARKET_WEIGHT[others] / MARKET_WEIGHT[others].sum()
        extra = rng.choice(others, int(k) - 1, replace=False, p=p)
        out[i, [MARKETS.index(hq), *extra]] = True
    return out


def grid_frame(
    sellers: pd.DataFrame, products: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Price grid in cents, one row per seller × product × market × grade.

    Onboarding sellers have no grid yet; paused and offboarded sellers keep
    their rows offline (price 0). Prices never rise as the grade worsens.
    """
    listed = sellers[sellers["status"] != "onboarding"].reset_index(drop=True)
    share, n_markets = _coverage(listed["rank"].to_numpy(), rng)
    in_market = _seller_markets(listed, n_markets, rng)
    in_product = rng.random((len(listed), len(products))) < share[:, None]
    s_idx, p_idx, c_idx = np.nonzero(in_product[:, :, None] & in_market[:, None, :])
    seller_factor = np.where(
        listed["rank"] < N_DOMINANT,
        rng.uniform(1.0, 1.06, len(listed)),
        rng.uniform(0.88, 1.02, len(listed)),
    )
    grade_factor = np.column_stack(
        [rng.uniform(lo, hi, len(listed)) for lo, hi in GRADE_FACTOR_RANGE]
    )
    base = (
        products["base_cents"].to_numpy()[p_idx]
        * COUNTRY_PRICE[c_idx]
        * seller_factor[s_idx]
        * rng.uniform(0.94, 1.06, s_idx.size)
    )
    euros = np.maximum(np.round(base[:, None] * grade_factor[s_idx] / 100), 1)
    euros = _take_some_offline(euros, rng)
    euros[listed["status"].to_numpy()[s_idx] != "active"] = 0
    cents = np.minimum.accumulate(euros, axis=1).astype(np.int64) * 100
    g = len(GRADES)
    return pd.DataFrame(
        {
            "seller_id": np.repeat(listed["seller_id"].to_numpy()[s_idx], g),
            "product_id": np.repeat(products["product_id"].to_numpy()[p_idx], g),
            "grade": np.tile(np.array(GRADES, dtype=object), s_idx.size),
            "country": np.repeat(np.array(MARKETS, dtype=object)[c_idx], g),
            "price": cents.ravel(),
        }
    )


def _take_some_offline(euros: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A few listings stop buying non-functional devices (price 0 = offline)."""
    n = euros.shape[0]
    no_nf_cracked = rng.random(n) < 0.04
    no_nf = no_nf_cracked & (rng.random(n) < 0.3)
    euros[no_nf_cracked, 5] = 0
    euros[no_nf, 4] = 0
    return euros


def seller_rows(sellers: pd.DataFrame, onboarding: pd.DataFrame) -> pd.DataFrame:
    """The ``sellers`` table: contract columns only, ``onboarded_at`` from the steps."""
    done = onboarded_at(onboarding)
    out = sellers[["seller_id", "name", "country", "status", "created_at"]].copy()
    out["onboarded_at"] = out["seller_id"].map(done).astype("datetime64[s]")
    return out.sort_values("seller_id", ignore_index=True)
