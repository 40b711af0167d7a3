"""The expected effect of a set of edits, for the push's preview (docs/design.md §7).

Before anyone pushes, the preview says what the edits that would apply should
do: expected orders per 28 days at the current prices → at the new ones, and
the cost change per 28 days (the orders expected at the new price × (new −
current): more paid out on the orders won, or money kept on a price lowered).
Each edit is priced as the tab's `Expected at new price 28d` prices it
(:func:`sheets_sync.kpis.typed_price.at_prices`: the win model, every other
listing at its current price), so the preview and the tab agree; edits in
the same market cell are each judged against the others' current prices,
not against each other's new ones. The totals are the sums of the rows'
figures as reported (rounded), so they add up.

Advisory, so it never fails a preview: the model is fitted once per preview
(it may fill the model's count cache, not the team's data); with no orders
in its window, or any error, the effect says why it is missing in one line and
the preview goes on.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from sheets_sync.guards import as_of_day
from sheets_sync.kpis.impact import KEY, market_grid
from sheets_sync.kpis.query import QueryContext
from sheets_sync.kpis.typed_price import at_prices, rows_of
from sheets_sync.pricing.model import Outcome, PricingKey
from sheets_sync.schema import price_grid
from sheets_sync.winmodel import FIT_DAYS

log = logging.getLogger(__name__)
CENT = Decimal("0.01")
ORDER_PLACES = 2
"""Expected orders are reported to hundredths, as the tab stores them."""
CHUNK = 500
"""Sellers per ``IN`` list: far below SQLite's bound-parameter limit."""


@dataclass(frozen=True)
class EditEffect:
    """One edit's expected orders per 28 days before and after, and its cost change."""

    key: PricingKey
    before: float
    after: float
    cost_change: Decimal
    currency: str

    @property
    def change(self) -> float:
        return round(self.after - self.before, ORDER_PLACES)

    def to_dict(self) -> dict[str, Any]:
        return {
            "expected_orders_28d_before": self.before, "expected_orders_28d_after": self.after,
            "expected_orders_28d_change": self.change,
            "cost_change_28d": str(self.cost_change), "currency": self.currency,
        }  # fmt: skip


@dataclass
class Effect:
    """The expected effect of the edits that would apply; ``missing`` says why there is none."""

    as_of: dt.date | None = None
    edits: list[EditEffect] = field(default_factory=list)
    missing: str | None = None

    @property
    def before(self) -> float:
        return round(sum(e.before for e in self.edits), ORDER_PLACES)

    @property
    def after(self) -> float:
        return round(sum(e.after for e in self.edits), ORDER_PLACES)

    @property
    def cost_change(self) -> dict[str, Decimal]:
        """Per currency: amounts in different currencies are never added up."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for edit in self.edits:
            totals[edit.currency] += edit.cost_change
        return dict(sorted(totals.items()))

    def of(self, key: PricingKey) -> EditEffect | None:
        return self._by_key.get(key)

    @functools.cached_property
    def _by_key(self) -> dict[PricingKey, EditEffect]:
        """Made once: a summary asks for every row of a 5,000-edit preview."""
        return {e.key: e for e in self.edits}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; the figures are null when the effect is missing."""
        there = self.missing is None
        return {
            "available": there, "missing": self.missing,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "edits": len(self.edits),
            "expected_orders_28d_before": self.before if there else None,
            "expected_orders_28d_after": self.after if there else None,
            "expected_orders_28d_change": round(self.after - self.before, ORDER_PLACES)
            if there else None,
            "cost_change_28d": {c: str(v) for c, v in self.cost_change.items()} if there else None,
        }  # fmt: skip

    def describe(self) -> str:
        """One line for the preview."""
        if self.missing is not None:
            return f"Expected effect: not available ({self.missing})."
        costs = ", ".join(f"{v:+,.2f} {c}" for c, v in self.cost_change.items()) or "none"
        edits = f"{len(self.edits)} edit{'' if len(self.edits) == 1 else 's'}"
        return (
            f"Expected effect of the {edits} (win model as of {self.as_of}, advisory): "
            f"{self.before:,.1f} → {self.after:,.1f} orders per 28 days "
            f"({self.after - self.before:+,.1f}); cost change {costs} per 28 days."
        )


def expected_effect(engine: Engine, outcomes: Sequence[Outcome]) -> Effect:
    """The effect of the outcomes this push would apply; never raises."""
    edits = [o for o in outcomes if o.to_write and o.price is not None]
    if not edits:
        return Effect()
    try:
        with engine.connect() as conn:  # reads only: the fit stores its counts on its own
            return _effect(conn, edits)
    except Exception as error:  # advisory: an estimate that fails never fails the preview
        log.warning("expected effect of a pricing preview failed", exc_info=True)
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        return Effect(missing=f"the win model could not be fitted: {reason}")


def _effect(conn: Connection, edits: Sequence[Outcome]) -> Effect:
    as_of = as_of_day(conn, None)
    grid = market_grid(conn, QueryContext(as_of=as_of, dialect=conn.dialect.name))
    if not grid.model.demand.cells:
        return Effect(as_of, missing=f"no orders in the {FIT_DAYS} days to {as_of} to learn from")
    rows = rows_of(grid, [dict(zip(KEY, e.key, strict=True)) for e in edits])
    new = np.array([float(e.price * 100) for e in edits if e.price is not None], dtype=float)
    before = grid.expected_now[np.where(rows >= 0, rows, 0)]
    currencies = _currencies(conn, [e.key for e in edits])
    figures = at_prices(grid, rows, new)
    effects = [
        EditEffect(e.key, _shown(float(now)), _shown(after), _cents(cost),
                   currencies.get(e.key, ""))
        for e, row, now, (after, cost) in zip(edits, rows, before, figures, strict=True)
        if row >= 0 and after is not None and cost is not None
    ]  # fmt: skip
    return Effect(as_of, effects)


def _cents(value: float) -> Decimal:
    """Rounded as the tab rounds its figures (:mod:`sheets_sync.kpis.runner`): half up."""
    return Decimal(repr(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _shown(orders: float) -> float:
    """Expected orders to :data:`ORDER_PLACES` decimals, rounded as the tab rounds them."""
    return float(_cents(orders))


def _currencies(conn: Connection, keys: Iterable[PricingKey]) -> dict[PricingKey, str]:
    """Each listing's currency, read by its sellers (a prefix of the key: the index serves
    it, where an ``IN`` list of whole keys took a second for 5,000 on PostgreSQL)."""
    wanted = set(keys)
    sellers = sorted({key.seller for key in wanted})
    g = price_grid.c
    found: dict[PricingKey, str] = {}
    for start in range(0, len(sellers), CHUNK):
        query = select(g.seller_id, g.product_id, g.grade, g.country, g.currency).where(
            g.seller_id.in_(sellers[start : start + CHUNK])
        )
        rows = ((PricingKey(*row[:4]), row[4]) for row in conn.execute(query))
        found.update((key, currency) for key, currency in rows if key in wanted)
    return found
