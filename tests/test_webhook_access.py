"""Who may do what on which spreadsheet: the registry's ``members`` and ``pricers`` (docs/design.md §8).

The access matrix: a registry with a head-office sheet (no markets), two
market sheets (Benelux, DACH) and an open one (no ``members``); every
identity × every endpoint × every sheet answered by the real app from the
factory, callers carrying real RS256 ID tokens (or HMAC signatures), on both
databases. The runs the refreshes queue stay queued while the matrix runs
(the sheets' run locks are held) and run once it is done; the pushes allowed
are dry runs against the Sheets emulator, and every refused one is answered
before any Sheets call.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import io
import json
import logging
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fixtures_emulator import EmulatorControls
from fixtures_sidebar import run_row
from fixtures_sync import load_small_dataset
from fixtures_webhook import SECRET, CertsServer, bearer, finish_runs, service_settings, token
from pricing_sheets import TeamSheet
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from sheets_sync import schema
from sheets_sync.clock import utcnow
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.errors import ConfigError
from sheets_sync.jobs.run import sync_now
from sheets_sync.locks import destination_lock
from webhook import auth, create_app
from webhook.runtime import ENGINE_KEY

SHEETS = ("head office", "benelux", "dach", "open")
SCHEDULER = "scheduler@tradein-ops.iam.gserviceaccount.com"
NOWHERE = "http://127.0.0.1:9"
"""A Sheets API address nothing listens on: the start-up tests make no Sheets call."""
PEOPLE = {
    "hq member": "hq@tradein.example",
    "benelux member": "bea@benelux.example.com",
    "benelux pricer": "Ana@Example.com",  # listed as ana@… and ANA@…: case never counts
    "dach member": "dirk@dach.example.com",
    "dach pricer": "lukas@partner.example",  # a pricer not covered by members: a member
    "outsider": "olaf@tradein.example",  # an allowed domain, a member of no sheet
    "scheduler": SCHEDULER,  # in SHEETS_SYNC_CRON_CALLERS only
}
IDENTITIES = (*PEOPLE, "hmac")
ENDPOINTS = ("run", "runs", "alerts", "refresh", "pricing")
"""Per sheet: GET /runs/<a run of it>, GET /runs?…, GET /alerts?…, POST /hooks/refresh,
POST /hooks/pricing (dry run); then GET /cron/nightly once per identity."""

# Codes: a status, or 403 as its reason — m not_a_member, p not_a_pricer, n no_pricers,
# h hmac_cannot_price, s scheduler_only, f forbidden (refused by the global allowlists).
MEMBER, OUT = "200 200 200 202", "404 m m m"
MATRIX = {
    #                  head office        benelux             dach                open            nightly
    "hq member":      (f"{MEMBER} n",    f"{OUT} m",         f"{OUT} m",         f"{MEMBER} n", "s"),
    "benelux member": (f"{OUT} m",       f"{MEMBER} p",      f"{OUT} m",         f"{MEMBER} n", "s"),
    "benelux pricer": (f"{OUT} m",       f"{MEMBER} 200",    f"{OUT} m",         f"{MEMBER} n", "s"),
    "dach member":    (f"{OUT} m",       f"{OUT} m",         f"{MEMBER} p",      f"{MEMBER} n", "s"),
    "dach pricer":    (f"{OUT} m",       f"{OUT} m",         f"{MEMBER} 200",    f"{MEMBER} n", "s"),
    "outsider":       (f"{OUT} m",       f"{OUT} m",         f"{OUT} m",         f"{MEMBER} n", "s"),
    "scheduler":      ("f f f f f",      "f f f f f",        "f f f f f",        "f f f f f",   "202"),
    "hmac":           (f"{MEMBER} h",    f"{MEMBER} h",      f"{MEMBER} h",      f"{MEMBER} h", "s"),
}  # fmt: skip
REASONS = {
    "not_a_member": "m",
    "not_a_pricer": "p",
    "no_pricers": "n",
    "hmac_cannot_price": "h",
    "scheduler_only": "s",
}


def registry_text(ids: dict[str, str]) -> str:
    return f"""spreadsheets:
  - id: {ids["head office"]}
    name: Head office
    tabs: [Pricing]
    members: [hq@tradein.example]
  - id: {ids["benelux"]}
    name: Benelux market team
    tabs: [Pricing]
    countries: [BE, NL]
    members: ["*@benelux.example.com", ana@example.com]
    pricers: [ANA@example.com]
  - id: {ids["dach"]}
    name: DACH market team
    tabs: [Pricing]
    countries: [DE, AT]
    members: ["*@dach.example.com"]
    pricers: [lukas@partner.example]
  - id: {ids["open"]}
    name: Open sheet
    tabs: [Pricing]
