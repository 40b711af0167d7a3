"""Make the README's pictures of the add-on: its sidebar and its menu, as PNGs in docs/images/.

**Sidebar** (``addon-sidebar.png``): a demo dataset is generated into a scratch
SQLite database; ``sheets-sync emulator`` runs in its own process, standing in
for Google Sheets; three real syncs of one spreadsheet are run with the
engine (recorded as the nightly cron and two menu refreshes would record
them) and the alert rules of ``templates/alerts.yaml`` are evaluated. The
webhook app (the real one, auth off on loopback) then answers ``GET /runs``,
``GET /alerts`` and ``GET /runs/<id>``, and those bodies are what the
sidebar (``templates/apps_script/Sidebar.html``, in headless chromium, with
the stand-in ``google.script.run`` of the browser test) shows, following the
newest run as after Trade-In Ops › Refresh all.

**Menu** (``addon-menu.png``): Code.gs's ``onOpen`` is run under Node with a
recording stand-in for ``SpreadsheetApp.getUi()``; the menu title and items it
adds are drawn as an HTML mock of the Google Sheets menu bar (the bar's other
menus, File to Help, are Google's and drawn for context), then screenshotted.

Run:  .venv/bin/python -P docs/images/make_addon_pictures.py
(needs /usr/bin/chromium, /usr/bin/chromedriver and node; about a minute)
"""

# ruff: noqa: E402  (sys.path must be fixed before the helpers are imported)
from __future__ import annotations

import datetime as dt
import html
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "images"
sys.path.append(str(ROOT / "bench"))  # benchlib: the emulator in its own process
sys.path.append(str(ROOT / "tests"))  # sidebar_browser: chromium and the google.script.run shim

from benchlib import start_emulator
from sidebar_browser import (
    SIDEBAR_WIDTH,
    console_errors,
    missing,
    open_sidebar,
    start_browser,
    viewport,
)

from sheets_emulator.client import emulator_client
from sheets_sync.alerts.run import evaluate_and_notify
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.demo import DemoSpec, generate
from sheets_sync.jobs.run import sync_now
from webhook import create_app

SHEET_NAME = "Trade-In Ops — all markets"
SIDEBAR_HEIGHT = 1100
RUNS = [  # oldest first: (tabs, trigger, requested_by)
    (None, "cron", "cron"),
    (["KPI Daily"], "menu", "marc@tradein.example"),
    (None, "menu", "lea@tradein.example"),
]

MENU_JS = r"""
const fs = require('node:fs'), vm = require('node:vm');
const menus = [];
const ui = {createMenu(title) {
  const menu = {title, items: [], addItem(name, fn) { this.items.push([name, fn]); return this; },
                addSeparator() { this.items.push(null); return this; },
                addToUi() { menus.push({title: this.title, items: this.items}); }};
  return menu;
}};
const context = vm.createContext({SpreadsheetApp: {getUi: () => ui}});
vm.runInContext(fs.readFileSync(process.argv[1], 'utf8'), context, {filename: 'Code.gs'});
context.onOpen({authMode: 'FULL'});
process.stdout.write(JSON.stringify(menus));
"""


def demo_settings(folder: Path, sheets_url: str, sheet_id: str) -> Settings:
    registry = folder / "sheets-sync.yaml"
    registry.write_text(f"spreadsheets:\n  - id: {sheet_id}\n    name: {SHEET_NAME}\n")
    return Settings.load(
        environ={},
        database_url=f"sqlite:///{folder / 'demo.db'}",
        sheets_api_url=sheets_url,
        templates_dir=ROOT / "templates",
        config_file=registry,
        auth="disabled",
        bind_host="127.0.0.1",
    )


def demo_runs(settings: Settings, sheet_id: str) -> None:
    """The demo data, three real syncs to the emulator, then the alert rules."""
    engine = make_engine(settings.database.database_url)
    generate(engine, DemoSpec(orders=20_000, days=120))
    for tabs, trigger, who in RUNS:
        sync_now(engine, settings, f"gsheets:{sheet_id}", tabs, trigger=trigger, requested_by=who)
        time.sleep(1.1)  # distinct queued_at seconds, as runs minutes apart would have
    evaluate_and_notify(engine, settings)
    engine.dispose()


