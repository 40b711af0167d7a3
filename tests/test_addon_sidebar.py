"""The add-on's sidebar (templates/apps_script/Sidebar.html) in a real headless chromium.

The page gets a stand-in ``google.script.run`` (tests/sidebar_browser.py)
whose answers are the real webhook's bodies: ``GET /runs``, ``GET /alerts``
and ``GET /runs/<id>`` of the app from the factory, called with real ID
tokens, the way Sidebar.gs passes them on. Checked: what a person reads
(runs with their figures, alerts, errors), a followed run polled with growing
delays until it ends, data shown as text (never run as HTML), and a console
free of errors. Skipped without chromium and chromedriver, except under CI.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import unavailable
from fixtures_sidebar import HOSTILE, RUN_ERROR, SHEET_ALL, STRANGER, auth
from selenium.webdriver.common.by import By
from sidebar_browser import console_errors, missing, open_sidebar, start_browser

from sheets_sync.backends.base import WriteReport, WrittenTab
from sheets_sync.jobs.runs import mark_running, mark_succeeded, queue_run
from webhook.runtime import ENGINE_KEY

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
"""The page does not depend on the database; the endpoints' own tests cover both."""
SCALE = 100
"""Timers fire this many times sooner than the page asks (the asked delays are checked)."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = missing()
    if reason is not None:
        unavailable(reason, "CI=true: the browser test is required")
    driver = start_browser()
    yield driver
    driver.quit()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    browser.get_log("browser")  # what an earlier test left
    yield browser
    assert console_errors(browser) == []


def body(app: Any, path: str) -> dict[str, Any]:
    response = app.test_client().get(path, headers=auth())
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json())


def sidebar_data(app: Any, following: str | None = None) -> dict[str, Any]:
    """What Sidebar.gs's sidebarData() returns, from the service's real answers."""
    query = f"?spreadsheet_id={SHEET_ALL}"
    return {
        "spreadsheet": {"id": SHEET_ALL, "name": "Ops team"},
        "runs": body(app, f"/runs{query}&limit=10")["runs"],
        "alerts": body(app, f"/alerts{query}")["alerts"],
        "following": following,
        "error": None,
    }


def texts(driver: Any, selector: str) -> list[str]:
    return [node.text for node in driver.find_elements(By.CSS_SELECTOR, selector)]


def wait_for(driver: Any, script: str, timeout: float = 15.0) -> Any:
    """Poll the page until ``script`` returns something truthy (the page is asynchronous).

    The timeout is generous because it only bounds a failure: chromium may be starved
    for seconds on a loaded 2-core machine, and a passing wait returns at once.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"the page never satisfied: {script}")


def calls(driver: Any, name: str) -> list[dict[str, Any]]:
    return [c for c in driver.execute_script("return window.__calls") if c["name"] == name]


def test_the_last_runs_and_the_alerts_are_shown_with_their_figures(
    sidebar_app, seeded, page
) -> None:
    open_sidebar(page, {"sidebarData": [sidebar_data(sidebar_app)]})
    wait_for(page, "return document.querySelectorAll('#runs li').length === 10")
    assert page.find_element(By.ID, "sheet-name").text == "Ops team"
    runs = texts(page, "#runs li")
    assert runs[0].startswith("Sync RUNNING") and "Pricing push SUCCEEDED" in runs[2]
    assert "Trigger\nmenu\nBy\nlea@tradein.example\nDuration\n12.5 s" in runs[3]
    assert "Tabs\nKPI Daily, Pricing\nCells written\n1,004\nAPI calls\n11" in runs[3]
    assert RUN_ERROR in runs[1]  # the <b> in the message is text, not bold
    assert page.execute_script("return window.innerWidth") == 300
    shown = [a for a in texts(page, "#alerts li") if a]
    assert len(shown) == 3  # the most severe; the others behind a button
    more = page.find_element(By.ID, "alerts-more")
    assert more.text == "Show 4 more (6 active, 1 resolved in the last 14 days)"
    more.click()
    alerts = texts(page, "#alerts li")
    assert all(alerts) and alerts[:3] == shown and not more.is_displayed()
    assert len(alerts) == 7 and alerts[0].startswith("CRITICAL")
    assert "A sync failed in the last day" in alerts[0] and "all markets" in alerts[0]
    assert "seller Recommerce Pro (S_FR)\nValue\n71.3 % (threshold 85.0 %)" in alerts[2]
    assert alerts[-1].startswith("RESOLVED")
    assert not page.find_element(By.ID, "error").is_displayed()
    loaded = "return performance.getEntriesByType('resource').map(e => e.name)"
    assert page.execute_script(loaded) == []  # no CDN, font or image: the page alone


def test_html_in_the_data_is_shown_literally_and_never_runs(sidebar_app, seeded, page) -> None:
    open_sidebar(page, {"sidebarData": [sidebar_data(sidebar_app)]})
    wait_for(page, "return document.querySelectorAll('#alerts li').length > 0")
    assert f"seller {HOSTILE} (S_DE)" in page.find_element(By.ID, "alerts").text  # 2nd: shown
    assert page.find_elements(By.CSS_SELECTOR, "img, b") == []
    assert page.title == "Trade-In Ops"  # the onerror handler never ran


