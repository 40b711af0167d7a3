"""A column's ``format_by:``: loaded when both destinations can apply it, refused clearly else.

What a good ``format_by`` does on a real tab is shown by tests/test_alert_voice.py
(the Alerts tab on the Sheets emulator and in a workbook); here the loader's
checks, each naming the file, line, key and fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_template_files

from sheets_sync.backends.gsheets.backend import GoogleSheetsBackend
from sheets_sync.config import Settings
from sheets_sync.errors import TemplateError
from sheets_sync.frame import TabFrame
from sheets_sync.tab_templates import load_template
from sheets_sync.tab_templates.model import ColumnSpec, ColumnType, FormatBy, TabTemplate

GOOD = """\
title: Figures
sql: figures.sql
columns:
  - {header: Metric, type: text}
  - {header: Value, type: decimal, format_by: {column: Unit, formats: {EUR: "#,##0.00", "%": "0.0 %"}}}
  - {header: Unit, type: text}
"""


def write(folder: Path, text: str) -> Path:
    sql = "SELECT 'paid' AS metric, 1.5 AS value, 'EUR' AS unit"
    return write_template_files(folder / "figures.yaml", text, folder / "figures.sql", sql)


def test_a_format_by_loads_with_its_formats_in_order(tmp_path: Path) -> None:
    template = load_template(write(tmp_path, GOOD))
    by = template.column("Value").format_by
    assert by == FormatBy("Unit", (("EUR", "#,##0.00"), ("%", "0.0 %")))
    assert (by.format_for("%"), by.format_for("days")) == ("0.0 %", None)
    assert template.formats_by_row == ((1, 2, by),)


BAD = [
    pytest.param(
        GOOD.replace("column: Unit", "column: Units"), "columns[1].format_by.column",
        "'Units' is not a column header", "did you mean 'Unit'?", id="unknown-column",
    ),
    pytest.param(
        GOOD.replace("column: Unit", "column: Value"), "columns[1].format_by.column",
        "'Value' is the column being formatted", "text column that says each row's unit",
        id="itself",
    ),
    pytest.param(
        GOOD.replace("{header: Unit, type: text}", "{header: Unit, type: integer}"),
        "columns[1].format_by.column", "'Unit' is not a text column", "`type: text`",
        id="not-text",
    ),
    pytest.param(
        GOOD.replace("{header: Value, type: decimal", "{header: Value, type: text"),
        "columns[1].format_by", "'Value' is a text column, not a number", "numeric `type:`",
        id="formatting-text",
    ),
    pytest.param(
        GOOD.replace('{EUR: "#,##0.00", "%": "0.0 %"}', "{}"), "columns[1].format_by.formats",
        "is empty", "map each value to a format", id="no-formats",
    ),
    pytest.param(
        GOOD.replace('EUR: "#,##0.00"', "EUR: 2"), "columns[1].format_by.formats.EUR",
        "2 is not a number format", 'e.g. "#,##0.00"', id="format-not-text",
    ),
    pytest.param(
        GOOD.replace("column: Unit, formats", "colum: Unit, formats"),
        "columns[1].format_by.colum", "unknown key", "did you mean columns[1].format_by.column?",
        id="unknown-key",
    ),
    pytest.param(
        GOOD.replace("format_by: {column: Unit, formats: {EUR: \"#,##0.00\", \"%\": \"0.0 %\"}}",
                     "format_by: Unit"),
        "columns[1].format_by", "must be a mapping", "name: value", id="not-a-mapping",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "key", "problem", "fix"), BAD)
def test_a_bad_format_by_names_file_key_and_fix(
    tmp_path: Path, text: str, key: str, problem: str, fix: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(TemplateError) as failure:
        load_template(path)
    message = str(failure.value)
    assert message.startswith(f"{path}:") and f": {key}: " in message
    assert problem in message
    assert "Fix: " in message and fix in message.split("Fix: ", 1)[1]


def keyed_figures() -> TabTemplate:
    by = FormatBy("Unit", (("%", "0.0 %"), ("EUR", '"€ "#,##0.00')))
    return TabTemplate(
        title="Figures",
        columns=(
            ColumnSpec("Key", "key"),
            ColumnSpec("Value", "value", ColumnType.PERCENT, "#,##0.00", format_by=by),
            ColumnSpec("Unit", "unit"),
        ),
        query="figures",
        key=("Key",),
    )


def test_a_keyed_tab_formats_each_row_where_the_sheet_keeps_it(emulator, gspread_client):
    """A keyed tab keeps its rows where they are whatever the frame's order: each row's
    format follows the row, not the frame's position."""
    template = keyed_figures()
    sheet = gspread_client.create("Trade-In Ops")
    google = GoogleSheetsBackend(
        Settings.load(environ={}, sheets_api_url=emulator.url).sheets, sheet.id
    )
    google.write_tabs([TabFrame(template, [("A", 0.5, "%"), ("B", 12.5, "EUR")])])
    google.write_tabs([TabFrame(template, [("B", 12.5, "EUR"), ("A", 0.5, "%"), ("C", 0.25, "%")])])
    assert sheet.worksheet("Figures").get_values()[1:] == [
        ["A", "50.0 %", "%"], ["C", "25.0 %", "%"], ["B", "€ 12.50", "EUR"],
    ]  # fmt: skip  # C goes in after A, its predecessor in the frame; A and B stay