def service_answers(settings: Settings, sheet_id: str) -> dict[str, list[Any]]:
    """What Sidebar.gs would hand the page, from the webhook's real answers."""
    client = create_app({"SETTINGS": settings}).test_client()

    def get(path: str) -> dict[str, Any]:
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(
                f"GET {path}: {response.status_code} {response.get_data(as_text=True)}"
            )
        return dict(response.get_json())

    runs = get(f"/runs?spreadsheet_id={sheet_id}&limit=10")["runs"]
    alerts = get(f"/alerts?spreadsheet_id={sheet_id}")["alerts"]
    newest = runs[0]["run_id"]
    data = {"spreadsheet": {"id": sheet_id, "name": SHEET_NAME}, "runs": runs,
            "alerts": alerts, "following": newest, "error": None}  # fmt: skip
    return {"sidebarData": [data], "runStatus": [get(f"/runs/{newest}")]}


def sidebar_picture(answers: dict[str, list[Any]]) -> Path:
    driver = start_browser(height=SIDEBAR_HEIGHT)
    try:
        open_sidebar(driver, answers)
        for _ in range(200):
            if driver.execute_script("return window.__calls.length >= 3"):  # data, status, reload
                break
            time.sleep(0.05)
        time.sleep(0.3)
        if errors := console_errors(driver):
            raise SystemExit(f"the sidebar logged errors: {errors}")
        height = driver.execute_script("return document.documentElement.scrollHeight")
        viewport(driver, SIDEBAR_WIDTH, int(height))  # the whole sidebar, as if scrolled
        path = OUT / "addon-sidebar.png"
        driver.save_screenshot(str(path))
    finally:
        driver.quit()
    return path


def real_menu() -> dict[str, Any]:
    """The menu Code.gs's onOpen adds, as Apps Script would build it."""
    code = ROOT / "templates" / "apps_script" / "Code.gs"
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not installed (apt-get install nodejs)")
    command = [node, "-e", MENU_JS, str(code)]  # our own script and file
    done = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603
    (menu,) = json.loads(done.stdout)
    return dict(menu)


def menu_html(menu: dict[str, Any]) -> str:
    google = ["File", "Edit", "View", "Insert", "Format", "Data", "Tools", "Extensions", "Help"]
    bar = "".join(f"<span>{name}</span>" for name in google)
    items = "".join(
        '<li class="sep"></li>' if item is None else f"<li>{html.escape(item[0])}</li>"
        for item in menu["items"]
    )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><style>
      body {{ margin: 0; font: 14px Arial, sans-serif; background: #f9fbfd; color: #202124; }}
      .title {{ padding: 10px 16px 2px; font-size: 18px; }}
      .bar {{ padding: 2px 10px; }} .bar span {{ padding: 4px 7px; display: inline-block; }}
      .bar span.open {{ background: #e1e5ea; border-radius: 4px; }}
      .menu {{ position: absolute; top: 62px; margin: 0;
               padding: 6px 0; list-style: none; background: #fff; border-radius: 4px;
               box-shadow: 0 2px 6px rgba(60,64,67,.3), 0 1px 2px rgba(60,64,67,.3);
               min-width: 240px; }}
      .menu li {{ padding: 7px 24px; }} .menu li:first-child {{ background: #f1f3f4; }}
      .menu li.sep {{ padding: 0; border-top: 1px solid #dadce0; margin: 5px 0; }}
      .grid {{ position: absolute; top: 96px; left: 0; right: 0; bottom: 0; background:
               repeating-linear-gradient(#fff 0 20px, #e2e3e3 20px 21px); z-index: -1; }}
    </style></head><body>
      <div class="title">{html.escape(SHEET_NAME)}</div>
      <div class="bar">{bar}<span class="open">{html.escape(menu["title"])}</span></div>
      <ul class="menu" role="menu">{items}</ul><div class="grid"></div>
      <script>document.querySelector('.menu').style.left =
        document.querySelector('.open').offsetLeft + 'px';</script>
    </body></html>"""


def menu_picture(menu: dict[str, Any], folder: Path) -> Path:
    page = folder / "menu.html"
    page.write_text(menu_html(menu), encoding="utf-8")
    driver = start_browser(width=720, height=250)
    try:
        driver.get(page.as_uri())
        path = OUT / "addon-menu.png"
        driver.save_screenshot(str(path))
    finally:
        driver.quit()
    return path


def main() -> None:
    if reason := missing():
        raise SystemExit(reason)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        emulator, url = start_emulator()
        try:
            sheet_id = emulator_client(url).create(SHEET_NAME).id
            settings = demo_settings(folder, url, sheet_id)
            demo_runs(settings, sheet_id)
            answers = service_answers(settings, sheet_id)
            print("wrote", sidebar_picture(answers).relative_to(ROOT))
        finally:
            emulator.terminate()
            emulator.wait()
        menu = real_menu()
        print("menu from Code.gs:", menu["title"], "›", [i and i[0] for i in menu["items"]])
        print("wrote", menu_picture(menu, folder).relative_to(ROOT))
    print("made", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))


if __name__ == "__main__":
    main()
