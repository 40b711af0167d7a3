"""Row contents are that row's outcome, never the push's failure (docs/design.md §7).

One rule set for the CLI and the webhook: the sheet-only screen (keys, the
sheet's markets) and the per-row judgement (`Reason`, `Version`, the row still
showing its listing, numbers of any size), driven through
:func:`decide_and_apply` and :func:`screen` on SQLite and PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pricing_data import USER, changes, edit, grid, key, load_pricing
from sqlalchemy.engine import Engine

from sheets_sync.pricing.apply import decide_and_apply
from sheets_sync.pricing.model import Kind, Outcome, PricingKey, Rules, SheetRow
from sheets_sync.pricing.validate import screen

GOOD = key()


@pytest.fixture
def priced(engine: Engine) -> Engine:
    load_pricing(engine)
    return engine


def judge(engine: Engine, *rows: SheetRow) -> list[Outcome]:
    return decide_and_apply(engine, list(rows), Rules(), USER, request_id="req-1")


@pytest.mark.parametrize(
    ("reason", "says"),
    [
        ("moved\x00", "Reason holds an invisible control character (U+0000); retype it"),
        ("bell\x07", "(U+0007)"),
        ("\ud800", "(U+D800)"),
        ("x" * 1001, "Reason is 1,001 characters long; shorten it to at most 1,000"),
        ("y" * 50_000, "Reason is 50,000 characters long"),
    ],
)
def test_a_reason_the_database_cannot_store_is_that_rows_rejection(
    priced: Engine, reason: str, says: str
) -> None:
    outcomes = judge(priced, edit(GOOD, "125", reason=reason), edit(key("S2"), "119", row=3))
    assert [o.kind for o in outcomes] == [Kind.REJECTED, Kind.APPLIED]
    assert says in outcomes[0].detail
    assert [c["grade"] for c in changes(priced)] == ["good"] and grid(priced)[GOOD][1] == 1


@pytest.mark.parametrize("reason", ["two\nlines", "tab\there", "Ünïcødé ✓ 価格", 42])
def test_an_ordinary_reason_is_stored_as_typed(priced: Engine, reason: Any) -> None:
    [outcome] = judge(priced, edit(GOOD, "0", reason=reason))
    assert outcome.kind is Kind.APPLIED
    assert changes(priced)[0]["reason"] == str(reason)


@pytest.mark.parametrize(
    ("price", "says"),
    [
        (1e308, "1E+308 is above the ceiling of 5000"),
        ("9" * 5000, "1.000000E+5000 is above the ceiling"),
        ("-" + "9" * 5000, "is negative"),
        (1e-300, "has more than 2 decimals; round it to cents, e.g. 0.00"),
        ("1e400", "'1e400' is not a price"),
        ("NaN", "'NaN' is not a price"),
        ("١٢٣", "'١٢٣' is not a price"),
        ("1" + "0" * 49_999 + ",123", "is ambiguous"),
    ],
)
def test_a_number_of_any_size_is_that_rows_rejection(priced: Engine, price: Any, says: str) -> None:
    [outcome] = judge(priced, edit(GOOD, price))
    assert outcome.kind is Kind.REJECTED and says in outcome.detail
    assert len(outcome.status()) < 400


@pytest.mark.parametrize(
    ("current", "kind"),
    [(120, Kind.APPLIED), ("120.00", Kind.APPLIED), (119.99, Kind.CONFLICT),
     (50, Kind.CONFLICT), (None, Kind.CONFLICT), ("n/a", Kind.CONFLICT)],
)  # fmt: skip
def test_a_row_must_still_show_its_listings_price(priced: Engine, current: Any, kind: Kind) -> None:
    [outcome] = judge(priced, SheetRow(2, GOOD, "125", None, 1, current))
    assert outcome.kind is kind
    if kind is Kind.CONFLICT:
        assert outcome.detail.startswith(
            "this row no longer matches its listing — sync to refresh it (Current price shows"
        )
        assert grid(priced)[GOOD][:2] == (Decimal("120.00"), 1)


def test_a_retry_must_come_from_a_row_that_showed_the_old_price(priced: Engine) -> None:
    """A lost write-back is recognised only on the row it was typed on."""
    judge(priced, edit(GOOD, "125"))
    [again] = judge(priced, edit(GOOD, "125"))
    assert (again.kind, again.earlier) == (Kind.APPLIED, True)
    [elsewhere] = judge(priced, edit(GOOD, "125", current=50))
    assert elsewhere.kind is Kind.CONFLICT and "at version 1 was 120.00" in elsewhere.detail


@pytest.mark.parametrize(
    ("row_key", "countries", "says"),
    [
        (("", "", "", ""), None, "this row has no Seller ID, Product ID, Grade or Country"),
        (("S1", "", "good", "FR"), None, "this row's Product ID is empty"),
        (("", "P1", "", "FR"), None, "this row's Seller ID, Grade are empty"),
        (("S1\x00", "P1", "good", "FR"), None, "this row's Seller ID ('S1\\x00') is not a"),
        (("S1", "P" * 201, "good", "FR"), None, "this row's Product ID ("),
        (("S1", "P1", "good", "FR"), ("BE", "NL"),
         "this sheet prices only BE, NL; FR is another market: clear New price here and push "
         "it from the FR sheet"),
    ],
)  # fmt: skip
def test_the_screen_rejects_rows_no_listing_of_this_sheet_has(
    row_key: tuple[str, str, str, str], countries: tuple[str, ...] | None, says: str
) -> None:
    problem = screen(SheetRow(2, PricingKey(*row_key), "125"), countries)
    assert problem is not None and problem.startswith(says)


def test_the_screen_lets_listing_rows_of_the_sheets_markets_through() -> None:
    assert screen(SheetRow(2, GOOD, "125"), ("FR",)) is None
    assert screen(SheetRow(2, GOOD, "125"), None) is None
