"""Deciding and applying a push's edits: every rule, conflicts, atomicity, retries, dry runs.

These drive the database side of the push (:func:`decide_and_apply`) with the
rows a sheet would hand it, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from pricing_data import USER, changes, edit, grid, key, load_pricing
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.errors import ConfigError, DatabaseError
from sheets_sync.pricing import apply
from sheets_sync.pricing.apply import decide_and_apply
from sheets_sync.pricing.model import Kind, Outcome, PricingKey, Rules, SheetRow

RULES = Rules()


@pytest.fixture
def priced(engine: Engine) -> Engine:
    load_pricing(engine)
    return engine


def push(engine: Engine, *rows: SheetRow, user: str = USER, **kwargs: Any) -> list[Outcome]:
    return decide_and_apply(engine, list(rows), RULES, user, request_id="req-1", **kwargs)


@pytest.mark.parametrize(
    ("k", "price", "reason", "kind", "detail"),
    [
        (key(), "130", None, Kind.APPLIED, ""),
        (key(grade="cracked"), "65", None, Kind.APPLIED, ""),  # +30 %: the limit itself
        (key(grade="cracked"), "65.01", None, Kind.REJECTED,
         "50.00 → 65.01 changes the price by more than 30%; say why in Reason"),
        (key(grade="cracked"), "65.01", "competitor moved", Kind.APPLIED, ""),
        (key(), "84", None, Kind.APPLIED, ""),  # −30 %
        (key(), "83.99", None, Kind.REJECTED, "changes the price by more than 30%"),
        (key(), "0", None, Kind.REJECTED, "0 takes the listing offline: say why in Reason"),
        (key(), "0", "out of stock", Kind.APPLIED, ""),
        (key(), "0", "   ", Kind.REJECTED, "0 takes the listing offline"),
        (key(), "-1", "x", Kind.REJECTED, "-1 is negative; type a price of 0 or more"),
        (key(), 120.555, None, Kind.REJECTED, "120.555 has more than 2 decimals; round it"),
        (key(), "120.5", None, Kind.APPLIED, ""),
        (key("S2", "P2"), "5000", "flagship", Kind.APPLIED, ""),
        (key("S2", "P2"), "5000.01", "flagship", Kind.REJECTED, "above the ceiling of 5000"),
        (key("S1", "P2"), "80", None, Kind.REJECTED, "0.00 → 80 changes the price by more"),
        (key("S1", "P2"), "80", "relisting", Kind.APPLIED, ""),
        (key(), "=B2*2", None, Kind.REJECTED, "a formula ('=B2*2') is not a price"),
        (key(), "cent vingt", None, Kind.REJECTED, "is not a price"),
        (key("S9"), "10", None, Kind.REJECTED, "S9 × P1 × good × FR is not in the database"),
        (PricingKey("", "", "", ""), "10", None, Kind.REJECTED,
         "this row has no Seller ID, Product ID, Grade or Country: type new prices only on"),
        (key(), "120", None, Kind.UNCHANGED, ""),
        (key(), "€ 120,00", None, Kind.UNCHANGED, ""),
        (key(), "150", None, Kind.APPLIED, ""),  # equal to flawless: allowed
        (key(), "150.01", "x", Kind.REJECTED,
         "grade order: good at 150.01 would pay more than flawless at 150.00"),
        (key(grade="cracked"), "120.01", "x", Kind.REJECTED,
         "grade order: cracked at 120.01 would pay more than good at 120.00"),
        (key(grade="flawless"), "119.99", None, Kind.REJECTED,
         "grade order: flawless at 119.99 would pay less than good at 120.00"),
    ],
)  # fmt: skip
def test_each_rule(
    priced: Engine, k: Any, price: Any, reason: Any, kind: Kind, detail: str
) -> None:
    before = grid(priced)
    [outcome] = push(priced, edit(k, price, reason))
    assert outcome.kind is kind, outcome.detail
    assert detail in outcome.detail
    after = grid(priced)
    if kind is Kind.APPLIED:
        expected = Decimal(str(price))
        assert after[k] == (expected, 2, USER)
        [change] = changes(priced)
        assert (change["old_price"], change["new_price"]) == (before[k][0], expected)
        assert (change["changed_by"], change["source"]) == (USER, "sheet")
        assert (change["request_id"], change["reason"]) == ("req-1", reason)
        assert outcome.status().startswith(f"✔ applied {change['changed_at']:%Y-%m-%d %H:%M}")
    else:
        assert after == before
        assert changes(priced) == []


@pytest.mark.parametrize(
    ("version", "says"),
    [("abc", "Version 'abc' is not a version number"), (None, "Version is empty"),
     ("  ", "Version is empty"), (1.5, "Version '1.5'"), (True, "Version 'True'"),
     ("\u0661", "Version '١'"), ("99999999999", "Version '99999999999'"), (0, "Version '0'"),
     (-1, "Version '-1'"), (float("inf"), "Version 'inf'"), ("1e3", "Version '1e3'"),
     (2**31, "Version '2147483648'")],
)  # fmt: skip
def test_a_row_without_a_readable_version_is_rejected(
    priced: Engine, version: Any, says: str
) -> None:
    [outcome] = push(priced, edit(key(), "125", version=version))
    assert outcome.kind is Kind.REJECTED and says in outcome.detail
    assert "run `sheets-sync sync` (or Refresh) to restore it (your New price is kept)" in (
        outcome.detail
    )


@pytest.mark.parametrize("version", [1, 1.0, "1", " 1 "])
def test_a_version_as_number_or_text_is_read(priced: Engine, version: Any) -> None:
    [outcome] = push(priced, edit(key(), "125", version=version))
    assert outcome.kind is Kind.APPLIED


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        # both raised together: each alone would break the order
        ({"flawless": ("170", "x"), "good": ("160", "x")}, {"flawless": Kind.APPLIED,
                                                           "good": Kind.APPLIED}),
        # the whole ladder lowered together
        ({"flawless": ("110", None), "good": ("100", None), "cracked": ("40", None)},
         {"flawless": Kind.APPLIED, "good": Kind.APPLIED, "cracked": Kind.APPLIED}),
        # inverted by the two edits: both refused
        ({"flawless": ("110", None), "good": ("130", None)},
         {"flawless": Kind.REJECTED, "good": Kind.REJECTED}),
        # flawless breaks against an unedited good; cracked is fine once flawless is out
        ({"flawless": ("100", "x"), "cracked": ("60", None)},
         {"flawless": Kind.REJECTED, "cracked": Kind.APPLIED}),
        # good offline (0 does not count), cracked then only has flawless above it
        ({"good": ("0", "out of stock"), "cracked": ("60", None)},
         {"good": Kind.APPLIED, "cracked": Kind.APPLIED}),
    ],
)  # fmt: skip
def test_grade_order_is_checked_after_all_edits(
    priced: Engine, edits: dict[str, tuple[str, str | None]], expected: dict[str, Kind]
) -> None:
    rows = [edit(key(grade=g), p, r, row=i) for i, (g, (p, r)) in enumerate(edits.items(), 2)]
    outcomes = push(priced, *rows)
    assert {o.key[2]: o.kind for o in outcomes} == expected
    applied = [o for o in outcomes if o.kind is Kind.APPLIED]
    assert len(changes(priced)) == len(applied)
    for outcome in outcomes:
        assert (grid(priced)[outcome.key][1] == 2) is (outcome.kind is Kind.APPLIED)


def test_one_listing_edited_on_two_rows_is_refused_on_both(priced: Engine) -> None:
    outcomes = push(priced, edit(key(), "121", row=2), edit(key(), "122", row=7))
    assert [o.kind for o in outcomes] == [Kind.REJECTED, Kind.REJECTED]
    assert "S1 × P1 × good × FR is edited on rows 2, 7; keep one edit" in outcomes[0].detail
    assert changes(priced) == []


def test_a_row_changed_since_the_sync_is_a_conflict_naming_who_and_when(priced: Engine) -> None:
    [first] = push(priced, edit(key(), "125"), user="bob@example.com")
    [outcome] = push(priced, edit(key(), "130"))
    assert outcome.kind is Kind.CONFLICT
    assert outcome.status() == (
        "⚠ conflict: changed since this sheet was synced: now 125.00 (version 2, this row "
        f"shows 1), by bob@example.com at {first.at:%Y-%m-%d %H:%M} UTC; run `sheets-sync sync` "
        "(or Refresh) to see it, then edit again"
    )
    assert grid(priced)[key()] == (Decimal("125.00"), 2, "bob@example.com")
    assert len(changes(priced)) == 1


def test_a_retry_after_a_lost_write_back_reports_applied_once(priced: Engine) -> None:
    rows = [edit(key(), "130", "match S2"), edit(key(grade="cracked"), "55", row=3)]
    first = push(priced, *rows)
    retry = push(priced, *rows)  # the sheet still shows version 1 and the same New price
    assert [o.kind for o in retry] == [Kind.APPLIED, Kind.APPLIED]
    assert all(o.earlier and not o.to_write for o in retry)
    assert [o.status() for o in retry] == [o.status() for o in first]
    assert len(changes(priced)) == 2
    assert grid(priced)[key()] == (Decimal("130.00"), 2, USER)


@pytest.mark.parametrize(
    ("price", "reason", "user"),
    [("131", "match S2", USER), ("130", "match S2", "bob@example.com"), ("130", None, USER)],
)
def test_a_different_edit_on_a_changed_row_is_still_a_conflict(
    priced: Engine, price: str, reason: str | None, user: str
) -> None:
    push(priced, edit(key(), "130", "match S2"))
    [outcome] = push(priced, edit(key(), price, reason), user=user)
    assert outcome.kind is Kind.CONFLICT
    assert len(changes(priced)) == 1


def test_a_retry_after_someone_else_changed_the_row_is_a_conflict(priced: Engine) -> None:
    push(priced, edit(key(), "130"))
    push(priced, edit(key(), "128", version=2, current=130), user="bob@example.com")
    [outcome] = push(priced, edit(key(), "130"))
    assert outcome.kind is Kind.CONFLICT and "now 128.00 (version 3" in outcome.detail


def test_a_dry_run_reports_what_a_push_would_do_and_changes_nothing(priced: Engine) -> None:
    rows = [
        edit(key(), "130", row=2),
        edit(key(grade="cracked"), "-3", row=3),
        edit(key("S2"), "119", version=7, row=4),
        edit(key("S2", "P2"), "300", row=5),
    ]
    before = grid(priced)
    preview = push(priced, *rows, dry_run=True)
    assert grid(priced) == before and changes(priced) == []
    real = push(priced, *rows)
    assert [(o.kind, o.detail, o.price) for o in preview] == [
        (o.kind, o.detail, o.price) for o in real
    ]
    assert [o.kind for o in real] == [Kind.APPLIED, Kind.REJECTED, Kind.CONFLICT, Kind.UNCHANGED]


def test_an_empty_push_does_nothing(priced: Engine) -> None:
    assert push(priced) == []
    assert changes(priced) == []


TRIGGERS = {
    ("sqlite", "price_grid"): [
        "CREATE TRIGGER refuse BEFORE UPDATE ON price_grid WHEN NEW.product_id = 'P2' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"
    ],
    ("sqlite", "price_changes"): [
        "CREATE TRIGGER refuse BEFORE INSERT ON price_changes WHEN NEW.product_id = 'P2' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"
    ],
}
for _table, _when in (("price_grid", "UPDATE"), ("price_changes", "INSERT")):
    TRIGGERS[("postgresql", _table)] = [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.product_id = 'P2' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; "
        "RETURN NEW; END $$",
        f"CREATE TRIGGER refuse BEFORE {_when} ON {_table} FOR EACH ROW EXECUTE FUNCTION refuse()",
    ]


@pytest.mark.parametrize("table", ["price_grid", "price_changes"])
def test_a_database_failure_mid_apply_leaves_every_price_as_it_was(
    priced: Engine, table: str
) -> None:
    with priced.begin() as conn:
        for statement in TRIGGERS[(priced.dialect.name, table)]:
            conn.execute(text(statement))
    before = grid(priced)
    rows = [edit(key(), "125", row=2), edit(key(grade="cracked"), "55", row=3),
            edit(key("S2", "P2"), "310", row=4)]  # fmt: skip
    with pytest.raises(DatabaseError, match="refused by the test trigger") as failed:
        push(priced, *rows)
    assert "no price was changed" in str(failed.value)
    assert grid(priced) == before
    assert changes(priced) == []


def test_the_version_check_is_part_of_the_update(
    db_kind: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push committed between another push's read and its UPDATE wins; the other
    push sees a conflict instead of overwriting it. SQLite has no row locks: a push
    takes the write lock before reading (test_pricing_concurrency), so it is taken
    away here to let the other push in; the version check still holds."""
    if db_kind != "sqlite":
        pytest.skip("PostgreSQL locks the rows on read; see test_pricing_concurrency")
    monkeypatch.setattr(apply, "_transaction", lambda engine, write: engine.begin())
    engine, other = make_engine(db_url), make_engine(db_url)
    load_pricing(engine)
    interloped: list[Outcome] = []

    def interlope(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE price_grid") and not interloped:
            interloped.extend(push(other, edit(key(), "126"), user="bob@example.com"))

    event.listen(engine, "before_cursor_execute", interlope)
    [outcome] = push(engine, edit(key(), "130"))
    assert [o.kind for o in interloped] == [Kind.APPLIED]
    assert outcome.kind is Kind.CONFLICT and "now 126.00 (version 2" in outcome.detail
    assert grid(engine)[key()] == (Decimal("126.00"), 2, "bob@example.com")
    assert len(changes(engine)) == 1
    engine.dispose()
    other.dispose()


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SHEETS_SYNC_PRICE_CEILING": "lots"}, "SHEETS_SYNC_PRICE_CEILING='lots' is not a valid"),
        ({"SHEETS_SYNC_PRICE_CEILING": "0"}, "must be a price above 0"),
        ({"SHEETS_SYNC_PRICE_CEILING": "1e9"}, "below 100000000"),
        ({"SHEETS_SYNC_PRICE_MAX_CHANGE": "0"}, "must be a share above 0, e.g. 0.30"),
        ({"SHEETS_SYNC_PRICE_MAX_CHANGE": "-0.3"}, "must be a share above 0"),
    ],
)
def test_bad_guardrail_settings_name_the_variable(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        Settings.load(environ=env)


def test_the_guardrails_come_from_the_settings(priced: Engine) -> None:
    settings = Settings.load(
        environ={"SHEETS_SYNC_PRICE_CEILING": "200", "SHEETS_SYNC_PRICE_MAX_CHANGE": "0.5"}
    )
    rules = Rules.from_settings(settings.pricing)
    assert rules == Rules(Decimal("200"), Decimal("0.5"))
    rows = [edit(key(grade="cracked"), "75", row=2), edit(key("S2", "P2"), "250", "x", row=3)]
    outcomes = decide_and_apply(priced, rows, rules, USER)
    assert [o.kind for o in outcomes] == [Kind.APPLIED, Kind.REJECTED]
    assert "above the ceiling of 200" in outcomes[1].detail
