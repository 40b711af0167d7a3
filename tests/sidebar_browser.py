"""The add-on sidebar in a real headless chromium, with a stand-in ``google.script.run``.

Apps Script serves ``templates/apps_script/Sidebar.html`` as it is
(``HtmlService.createHtmlOutputFromFile``) and gives it ``google.script.run``,
whose server functions answer asynchronously through the success or failure
handler. Here Debian's chromium (driven by its chromedriver through selenium,
nothing downloaded) opens the same file, and :data:`SHIM` — evaluated before
any script of the page — stands in for ``google.script.run``: each server
function answers the next of the canned responses the caller gives (the
last one repeats), a response ``{"__fail__": "..."}`` calls the failure
handler with an ``Error``. Every call is recorded in ``window.__calls``, and
every delay the page asks of ``setTimeout`` in ``window.__delays`` (the timer
then fires ``scale`` times sooner, so a test follows a 30-second poll in a
fraction of a second while checking the delays the page really uses).

Used by tests/test_addon_sidebar.py and docs/images/make_addon_pictures.py.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parent.parent
SIDEBAR = ROOT / "templates" / "apps_script" / "Sidebar.html"
CHROMIUM = os.environ.get("SHEETS_SYNC_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SHEETS_SYNC_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
SIDEBAR_WIDTH = 300
"""Google Sheets' sidebar width, in CSS pixels."""

SHIM = """
(function () {
  var canned = %(responses)s, scale = %(scale)s;
  var realSetTimeout = window.setTimeout.bind(window);
  window.__calls = [];
  window.__delays = [];
  window.setTimeout = function (fn, ms) {
    window.__delays.push(ms);
    return realSetTimeout(fn, (ms || 0) / scale);
  };
  function answer(name) {
    var queue = canned[name] || [];
    return queue.length > 1 ? queue.shift() : queue[0];
  }
  function runner(success, failure) {
    var r = {
      withSuccessHandler: function (fn) { return runner(fn, failure); },
      withFailureHandler: function (fn) { return runner(success, fn); }
    };
    Object.keys(canned).forEach(function (name) {
      r[name] = function () {
        var args = Array.prototype.slice.call(arguments);
        window.__calls.push({name: name, args: args, at: performance.now()});
        var value = answer(name);
        realSetTimeout(function () {
          if (value && value.__fail__) { if (failure) failure(new Error(value.__fail__)); }
          else if (success) success(value === undefined ? null : JSON.parse(JSON.stringify(value)));
        }, 5);
      };
    });
    return r;
  }
  window.google = {script: {get run() { return runner(null, null); }}};
})();
"""


def missing() -> str | None:
    """Why the browser test cannot run here (None when chromium and its driver are installed)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).is_file() and os.access(path, os.X_OK)) and not shutil.which(path):
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    return None


def start_browser(width: int = SIDEBAR_WIDTH, height: int = 900) -> webdriver.Chrome:
    """Headless chromium with a ``width`` × ``height`` page, console messages kept."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--hide-scrollbars", "--lang=en-US"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    viewport(driver, width, height)
    return driver


def viewport(driver: webdriver.Chrome, width: int, height: int) -> None:
    """The page's size in CSS pixels (a window cannot be made as narrow as a sidebar)."""
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def open_sidebar(driver: webdriver.Chrome, responses: dict[str, list[Any]], scale: int = 1) -> None:
    """Load Sidebar.html with ``google.script.run`` answering ``responses`` (name → list)."""
    source = SHIM % {"responses": json.dumps(responses), "scale": scale}
    added = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})
    driver.get(SIDEBAR.as_uri())
    driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", added)


def console_errors(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """The page's console errors and uncaught exceptions since the last call."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
