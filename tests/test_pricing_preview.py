"""The push preview's expected effect: what the valid edits should do to orders and spend.

`sheets-sync push-pricing --dry-run` (text and ``--json``) reports, for the
edits that would apply, the expected orders per 28 days before → after, the
change and the cost change per 28 days, and each row's own figures in JSON:
the win model's figures (:func:`sheets_sync.winmodel.expected_at_price`), the
totals the sums of the rows. It is advisory: with no order history it says so
in one line and the preview goes on; it never costs a Sheets request. Both
destinations, both databases, through the command line.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pricing_data import USER, grid, key
from pricing_sheets import TeamSheet
from sqlalchemy import delete, text
from sqlalchemy.engine import Engine
from test_typed_price import CURRENT, kinds_since

from sheets_sync import schema
from sheets_sync.cli import main
from sheets_sync.guards import as_of_day
from sheets_sync.pricing.model import PricingKey
from sheets_sync.winmodel import Market, expected_at_price, fit

GOOD, CRACKED, FLAWLESS, S2_GOOD = key(), key(grade="cracked"), key(grade="flawless"), key("S2")
PREVIEW_REQUESTS = {
    "spreadsheets.developerMetadata.search": 1,
    "spreadsheets.values.batchGetByDataFilter": 1,
}
"""A preview's Sheets requests: find the columns, read them (the effect adds none)."""


