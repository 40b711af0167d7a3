"""The spreadsheet registry: sheets-sync.yaml validated at load, its scope applied to every tab."""

from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import gspread
import pytest
from fixtures_sync import LAST_DAY, at
from helpers import TEMPLATES, order
from openpyxl import load_workbook
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.cli import main
from sheets_sync.config import Settings
from sheets_sync.config.env import DEFAULT_CONFIG_FILE
from sheets_sync.errors import ConfigError
from sheets_sync.jobs.run import sync_now
from sheets_sync.registry import OutsideScope, RegisteredSheet, Registry, load_registry, scope_of
from sheets_sync.sync import load_all_templates

ID_A = "1AbCdEfGhIjKlMnOpQrStUv"
ID_B = "1ZyXwVuTsRqPoNmLkJiHgFe"


def registry_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sheets-sync.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(path: Path) -> Registry:
    settings = Settings.load(environ={}, config_file=path, templates_dir=TEMPLATES)
    return load_registry(settings, lambda: load_all_templates(settings))


# --- loading ------------------------------------------------------------------------------------


def test_a_registry_lists_each_sheet_with_its_scope(tmp_path):
    path = registry_file(
        tmp_path,
        f"""
        spreadsheets:
          - id: {ID_A}
            name: Benelux market team
            tabs: [KPI Daily, Pricing]
            countries: [BE, NL]
          - id: {ID_B}
            name: " Head office "
        """,
    )
    registry = load(path)
    assert registry.sheets == (
        RegisteredSheet(ID_A, "Benelux market team", ("KPI Daily", "Pricing"), ("BE", "NL")),
        RegisteredSheet(ID_B, "Head office", None, None),
    )
    assert registry.get(ID_B) == registry.sheets[1]
    assert registry.get("1NotRegisteredAtAll") is None
    assert scope_of(registry.sheets[0]).filters == {"country": ("BE", "NL")}
    assert scope_of(registry.sheets[1]).filters == {}


def test_a_tab_listed_with_the_tabs_its_charts_read_loads(tmp_path):
    path = registry_file(
        tmp_path,
        f"""
        spreadsheets:
          - id: {ID_A}
            name: Board only
            tabs: [Dashboard, KPI Weekly, KPI Monthly, Seller Scorecard]
        """,
    )
    (sheet,) = load(path).sheets
    assert sheet.tabs == ("Dashboard", "KPI Weekly", "KPI Monthly", "Seller Scorecard")


@pytest.mark.parametrize("text", ["spreadsheets:\n", "spreadsheets: []\n"])
def test_a_registry_with_no_sheet_is_empty(tmp_path, text):
    assert load(registry_file(tmp_path, text)).sheets == ()


