"""The Trade-In Ops service as the add-on's Node tests meet it, started for them.

Run by ``lib/service.js`` (``python -P tests/apps_script/service.py``): it loads
the small dataset into a SQLite file, starts the Sheets emulator with three
spreadsheets (three registered in a ``sheets-sync.yaml``, with their members and
pricers, one not; most with a few tabs synced as the CLI would, :data:`SYNCED_BEFORE`), a loopback
server publishing the certificate of a local RS256 key as Google's certs
endpoint, and ``sheets-sync serve`` on loopback with auth ON (ID tokens only,
audience and domain checked). It prints one JSON line — the addresses, the
spreadsheet ids, the audience — then serves until its stdin closes.

The same loopback server lets the tests act as the rest of the world:
``POST /token`` mints an ID token (claims overridable, e.g. another audience
or an expired one), ``POST /type`` types into the Pricing tab as a person
does, ``POST /read`` reads a Pricing cell back, ``POST /hold`` and
``/release`` hold a spreadsheet's run lock as another run would; ``/html/...`` answers a web
page, ``/bad-gateway/...`` a proxy's 502 page and ``/moved/...`` a redirect,
for a misconfigured ``SHEETS_SYNC_URL``. Only Google is stood in for; the service is the real one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))

from fixtures_sync import load_small_dataset  # noqa: E402
from fixtures_webhook import AUDIENCE, CERT_PEM, KEY_ID, token  # noqa: E402
from helpers import TEMPLATES  # noqa: E402
from pricing_sheets import TeamSheet, settings_for  # noqa: E402

from sheets_emulator.client import emulator_client  # noqa: E402
from sheets_emulator.server import EmulatorServer  # noqa: E402
from sheets_sync.db import make_engine  # noqa: E402
from sheets_sync.db_init import init_db  # noqa: E402
from sheets_sync.jobs.run import sync_now  # noqa: E402
from sheets_sync.locks import destination_lock  # noqa: E402

SYNCED_BEFORE = {
    "ops": ("KPI Daily", "Pricing"),
    "france": ("KPI Daily", "KPI Weekly", "Pricing"),  # before the sheet was scoped
    "stranger": ("KPI Daily", "Pricing"),  # before it left the registry
}
"""Tabs synced by the CLI before the tests: the sheets have managed (tagged) tabs."""
CLI = [sys.executable, "-c", "from sheets_sync.cli import main; main()"]
DOMAIN = "tradein.example"
WEB_PAGE = b"<!doctype html><html><head><title>Sign in</title></head><body>Sign in</body></html>"
PROXY_502 = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"


def registry(path: Path, ids: dict[str, str]) -> None:
    """Ops: open to the domain, which prices it; France: Lea and Marc, Lea prices it;
    Board: the domain's, and no one prices it (never synced: refused before any Sheets call)."""
    path.write_text(
        "spreadsheets:\n"
        f"  - id: {ids['ops']}\n    name: Ops team\n"
        f"    pricers: ['*@{DOMAIN}']\n"
        f"  - id: {ids['france']}\n    name: France\n"
        "    tabs: [KPI Daily, Pricing]\n    countries: [FR]\n"
        f"    members: [lea@{DOMAIN}, marc@{DOMAIN}]\n    pricers: [lea@{DOMAIN}]\n"
        f"  - id: {ids['board']}\n    name: Board\n"
        f"    members: ['*@{DOMAIN}']\n"
    )


class World:
    """The emulator, the database and the Pricing tabs, as the control server uses them."""

    def __init__(self, workdir: Path) -> None:
        self.db_url = f"sqlite:///{workdir / 'tradein.db'}"
        engine = make_engine(self.db_url)
        init_db(engine)
        load_small_dataset(engine)
        engine.dispose()
        self.emulator = EmulatorServer(port=0).start()
        self.gspread = emulator_client(self.emulator.url)
        names = ("ops", "france", "stranger", "board")
        self.ids = {n: self.gspread.create(n).id for n in names}
        self.settings = settings_for(self.db_url, self.emulator)
        self.holders: dict[str, tuple[threading.Event, threading.Thread]] = {}
        engine = make_engine(self.db_url)
        for name, tabs in SYNCED_BEFORE.items():
            sync_now(engine, self.settings, f"gsheets:{self.ids[name]}", tabs=list(tabs))
        engine.dispose()

    def team_sheet(self, name: str) -> TeamSheet:
        sheet_id = self.ids[name]
        ws = self.gspread.open_by_key(sheet_id).worksheet("Pricing")
        return TeamSheet(f"gsheets:{sheet_id}", self.settings, ws)

    def type(self, body: dict[str, Any]) -> dict[str, Any]:
        edits = {(tuple(key), header): value for key, header, value in body["edits"]}
        self.team_sheet(body["sheet"]).type(edits)
        return {"typed": len(edits)}

    def read(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"value": self.team_sheet(body["sheet"]).cell(tuple(body["key"]), body["header"])}

    def hold(self, body: dict[str, Any]) -> dict[str, Any]:
        """Hold a spreadsheet's run lock (another run writing it): refreshes stay queued."""
        held, release = threading.Event(), threading.Event()

        def holder() -> None:
            engine = make_engine(self.db_url)
            with destination_lock(engine, f"gsheets:{self.ids[body['sheet']]}", "another run"):
                held.set()
                release.wait(60)
            engine.dispose()

        thread = threading.Thread(target=holder, daemon=True)
        thread.start()
        held.wait(30)
        self.holders[body["sheet"]] = (release, thread)
        return {"held": held.is_set()}

    def release(self, body: dict[str, Any]) -> dict[str, Any]:
        release, thread = self.holders.pop(body["sheet"])
        release.set()
        thread.join(30)
        return {"released": True}


