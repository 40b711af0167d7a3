"""Keyless tabs and team columns (issue 24): the built-in Alerts and Sync Status tabs are
keyed by their hidden id, so the team's cells beside them follow their rows and are
archived like anywhere else; a template with team-editable columns needs a key.

Both destinations (the workbook file; the emulator through real gspread); the shipped
templates as loaded, rows built here column by column.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import shipped_template
from notes_sheets import Destination, open_destination

from sheets_sync.errors import ShrinkError, TemplateError
from sheets_sync.frame import TabFrame
from sheets_sync.tab_templates.loader import load_template
from sheets_sync.tab_templates.model import ColumnType, TabTemplate

ARCHIVE = "Archived notes"


@pytest.fixture(params=["xlsx", "gsheets"])
def dest(request: pytest.FixtureRequest, tmp_path: Path) -> Destination:
    return open_destination(request.param, request, tmp_path)


def run_row(template: TabTemplate, n: int) -> tuple[Any, ...]:
    """A row whose every cell says which run or alert it is; the id is the key."""
    out: list[Any] = []
    for spec in template.columns:
        if spec.header in template.key:
            out.append(n if spec.type is ColumnType.INTEGER else f"run-{n}")
        elif spec.type is ColumnType.DATETIME:
            out.append(dt.datetime(2026, 12, 1, n))
        elif spec.type in (ColumnType.INTEGER, ColumnType.DECIMAL):
            out.append(n)
        else:
            out.append(f"{spec.header} {n}")
    return tuple(out)


@pytest.mark.parametrize(
    ("name", "key", "shown"),
    [("sync_status", "Run ID", "run-1"), ("alerts_tab", "Alert ID", 1)],
)
def test_the_team_s_cells_beside_runs_and_alerts_follow_their_rows(
    dest: Destination, name: str, key: str, shown: Any
) -> None:
    """Newest first: each new run (a new critical alert) pushes the others down; a note
    stays beside its run, and is archived by its id when the run leaves the list."""
    template = shipped_template(name)
    assert template.key == (key,)
    assert template.column(key).hidden

    def sync(*ids: int) -> Any:
        return dest.sync(TabFrame(template, [run_row(template, n) for n in ids]))

    sync(2, 1)
    width = len(template.columns)
    row = 1 + [r[width - 1] for r in dest.grid(template.title)].index(shown)
    dest.type_in(template.title, 1, width + 1, [["Checked"]])
    dest.type_in(template.title, row, width + 1, [["seen by ana"]])
    sync(4, 3, 2, 1)  # two newer rows above it
    table = dest.grid(template.title)
    noted = {r[width - 1]: r[width] for r in table[1:] if len(r) > width and r[width] != ""}
    assert noted == {shown: "seen by ana"}
    report = sync(4, 3, 2)  # the oldest leaves the list
    assert report.tabs[0].archived_notes == 1
    archived = dest.grid(ARCHIVE)[1]
    assert archived[:4] == [template.title, str(shown), "Checked", "seen by ana"]


@pytest.mark.parametrize("name", ["sync_status", "alerts_tab"])
def test_many_alerts_resolving_at_once_do_not_stop_the_sync(dest: Destination, name: str) -> None:
    """Their rows leave by design (``allow_shrink: true`` in the template): five alerts
    leaving together is no half-loaded database, and the team's cells still go to the
    archive; the same tab without the option is stopped by the shrink guard."""
    template = shipped_template(name)
    assert template.allow_shrink
    dest.sync(TabFrame(template, [run_row(template, n) for n in range(1, 6)]))
    dest.type_in(template.title, 1, len(template.columns) + 1, [["Checked"], ["ok"]])
    guarded = replace(template, allow_shrink=False)
    with pytest.raises(ShrinkError, match="would remove 5 of its 5 rows"):
        dest.sync(TabFrame(guarded, []))
    report = dest.sync(TabFrame(template, []))
    assert (report.tabs[0].rows, report.tabs[0].archived_notes) == (0, 1)


YAML = """\
title: Coverage
query: pricing
{key}columns:
  - {{header: Seller ID}}
  - {{header: Comment, editable: true}}
"""


def test_a_keyless_template_with_an_editable_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "coverage.yaml"
    path.write_text(YAML.format(key=""), encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert str(info.value) == (
        f"{path}:5: columns[1].editable: 'Comment' is editable, but the tab has no `key`, so "
        "what the team types there cannot follow its row. Fix: give the tab a `key:` (the "
        "columns identifying a row, e.g. an id column), or remove `editable: true`"
    )
    path.write_text(YAML.format(key="key: []\n"), encoding="utf-8")
    with pytest.raises(TemplateError, match=r"columns\[1\]\.editable: 'Comment' is editable"):
        load_template(path)
    path.write_text(YAML.format(key="key: [Seller ID]\n"), encoding="utf-8")
    assert load_template(path).editable_headers == ["Comment"]