@pytest.fixture
def preview(
    request: pytest.FixtureRequest,
    runner: CliRunner,
    db_url: str,
    team: TeamSheet,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """Run ``push-pricing --dry-run`` on the team's sheet (``--json`` on request); on Google,
    also check its requests are the preview's usual ones."""
    if team.ws is not None:
        monkeypatch.setenv("SHEETS_SYNC_SHEETS_API_URL", request.getfixturevalue("emulator").url)

    def run(*extra: str) -> Result:
        controls = request.getfixturevalue("controls") if team.ws is not None else None
        start = controls.counters() if controls is not None else None
        args = ["push-pricing", "--from", team.destination, "--dry-run", "--user", USER, *extra]
        result = runner.invoke(main, [*args, "--database-url", db_url])
        assert result.exit_code == 0, result.output
        if controls is not None:
            assert kinds_since(start, controls.counters()) == PREVIEW_REQUESTS
        return result

    return run


def at_price(engine: Engine, listing: PricingKey, euros: str) -> float:
    """The win model's expected orders per 28 days for ``listing`` at ``euros``, the other
    listings of its cell at their current prices."""
    with engine.begin() as conn:
        model = fit(conn, as_of_day(conn, None))
    others = [100 * p for k, p in CURRENT.items() if k[1:] == listing[1:] and k != listing]
    market = Market(listing.product, listing.grade, listing.country, "smartphone")
    return expected_at_price(model, market, int(Decimal(euros) * 100), others)


def test_the_preview_reports_the_expected_effect_of_the_valid_edits(
    engine: Engine, team: TeamSheet, preview: Any
) -> None:
    team.type({
        (GOOD, "New price"): 125, (S2_GOOD, "New price"): "115",
        (CRACKED, "New price"): "abc",  # rejected: not part of the effect
        (FLAWLESS, "New price"): "150",  # its current price: unchanged, no effect
    })  # fmt: skip
    table, prices = team.table(), grid(engine)
    summary = json.loads(preview("--json").output)
    assert (summary["applied"], summary["rejected"], summary["unchanged"]) == (2, 1, 1)
    by_grade_seller = {(r["seller_id"], r["grade"]): r for r in summary["rows"]}
    for grade in ("cracked", "flawless"):
        assert by_grade_seller[("S1", grade)]["expected_effect"] is None
    rows = []
    for listing, typed in ((GOOD, "125"), (S2_GOOD, "115")):
        figures = by_grade_seller[(listing.seller, listing.grade)]["expected_effect"]
        before = at_price(engine, listing, str(CURRENT[listing]))
        after = at_price(engine, listing, typed)
        assert figures["expected_orders_28d_before"] == pytest.approx(before, abs=0.005)
        assert figures["expected_orders_28d_after"] == pytest.approx(after, abs=0.005)
        cost = after * (float(typed) - CURRENT[listing])
        assert float(figures["cost_change_28d"]) == pytest.approx(cost, abs=0.005)
        assert figures["currency"] == "EUR"
        rows.append(figures)
    assert rows[0]["expected_orders_28d_after"] > 0.1
    assert float(rows[0]["cost_change_28d"]) > 0  # S1 pays more on the orders it wins
    assert float(rows[1]["cost_change_28d"]) < 0  # S2 lowers its price: money kept

    effect = summary["expected_effect"]
    assert (effect["available"], effect["edits"]) == (True, 2)
    for total in ("expected_orders_28d_before", "expected_orders_28d_after"):
        assert effect[total] == pytest.approx(sum(r[total] for r in rows), abs=1e-9)
    assert effect["expected_orders_28d_change"] == pytest.approx(
        effect["expected_orders_28d_after"] - effect["expected_orders_28d_before"], abs=1e-9
    )
    assert effect["cost_change_28d"] == {
        "EUR": str(sum(Decimal(r["cost_change_28d"]) for r in rows))
    }

    text = preview().output.splitlines()
    assert text[0].startswith(f"Preview of {team.destination} (nothing changed): would apply 2")
    before, after = effect["expected_orders_28d_before"], effect["expected_orders_28d_after"]
    assert text[1] == (
        f"Expected effect of the 2 edits (win model as of {effect['as_of']}, advisory): "
        f"{before:,.1f} → {after:,.1f} orders per 28 days ({after - before:+,.1f}); cost change "
        f"{Decimal(effect['cost_change_28d']['EUR']):+,.2f} EUR per 28 days."
    )
    assert team.table() == table and grid(engine) == prices  # a preview changes nothing


def test_without_order_history_the_preview_says_so_in_one_line_and_goes_on(
    engine: Engine, team: TeamSheet, preview: Any
) -> None:
    with engine.begin() as conn:
        conn.execute(delete(schema.tradein_orders))
    team.type({(GOOD, "New price"): 125})
    summary = json.loads(preview("--json").output)
    assert summary["applied"] == 1
    effect = summary["expected_effect"]
    assert (effect["available"], effect["expected_orders_28d_after"]) == (False, None)
    assert effect["missing"].startswith("no orders in the 56 days to ")
    [row] = summary["rows"]
    assert row["expected_effect"] is None
    lines = preview().output.splitlines()
    assert lines[1] == f"Expected effect: not available ({effect['missing']})."
    assert len(lines) == 2


def test_an_estimate_that_fails_is_one_line_and_the_preview_goes_on(
    db_kind: str, engine: Engine, team: TeamSheet, preview: Any
) -> None:
    """Orders the model cannot read (text in a timestamp, which only SQLite stores): the
    preview still says what would be applied, and why there is no effect."""
    if db_kind != "sqlite":
        pytest.skip("PostgreSQL's timestamp columns refuse text")
    with engine.begin() as conn:
        conn.execute(text("UPDATE tradein_orders SET shipped_at = 'last tuesday'"))
    team.type({(GOOD, "New price"): 125})
    summary = json.loads(preview("--json").output)
    assert summary["applied"] == 1
    effect = summary["expected_effect"]
    assert effect["available"] is False
    assert effect["missing"].startswith("the win model could not be fitted: ")
    assert "shipped_at" in effect["missing"] and "\n" not in effect["missing"]
    lines = preview().output.splitlines()
    assert lines[1] == f"Expected effect: not available ({effect['missing']})."


def test_a_push_reports_no_effect_and_nothing_to_preview_says_nothing_of_it(
    runner: CliRunner, db_url: str, team: TeamSheet, preview: Any
) -> None:
    assert preview().output.splitlines() == [
        f"Preview of {team.destination} (nothing changed): would apply 0, 0 rejected, "
        "0 conflicts, 0 unchanged."
    ]
    team.type({(GOOD, "New price"): 125})
    args = ["push-pricing", "--from", team.destination, "--user", USER, "--json"]
    pushed = json.loads(runner.invoke(main, [*args, "--database-url", db_url]).output)
    assert pushed["applied"] == 1 and pushed["expected_effect"] is None