def control_server(world: World) -> ThreadingHTTPServer:
    """Certs, tokens, the team's typing, and two pages that are not the service."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/oauth2/v1/certs":
                certs = {KEY_ID: CERT_PEM.decode()}
                self.answer(200, json.dumps(certs).encode(), cache="public, max-age=3600")
            else:
                self.page()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            actions = {"/token": mint, "/type": world.type, "/read": world.read,
                       "/hold": world.hold, "/release": world.release}  # fmt: skip
            action = actions.get(self.path)
            if action is None:
                return self.page()
            try:
                result = action(json.loads(raw or b"{}"))
            except Exception as error:  # the test sees why its set-up failed
                return self.answer(500, json.dumps({"error": repr(error)}).encode())
            self.answer(200, json.dumps(result).encode())

        def page(self) -> None:
            if self.path.startswith("/moved"):
                self.send_response(301)
                self.send_header("Location", "https://tradein-ops.example" + self.path[6:])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path.startswith("/bad-gateway"):
                self.answer(502, PROXY_502, "text/html")
            else:
                self.answer(200, WEB_PAGE, "text/html")

        def answer(self, status: int, body: bytes, kind: str = "application/json",
                   cache: str = "no-store") -> None:  # fmt: skip
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Cache-Control", cache)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


def mint(claims: dict[str, Any]) -> dict[str, str]:
    """An ID token like Apps Script's: Lea's by default, any claim overridden (None drops it)."""
    return {"token": token(**claims)}


def serve(world: World, certs_url: str, workdir: Path) -> tuple[subprocess.Popen[str], str, Path]:
    """``sheets-sync serve`` on a free loopback port, auth on; its log goes to a file."""
    config = workdir / "sheets-sync.yaml"
    registry(config, world.ids)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEETS_SYNC_")}
    env.update(
        SHEETS_SYNC_DATABASE_URL=world.db_url,
        SHEETS_SYNC_SHEETS_API_URL=world.emulator.url,
        SHEETS_SYNC_TEMPLATES_DIR=str(TEMPLATES),
        SHEETS_SYNC_CONFIG_FILE=str(config),
        SHEETS_SYNC_OIDC_CERTS_URL=certs_url,
        SHEETS_SYNC_OIDC_AUDIENCES=AUDIENCE,
        SHEETS_SYNC_ALLOWED_DOMAINS=DOMAIN,
        SHEETS_SYNC_RETRY_DEADLINE_SECONDS="2",
        SHEETS_SYNC_LOCK_WAIT_SECONDS="5",
    )
    log_path = workdir / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*CLI, "serve", "--host", "127.0.0.1", "--port", "0"],
            cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=log, text=True,
        )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()
    if not first.startswith("Webhook service on http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"sheets-sync serve did not start: {first!r}\n{log_path.read_text()}")
    return proc, first.split()[3], log_path


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="addon-service-"))
    world = World(workdir)
    control = control_server(world)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    control_url = f"http://127.0.0.1:{control.server_address[1]}"
    proc, url, log_path = serve(world, control_url + "/oauth2/v1/certs", workdir)
    try:
        info = {
            "url": url, "control": control_url, "emulator": world.emulator.url,
            "audience": AUDIENCE, "domain": DOMAIN, "sheets": world.ids, "log": str(log_path),
        }  # fmt: skip
        print(json.dumps(info), flush=True)
        sys.stdin.read()  # until the test closes our stdin (or dies)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        control.shutdown()
        world.emulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
