"""Reading `New price` cells: what the team types is taken only when it is unambiguous."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheets_sync.pricing.parse import PriceRejected, is_blank, parse_price

prices = st.decimals(min_value=0, max_value=99_999_999, places=2, allow_nan=False)
relaxed = settings(deadline=None)  # other test workers share the CPU: no per-example deadline


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("123.45", "123.45"),
        ("123,45", "123.45"),
        ("€ 123.45", "123.45"),
        ("123.45 €", "123.45"),
        ("€123,45", "123.45"),
        ("  99  ", "99"),
        ("0", "0"),
        ("0,5", "0.5"),
        ("0.125", "0.125"),  # parsed as typed; the 2-decimal rule rejects it later
        ("-5", "-5"),  # parsed; the ≥ 0 rule rejects it later
        (123.45, "123.45"),
        (0.1, "0.1"),
        (120, "120"),
        (Decimal("99.99"), "99.99"),
        (1e20, "1E+20"),  # a number cell: the ceiling rejects it later
    ],
)
def test_accepted_forms(cell: object, expected: str) -> None:
    assert parse_price(cell) == Decimal(expected)


@pytest.mark.parametrize(
    ("cell", "says"),
    [
        ("=A1*1.1", "a formula ('=A1*1.1') is not a price; type the number alone, e.g. 123.45"),
        ('=IMPORTXML("http://x","//a")', "a formula"),
        ("  =1+1", "a formula"),
        ("abc", "'abc' is not a price; type the number alone, e.g. 123.45"),
        ("1,234", "ambiguous (thousands separator or 3 decimals?)"),
        ("12.345", "ambiguous"),
        ("1.234,56", "remove the thousands separators, e.g. 1234.56"),
        ("1,234.56", "remove the thousands separators"),
        ("1 234", "remove the thousands separators"),
        ("-0", "type 0 (with a reason) to take the listing offline"),
        ("-0,00", "type 0 (with a reason)"),
        (-0.0, "type 0 (with a reason)"),
        (Decimal("-0"), "type 0 (with a reason)"),
        (math.nan, "nan is not a price"),
        (math.inf, "inf is not a price"),
        (Decimal("NaN"), "is not a price"),
        ("NaN", "'NaN' is not a price"),
        ("inf", "is not a price"),
        ("1e3", "'1e3' is not a price"),
        ("$12", "prices are in the row's currency"),
        ("12 EUR", "prices are in the row's currency"),
        ("€ € 12", "is not a price"),
        ("12.3.4", "is not a price"),
        ("+12", "is not a price"),
        ("١٢٣", "is not a price"),  # Arabic-Indic digits: not what the sheet shows as a number
        (True, "True is not a price"),
        ("x" * 100, "…' is not a price"),
    ],
)
def test_rejected_forms_say_what_to_type(cell: object, says: str) -> None:
    with pytest.raises(PriceRejected) as rejected:
        parse_price(cell)
    assert says in str(rejected.value)
    assert len(str(rejected.value)) < 200  # fits a Status cell at a glance


@pytest.mark.parametrize("cell", [None, "", "   ", "\t"])
def test_blank_cells_are_no_edit(cell: object) -> None:
    assert is_blank(cell)


@pytest.mark.parametrize("cell", [0, "0", "x", 0.0])
def test_non_blank_cells_are_edits(cell: object) -> None:
    assert not is_blank(cell)


@relaxed
@given(prices)
def test_any_price_typed_with_a_point_reads_back(price: Decimal) -> None:
    assert parse_price(str(price)) == price


@relaxed
@given(prices, st.sampled_from(["{}", "{} €", "€ {}", "€{}", " {} "]))
def test_any_price_typed_with_a_comma_or_euro_sign_reads_back(price: Decimal, form: str) -> None:
    assert parse_price(form.format(str(price).replace(".", ","))) == price


@relaxed
@given(prices)
def test_any_price_in_a_number_cell_reads_back(price: Decimal) -> None:
    assert parse_price(float(price)) == price


@relaxed
@given(st.text())
def test_any_text_is_a_price_or_a_reason(text: str) -> None:
    try:
        parsed = parse_price(text)
    except PriceRejected as rejected:
        assert str(rejected)
    else:
        assert parsed.is_finite()


@relaxed
@given(st.text())
def test_a_formula_is_never_a_price(text: str) -> None:
    with pytest.raises(PriceRejected, match="a formula"):
        parse_price("=" + text)


@relaxed
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_number_cell_is_a_price_or_a_reason(number: float) -> None:
    try:
        parsed = parse_price(number)
    except PriceRejected:
        assert not math.isfinite(number) or number == 0
    else:
        assert parsed == Decimal(str(number))