"""


def access_settings(
    db_url: str, sheets_api_url: str, certs: CertsServer, registry: Path
) -> Settings:
    settings = service_settings(
        db_url,
        certs,
        registry,
        sheets_api_url=sheets_api_url,
        hmac_secret=SECRET,
        lock_wait_seconds=60,
        cron_callers=(SCHEDULER,),
    )
    return settings.replace(
        allowed_domains=("tradein.example", "benelux.example.com", "dach.example.com"),
        allowed_emails=("ana@example.com", "lukas@partner.example"),
    )


def load_markets(engine: Engine) -> None:
    """The small dataset (France) plus a Belgian and a German price of seller S1."""
    load_small_dataset(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(schema.price_grid),
            [{"seller_id": "S1", "product_id": "P1", "grade": "good", "country": c,
              "price": Decimal("110.00"), "currency": "EUR", "version": 1,
              "updated_at": dt.datetime(2024, 1, 1), "updated_by": "test"} for c in ("BE", "DE")],
        )  # fmt: skip


def seed_runs(engine: Engine, ids: dict[str, str]) -> dict[str, str]:
    """One finished run per sheet; returns its run id by sheet name."""
    now = utcnow()
    rows = {name: run_row(ids[name], n, now) for n, name in enumerate(SHEETS, start=1)}
    with engine.begin() as conn:
        conn.execute(insert(schema.sync_runs), list(rows.values()))
    return {name: row["run_id"] for name, row in rows.items()}


class World:
    """The four registered spreadsheets on the emulator and an app serving them."""

    def __init__(self, app: Any, ids: dict[str, str], run_ids: dict[str, str]) -> None:
        self.app, self.ids, self.run_ids = app, ids, run_ids
        self.client = app.test_client()
        self.settings: Settings = app.config["SETTINGS"]
        self.tokens = {name: bearer(token(email=email)) for name, email in PEOPLE.items()}

    def request(self, identity: str, endpoint: str, sheet: str | None) -> Any:
        sheet_id = self.ids[sheet] if sheet else ""
        method, path, body = {
            "run": ("GET", f"/runs/{self.run_ids[sheet] if sheet else ''}", None),
            "runs": ("GET", f"/runs?spreadsheet_id={sheet_id}", None),
            "alerts": ("GET", f"/alerts?spreadsheet_id={sheet_id}", None),
            "refresh": ("POST", "/hooks/refresh", {"spreadsheet_id": sheet_id}),
            "pricing": ("POST", "/hooks/pricing", {"spreadsheet_id": sheet_id, "dry_run": True}),
            "nightly": ("GET", "/cron/nightly", None),
        }[endpoint]
        raw = json.dumps(body).encode() if body is not None else b""
        headers = signed(method, path, raw) if identity == "hmac" else self.tokens[identity]
        return self.client.open(path, method=method, data=raw or None, headers=headers,
                                content_type="application/json" if raw else None)  # fmt: skip

    def code(self, identity: str, endpoint: str, sheet: str | None) -> str:
        response = self.request(identity, endpoint, sheet)
        if response.status_code != 403:
            return str(response.status_code)
        body = response.get_json()
        return "f" if body == {"error": "forbidden"} else REASONS[body["reason"]]


_SIGNED: set[bytes] = set()


def signed(method: str, target: str, body: bytes) -> dict[str, str]:
    """``X-Signature`` as a signed tool sends it (README, Deployment step 4), over what
    :mod:`webhook.auth` verifies (``auth.signed_message``: the query string included).
    ``target`` is the path with its query string as sent."""
    path, _, query = target.partition("?")
    stamp, message = int(time.time()) + 1, b""
    while not message or message in _SIGNED:  # each request its own signature: no replay
        stamp -= 1
        message = auth.signed_message(stamp, method, path, query.encode(), body)
    _SIGNED.add(message)
    digest = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    return {"X-Signature": f"t={stamp},v1={digest}"}


@contextlib.contextmanager
def locks_held(settings: Settings, ids: dict[str, str]) -> Iterator[None]:
    """Every sheet's run lock held, so the runs refreshes queue meanwhile stay queued."""
    engine = make_engine(settings.database.database_url)
    with contextlib.ExitStack() as stack:
        for sheet_id in ids.values():
            stack.enter_context(destination_lock(engine, f"gsheets:{sheet_id}", "the matrix"))
        yield
    engine.dispose()