def test_a_missing_file_at_the_default_path_is_an_empty_registry(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.load(environ={}, templates_dir=TEMPLATES)
    assert settings.files.config_file == DEFAULT_CONFIG_FILE
    assert load_registry(settings, lambda: load_all_templates(settings)) == Registry(sheets=())


def test_a_missing_file_that_was_configured_is_an_error(tmp_path):
    path = tmp_path / "typo.yaml"
    with pytest.raises(ConfigError) as caught:
        settings = Settings.load(environ={"SHEETS_SYNC_CONFIG_FILE": str(path)})
        load_registry(settings, lambda: load_all_templates(settings))
    assert str(caught.value) == (
        f"SHEETS_SYNC_CONFIG_FILE={str(path)!r}: no such file; create it (see the README's "
        "spreadsheet registry section) or unset the variable to use ./sheets-sync.yaml when present"
    )


GOOD = f"spreadsheets:\n  - id: {ID_A}\n    name: Benelux\n"
URL = f"https://docs.google.com/spreadsheets/d/{ID_A}/edit#gid=0"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- id: x\n", "{p}: (file): the file is not a mapping. Fix: write `spreadsheets:` keys"),
        ("", "{p}: (file): the file is not a mapping. Fix: write `spreadsheets:` keys"),
        ("spreadsheets: [\n", "{p}: (file): invalid YAML at line 2, column 1. "
         "Fix: correct the YAML syntax"),
        ("spreadsheet:\n", "{p}:1: spreadsheet: unknown key. Fix: did you mean spreadsheets?"),
        ("spreadsheets: abc\n", "{p}:1: spreadsheets: not a list. Fix: list the spreadsheets, "
         "each starting with `- id: …` on its own line"),
        ("spreadsheets:\n  - abc\n", "{p}:2: spreadsheets[0]: not a mapping. "
         "Fix: write `- id: …` then `name: …` under it"),
        ("spreadsheets:\n  - name: Benelux\n", "{p}:2: spreadsheets[0].id: missing. Fix: copy "
         "the id from the sheet's URL (docs.google.com/spreadsheets/d/<ID>/edit)"),
        ("spreadsheets:\n  - id: short\n    name: B\n", "{p}:2: spreadsheets[0].id: 'short' is "
         "not a spreadsheet id. Fix: copy the id from the sheet's URL "
         "(docs.google.com/spreadsheets/d/<ID>/edit)"),
        (f"spreadsheets:\n  - id: '{URL}'\n    name: B\n", "{p}:2: spreadsheets[0].id: a URL, "
         f"not an id. Fix: write only the id: `id: {ID_A}`"),
        ("spreadsheets:\n  - id: 12345678901234\n    name: B\n", "{p}:2: spreadsheets[0].id: "
         "12345678901234 is not text. Fix: quote it, e.g. id: '12345678901234'"),
        (f"spreadsheets:\n  - id: {ID_A}\n", "{p}:2: spreadsheets[0].name: missing or empty. "
         "Fix: name the sheet for people, e.g. `name: Benelux market team`"),
        (GOOD + "    country: [FR]\n", "{p}:4: spreadsheets[0].country: unknown key. "
         "Fix: did you mean spreadsheets[0].countries?"),
        (GOOD + "    tabs: [KPI Daily, Pricng]\n", "{p}:4: spreadsheets[0].tabs[1]: no tab is "
         "titled 'Pricng'. Fix: did you mean 'Pricing'?"),
        (GOOD + "    tabs: KPI Daily\n", "{p}:4: spreadsheets[0].tabs: not a non-empty list. "
         "Fix: write a list, e.g. `tabs: [KPI Daily, Pricing]`, or leave it out"),
        (GOOD + "    tabs: []\n", "{p}:4: spreadsheets[0].tabs: not a non-empty list. "
         "Fix: write a list, e.g. `tabs: [KPI Daily, Pricing]`, or leave it out"),
        (GOOD + "    tabs:\n      - Pricing\n      - Pricing\n", "{p}:6: spreadsheets[0].tabs[1]: "
         "'Pricing' is listed twice. Fix: list it once"),
        (GOOD + "    countries: [FR, fr]\n", "{p}:4: spreadsheets[0].countries[1]: 'fr' is not a "
         "two-letter country code. Fix: write an ISO 3166-1 alpha-2 code in capitals, e.g. FR"),
        (GOOD + "    countries: [FRA]\n", "{p}:4: spreadsheets[0].countries[0]: 'FRA' is not a "
         "two-letter country code. Fix: write an ISO 3166-1 alpha-2 code in capitals, e.g. FR"),
        (GOOD + "    countries: [SE, NO]\n", "{p}:4: spreadsheets[0].countries[1]: False is not a "
         "country code. Fix: quote it, e.g. 'NO'"),
        (GOOD + "    countries: [1]\n", "{p}:4: spreadsheets[0].countries[0]: 1 is not text. "
         "Fix: e.g. `countries: [FR, BE]`"),
        (GOOD + "    tabs: [Dashboard, KPI Weekly]\n", "{p}:4: spreadsheets[0].tabs[0]: tab "
         "'Dashboard' has charts that read or are drawn on tab(s) KPI Monthly, Seller "
         "Scorecard, which this spreadsheet does not get. Fix: add KPI Monthly, Seller Scorecard "
         "to `tabs:`, or leave `tabs:` out to get every tab"),
        (GOOD + "    tabs: [Pricing, Pricing opportunities]\n", "{p}:4: spreadsheets[0].tabs[1]: "
         "tab 'Pricing opportunities' has charts that read or are drawn on tab(s) Dashboard, "
         "which this spreadsheet does not get. Fix: add Dashboard to `tabs:`, or leave `tabs:` "
         "out to get every tab"),
        (GOOD + f"  - id: {ID_A}\n    name: Again\n", "{p}:4: spreadsheets[1].id: "
         f"'{ID_A}' is already registered as spreadsheets[0] (line 2). "
         "Fix: register each spreadsheet once; merge the two entries"),
    ],
    ids=["list", "empty", "bad-yaml", "top-key-typo", "not-a-list", "item-not-mapping",
         "no-id", "short-id", "url-id", "number-id", "no-name", "key-typo", "tab-typo",
         "tabs-string", "tabs-empty", "tab-twice", "lower-case-country", "three-letters",
         "norway-unquoted", "country-number", "chart-source-missing", "chart-host-missing", "duplicate-id"],
)  # fmt: skip
def test_a_bad_registry_is_one_line_naming_file_line_key_and_fix(tmp_path, text, message):
    path = tmp_path / "sheets-sync.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == message.format(p=path)


