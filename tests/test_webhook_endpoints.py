"""The webhook's job endpoints: refresh (queued or joined), run status, nightly cron, pricing.

Everything is real: the app from the factory, callers authenticated with real
RS256 ID tokens (verified against certs served on loopback) or HMAC
signatures, syncs written by real gspread to the Sheets emulator, both
databases. Concurrency goes through a real threaded HTTP server on loopback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import io
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from fixtures_sync import at, load_small_dataset
from fixtures_webhook import SECRET, CertsServer, bearer, finish_runs, service_settings, token
from helpers import order
from pricing_sheets import TeamSheet
from sqlalchemy import insert, select
from werkzeug.serving import make_server

from sheets_sync import schema
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.jobs import queue, runs
from sheets_sync.jobs.run import sync_now
from sheets_sync.locks import destination_lock
from webhook import create_app
from webhook.runtime import ENGINE_KEY

EMAIL = "lea@tradein.example"
FR_GOOD, FR_CRACKED, DE_GOOD = (
    ("S1", "P1", "good", "FR"),
    ("S1", "P1", "cracked", "FR"),
    ("S1", "P1", "good", "DE"),
)
UNKNOWN_RUN = "6f1c2b0e-3d4a-4b5c-8d9e-0a1b2c3d4e5f"
SCHEDULER = "scheduler@tradein-ops.iam.gserviceaccount.com"


@pytest.fixture
def loaded(engine: Any) -> Any:
    """The small dataset plus an order in Germany, so a market-scoped sheet shows the scope."""
    load_small_dataset(engine)
    with engine.begin() as conn:
        conn.execute(insert(schema.tradein_orders), [order("O9", at(1), country="DE")])
        conn.execute(
            insert(schema.price_grid),
            [{"seller_id": "S1", "product_id": "P1", "grade": "good", "country": "DE",
              "price": Decimal("119.00"), "currency": "EUR", "version": 1,
              "updated_at": dt.datetime(2024, 1, 1), "updated_by": "test"}],
        )  # fmt: skip
    return engine


@pytest.fixture
def sheets(gspread_client) -> dict[str, str]:
    """Two registered spreadsheets (one scoped to a tab and a market) and an unregistered one."""
    return {name: gspread_client.create(name).id for name in ("all", "scoped", "stranger")}


@pytest.fixture
def registry_file(tmp_path: Path, sheets: dict[str, str]) -> Path:
    path = tmp_path / "sheets-sync.yaml"
    path.write_text(
        "spreadsheets:\n"
        f"  - id: {sheets['all']}\n    name: Ops team\n    pricers: [{EMAIL}]\n"
        f"  - id: {sheets['scoped']}\n    name: France\n"
        f"    tabs: [KPI Daily, Pricing]\n    countries: [FR]\n    pricers: [{EMAIL}]\n"
    )
    return path


def make_settings(db_url: str, emulator: Any, certs: CertsServer, registry: Path) -> Settings:
    return service_settings(
        db_url,
        certs,
        registry,
        sheets_api_url=emulator.url,
        hmac_secret=SECRET,
        lock_wait_seconds=60,
        cron_callers=(SCHEDULER,),
    )


@pytest.fixture
def settings(loaded, db_url, emulator, certs, registry_file) -> Settings:
    return make_settings(db_url, emulator, certs, registry_file)


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:
    app = create_app({"TESTING": True, "SETTINGS": settings, "LOG_STREAM": io.StringIO()})
    yield app
    finish_runs(app)
    app.extensions[ENGINE_KEY].dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def auth() -> dict[str, str]:
    return bearer(token())


def signed(method: str, path: str, body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    message = f"{stamp}.{method}.{path}.".encode() + body
    digest = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    return {"X-Signature": f"t={stamp},v1={digest}", "Content-Type": "application/json"}


def all_runs(settings: Settings) -> list[dict[str, Any]]:
    engine = make_engine(settings.database.database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(schema.sync_runs).order_by(schema.sync_runs.c.queued_at))
        found = [dict(r._mapping) for r in rows]
    engine.dispose()
    return found


@contextlib.contextmanager
def runs_held(settings: Settings, *sheet_ids: str) -> Iterator[None]:
    """Keep the spreadsheets' run locks, so runs queued meanwhile stay queued (joinable)."""
    engine = make_engine(settings.database.database_url)
    with contextlib.ExitStack() as stack:
        for sheet_id in sheet_ids:
            stack.enter_context(destination_lock(engine, f"gsheets:{sheet_id}", "test"))
        yield
    engine.dispose()


