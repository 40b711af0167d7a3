"""Tab templates: the shipped ones load, and every mistake fails with file, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import TEMPLATES, write_template_files

from sheets_sync.errors import TemplateError
from sheets_sync.kpis.registry import query_columns
from sheets_sync.limits import GOOGLE_MAX_TITLE_CHARS
from sheets_sync.tab_templates import ColumnType, Summarize, load_template, load_templates

BUILT_IN_TITLES = {
    "KPI Daily", "KPI Weekly", "KPI Monthly", "Seller Scorecard", "Quality", "Pricing",
    "Pricing opportunities", "Onboarding", "Sync Status", "Dashboard",
}  # fmt: skip

GOOD = """\
title: My Report
sql: report.sql
key: [Country]
columns:
  - {header: Country, type: text}
  - {header: Orders, type: integer}
  - {header: Paid amount, type: money}
"""


REPORT_SQL = "SELECT 'FR' AS country, 1 AS orders, 2.5 AS paid_amount"


def write_template(folder: Path, text: str, name: str = "report.yaml") -> Path:
    return write_template_files(folder / name, text, folder / "report.sql", REPORT_SQL)


def test_the_shipped_templates_load_with_the_built_in_tabs() -> None:
    templates = load_templates(TEMPLATES, query_columns())
    assert set(templates) >= BUILT_IN_TITLES
    assert list(templates)[:2] == ["Dashboard", "KPI Daily"]
    pivots = {p.title for t in templates.values() for p in t.pivots}
    assert "Pivot · Country × Week" in pivots


def test_the_worked_example_loads_but_is_not_synced_by_default() -> None:
    examples = load_templates(TEMPLATES / "examples", query_columns())
    assert list(examples) == ["Seller Coverage"]
    example = examples["Seller Coverage"]
    assert example.sql_path is not None and example.sql_path.name == "seller_coverage.sql"
    assert "Seller Coverage" not in load_templates(TEMPLATES, query_columns())


def test_a_good_template_gets_defaults(tmp_path: Path) -> None:
    template = load_template(write_template(tmp_path, GOOD))
    assert template.headers == ["Country", "Orders", "Paid amount"]
    assert [c.source for c in template.columns] == ["country", "orders", "paid_amount"]
    assert template.column("Paid amount").type is ColumnType.MONEY
    assert (template.freeze_rows, template.freeze_columns, template.filter) == (1, 0, True)
    assert template.sql_path == tmp_path / "report.sql"


def test_sql_may_live_in_the_sibling_sql_folder(tmp_path: Path) -> None:
    (tmp_path / "tabs").mkdir()
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "shared.sql").write_text("SELECT 1 AS country")
    path = tmp_path / "tabs" / "r.yaml"
    path.write_text("title: R\nsql: shared.sql\ncolumns: [{header: Country}]\n")
    assert load_template(path).sql_path == tmp_path / "sql" / "shared.sql"


BAD = [
    pytest.param(
        GOOD.replace("title:", "titel:"), "titel", "unknown key", "did you mean title?",
        1, id="unknown-key-did-you-mean",
    ),
    pytest.param(
        GOOD.replace("type: integer", "type: integer, widht: 80"), "columns[1].widht",
        "unknown key", "did you mean columns[1].width?", 6, id="unknown-column-key",
    ),
    pytest.param(
        GOOD + "freeze: {row: 1}\n", "freeze.row", "unknown key", "did you mean freeze.rows?",
        8, id="unknown-freeze-key",
    ),
    pytest.param(
        GOOD.replace("title: My Report\n", ""), "title", "missing or empty",
        "give the sheet a title", None, id="missing-title",
    ),
    pytest.param(
        GOOD.replace("My Report", "KPI/Report"), "title", "not a valid sheet title",
        "none of [ ] * ? : / \\", 1, id="bad-title-characters",
    ),
    pytest.param(
        GOOD.replace("type: money", "type: euros"), "columns[2].type", "'euros' is not allowed",
        "use one of ['text', 'integer', 'decimal', 'money'", 7, id="bad-type",
    ),
    pytest.param(
        GOOD.replace("key: [Country]", "key: [Contry]"), "key",
        "'Contry' is not a column header", "did you mean 'Country'?", 3, id="unknown-key-header",
    ),
    pytest.param(
        GOOD + "pivots:\n  - {title: P, rows: [Countries], values: [{column: Orders}]}\n",
        "pivots[0].rows", "'Countries' is not a column header", "did you mean 'Country'?",
        9, id="unknown-pivot-row",
    ),
    pytest.param(
        GOOD + "pivots:\n  - {title: P, rows: [Country], values: [{column: Order}]}\n",
        "pivots[0].values[0].column", "'Order' is not a column header",
        "did you mean 'Orders'?", 9, id="unknown-pivot-value",
    ),
    pytest.param(
        GOOD + "pivots:\n  - {title: P, rows: [Country], values: [{column: Country}]}\n",
        "pivots[0].values[0].column", "'Country' is not numeric, so it cannot be SUM",
        "pick a numeric column or `summarize: COUNTA`", 9, id="non-numeric-sum",
    ),
    pytest.param(
        GOOD + "pivots:\n  - {title: P, rows: [Country], values: [{column: Orders, "
        "summarize: AVERAGE}]}\n",
        "pivots[0].values[0].summarize", "'AVERAGE' is not allowed", "use one of ['SUM'",
        9, id="non-additive-summarize",
    ),
    pytest.param(
        GOOD + "pivots:\n  - {title: P, rows: [Country]}\n", "pivots[0].values", "no values",
        "add e.g.", 9, id="pivot-without-values",
    ),
    pytest.param(
        GOOD + "conditional_formats:\n  - {column: Paid amout, when: number_less, value: 1}\n",
        "conditional_formats[0].column", "'Paid amout' is not a column header",
        "did you mean 'Paid amount'?", 9, id="unknown-format-column",
    ),
    pytest.param(
        GOOD + "conditional_formats:\n  - {column: Orders, when: lower, value: 1}\n",
        "conditional_formats[0].when", "'lower' is not allowed", "use one of",
        9, id="bad-format-condition",
    ),
    pytest.param(
        GOOD + "conditional_formats:\n  - {column: Orders, when: number_less, value: 1, "
        "background: red}\n",
        "conditional_formats[0].background", "'red' is not a colour", "#RRGGBB",
        9, id="bad-colour",
    ),
    pytest.param(
        GOOD.replace("report.sql", "missing.sql"), "sql", "file 'missing.sql' not found",
        "put the .sql file beside the template or in templates/sql/", 2, id="missing-sql-file",
    ),
    pytest.param(
        GOOD.replace("sql: report.sql", "query: kpi_daily\nsql: report.sql"), "query",
        "exactly one of `query` or `sql`", "name a built-in query", 2, id="query-and-sql",
    ),
    pytest.param(
        GOOD.replace("sql: report.sql\n", ""), "query", "exactly one of `query` or `sql`",
        "name a built-in query", None, id="neither-query-nor-sql",
    ),
    pytest.param(
        GOOD.replace("sql: report.sql", "query: kpi_dialy"), "query",
        "unknown built-in query 'kpi_dialy'", "did you mean kpi_daily?",
        2, id="unknown-built-in-query",
    ),
    pytest.param(
        GOOD.replace("sql: report.sql", "query: kpi_daily").replace(
            "{header: Orders, type: integer}", "{header: Orders, source: order_count}"
        ),
        "columns[1].source", "query 'kpi_daily' has no column 'order_count'", "use one of",
        6, id="unknown-source-column",
    ),
    pytest.param(
        GOOD.replace("{header: Orders, type: integer}", "{header: Country}"),
        "columns[1].header", "'Country' appears twice", "rename one", 6, id="duplicate-header",
    ),
    pytest.param(
        GOOD.replace("type: integer", "type: integer, width: -5"), "columns[1].width",
        "-5 is not a positive whole number", "e.g. `90`", 6, id="negative-width",
    ),
    pytest.param(
        GOOD.replace("type: integer", "type: integer, editable: maybe"), "columns[1].editable",
        "'maybe' is not true/false", "write `true` or `false`", 6, id="editable-not-bool",
    ),
    pytest.param(
        GOOD + "window_days: 0\n", "window_days", "0 is not a positive whole number",
        "e.g. `90`", 8, id="zero-window",
    ),
    pytest.param(
        GOOD + "freeze: {rows: -1}\n", "freeze.rows", "-1 is not a whole number ≥ 0", "e.g. `1`",
        8, id="negative-freeze",
    ),
    pytest.param(
        GOOD.split("columns:")[0] + "columns: []\n", "columns", "missing or empty",
        "list the columns", 4, id="no-columns",
    ),
    pytest.param(
        GOOD.replace("  - {header: Country, type: text}\n", "  - {type: text}\n"),
        "columns[0].header", "missing or empty", "give the column a header label",
        5, id="column-without-header",
    ),
    pytest.param(
        GOOD.replace("key: [Country]", "key: Country"), "key", "must be a list",
        "write one `- item` per line", 3, id="key-not-a-list",
    ),
    pytest.param(
        "- just\n- a list\n", "(file)", "the file is not a mapping", "write `title:`",
        None, id="not-a-mapping",
    ),
    pytest.param(
        GOOD + "pivots:\n  - title: P\n    rows: [Country]\n    valeus: [{column: Orders}]\n",
        "pivots[0].valeus", "unknown key", "did you mean pivots[0].values?", 11,
        id="unknown-pivot-key",
    ),
    pytest.param(
        GOOD + "pivots:\n  - title: P\n    rows: [Country]\n    values:\n"
        "      - column: Orders\n        summarise: SUM\n",
        "pivots[0].values[0].summarise", "unknown key",
        "did you mean pivots[0].values[0].summarize?", 13, id="unknown-pivot-value-key",
    ),
    pytest.param(
        GOOD + "pivots:\n  - {title: P, rows: [Country], values: [{column: Orders}], "
        "sort_rows: UP}\n",
        "pivots[0].sort_rows", "'UP' is not a sort order", "use one of ['ASCENDING', 'DESCENDING']",
        9, id="bad-pivot-sort",
    ),
    pytest.param(
        GOOD + "pivots:\n  - {title: " + "P" * 101 + ", rows: [Country], "
        "values: [{column: Orders}]}\n",
        "pivots[0].title", "is not a valid sheet title", "use at most 100 characters", 9,
        id="pivot-title-too-long",
    ),
    pytest.param(
        GOOD + "pivots:\n  - {title: My report, rows: [Country], values: [{column: Orders}]}\n",
        "pivots[0].title", "'My report' is also the title of the tab", "each tab and pivot sheet",
        9, id="pivot-titled-like-its-tab",
    ),
    pytest.param(
        GOOD + "pivots:\n  - {title: P, rows: [Country], values: [{column: Orders}]}\n"
        "  - {title: P, rows: [Country], values: [{column: Orders}]}\n",
        "pivots[1].title", "'P' is also the title of pivots[0]", "its own title", 10,
        id="two-pivots-same-title",
    ),
    pytest.param(
        GOOD.replace("My Report", "R" * 101), "title", "is not a valid sheet title",
        "use at most 100 characters", 1, id="title-too-long",
    ),
    pytest.param(
        GOOD + "conditional_formats:\n  - column: Orders\n    when: number_less\n"
        "    value: 1\n    backgrund: '#FF0000'\n",
        "conditional_formats[0].backgrund", "unknown key",
        "did you mean conditional_formats[0].background?", 12, id="unknown-format-key",
    ),
    pytest.param(
        GOOD + "conditional_formats:\n  - {column: Orders, when: number_less, value: low}\n",
        "conditional_formats[0].value", "'low' is not a number", "write a number, e.g.", 9,
        id="format-number-not-a-number",
    ),
    pytest.param(
        GOOD + "conditional_formats:\n  - {column: Orders, when: number_greater, "
        "values: [1, 2]}\n",
        "conditional_formats[0].values", "number_greater compares with exactly one value, got 2",
        "write one `value:`", 9, id="format-number-two-values",
    ),
    pytest.param(
        GOOD + "conditional_formats:\n  - {column: Orders, when: number_between, values: [1]}\n",
        "conditional_formats[0].values", "number_between needs two numbers (low, high), got 1",
        "`values: [0.9, 1.0]`", 9, id="format-between-one-value",
    ),
    pytest.param(
        GOOD + "conditional_formats:\n  - {column: Orders, when: number_between, values: [2, 1]}\n",
        "conditional_formats[0].values", "the low bound 2 is above the high bound 1",
        "write them in order: `values: [1, 2]`", 9, id="format-between-unordered",
    ),
    pytest.param(
        GOOD + "conditional_formats:\n  - {column: Orders, when: number_between, "
        "values: [a, 1]}\n",
        "conditional_formats[0].values", "'a' is not a number", "write a number", 9,
        id="format-between-not-numbers",
    ),
    pytest.param(
        GOOD + "conditional_formats:\n  - {column: Country, when: text_eq, value: 5}\n",
        "conditional_formats[0].value", "5 is not text", 'quote it, e.g. value: "5"', 9,
        id="format-text-not-text",
    ),
    pytest.param(
        GOOD + "conditional_formats:\n  - {column: Country, when: text_contains}\n",
        "conditional_formats[0].value", "text_contains compares with exactly one value, got 0",
        "write one `value:`", 9, id="format-text-no-value",
    ),
    pytest.param(
        GOOD + "conditional_formats:\n  - {column: Country, when: not_blank, values: [x]}\n",
        "conditional_formats[0].values", "not_blank compares with no value", "remove `values:`",
        9, id="format-not-blank-with-value",
    ),
    pytest.param(
        GOOD + "conditional_formats:\n  - {column: Orders, when: number_less, value: 1, "
        "values: [2]}\n",
        "conditional_formats[0].values", "both `value` and `values` are given",
        "keep only one of them", 9, id="format-value-and-values",
    ),
    pytest.param(
        GOOD + "conditional_formats:\n  - {column: Orders, when: not_blank, "
        "font_color: '#12345G'}\n",
        "conditional_formats[0].font_color", "'#12345G' is not a colour", "#RRGGBB", 9,
        id="bad-hex-colour",
    ),
    pytest.param(
        GOOD + "conditional_formats:\n  - {column: Orders, when: not_blank, "
        "background: '#FFF'}\n",
        "conditional_formats[0].background", "'#FFF' is not a colour", "#RRGGBB", 9,
        id="short-hex-colour",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "key", "problem", "fix", "line"), BAD)
def test_a_bad_template_names_file_line_key_and_fix(
    tmp_path: Path, text: str, key: str, problem: str, fix: str, line: int | None
) -> None:
    path = write_template(tmp_path, text)
    with pytest.raises(TemplateError) as failure:
        load_template(path, query_columns())
    message = str(failure.value)
    where = f"{path}:{line}" if line is not None else str(path)
    assert message.startswith(f"{where}: {key}: ")
    assert problem in message
    assert "Fix: " in message and fix in message.split("Fix: ", 1)[1]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("title: R\ncolumns:\n\t- {header: A}\norder: 1\n", 3),
        ("title: R\n  columns: [\n", 2),
        ("title: R\ncolumns:\n  - header: A\n   type: text\n", 4),
    ],
)
def test_invalid_yaml_names_the_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(TemplateError, match=rf"{path}: \(file\): invalid YAML at line {line}\b"):
        load_template(path)


def test_two_files_with_the_same_title_are_refused(tmp_path: Path) -> None:
    write_template(tmp_path, GOOD, "a.yaml")
    second = write_template(tmp_path, GOOD, "b.yaml")
    with pytest.raises(TemplateError) as failure:
        load_templates(tmp_path)
    message = str(failure.value)
    assert message == (
        f"{second}: title: 'My Report' is also a sheet title in {tmp_path / 'a.yaml'}. "
        "Fix: give each tab and pivot sheet its own title (titles are compared case-insensitively)"
    )


def test_a_pivot_titled_like_a_tab_of_another_file_is_refused(tmp_path: Path) -> None:
    write_template(tmp_path, GOOD, "a.yaml")
    pivot = "pivots:\n  - {title: my report, rows: [Country], values: [{column: Orders}]}\n"
    second = write_template(tmp_path, GOOD.replace("My Report", "Other") + pivot, "b.yaml")
    with pytest.raises(TemplateError) as failure:
        load_templates(tmp_path)
    assert str(failure.value).startswith(
        f"{second}: pivots[0].title: 'my report' is also a sheet title in {tmp_path / 'a.yaml'}. "
    )


def test_a_missing_templates_folder_says_which_setting_to_fix(tmp_path: Path) -> None:
    with pytest.raises(
        TemplateError, match=r"no templates directory\. Fix: set SHEETS_SYNC_TEMPLATES_DIR"
    ):
        load_templates(tmp_path / "nowhere")


@pytest.mark.parametrize("layout", ["empty", "tabs folder empty"])
def test_a_folder_without_templates_is_an_error_not_an_empty_sync(tmp_path: Path, layout) -> None:
    if layout == "tabs folder empty":
        (tmp_path / "tabs").mkdir()
    with pytest.raises(TemplateError, match=r"no tab templates \(\*\.yaml\) found.*SHEETS_SYNC"):
        load_templates(tmp_path)


def test_templates_are_ordered_by_their_order_then_title(tmp_path: Path) -> None:
    for name, title, order in [("z", "Zeta", 5), ("a", "Alpha", 50), ("b", "Beta", 5)]:
        text = GOOD.replace("My Report", title) + f"order: {order}\n"
        write_template(tmp_path, text, f"{name}.yaml")
    assert list(load_templates(tmp_path)) == ["Beta", "Zeta", "Alpha"]


def test_pivot_values_default_to_sum_and_counta_is_allowed_on_text(tmp_path: Path) -> None:
    text = GOOD + (
        "pivots:\n  - title: P\n    rows: [Country]\n    values:\n"
        "      - {column: Orders}\n      - {column: Country, summarize: counta, label: Markets}\n"
    )
    (pivot,) = load_template(write_template(tmp_path, text)).pivots
    assert [v.summarize for v in pivot.values] == [Summarize.SUM, Summarize.COUNTA]
    assert [v.display_name for v in pivot.values] == ["SUM of Orders", "Markets"]


def test_rule_values_are_kept_as_written(tmp_path: Path) -> None:
    text = GOOD + (
        "conditional_formats:\n"
        "  - {column: Orders, when: number_between, values: [0.9, 1]}\n"
        "  - {column: Country, when: text_eq, value: FR, background: '#f4cccc'}\n"
        "  - {column: Orders, when: not_blank, bold: true}\n"
    )
    rules = load_template(write_template(tmp_path, text)).conditional_formats
    assert [(r.condition.value, r.values) for r in rules] == [
        ("number_between", ("0.9", "1")),
        ("text_eq", ("FR",)),
        ("not_blank", ()),
    ]
    assert rules[1].background == "#f4cccc"


def test_titles_up_to_the_longest_any_destination_accepts_load(tmp_path: Path) -> None:
    title = "R" * GOOGLE_MAX_TITLE_CHARS
    assert load_template(write_template(tmp_path, GOOD.replace("My Report", title))).title == title


def test_a_template_not_saved_as_utf8_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "report.yaml"
    path.write_bytes(GOOD.replace("My Report", "Rapport été").encode("cp1252"))
    with pytest.raises(TemplateError) as failure:
        load_template(path)
    assert str(failure.value) == (
        f"{path}: (file): not UTF-8 text (byte 0xE9 on line 1). Fix: save the file as UTF-8 "
        "(in your editor: Save with encoding → UTF-8)"
    )


def test_a_service_rereads_its_templates_only_when_a_file_changed(tmp_path: Path) -> None:
    """Each sync asks for the templates: parsed once, yet an edit counts at the next sync."""
    from sheets_sync.config import Settings
    from sheets_sync.sync import load_all_templates

    settings = Settings().replace(templates_dir=tmp_path)
    write_template(tmp_path, GOOD)
    first = load_all_templates(settings)
    assert load_all_templates(settings)["My Report"] is first["My Report"]  # not parsed again

    # same size, saved within the same clock tick: still seen
    write_template(tmp_path, GOOD.replace("My Report", "Our Report"))
    assert list(load_all_templates(settings)) == ["Our Report"]

    write_template(tmp_path, GOOD.replace("title: My Report", "title: [My Report"))
    with pytest.raises(TemplateError, match=r"report\.yaml"):
        load_all_templates(settings)  # a broken edit fails this call, not a later one
    (tmp_path / "other.yaml").write_text(GOOD.replace("My Report", "Other"))
    write_template(tmp_path, GOOD)
    assert list(load_all_templates(settings)) == ["My Report", "Other"]


def test_the_template_cache_reads_only_template_files(tmp_path: Path) -> None:
    """The alert rules, the add-on's files or a README beside the tabs are not templates:
    editing them does not parse the tabs again; a SQL file a template may name does."""
    from sheets_sync.tab_templates.cache import cached_templates, template_files

    tabs, sql = tmp_path / "tabs", tmp_path / "sql"
    tabs.mkdir()
    sql.mkdir()
    (tabs / "report.yaml").write_text(GOOD, encoding="utf-8")
    (sql / "report.sql").write_text("SELECT 1", encoding="utf-8")
    (tmp_path / "apps_script").mkdir()
    for other in ("alerts.yaml", "README.md", "apps_script/Code.gs"):
        (tmp_path / other).write_text("x", encoding="utf-8")
    assert template_files(tmp_path) == [sql / "report.sql", tabs / "report.yaml"]

    first = cached_templates(tmp_path, dict, {})
    for other in ("alerts.yaml", "README.md", "apps_script/Code.gs"):
        (tmp_path / other).write_text("changed", encoding="utf-8")
    assert cached_templates(tmp_path, dict, {})["My Report"] is first["My Report"]
    (sql / "report.sql").write_text("SELECT 2", encoding="utf-8")
    assert cached_templates(tmp_path, dict, {})["My Report"] is not first["My Report"]