@pytest.fixture
def world(engine, db_url, emulator, certs, gspread_client, tmp_path) -> Iterator[World]:
    load_markets(engine)
    ids = {name: gspread_client.create(name).id for name in SHEETS}
    registry = tmp_path / "sheets-sync.yaml"
    registry.write_text(registry_text(ids))
    settings = access_settings(db_url, emulator.url, certs, registry)
    for name, countries in (("benelux", ("BE", "NL")), ("dach", ("DE", "AT"))):
        sync_now(engine, settings, f"gsheets:{ids[name]}", tabs=["Pricing"],
                 filters={"country": countries})  # fmt: skip
    run_ids = seed_runs(engine, ids)
    app = create_app({"TESTING": True, "SETTINGS": settings, "LOG_STREAM": io.StringIO()})
    yield World(app, ids, run_ids)
    finish_runs(app)
    app.extensions[ENGINE_KEY].dispose()


# --- the matrix --------------------------------------------------------------------------------


def test_every_identity_on_every_endpoint_of_every_sheet(world) -> None:
    with locks_held(world.settings, world.ids):
        got = {
            identity: (
                *(
                    " ".join(world.code(identity, endpoint, sheet) for endpoint in ENDPOINTS)
                    for sheet in SHEETS
                ),
                world.code(identity, "nightly", None),
            )
            for identity in IDENTITIES
        }
    assert got == MATRIX
    finish_runs(world.app)  # the queued refreshes and the nightly's runs, now free to run
    engine = world.app.extensions[ENGINE_KEY]
    with engine.connect() as conn:
        rows = conn.execute(
            select(schema.sync_runs).where(schema.sync_runs.c.status != "succeeded")
        )
        assert [dict(r._mapping) for r in rows] == []
        kinds = conn.execute(select(schema.sync_runs.c.kind)).scalars().all()
    assert "pricing" not in kinds  # previews record nothing; no push was made


def test_another_sheets_run_is_a_404_word_for_word_like_an_unknown_run(world) -> None:
    theirs = world.request("benelux member", "run", "dach")
    unknown_id = "6f1c2b0e-3d4a-4b5c-8d9e-0a1b2c3d4e5f"
    unknown = world.client.get(f"/runs/{unknown_id}", headers=world.tokens["benelux member"])
    assert (theirs.status_code, unknown.status_code) == (404, 404)
    run_id = world.run_ids["dach"]
    assert theirs.get_json() == {"error": f"no run {run_id} of a registered spreadsheet"}
    assert unknown.get_json() == {"error": f"no run {unknown_id} of a registered spreadsheet"}


def test_a_non_member_learns_nothing_of_the_sheets_tabs(world) -> None:
    """The tabs are checked after membership: a 400 would list the sheet's tabs."""
    body = {"spreadsheet_id": world.ids["benelux"], "tabs": ["Nope"]}
    outsider = world.client.post("/hooks/refresh", json=body, headers=world.tokens["outsider"])
    assert (outsider.status_code, outsider.get_json()["reason"]) == (403, "not_a_member")
    assert "Pricing" not in outsider.get_data(as_text=True)
    member = world.client.post("/hooks/refresh", json=body, headers=world.tokens["benelux member"])
    assert (member.status_code, member.get_json()["field"]) == (400, "tabs[0]")


@pytest.mark.parametrize(
    ("identity", "sheet", "says"),
    [
        ("outsider", "benelux", "olaf@tradein.example is not a member of this spreadsheet; ask "
         "the service's administrator to add you to its `members` in sheets-sync.yaml"),
        ("benelux member", "benelux", "bea@benelux.example.com may refresh this spreadsheet but "
         "not push its prices; ask the service's administrator to add you to its `pricers` in "
         "sheets-sync.yaml"),
        ("hq member", "head office", "this spreadsheet accepts no price push: it lists no "
         "`pricers` in sheets-sync.yaml (ask the service's administrator to list who may push "
         "its prices)"),
        ("hmac", "benelux", "a signed (HMAC) caller may not push prices: a push needs a person's "
         "verified Google identity (an ID token), which is audited as the price's author"),
    ],
)  # fmt: skip
def test_a_refused_push_says_why_and_makes_no_sheets_call(world, identity, sheet, says) -> None:
    controls = EmulatorControls(world.settings.sheets.sheets_api_url or "")
    before = controls.counters()["requests"]
    for dry_run in (True, False):
        body = json.dumps({"spreadsheet_id": world.ids[sheet], "dry_run": dry_run}).encode()
        headers = (
            signed("POST", "/hooks/pricing", body) if identity == "hmac" else world.tokens[identity]
        )
        response = world.client.post("/hooks/pricing", data=body, headers=headers,
                                     content_type="application/json")  # fmt: skip
        assert response.status_code == 403
        assert response.get_json()["error"] == says
    assert controls.counters()["requests"] == before
    lines = [json.loads(line) for line in world.app.config["LOG_STREAM"].getvalue().splitlines()]
    refusals = [line["message"] for line in lines if line["message"].startswith("access refused")]
    assert len(refusals) == 2 and world.ids[sheet] in refusals[0]