# --- POST /hooks/refresh ---------------------------------------------------------------------


def test_a_refresh_is_queued_then_runs_and_reports(app, client, sheets, gspread_client) -> None:
    response = client.post("/hooks/refresh", json={"spreadsheet_id": sheets["all"]}, headers=auth())
    assert response.status_code == 202
    body = response.get_json()
    assert body["status_url"] == f"http://localhost/runs/{body['run_id']}"
    assert body["joined"] is False
    finish_runs(app)  # the run outlives the request; wait for it here
    status = client.get(f"/runs/{body['run_id']}", headers=auth())
    assert status.status_code == 200
    run = status.get_json()
    assert (run["status"], run["trigger"], run["requested_by"]) == ("succeeded", "menu", EMAIL)
    assert run["spreadsheet_id"] == sheets["all"] and run["error"] is None
    assert run["cells_written"] > 0 and run["api_calls"] > 0 and run["finished_at"].endswith("Z")
    titles = {ws.title for ws in gspread_client.open_by_key(sheets["all"]).worksheets()}
    assert {"KPI Daily", "Pricing", "Sync Status"} <= titles
    lines = [json.loads(line) for line in app.config["LOG_STREAM"].getvalue().splitlines()]
    (done,) = [line for line in lines if line["message"] == f"run {body['run_id']} succeeded"]
    assert done["request_id"] == response.headers["X-Request-Id"]  # logged by the executor
    assert done["run_id"] == body["run_id"]


def test_a_refresh_of_a_scoped_sheet_gets_its_tabs_and_market_only(
    app, client, sheets, gspread_client
) -> None:
    for name in ("scoped", "all"):
        body = {"spreadsheet_id": sheets[name], "tabs": ["KPI Daily"]}
        response = client.post("/hooks/refresh", json=body, headers=auth())
    finish_runs(app)
    run = client.get(f"/runs/{response.get_json()['run_id']}", headers=auth()).get_json()
    assert (run["status"], run["tabs"]) == ("succeeded", ["KPI Daily"])

    def countries(name: str) -> set[str]:
        sheet = gspread_client.open_by_key(sheets[name])
        return {r["Country"] for r in sheet.worksheet("KPI Daily").get_all_records()}

    assert (countries("scoped"), countries("all")) == ({"FR"}, {"FR", "DE"})


def test_a_refresh_already_queued_is_joined(app, client, settings, sheets) -> None:
    engine = make_engine(settings.database.database_url)
    queued = queue.queue_or_join(engine, settings, f"gsheets:{sheets['all']}", trigger="cli")
    engine.dispose()
    response = client.post("/hooks/refresh", json={"spreadsheet_id": sheets["all"]}, headers=auth())
    assert response.status_code == 202
    assert response.get_json()["run_id"] == queued.run_id
    assert response.get_json()["joined"] is True
    assert len(all_runs(settings)) == 1


