"""No cell the team can type stops a pricing push (docs/design.md §7).

Property-based: Hypothesis types arbitrary values into `New price` and
`Reason` — numbers of any size, exponent forms, NaN and Infinity as text,
control characters, other scripts' digits, 50,000 characters — on a few rows
of a real synced Pricing tab, then pushes through the library's one entry
point. Whatever was typed, the push runs to its end: each edited row gets
exactly one outcome whose `Status` is on its row and starts with ✔, ✖ or ⚠,
and the database holds only prices the guardrails allow, with grade order
kept and one audit row per price that went live. Both destinations, both
databases.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pricing_data import USER, changes, grid, key
from pricing_sheets import TeamSheet
from sqlalchemy.engine import Engine

from sheets_sync.pricing.model import Kind, Rules
from sheets_sync.pricing.parse import is_blank
from sheets_sync.pricing.push import push_pricing
from sheets_sync.schema import GRADE_RANK

ROWS = (key(), key(grade="cracked"), key(grade="flawless"), key("S2"))
DIGITS_ELSEWHERE = "٠١٢٣٤٥٦٧٨٩०१२३४५६७८९０１２３４５６７８９"

numbers_as_text = st.one_of(
    st.from_regex(r"-?[0-9]{1,400}([.,][0-9]{1,6})?", fullmatch=True),
    st.from_regex(r"-?[0-9]{1,3}(\.[0-9]{1,3})?[eE][-+]?[0-9]{1,4}", fullmatch=True),
    st.sampled_from(["NaN", "nan", "Infinity", "-Infinity", "inf", "1e400", "-0", "0", "€ 1,5"]),
    st.text(alphabet=DIGITS_ELSEWHERE + ".,-", min_size=1, max_size=12),
)
long_text = st.builds(lambda c, n: c * n, st.characters(), st.integers(1, 50_000))
controls = st.text(st.characters(categories=["Cc"]), min_size=1, max_size=5)
any_text = st.one_of(
    st.text(max_size=60),
    long_text,
    numbers_as_text,
    st.tuples(st.text(max_size=5), controls).map("".join),
)
cell_values = st.one_of(
    st.none(),
    st.sampled_from([51, 119.5, "121", "€ 149,99", 0]),  # prices a push may well apply
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1e6, max_value=1e6).map(lambda f: round(f, 2)),
    any_text,
)


def typeable(value: Any, kind: str) -> Any:
    """What the destination can hold: a workbook cannot store control characters (Excel
    refuses them), and Google stores at most 50,000 characters in a cell; emptying a Google
    cell is typing "" (a null leaves it as it was)."""
    if value is None and kind == "gsheets":
        return ""
    if isinstance(value, str):
        if kind == "xlsx":
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        return value[:50_000]
    return value


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(typed=st.lists(st.tuples(cell_values, cell_values), min_size=len(ROWS), max_size=len(ROWS)))
def test_no_cell_value_stops_a_push(engine: Engine, team: TeamSheet, typed: list[Any]) -> None:
    kind = "xlsx" if team.ws is None else "gsheets"
    edits: dict[tuple[tuple[str, ...], str], Any] = {}
    for row_key, (price, reason) in zip(ROWS, typed, strict=True):
        edits[(row_key, "New price")] = typeable(price, kind)
        edits[(row_key, "Reason")] = typeable(reason, kind)
    team.type(edits)
    audited = len(changes(engine))

    summary = push_pricing(engine, team.settings, team.destination, USER)

    edited = [k for k in ROWS if not is_blank(edits[(k, "New price")])]
    assert sorted(o.key for o in summary.outcomes) == sorted(edited)
    for outcome in summary.outcomes:
        assert outcome.written_back is True
        assert team.cell(outcome.key, "Status") == outcome.status()[:1000]
        assert outcome.status()[0] in "✔✖⚠"
    applied = [o for o in summary.outcomes if o.to_write]
    assert len(changes(engine)) == audited + len(applied)
    assert_guardrails_hold(engine, Rules.from_settings(team.settings.pricing))


def assert_guardrails_hold(engine: Engine, rules: Rules) -> None:
    """Every live price is allowed, and no better grade pays less than a worse one."""
    groups: dict[tuple[str, str, str], list[tuple[int, Decimal]]] = defaultdict(list)
    for (seller, product, grade, country), (price, version, _) in grid(engine).items():
        assert Decimal(0) <= price <= rules.ceiling and price == price.quantize(Decimal("0.01"))
        assert version >= 1
        if price > 0:
            groups[(seller, product, country)].append((GRADE_RANK[grade], price))
    for listed in groups.values():
        ranked = [price for _, price in sorted(listed)]
        assert ranked == sorted(ranked, reverse=True), listed


def test_the_outcomes_cover_every_kind(engine: Engine, team: TeamSheet) -> None:
    """A sanity check of the property's reach: one push with each kind of outcome."""
    team.type({
        (ROWS[0], "New price"): "1" * 50_000, (ROWS[1], "New price"): 55,
        (ROWS[2], "New price"): 150, (ROWS[3], "New price"): "1e400",
    })  # fmt: skip
    summary = push_pricing(engine, team.settings, team.destination, USER)
    kinds = [o.kind for o in summary.outcomes]
    assert kinds.count(Kind.REJECTED) == 2 and Kind.APPLIED in kinds and Kind.UNCHANGED in kinds