def test_the_nightly_run_refuses_people_and_signatures_with_the_reason(world) -> None:
    response = world.request("benelux pricer", "nightly", None)
    assert response.status_code == 403
    assert response.get_json() == {
        "error": "the nightly run is started only by the scheduler: App Engine cron, or an "
        "account listed in SHEETS_SYNC_CRON_CALLERS",
        "reason": "scheduler_only",
    }


# --- the pricing push, audited as the verified pricer --------------------------------------------


@pytest.fixture
def pushed(world, gspread_client) -> tuple[World, Any]:
    """Ana types a Belgian price in the Benelux sheet and pushes it through the menu."""
    sheet_id = world.ids["benelux"]
    ws = gspread_client.open_by_key(sheet_id).worksheet("Pricing")
    team = TeamSheet(f"gsheets:{sheet_id}", world.settings, ws)
    team.type({(("S1", "P1", "good", "BE"), "New price"): "115"})
    response = world.client.post(
        "/hooks/pricing", json={"spreadsheet_id": sheet_id}, headers=world.tokens["benelux pricer"]
    )
    return world, response


def test_the_push_is_audited_as_the_verified_pricer(pushed) -> None:
    world, response = pushed
    assert response.status_code == 200, response.get_json()
    summary = response.get_json()
    assert (summary["applied"], summary["user"]) == (1, "ana@example.com")
    engine = world.app.extensions[ENGINE_KEY]
    with engine.connect() as conn:
        (change,) = conn.execute(select(schema.price_changes)).mappings().all()
        run = conn.execute(
            select(schema.sync_runs).where(schema.sync_runs.c.run_id == summary["run_id"])
        ).mappings().one()  # fmt: skip
    assert (change["changed_by"], change["country"], str(change["new_price"])) == (
        "ana@example.com",
        "BE",
        "115.00",
    )
    assert (run["kind"], run["trigger"], run["requested_by"]) == ("pricing", "menu",
                                                                  "ana@example.com")  # fmt: skip


# --- the scheduler ------------------------------------------------------------------------------


def test_the_scheduler_starts_the_nightly_run_as_cron(world) -> None:
    with locks_held(world.settings, world.ids):
        response = world.request("scheduler", "nightly", None)
    assert response.status_code == 202
    assert len(response.get_json()["runs"]) == len(SHEETS)
    finish_runs(world.app)
    engine = world.app.extensions[ENGINE_KEY]
    with engine.connect() as conn:
        new = select(schema.sync_runs).where(schema.sync_runs.c.trigger == "cron")
        rows = conn.execute(new).mappings().all()
    assert {(r["requested_by"], r["status"]) for r in rows} == {("cron", "succeeded")}


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"email": SCHEDULER.upper()}, 202),
        ({"email": SCHEDULER, "aud": "another-audience"}, 401),
        ({"email": SCHEDULER, "email_verified": False}, 401),
        ({"email": SCHEDULER, "iss": "https://evil.example"}, 401),
        ({"email": "scheduler@other-project.iam.gserviceaccount.com"}, 403),
    ],
    ids=["any-case", "wrong-audience", "unverified", "wrong-issuer", "another-account"],
)
def test_only_a_good_token_of_a_listed_account_is_the_scheduler(world, claims, status) -> None:
    with locks_held(world.settings, world.ids):
        response = world.client.get("/cron/nightly", headers=bearer(token(**claims)))
    assert response.status_code == status


