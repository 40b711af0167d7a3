"""A refresh joins only a run that syncs the tabs it asks for (sheets_sync/jobs/).

A full refresh arriving while a one-tab refresh is queued must not get the
one-tab run: a queued run is widened to the union of the tabs (it has read
nothing yet); a running run is not, and a new queued run follows it. A runner
starts a run only with the tabs it holds at that moment (``runs.claim_run``),
so a widening never slips between reading the tabs and starting. Both databases.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
from helpers import TEMPLATES
from sqlalchemy.engine import Engine

from sheets_sync.config import Settings
from sheets_sync.jobs import runs
from sheets_sync.jobs.executor import InProcessExecutor, request_sync
from sheets_sync.jobs.queue import covers, queue_or_join
from sheets_sync.jobs.run import Job, run_queued
from sheets_sync.locks import destination_lock

SHEET = "gsheets:1AbCdEfGhIjKlMnOpQrStUv"
DAILY, PRICING, ONBOARDING = "KPI Daily", "Pricing", "Onboarding"
ALL: tuple[str, ...] = ()


def tabs_of(engine: Engine, run_id: str) -> str | None:
    run = runs.get_run(engine, run_id)
    assert run is not None
    return run["tabs"]  # type: ignore[no-any-return]


def ask(engine: Engine, settings: Settings, *tabs: str) -> Any:
    return queue_or_join(engine, settings, SHEET, trigger="api", tabs=tabs)


@pytest.mark.parametrize(
    ("queued", "asked", "tabs_after"),
    [
        ((DAILY,), (DAILY,), "KPI Daily"),
        ((DAILY, PRICING), (PRICING,), "KPI Daily, Pricing"),
        (ALL, (DAILY,), None),
        (ALL, ALL, None),
        ((DAILY,), (PRICING,), "KPI Daily, Pricing"),
        ((DAILY,), (PRICING, DAILY, ONBOARDING), "KPI Daily, Pricing, Onboarding"),
        ((DAILY,), ALL, None),
    ],
    ids=["same", "subset", "all-covers-one", "all-all", "widened", "widened-union",
         "full-widens-to-all"],
)  # fmt: skip
def test_a_queued_run_is_joined_and_widened_to_cover_the_tabs(
    engine, settings, queued, asked, tabs_after
) -> None:
    first = ask(engine, settings, *queued)
    second = ask(engine, settings, *asked)
    assert (second.run_id, second.joined) == (first.run_id, True)
    assert tabs_of(engine, first.run_id) == tabs_after


def start(engine: Engine, run_id: str) -> None:
    """What a runner does: claim the run with the tabs it holds (running from now on)."""
    recorded = tabs_of(engine, run_id)
    assert runs.claim_run(engine, run_id, recorded.split(", ") if recorded else None)


@pytest.mark.parametrize(
    ("running", "asked", "joined"),
    [((DAILY,), (DAILY,), True), (ALL, (PRICING,), True), (ALL, ALL, True),
     ((DAILY,), (PRICING,), False), ((DAILY,), ALL, False), ((DAILY,), (DAILY, PRICING), False)],
)  # fmt: skip
def test_a_running_run_is_joined_only_if_it_covers_else_a_new_run_follows(
    engine, settings, running, asked, joined
) -> None:
    first = ask(engine, settings, *running)
    with destination_lock(engine, SHEET, "api", run_id=first.run_id):  # it is alive
        start(engine, first.run_id)
        second = ask(engine, settings, *asked)
        third = ask(engine, settings, *asked)
    assert second.joined is joined and (second.run_id == first.run_id) is joined
    assert tabs_of(engine, first.run_id) == (", ".join(running) or None)  # never widened
    assert third.run_id == second.run_id and third.joined  # the follower is joined in turn
    if not joined:
        follower = runs.get_run(engine, second.run_id)
        assert follower is not None and follower["status"] == "queued"
        assert follower["tabs"] == (", ".join(asked) or None)


def test_with_a_run_running_and_one_queued_the_queued_one_is_widened(engine, settings) -> None:
    running = ask(engine, settings, DAILY)
    with destination_lock(engine, SHEET, "api", run_id=running.run_id):
        start(engine, running.run_id)
        queued = ask(engine, settings, PRICING)
        joined_running = ask(engine, settings, DAILY)
        widened = ask(engine, settings, ONBOARDING)
    assert joined_running.run_id == running.run_id
    assert widened.run_id == queued.run_id and queued.run_id != running.run_id
    assert tabs_of(engine, queued.run_id) == "Pricing, Onboarding"
    assert tabs_of(engine, running.run_id) == "KPI Daily"


def test_a_runner_that_read_the_tabs_before_a_widening_does_not_start(engine, settings) -> None:
    ticket = ask(engine, settings, DAILY)
    read = [DAILY]  # the runner read the tabs ...
    ask(engine, settings, PRICING)  # ... then a refresh widened the run
    assert runs.claim_run(engine, ticket.run_id, read) is False
    assert runs.claim_run(engine, ticket.run_id, [DAILY, PRICING]) is True
    assert runs.claim_run(engine, ticket.run_id, [DAILY, PRICING]) is False  # once only
    later = ask(engine, settings, ONBOARDING)  # started: not widened, a new run follows
    assert later.run_id != ticket.run_id and not later.joined


@pytest.mark.parametrize(
    ("stored", "wanted", "covered"),
    [(None, (), True), (None, ("A",), True), ("A", (), False), ("A, B", ("B",), True),
     ("A", ("A", "B"), False), ("A, B", ("B", "A"), True)],
)  # fmt: skip
def test_covers(stored, wanted, covered) -> None:
    assert covers(stored, wanted) is covered


def test_many_refreshes_of_different_tabs_racing_a_runner_never_lose_a_tab(
    engine, settings
) -> None:
    """20 refreshes of random tab sets while a runner tries to start the queued run."""
    choices = [(DAILY,), (PRICING,), (ONBOARDING,), (DAILY, PRICING), ALL]
    first = ask(engine, settings, DAILY)
    barrier = threading.Barrier(21)
    got: list[tuple[tuple[str, ...], str]] = []
    rng = random.Random(7)
    asks = [rng.choice(choices) for _ in range(20)]

    def refresh(wanted: tuple[str, ...]) -> None:
        barrier.wait()
        got.append((wanted, ask(engine, settings, *wanted).run_id))

    ran_with: list[str | None] = []

    def runner() -> None:
        barrier.wait()
        while True:  # read, then claim with what was read, as run_queued does
            recorded = tabs_of(engine, first.run_id)
            if runs.claim_run(engine, first.run_id, recorded.split(", ") if recorded else None):
                ran_with.append(recorded)
                return

    threads = [threading.Thread(target=refresh, args=(w,)) for w in asks]
    threads.append(threading.Thread(target=runner))
    with destination_lock(engine, SHEET, "api", run_id=first.run_id):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(got) == 20
    for wanted, run_id in got:  # the started run syncs the tabs it was claimed with
        synced = ran_with[0] if run_id == first.run_id else tabs_of(engine, run_id)
        assert covers(synced, wanted), (wanted, synced)
    assert tabs_of(engine, first.run_id) == ran_with[0]  # never widened once started
    ids = {run_id for _, run_id in got} - {first.run_id}
    assert len(ids) <= 1  # at most one follower, shared by everyone who came after the start


@pytest.fixture
def sheet_settings(loaded: Engine, settings: Settings, emulator: Any) -> Settings:
    return settings.replace(sheets_api_url=emulator.url, templates_dir=TEMPLATES)


def test_the_executor_syncs_the_widened_tabs(loaded, sheet_settings, gspread_client) -> None:
    sheet = gspread_client.create("Ops team")
    destination = f"gsheets:{sheet.id}"
    executor = InProcessExecutor(loaded, sheet_settings, workers=1)
    try:
        with destination_lock(loaded, destination, "cli by ana"):  # the run waits, queued
            first = request_sync(loaded, sheet_settings, executor, Job("", destination, (DAILY,)))
            second = request_sync(
                loaded, sheet_settings, executor, Job("", destination, (PRICING,))
            )
    finally:
        executor.shutdown()
    assert second.run_id == first.run_id and second.joined
    run = runs.get_run(loaded, first.run_id)
    assert run is not None and (run["status"], run["tabs"]) == ("succeeded", "KPI Daily, Pricing")
    titles = {ws.title for ws in gspread_client.open_by_key(sheet.id).worksheets()}
    assert {DAILY, PRICING} <= titles and ONBOARDING not in titles


def test_run_queued_leaves_a_run_another_delivery_started(loaded, sheet_settings) -> None:
    ticket = queue_or_join(loaded, sheet_settings, SHEET, trigger="api", tabs=(DAILY,))
    start(loaded, ticket.run_id)
    outcome = run_queued(loaded, sheet_settings, ticket.run_id)
    assert (outcome.status, outcome.ran) == ("running", False)
    run = runs.get_run(loaded, ticket.run_id)
    assert run is not None and run["status"] == "running"