# --- members and pricers: who may use a sheet ----------------------------------------------------


def test_members_and_pricers_are_read_lower_cased_and_a_pricer_is_a_member(tmp_path):
    path = registry_file(
        tmp_path,
        f"""
        spreadsheets:
          - id: {ID_A}
            name: Benelux market team
            countries: [BE, NL]
            members: ["*@Benelux.Example.com", ana@example.com]
            pricers: [ANA@example.com, lukas@partner.example]
          - id: {ID_B}
            name: Head office
        """,
    )
    benelux, head_office = load(path).sheets
    assert benelux.members == ("*@benelux.example.com", "ana@example.com")
    assert benelux.pricers == ("ana@example.com", "lukas@partner.example")
    assert (head_office.members, head_office.pricers, head_office.is_open) == (None, (), True)
    assert not benelux.is_open
    assert benelux.admits("Bea@BENELUX.example.com") and benelux.admits("ana@example.com")
    assert benelux.admits("lukas@partner.example")  # a pricer not covered by members: a member
    assert not benelux.admits("bea@sub.benelux.example.com")  # exact domain, as the allowlist
    assert not benelux.admits("ana@example.com.evil.example")
    assert not benelux.admits("dirk@dach.example.com")
    assert benelux.prices("Ana@Example.COM") and not benelux.prices("bea@benelux.example.com")
    assert head_office.admits("anyone@tradein.example") and not head_office.prices("anyone@x.io")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("    members: ana@example.com\n", "{p}:4: spreadsheets[0].members: not a non-empty "
         "list. Fix: write a list, e.g. `members: [\"*@benelux.example.com\", ana@example.com]`, "
         "or leave it out"),
        ("    members: []\n", "{p}:4: spreadsheets[0].members: an empty list lets no person in. "
         "Fix: list who may, or leave `members` out to open the sheet to every allowed caller"),
        ("    pricers: []\n", "{p}:4: spreadsheets[0].pricers: an empty list is the same as "
         "leaving it out. Fix: list who may, or leave `pricers` out (then no one may push this "
         "sheet's prices)"),
        ("    members: [ana]\n", "{p}:4: spreadsheets[0].members[0]: 'ana' is not an email "
         "address. Fix: write an email (ana@example.com) or \"*@example.com\" for a whole domain"),
        ("    members: [benelux.example.com]\n", "{p}:4: spreadsheets[0].members[0]: "
         "'benelux.example.com' is not an email address. "
         "Fix: write \"*@benelux.example.com\" for everyone at that domain"),
        ("    members: ['*.benelux.example.com']\n", "{p}:4: spreadsheets[0].members[0]: "
         "'*.benelux.example.com' is not an email address. "
         "Fix: write \"*@benelux.example.com\" for everyone at that domain"),
        ("    members: ['*@']\n", "{p}:4: spreadsheets[0].members[0]: '*@' names no domain. "
         "Fix: write the domain after it, e.g. \"*@example.com\""),
        ("    members: ['@benelux.example.com']\n", "{p}:4: spreadsheets[0].members[0]: "
         "'@benelux.example.com' has nothing before @. "
         "Fix: write \"*@benelux.example.com\" for everyone at benelux.example.com"),
        ("    pricers: [ana@example]\n", "{p}:4: spreadsheets[0].pricers[0]: 'ana@example': "
         "'example' is not a domain. "
         "Fix: write a full domain after @, e.g. ana@example.com or \"*@example.com\""),
        ("    members: ['ana*@example.com']\n", "{p}:4: spreadsheets[0].members[0]: "
         "'ana*@example.com' is not an email address. Fix: \"*@example.com\" matches everyone "
         "at example.com (a * stands only for the whole name)"),
        ("    members: ['ana smith@example.com']\n", "{p}:4: spreadsheets[0].members[0]: "
         "'ana smith@example.com' is not an email address. "
         "Fix: write one plain address, e.g. ana@example.com"),
        ("    members: [1]\n", "{p}:4: spreadsheets[0].members[0]: 1 is not text. "
         "Fix: e.g. `members: [\"*@benelux.example.com\", ana@example.com]`"),
        ("    members: [ana@example.com, Ana@Example.com]\n", "{p}:4: spreadsheets[0].members[1]: "
         "'ana@example.com' is listed twice (case does not count). Fix: list it once"),
        ("    members: [ana@example.com]\n    pricers: [ana@exmaple.com]\n", "{p}:5: "
         "spreadsheets[0].pricers[0]: 'ana@exmaple.com' is not among the members, and looks "
         "like member 'ana@example.com'. Fix: did you mean 'ana@example.com'? (if not, list "
         "'ana@exmaple.com' in members too)"),
        ("    member: [ana@example.com]\n", "{p}:4: spreadsheets[0].member: unknown key. "
         "Fix: did you mean spreadsheets[0].members?"),
        ("    pricer: [ana@example.com]\n", "{p}:4: spreadsheets[0].pricer: unknown key. "
         "Fix: did you mean spreadsheets[0].pricers?"),
        ("    members: [*@benelux.example.com]\n", "{p}: (file): invalid YAML at line 4, column "
         "16. Fix: quote a value that starts with * or &, e.g. \"*@example.com\""),
    ],
    ids=["members-string", "members-empty", "pricers-empty", "no-at", "bare-domain",
         "dot-wildcard", "star-at-nothing", "nothing-before-at", "no-dot-domain",
         "partial-wildcard", "space", "number", "twice-any-case", "pricer-typo",
         "member-key-typo", "pricer-key-typo", "unquoted-wildcard"],
)  # fmt: skip
def test_a_bad_member_or_pricer_is_one_line_naming_file_line_key_and_fix(tmp_path, lines, message):
    path = tmp_path / "sheets-sync.yaml"
    path.write_text(GOOD + lines, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == message.format(p=path)


def test_a_pricer_unlike_any_member_is_a_member_implicitly(tmp_path):
    path = tmp_path / "sheets-sync.yaml"
    path.write_text(
        GOOD + '    members: ["*@benelux.example.com", ana@example.com]\n'
        "    pricers: [lukas@partner.example, '*@pricing.example.com']\n",
        encoding="utf-8",
    )
    (sheet,) = load(path).sheets
    assert sheet.admits("lukas@partner.example") and sheet.prices("lukas@partner.example")
    assert sheet.admits("zoe@pricing.example.com") and sheet.prices("zoe@pricing.example.com")
    assert not sheet.prices("ana@example.com")


# --- scope_of: what a caller gets on a sheet, the one answer the CLI and the webhook ask -------

BENELUX = RegisteredSheet(
    ID_A, "Benelux", ("KPI Daily", "Pricing"), ("BE", "NL"), pricers=("ana@example.com",)
)


def test_a_scope_is_the_sheets_own_unless_narrowed():
    assert scope_of(BENELUX).tabs == ("KPI Daily", "Pricing")
    assert scope_of(BENELUX, [" Pricing", "Pricing"]).tabs == ("Pricing",)  # stripped, once
    assert scope_of(BENELUX).filters == {"country": ("BE", "NL")}
    open_sheet = RegisteredSheet(ID_B, "All", None, None)
    assert (scope_of(open_sheet).tabs, scope_of(open_sheet).filters) == (None, {})


def test_a_scope_refuses_tabs_beyond_the_sheets_or_the_known_titles():
    with pytest.raises(OutsideScope) as caught:
        scope_of(BENELUX, ["Pricing", "Onboarding", "Nope"])
    assert caught.value.outside == ((1, "Onboarding"), (2, "Nope"))
    assert caught.value.allowed == ("KPI Daily", "Pricing")
    open_sheet = RegisteredSheet(ID_B, "All", None, None)
    assert scope_of(open_sheet, ["Nope"]).tabs == ("Nope",)  # no titles given: not checked
    with pytest.raises(OutsideScope):
        scope_of(open_sheet, ["Nope"], titles=("KPI Daily",))


def test_a_person_may_price_only_as_a_pricer_and_no_person_always():
    assert scope_of(BENELUX, person="ANA@example.com").may_price
    assert not scope_of(BENELUX, person="bob@example.com").may_price
    assert scope_of(BENELUX).may_price


# --- scope: a market team's sheet gets its markets' rows only, on every tab ---------------------


def load_two_markets(engine: Engine) -> None:
    """The small dataset of fixtures_sync (France) plus Belgian sellers, orders, prices, targets."""
    created = dt.datetime(2024, 1, 1)
    with engine.begin() as conn:
        conn.execute(
            insert(schema.sellers),
            [
                {"seller_id": "S3", "name": "Brussels Refurb", "country": "BE",
                 "status": "active", "created_at": created, "onboarded_at": created},
                {"seller_id": "S4", "name": "Amsterdam Devices", "country": "NL",
                 "status": "active", "created_at": created, "onboarded_at": created},
            ],
        )  # fmt: skip
        conn.execute(
            insert(schema.tradein_orders),
            [
                order("B1", at(3), seller_id="S3", country="BE"),
                order("B2", at(4), seller_id="S1", country="BE", status="paid",
                      shipped_at=at(3), received_at=at(2), inspected_at=at(2),
                      inspected_grade="good", paid_at=at(1), paid_price=Decimal("90.00")),
            ],
        )  # fmt: skip
        conn.execute(
            insert(schema.price_grid),
            [
                {"seller_id": s, "product_id": "P1", "grade": "good", "country": "BE",
                 "price": Decimal("110.00"), "currency": "EUR", "version": 1,
                 "updated_at": created, "updated_by": "test"}
                for s in ("S1", "S3")
            ],
        )  # fmt: skip
        conn.execute(
            insert(schema.targets),
            [
                {"month": LAST_DAY.replace(day=1), "country": c, "category": "smartphone",
                 "orders_target": 10, "paid_amount_target": Decimal("1000.00")}
                for c in ("FR", "BE")
            ],
        )  # fmt: skip


@pytest.fixture
def two_markets(loaded: Engine) -> Engine:
    load_two_markets(loaded)
    return loaded


def records(book: Path, title: str) -> list[dict[str, Any]]:
    rows = list(load_workbook(book)[title].iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


COUNTRY_TABS = ["KPI Daily", "KPI Weekly", "KPI Monthly", "Pricing", "Onboarding"]
BELGIUM = RegisteredSheet(ID_A, "Belgium", None, ("BE",))


@pytest.mark.parametrize("title", COUNTRY_TABS)
def test_a_country_scoped_tab_holds_only_its_markets_rows(two_markets, settings, tmp_path, title):
    everything, scoped = tmp_path / "all.xlsx", tmp_path / "be.xlsx"
    sync_now(two_markets, settings, f"xlsx:{everything}", tabs=[title], as_of=LAST_DAY)
    sync_now(two_markets, settings, f"xlsx:{scoped}", tabs=[title], as_of=LAST_DAY,
             filters=scope_of(BELGIUM).filters)  # fmt: skip
    assert {"FR", "BE"} <= {r["Country"] for r in records(everything, title)}
    assert {r["Country"] for r in records(scoped, title)} == {"BE"}


def test_a_country_scoped_scorecard_lists_only_sellers_of_its_markets(
    two_markets, settings, tmp_path
):
    everything, scoped = tmp_path / "all.xlsx", tmp_path / "be.xlsx"
    sync_now(two_markets, settings, f"xlsx:{everything}", tabs=["Seller Scorecard"])
    sync_now(two_markets, settings, f"xlsx:{scoped}", tabs=["Seller Scorecard"],
             filters=scope_of(BELGIUM).filters)  # fmt: skip
    assert {r["Seller ID"] for r in records(everything, "Seller Scorecard")} >= {"S1", "S3", "S4"}
    rows = {r["Seller ID"]: r for r in records(scoped, "Seller Scorecard")}
    # S3 is based in Belgium; S1 (France) sold there; S4 (Netherlands) did not.
    assert set(rows) == {"S1", "S3"}
    assert rows["S1"]["Orders 7d"] == 1  # its Belgian order only, not its French ones


def test_sync_status_is_not_a_markets_tab_and_shows_every_run(two_markets, settings, tmp_path):
    book = tmp_path / "be.xlsx"
    sync_now(two_markets, settings, f"xlsx:{tmp_path / 'all.xlsx'}", tabs=["Pricing"])
    sync_now(
        two_markets,
        settings,
        f"xlsx:{book}",
        tabs=["Sync Status"],
        filters=scope_of(BELGIUM).filters,
    )
    assert len(records(book, "Sync Status")) == 2


# --- the CLI: --to applies a registered sheet's scope; --all syncs every sheet -----------------


def cli_env(db_url: str, emulator: Any, registry: Path) -> dict[str, str]:
    return {
        "SHEETS_SYNC_DATABASE_URL": db_url,
        "SHEETS_SYNC_SHEETS_API_URL": emulator.url,
        "SHEETS_SYNC_CONFIG_FILE": str(registry),
        "SHEETS_SYNC_TEMPLATES_DIR": str(TEMPLATES),
    }


def sheet_countries(sheet: gspread.Spreadsheet, title: str) -> set[str]:
    rows = sheet.worksheet(title).get_all_records()
    return {r["Country"] for r in rows}


def test_sync_to_a_registered_spreadsheet_applies_its_tabs_and_countries(
    runner, two_markets, db_url, emulator, gspread_client, tmp_path
):
    sheet = gspread_client.create("Benelux")
    registry = registry_file(
        tmp_path,
        f"""
        spreadsheets:
          - id: {sheet.id}
            name: Benelux
            tabs: [KPI Daily, Pricing]
            countries: [BE, NL]
        """,
    )
    env = cli_env(db_url, emulator, registry)
    result = runner.invoke(main, ["sync", "--to", f"gsheets:{sheet.id}"], env=env)
    assert result.exit_code == 0, result.output
    assert "Scope of 'Benelux' from the registry: KPI Daily, Pricing; BE, NL" in result.output
    titles = {ws.title for ws in gspread_client.open_by_key(sheet.id).worksheets()}
    assert {"KPI Daily", "Pricing"} <= titles and "KPI Monthly" not in titles
    for title in ("KPI Daily", "Pricing"):
        assert sheet_countries(gspread_client.open_by_key(sheet.id), title) == {"BE"}

    widened = runner.invoke(
        main, ["sync", "--to", f"gsheets:{sheet.id}", "--tabs", "Onboarding"], env=env
    )
    assert widened.exit_code == 2
    assert "'Onboarding' not registered for 'Benelux' (its tabs: KPI Daily, Pricing)" in (
        widened.output
    )


def test_sync_all_runs_every_sheet_and_reports_the_one_that_failed(
    runner, two_markets, db_url, emulator, gspread_client, tmp_path
):
    france, everyone = gspread_client.create("France"), gspread_client.create("Head office")
    registry = registry_file(
        tmp_path,
        f"""
        spreadsheets:
          - id: 1NoSuchSpreadsheetAnywhere
            name: Ghost
          - id: {france.id}
            name: France
            tabs: [Pricing]
            countries: [FR]
          - id: {everyone.id}
            name: Head office
            tabs: [Pricing]
        """,
    )
    result = runner.invoke(main, ["sync", "--all"], env=cli_env(db_url, emulator, registry))
    assert result.exit_code == 1
    assert "Failed: 'Ghost' (gsheets:1NoSuchSpreadsheetAnywhere):" in result.output
    assert "1 of 3 spreadsheets failed: 'Ghost'" in result.output
    assert sheet_countries(gspread_client.open_by_key(france.id), "Pricing") == {"FR"}
    assert sheet_countries(gspread_client.open_by_key(everyone.id), "Pricing") == {"FR", "BE"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--all", "--to", "xlsx:x.xlsx"], "--all syncs every registered spreadsheet"),
        (["--all", "--tabs", "Pricing"], "--all syncs every registered spreadsheet"),
    ],
)
def test_sync_all_refuses_a_destination_or_tabs(runner, tmp_path, args, message):
    result = runner.invoke(main, ["sync", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_sync_all_with_nothing_registered_says_where_to_register(runner, db_url):
    result = runner.invoke(main, ["sync", "--all", "--database-url", db_url])
    assert result.exit_code == 1
    assert "no spreadsheet is registered in sheets-sync.yaml" in result.output