def test_with_no_cron_callers_the_scheduler_token_is_refused(world) -> None:
    world.app.config["SETTINGS"] = world.settings.replace(cron_callers=())
    response = world.request("scheduler", "nightly", None)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("value", "bad"),
    [("scheduler", "scheduler"), ("*@tradein-ops.iam.gserviceaccount.com", "*@tradein-ops.iam.gserviceaccount.com"),
     ("a@b.example,@example.com", "@example.com"), ("ops@localhost", "ops@localhost")],
)  # fmt: skip
def test_a_bad_cron_caller_names_the_variable(value, bad) -> None:
    with pytest.raises(
        ConfigError, match=rf"SHEETS_SYNC_CRON_CALLERS: '{re.escape(bad)}' is not an"
    ):
        Settings.load(environ={"SHEETS_SYNC_CRON_CALLERS": value})


def test_cron_callers_are_read_from_the_environment() -> None:
    settings = Settings.load(environ={"SHEETS_SYNC_CRON_CALLERS": f" {SCHEDULER}, b@x.example"})
    assert settings.webhook.cron_callers == (SCHEDULER, "b@x.example")


# --- start-up ----------------------------------------------------------------------------------


def access_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "webhook.access"]


def test_each_open_entry_is_warned_once_at_start_up(db_url, certs, tmp_path, caplog) -> None:
    ids = {name: f"1{name.replace(' ', '')}Sheet000000000000" for name in SHEETS}
    registry = tmp_path / "sheets-sync.yaml"
    registry.write_text(registry_text(ids) + "  - id: 1AnotherOpenSheet0000000\n    name: Board\n")
    settings = access_settings(db_url, NOWHERE, certs, registry)
    with caplog.at_level(logging.WARNING, logger="webhook.access"):
        app = create_app({"TESTING": True, "SETTINGS": settings, "LOG_STREAM": io.StringIO()})
    app.extensions[ENGINE_KEY].dispose()
    assert access_warnings(caplog) == [
        f"spreadsheet 'Open sheet' ({ids['open']}) lists no `members` in sheets-sync.yaml: every "
        "caller SHEETS_SYNC_ALLOWED_EMAILS / SHEETS_SYNC_ALLOWED_DOMAINS admit may read its runs "
        "and alerts and refresh it",
        "spreadsheet 'Board' (1AnotherOpenSheet0000000) lists no `members` in sheets-sync.yaml: "
        "every caller SHEETS_SYNC_ALLOWED_EMAILS / SHEETS_SYNC_ALLOWED_DOMAINS admit may read its "
        "runs and alerts and refresh it",
    ]


def test_members_the_allowlists_refuse_are_warned(db_url, certs, tmp_path, caplog) -> None:
    ids = {name: f"1{name.replace(' ', '')}Sheet000000000000" for name in SHEETS}
    registry = tmp_path / "sheets-sync.yaml"
    registry.write_text(registry_text(ids))
    settings = access_settings(db_url, NOWHERE, certs, registry)
    settings = settings.replace(allowed_emails=(), allowed_domains=("tradein.example",))
    with caplog.at_level(logging.WARNING, logger="webhook.access"):
        app = create_app({"TESTING": True, "SETTINGS": settings, "LOG_STREAM": io.StringIO()})
    app.extensions[ENGINE_KEY].dispose()
    outside = [m for m in access_warnings(caplog) if "do not (all) admit" in m]
    assert outside == [
        f"spreadsheet 'Benelux market team' ({ids['benelux']}) lists *@benelux.example.com, "
        "ana@example.com, whom SHEETS_SYNC_ALLOWED_EMAILS / SHEETS_SYNC_ALLOWED_DOMAINS do not "
        "(all) admit: they are refused (403) before their membership counts",
        f"spreadsheet 'DACH market team' ({ids['dach']}) lists *@dach.example.com, "
        "lukas@partner.example, whom SHEETS_SYNC_ALLOWED_EMAILS / SHEETS_SYNC_ALLOWED_DOMAINS do "
        "not (all) admit: they are refused (403) before their membership counts",
    ]


# --- auth disabled (a developer on loopback) ----------------------------------------------------


def test_a_local_caller_passes_every_sheet_rule(world) -> None:
    """With auth disabled there is no identity to check: the head office sheet, which has no
    pricers, gets as far as its missing Pricing tab (422), not a 403."""
    settings = world.settings.replace(auth="disabled", bind_host="127.0.0.1")
    app = create_app({"TESTING": True, "SETTINGS": settings, "LOG_STREAM": io.StringIO()})
    client = app.test_client()
    body = {"spreadsheet_id": world.ids["head office"], "dry_run": True}
    assert client.post("/hooks/pricing", json=body).status_code == 422
    assert client.get(f"/runs/{world.run_ids['dach']}").status_code == 200
    finish_runs(app)
    app.extensions[ENGINE_KEY].dispose()