def test_an_empty_sheet_says_so(sidebar_app, page) -> None:
    open_sidebar(page, {"sidebarData": [sidebar_data(sidebar_app)]})
    wait_for(page, "return document.getElementById('runs-empty').textContent.includes('No run')")
    assert page.find_element(By.ID, "alerts-empty").text == "No active alert."


def unregistered_error(app: Any) -> str:
    response = app.test_client().get(f"/runs?spreadsheet_id={STRANGER}", headers=auth())
    assert response.status_code == 404
    return str(response.get_json()["error"])


@pytest.mark.parametrize("how", ["error field", "failure handler"])
def test_a_failure_is_shown_to_the_user(sidebar_app, page, how) -> None:
    said = unregistered_error(sidebar_app)
    if how == "error field":
        answer = {"spreadsheet": None, "runs": [], "alerts": [], "following": None, "error": said}
    else:
        answer = {"__fail__": "Exception: " + said}
    open_sidebar(page, {"sidebarData": [answer]})
    shown = wait_for(page, "return document.getElementById('error').textContent")
    assert said in shown
    assert page.find_element(By.ID, "error").get_attribute("role") == "alert"
    assert page.find_element(By.ID, "refresh").is_enabled()  # the user can try again


def test_refresh_reloads_the_list(sidebar_app, seeded, page) -> None:
    before = sidebar_data(sidebar_app)
    after = {**before, "runs": before["runs"][:2]}
    open_sidebar(page, {"sidebarData": [before, after]})
    wait_for(page, "return document.querySelectorAll('#runs li').length === 10")
    page.find_element(By.ID, "refresh").click()
    wait_for(page, "return document.querySelectorAll('#runs li').length === 2")
    assert len(calls(page, "sidebarData")) == 2


def run_states(app: Any, polls_running: int) -> tuple[str, list[dict[str, Any]]]:
    """A run's real status bodies as it goes queued → running (polled N times) → succeeded."""
    engine = app.extensions[ENGINE_KEY]
    run_id = queue_run(engine, f"gsheets:{SHEET_ALL}", "menu", "lea@tradein.example")
    states = [body(app, f"/runs/{run_id}")]
    mark_running(engine, run_id)
    states += [body(app, f"/runs/{run_id}")] * polls_running
    report = WriteReport(tabs=[WrittenTab("KPI Daily", rows=30, cells=420)], api_calls=6)
    mark_succeeded(engine, run_id, tabs=["KPI Daily"], written=report)
    return run_id, [*states, body(app, f"/runs/{run_id}")]


def test_a_followed_run_is_polled_with_growing_delays_until_it_ends(sidebar_app, page) -> None:
    run_id, states = run_states(sidebar_app, polls_running=5)
    assert [s["status"] for s in states] == ["queued", *["running"] * 5, "succeeded"]
    first, last = sidebar_data(sidebar_app, following=run_id), sidebar_data(sidebar_app, run_id)
    open_sidebar(page, {"sidebarData": [first, last], "runStatus": states}, scale=SCALE)
    wait_for(page, "return document.getElementById('following-body').textContent"
             ".includes('Succeeded')")  # fmt: skip
    wait_for(page, "return window.__calls.filter(c => c.name === 'sidebarData').length === 2")
    time.sleep(30_000 / SCALE / 1000)  # as long as two more polls would take: none comes
    polled = calls(page, "runStatus")
    assert [c["args"] for c in polled] == [[run_id]] * 7
    assert page.execute_script("return window.__delays") == [
        1000,
        2000,
        4000,
        8000,
        15000,
        15000,
    ]  # one timer per poll, doubling, capped at 15 s; none after the end
    shown = page.find_element(By.ID, "following").text
    assert "Cells written\n420" in shown and "API calls\n6" in shown
    assert "Next check" not in shown


def test_a_poll_error_is_shown_and_the_run_still_followed(sidebar_app, page) -> None:
    run_id, states = run_states(sidebar_app, polls_running=0)
    trouble = [{"error": "The Trade-In Ops service did not answer in time."},
               {"__fail__": "Exception: Service invoked too many times"}]  # fmt: skip
    answers = {"sidebarData": [sidebar_data(sidebar_app, run_id)], "runStatus": trouble + states}
    open_sidebar(page, answers, scale=SCALE, record="following-body")
    wait_for(page, "return document.getElementById('following-body').textContent"
             ".includes('Succeeded')")  # fmt: skip
    seen = page.execute_script("return window.__texts")  # each shown for a scaled 10 ms only
    assert seen[0] == "Checking the run you started…"
    assert "The Trade-In Ops service did not answer in time.Trying again in 1 s." in seen
    assert any("Service invoked too many times" in text and "again in 2 s" in text for text in seen)
    assert page.execute_script("return window.__delays") == [1000, 2000, 4000]
