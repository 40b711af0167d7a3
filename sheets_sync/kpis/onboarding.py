"""Onboarding: sellers not yet fully onboarded, where they are and how long they have waited.

Read as of the end of ``as_of``: a step counts as done when its
``completed_at`` is on or before ``as_of`` (a missing ``seller_onboarding`` row
is a step not done), and sellers created after ``as_of`` are not listed yet.
Offboarded sellers are left out: their onboarding is no longer anyone's job.

- ``steps_done``: completed steps out of the five of ``ONBOARDING_STEPS``;
- ``current_step``: the first step, in the contract's order, not done;
- ``last_progress``: the latest step completion, or the seller's creation when
  no step is done (or when it is later);
- ``days_stalled``: whole UTC days from the day of ``last_progress`` to ``as_of``;
- ``stalled``: ``yes`` when ``days_stalled`` is beyond (strictly above) the
  template's ``stall_days`` param, else ``no``.

``filters``: ``seller_id`` and ``country`` (the seller's HQ country).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, Integer, and_, case, cast, func, literal, select
from sqlalchemy.sql import ColumnElement, Select, Subquery

from sheets_sync.kpis.common import filter_values, int_param
from sheets_sync.kpis.query import BuiltinQuery, QueryContext
from sheets_sync.schema import ONBOARDING_STEPS, seller_onboarding, sellers
from sheets_sync.vocabulary.arithmetic import trailing_bounds
from sheets_sync.vocabulary.sqlfuncs import days_between

DEFAULTS: dict[str, Any] = {"stall_days": 14}

COLUMNS = (
    "seller_id",
    "seller",
    "country",
    "status",
    "created",
    "steps_done",
    "current_step",
    "last_progress",
    "days_stalled",
    "stalled",
)


def _progress(end: dt.datetime) -> Subquery:
    """Per seller: one done flag per step and its latest completion, as of ``end``."""
    s, ob = sellers.c, seller_onboarding.c
    done = and_(ob.completed_at.is_not(None), ob.completed_at < end)
    flags = [
        func.max(case((and_(ob.step == step, done), 1), else_=0)).label(step)
        for step in ONBOARDING_STEPS
    ]
    latest = func.max(case((done, ob.completed_at))).label("latest")
    return (
        select(s.seller_id, *flags, latest)
        .select_from(sellers.outerjoin(seller_onboarding, ob.seller_id == s.seller_id))
        .where(s.created_at < end, s.status != "offboarded")
        .group_by(s.seller_id)
        .subquery("progress")
    )


def _current_step(progress: Subquery) -> ColumnElement[Any]:
    return case(*((progress.c[step] == 0, step) for step in ONBOARDING_STEPS))


def build(ctx: QueryContext) -> Select[Any]:
    """Incomplete onboardings, longest stalled first."""
    stall_days = int_param(ctx.params, "stall_days", 0)
    end = trailing_bounds(ctx.as_of, 1)[1]
    progress, s = _progress(end), sellers.c
    steps_done = sum((progress.c[step] for step in ONBOARDING_STEPS), literal(0))
    latest = progress.c.latest
    last_progress = case((latest > s.created_at, latest), else_=s.created_at)
    days_stalled = days_between(literal(ctx.as_of, Date), last_progress)
    query = (
        select(
            s.seller_id, s.name.label("seller"), s.country, s.status, s.created_at.label("created"),
            cast(steps_done, Integer).label("steps_done"),
            _current_step(progress).label("current_step"),
            last_progress.label("last_progress"), days_stalled.label("days_stalled"),
            case((days_stalled > stall_days, "yes"), else_="no").label("stalled"),
        )
        .join_from(progress, sellers, s.seller_id == progress.c.seller_id)
        .where(steps_done < len(ONBOARDING_STEPS))
    )  # fmt: skip
    if seller_ids := filter_values(ctx, "seller_id"):
        query = query.where(s.seller_id.in_(seller_ids))
    if countries := filter_values(ctx, "country"):
        query = query.where(s.country.in_(countries))
    return query.order_by(days_stalled.desc(), s.seller_id)


QUERY = BuiltinQuery(name="onboarding", build=build, columns=COLUMNS, defaults=DEFAULTS)