def test_a_full_refresh_widens_a_queued_one_tab_refresh(app, client, settings, sheets) -> None:
    one_tab = {"spreadsheet_id": sheets["all"], "tabs": ["KPI Daily"]}
    with runs_held(settings, sheets["all"]):  # the first run waits, queued
        first = client.post("/hooks/refresh", json=one_tab, headers=auth()).get_json()
        full = client.post("/hooks/refresh", json={"spreadsheet_id": sheets["all"]}, headers=auth())
        assert full.get_json()["run_id"] == first["run_id"] and full.get_json()["joined"]
        queued = client.get(f"/runs/{first['run_id']}", headers=auth()).get_json()
        assert (queued["status"], queued["tabs"]) == ("queued", None)  # None: every tab
    finish_runs(app)
    (run,) = all_runs(settings)
    assert run["status"] == "succeeded"
    assert {"KPI Daily", "Pricing", "Onboarding"} <= set(run["tabs"].split(", "))


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    """The app on a real threaded HTTP server on loopback."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_twenty_refreshes_at_once_over_http_make_one_run(app, server, sheets, settings) -> None:
    headers = auth()
    barrier = threading.Barrier(20)

    def refresh(_: int) -> requests.Response:
        barrier.wait()
        body = {"spreadsheet_id": sheets["all"]}
        return requests.post(f"{server}/hooks/refresh", json=body, headers=headers, timeout=60)

    with runs_held(settings, sheets["all"]), ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(refresh, range(20)))
    assert [a.status_code for a in answers] == [202] * 20
    assert len({a.json()["run_id"] for a in answers}) == 1
    assert sum(not a.json()["joined"] for a in answers) == 1
    assert len({a.headers["X-Request-Id"] for a in answers}) == 20
    finish_runs(app)
    (run,) = all_runs(settings)
    assert run["status"] == "succeeded"


def test_hmac_callers_are_recorded_as_such(app, client, sheets, settings) -> None:
    body = json.dumps({"spreadsheet_id": sheets["all"]}).encode()
    headers = signed("POST", "/hooks/refresh", body)
    response = client.post("/hooks/refresh", data=body, headers=headers)
    assert response.status_code == 202
    finish_runs(app)
    (run,) = all_runs(settings)
    assert (run["trigger"], run["requested_by"]) == ("api", "hmac")


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        (b"not json", "body", "expected a JSON object"),
        (b"[1, 2]", "body", "expected a JSON object"),
        (b"{}", "spreadsheet_id", "missing"),
        (b'{"spreadsheet_id": 12345678901}', "spreadsheet_id", "a number given"),
        (b'{"spreadsheet_id": null}', "spreadsheet_id", "null given"),
        (b'{"spreadsheet_id": ""}', "spreadsheet_id", "an empty string given"),
        (b'{"spreadsheet_id": ["x"]}', "spreadsheet_id", "a list given"),
        (b'{"spreadsheet_id": "ID", "tabs": "KPI Daily"}', "tabs", "a string given"),
        (b'{"spreadsheet_id": "ID", "tabs": []}', "tabs", "an empty list given"),
        (b'{"spreadsheet_id": "ID", "tabs": [1]}', "tabs[0]", "a number given"),
        (b'{"spreadsheet_id": "ID", "tabs": ["Nope"]}', "tabs[0]", "'Nope' is not a tab"),
        (b'{"spreadsheet_id": "ID", "tab": ["KPI Daily"]}', "tab", "unknown field"),
    ],
)
def test_a_bad_refresh_body_is_400_naming_the_field(client, sheets, body, field, says) -> None:
    body = body.replace(b"ID", sheets["all"].encode())
    response = client.post("/hooks/refresh", data=body, headers=auth())
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert response.get_json()["error"].startswith(f"{field}: ")
    assert says in response.get_json()["error"]


def test_a_tab_outside_the_sheets_scope_is_400(client, sheets) -> None:
    body = {"spreadsheet_id": sheets["scoped"], "tabs": ["Pricing", "KPI Monthly"]}
    response = client.post("/hooks/refresh", json=body, headers=auth())
    assert response.status_code == 400
    assert response.get_json()["field"] == "tabs[1]"
    assert "['KPI Daily', 'Pricing']" in response.get_json()["error"]


@pytest.mark.parametrize("path", ["/hooks/refresh", "/hooks/pricing"])
def test_an_unregistered_spreadsheet_is_404(client, sheets, settings, path) -> None:
    response = client.post(path, json={"spreadsheet_id": sheets["stranger"]}, headers=auth())
    assert response.status_code == 404
    assert "not registered" in response.get_json()["error"]
    assert all_runs(settings) == []


def test_a_body_over_the_cap_is_413(client, sheets) -> None:
    big = {"spreadsheet_id": sheets["all"], "tabs": ["x" * 300_000]}
    response = client.post("/hooks/refresh", json=big, headers=auth())
    assert response.status_code == 413
    assert "limit is 262144 bytes" in response.get_json()["error"]


# --- auth on every job endpoint --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/hooks/refresh"), ("POST", "/hooks/pricing"), ("GET", f"/runs/{UNKNOWN_RUN}"),
     ("GET", "/cron/nightly")],
)  # fmt: skip
def test_every_job_endpoint_refuses_anonymous_callers(client, sheets, method, path) -> None:
    response = client.open(path, method=method, json={"spreadsheet_id": sheets["all"]})
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized"}


def test_the_cron_header_counts_only_on_app_engine(client, monkeypatch, settings) -> None:
    monkeypatch.delenv("GAE_ENV", raising=False)
    assert client.get("/cron/nightly", headers={"X-Appengine-Cron": "true"}).status_code == 401
    monkeypatch.setenv("GAE_ENV", "standard")
    assert client.get("/cron/nightly", headers={"X-Appengine-Cron": "true"}).status_code == 202


def test_cron_is_not_open_to_a_refresh_only_header(client, monkeypatch) -> None:
    monkeypatch.setenv("GAE_ENV", "standard")
    response = client.post(
        "/hooks/refresh", json={"spreadsheet_id": "x"}, headers={"X-Appengine-Cron": "true"}
    )
    assert response.status_code == 401


# --- GET /cron/nightly -----------------------------------------------------------------------


def test_the_nightly_cron_syncs_every_registered_sheet(app, client, sheets, settings) -> None:
    scheduler = bearer(token(email=SCHEDULER))
    with runs_held(settings, sheets["all"], sheets["scoped"]):
        response = client.get("/cron/nightly", headers=scheduler)
        again = client.get("/cron/nightly", headers=scheduler).get_json()["runs"]
    assert response.status_code == 202
    started = response.get_json()["runs"]
    assert [(r["spreadsheet_id"], r["name"]) for r in started] == [
        (sheets["all"], "Ops team"),
        (sheets["scoped"], "France"),
    ]
    assert [r["run_id"] for r in again] == [r["run_id"] for r in started]  # joined
    finish_runs(app)
    recorded = {r["run_id"]: r for r in all_runs(settings)}
    assert set(recorded) == {r["run_id"] for r in started}
    for run in recorded.values():
        assert (run["trigger"], run["requested_by"], run["status"]) == ("cron", "cron", "succeeded")
    scoped = recorded[started[1]["run_id"]]
    assert scoped["tabs"] == "KPI Daily, Pricing"
    stream = app.config["LOG_STREAM"].getvalue().splitlines()
    logged = [json.loads(line)["message"] for line in stream]
    alerts = [i for i, m in enumerate(logged) if m.startswith("nightly alerts: Alerts as of")]
    synced = [i for i, m in enumerate(logged) if m.startswith("run ") and "succeeded" in m]
    assert len(alerts) == 2 and len(synced) == 2  # each cron call evaluates once, after both
    assert min(alerts) > max(synced)


# --- GET /runs/<run_id> ----------------------------------------------------------------------


@pytest.mark.parametrize("run_id", [UNKNOWN_RUN, "not-a-run", "1' OR '1'='1"])
def test_an_unknown_run_is_404(client, run_id) -> None:
    response = client.get(f"/runs/{run_id}", headers=auth())
    assert response.status_code == 404
    assert "error" in response.get_json()


def test_a_run_of_an_unregistered_destination_is_not_shown(client, settings, tmp_path) -> None:
    engine = make_engine(settings.database.database_url)
    book = runs.queue_run(engine, f"xlsx:{tmp_path / 'private.xlsx'}", "cli", "ana")
    engine.dispose()
    assert client.get(f"/runs/{book}", headers=auth()).status_code == 404


# --- POST /hooks/pricing -------------------------------------------------------------------


def team_sheet(settings: Settings, gspread_client: Any, sheet_id: str) -> TeamSheet:
    """The spreadsheet's Pricing tab synced in full (every market), ready for the team's edits."""
    engine = make_engine(settings.database.database_url)
    sync_now(engine, settings, f"gsheets:{sheet_id}", tabs=["Pricing"])
    engine.dispose()
    ws = gspread_client.open_by_key(sheet_id).worksheet("Pricing")
    return TeamSheet(f"gsheets:{sheet_id}", settings, ws)


def price_changes(settings: Settings) -> list[dict[str, Any]]:
    engine = make_engine(settings.database.database_url)
    with engine.connect() as conn:
        found = [dict(r._mapping) for r in conn.execute(select(schema.price_changes))]
    engine.dispose()
    return found


def test_a_preview_then_a_push_of_the_pricing_tab(client, settings, sheets, gspread_client) -> None:
    team = team_sheet(settings, gspread_client, sheets["all"])
    team.type({(FR_GOOD, "New price"): "125", (FR_CRACKED, "New price"): "abc"})
    body = {"spreadsheet_id": sheets["all"], "dry_run": True}
    preview = client.post("/hooks/pricing", json=body, headers=auth())
    assert preview.status_code == 200
    summary = preview.get_json()
    assert (summary["dry_run"], summary["applied"], summary["rejected"]) == (True, 1, 1)
    assert summary["run_id"] is None and price_changes(settings) == []
    effect, [applied] = summary["expected_effect"], [r for r in summary["rows"] if r["price"]]
    assert (effect["available"], effect["edits"]) == (True, 1)  # the valid edit only
    mine = applied["expected_effect"]
    for figure in ("expected_orders_28d_before", "expected_orders_28d_after"):
        assert effect[figure] == mine[figure]
    assert effect["cost_change_28d"] == {"EUR": mine["cost_change_28d"]}

    pushed = client.post("/hooks/pricing", json={"spreadsheet_id": sheets["all"]}, headers=auth())
    assert pushed.status_code == 200
    summary = pushed.get_json()
    assert (summary["applied"], summary["rejected"], summary["user"]) == (1, 1, EMAIL)
    assert {r["outcome"] for r in summary["rows"]} == {"applied", "rejected"}
    assert summary["expected_effect"] is None  # a preview's, not a push's
    (change,) = price_changes(settings)
    assert (change["changed_by"], str(change["new_price"])) == (EMAIL, "125.00")
    assert change["request_id"] == pushed.headers["X-Request-Id"]
    run = runs.get_run(make_engine(settings.database.database_url), summary["run_id"])
    assert run is not None and (run["kind"], run["requested_by"]) == ("pricing", EMAIL)


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_market_sheet_rejects_another_markets_rows_and_pushes_its_own(
    client, settings, sheets, gspread_client, dry_run
) -> None:
    """A row of another market is that row's rejection, as in the CLI: never a 403, which
    is about callers, not rows."""
    team = team_sheet(settings, gspread_client, sheets["scoped"])  # synced before it was scoped
    team.type({(FR_GOOD, "New price"): "125", (DE_GOOD, "New price"): "99"})
    body = {"spreadsheet_id": sheets["scoped"], "dry_run": dry_run}
    response = client.post("/hooks/pricing", json=body, headers=auth())
    assert response.status_code == 200
    summary = response.get_json()
    assert (summary["applied"], summary["rejected"]) == (1, 1)
    [rejected] = [r for r in summary["rows"] if r["outcome"] == "rejected"]
    assert (rejected["country"], rejected["row"]) == ("DE", team.row_number(DE_GOOD))
    assert rejected["status"].startswith("✖ rejected: this sheet prices only FR; DE is another")
    assert len(price_changes(settings)) == (0 if dry_run else 1)
    if not dry_run:
        assert team.cell(DE_GOOD, "Status") == rejected["status"]
        assert team.cell(DE_GOOD, "New price") in (99, "99")


@pytest.mark.parametrize("dry_run", [True, False])
def test_no_cell_makes_the_pricing_push_a_500(
    client, settings, sheets, gspread_client, dry_run
) -> None:
    """A huge number, an exponent, a control character in Reason: each is its row's
    rejection in a 200, and the other rows go through."""
    body = {"spreadsheet_id": sheets["all"], "dry_run": dry_run}
    team = team_sheet(settings, gspread_client, sheets["all"])
    team.type({
        (FR_GOOD, "New price"): "9" * 50_000, (FR_CRACKED, "New price"): 1e308,
        (DE_GOOD, "New price"): "0", (DE_GOOD, "Reason"): "closing\x00",
    })  # fmt: skip
    response = client.post("/hooks/pricing", json=body, headers=auth())
    assert response.status_code == 200, response.get_json()
    summary = response.get_json()
    assert (summary["applied"], summary["rejected"]) == (0, 3)
    assert price_changes(settings) == []


def test_a_sheet_without_the_pricing_tab_is_422_saying_so(client, sheets) -> None:
    response = client.post("/hooks/pricing", json={"spreadsheet_id": sheets["all"]}, headers=auth())
    assert response.status_code == 422
    assert "Pricing" in response.get_json()["error"]


def test_the_pricing_push_validates_dry_run(client, sheets) -> None:
    body = {"spreadsheet_id": sheets["all"], "dry_run": "yes"}
    response = client.post("/hooks/pricing", json=body, headers=auth())
    assert (response.status_code, response.get_json()["field"]) == (400, "dry_run")


# --- logs ------------------------------------------------------------------------------------


def test_log_lines_are_json_with_cloud_logging_fields(app, client, monkeypatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "tradein-ops")
    monkeypatch.setenv("GAE_ENV", "standard")  # the trace header is the platform's only there
    trace = "105445aa7843bc8bf206b12000100000/1;o=1"
    headers = {"X-Cloud-Trace-Context": trace, "Authorization": "Bearer not-a-token"}
    response = client.get(f"/runs/{uuid.uuid4()}", headers=headers)
    assert response.status_code == 401
    lines = [json.loads(line) for line in app.config["LOG_STREAM"].getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == response.headers["X-Request-Id"]]
    refusal = next(line for line in mine if line["message"].startswith("request refused"))
    assert refusal["severity"] == "WARNING" and refusal["logger"] == "webhook.auth"
    assert all(
        line["logging.googleapis.com/trace"]
        == "projects/tradein-ops/traces/105445aa7843bc8bf206b12000100000"
        for line in mine
    )
    access = next(line for line in mine if "httpRequest" in line)
    assert access["severity"] == "INFO" and access["message"].startswith("GET /runs/")
    assert access["httpRequest"]["status"] == 401
    assert "not-a-token" not in app.config["LOG_STREAM"].getvalue()
    monkeypatch.delenv("GAE_ENV")  # elsewhere anyone may send the header: it is not logged
    again = client.get(f"/runs/{uuid.uuid4()}", headers=headers).headers["X-Request-Id"]
    lines = [json.loads(line) for line in app.config["LOG_STREAM"].getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == again]
    assert mine and not any("logging.googleapis.com/trace" in line for line in mine)


# --- the database down, then back --------------------------------------------------------------


class Proxy:
    """A TCP relay on loopback to the database that the test can cut and restore."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.links: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def stop(self) -> None:
        """Shut sockets down (a bare close leaves a thread blocked in accept or recv served)."""
        assert self.listener is not None
        for sock in [self.listener, *self.links]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.links.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.links += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_the_database_down_is_503_and_the_service_recovers(
    db_url, emulator, certs, registry_file, sheets
) -> None:
    url = make_engine(db_url).url
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    via_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = make_settings(via_proxy, emulator, certs, registry_file)
    app = create_app({"TESTING": True, "SETTINGS": settings, "LOG_STREAM": io.StringIO()})
    client, headers, missing = app.test_client(), auth(), f"/runs/{uuid.uuid4()}"
    assert client.get(missing, headers=headers).status_code == 404
    proxy.stop()
    for path, body in ((missing, None), ("/hooks/refresh", {"spreadsheet_id": sheets["all"]})):
        down = client.open(path, method="POST" if body else "GET", json=body, headers=headers)
        assert down.status_code == 503
        assert down.headers["Retry-After"] == "10"
        assert "database is unavailable" in down.get_json()["error"]
    proxy.start()  # the same port: the database is back
    assert client.get(missing, headers=headers).status_code == 404
    body = {"spreadsheet_id": sheets["all"]}
    assert client.post("/hooks/refresh", json=body, headers=headers).status_code == 202
    finish_runs(app)
    proxy.stop()
