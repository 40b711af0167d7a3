"""Load and validate tab templates from YAML, failing early with file, key and fix.

A template that loads is safe to run: every header it refers to exists, its
query is known (or its SQL file is there), its types and formats are valid.
Problems found only at run time (a user SQL returning other columns) are
reported by the query layer with the same precision.

The parts of a tab with rules of their own are read by their modules:
:mod:`.params` (the params settings own), :mod:`.pivots`, :mod:`.formats`
(conditional formats) and :mod:`.charts`; :mod:`.checks` holds the value checks
they share.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from sheets_sync.errors import TemplateError
from sheets_sync.tab_templates.charts import check_chart_sources, parse_charts
from sheets_sync.tab_templates.checks import boolean as _bool
from sheets_sync.tab_templates.checks import count as _count
from sheets_sync.tab_templates.checks import enum_value as _enum
from sheets_sync.tab_templates.checks import headers as _headers
from sheets_sync.tab_templates.checks import mapping as _mapping
from sheets_sync.tab_templates.checks import optional_text as _optional_str
from sheets_sync.tab_templates.checks import positive_int as _positive_int
from sheets_sync.tab_templates.checks import sheet_title as _title
from sheets_sync.tab_templates.formats import parse_conditional_formats
from sheets_sync.tab_templates.model import ColumnSpec, ColumnType, SheetPosition, TabTemplate
from sheets_sync.tab_templates.params import SettingParams, tab_params
from sheets_sync.tab_templates.pivots import SAME, distinct_titles, parse_pivots, sheet_titles
from sheets_sync.tab_templates.row_formats import check_formats_by, parse_format_by
from sheets_sync.tab_templates.source import Where, read_yaml

TAB_KEYS = {
    "title", "description", "query", "sql", "columns", "key", "window_days", "params",
    "freeze", "filter", "truncate_to_limit", "conditional_formats", "pivots", "charts", "order",
    "position", "allow_shrink",
}  # fmt: skip
COLUMN_KEYS = {
    "header", "source", "type", "format", "width", "editable", "hidden", "hold_while_pending",
    "format_by",
}  # fmt: skip
FREEZE_KEYS = {"rows", "columns"}


def load_templates(
    directory: Path,
    query_columns: Mapping[str, Collection[str]] | None = None,
    setting_params: SettingParams | None = None,
) -> dict[str, TabTemplate]:
    """All ``*.yaml`` templates of ``directory/tabs`` (or ``directory``), keyed by title.

    ``query_columns`` maps each built-in query name to the columns it returns, so a
    template naming an unknown query or source fails here rather than mid-sync.
    ``setting_params`` gives each built-in query's params that settings own: they are
    set from the settings, and a template giving one another value fails here.
    """
    tabs_dir = tabs_folder(directory)
    if not tabs_dir.is_dir():
        raise TemplateError(
            f"{tabs_dir}: no templates directory. Fix: set SHEETS_SYNC_TEMPLATES_DIR to a "
            "folder holding tabs/*.yaml"
        )
    paths = sorted(tabs_dir.glob("*.y*ml"))
    if not paths:
        raise TemplateError(
            f"{tabs_dir}: no tab templates (*.yaml) found. Fix: point SHEETS_SYNC_TEMPLATES_DIR "
            "at a folder whose tabs/ holds the templates (the packaged ones are used by default)"
        )
    templates: dict[str, TabTemplate] = {}
    owners: dict[str, Path] = {}
    for path in paths:
        template = load_template(path, query_columns, setting_params)
        for key, title in sheet_titles(template.title, template.pivots):
            if title.casefold() in owners:
                other = owners[title.casefold()]
                raise Where(path).fail(key, f"{title!r} is also a sheet title in {other}", SAME)
        owners.update(
            {t.casefold(): path for _, t in sheet_titles(template.title, template.pivots)}
        )
        templates[template.title] = template
    check_chart_sources(templates)
    return dict(sorted(templates.items(), key=lambda item: (item[1].order, item[0])))


def tabs_folder(directory: Path) -> Path:
    """Where the tab templates of a templates folder are: its ``tabs/``, else itself."""
    return directory / "tabs" if (directory / "tabs").is_dir() else directory


def load_template(
    path: Path,
    query_columns: Mapping[str, Collection[str]] | None = None,
    setting_params: SettingParams | None = None,
) -> TabTemplate:
    """Parse one template file; see :func:`load_templates`."""
    raw, where = read_yaml(path)
    where.check_keys(raw, TAB_KEYS, "")
    title = _title(raw.get("title"), "title", where)
    columns = _columns(raw.get("columns"), where)
    headers = [c.header for c in columns]
    query, sql_path = _query(raw, path, where)
    if query is not None and query_columns is not None:
        _check_sources(query, columns, query_columns, where)
    freeze = _mapping(raw.get("freeze", {}), "freeze", where)
    where.check_keys(freeze, FREEZE_KEYS, "freeze.")
    key = tuple(_headers(raw.get("key", []), headers, "key", where))
    _check_holds(columns, key, where)
    _check_editable_keyed(columns, key, where)
    return TabTemplate(
        title=title,
        columns=columns,
        query=query,
        sql_path=sql_path,
        description=str(raw.get("description", "")),
        key=key,
        window_days=_positive_int(raw.get("window_days"), "window_days", where),
        params=tab_params(raw.get("params", {}), (setting_params or {}).get(query or ""), where),
        freeze_rows=_count(freeze.get("rows", 1), "freeze.rows", where),
        freeze_columns=_count(freeze.get("columns", 0), "freeze.columns", where),
        filter=_bool(raw.get("filter", True), "filter", where),
        truncate_to_limit=_bool(raw.get("truncate_to_limit", False), "truncate_to_limit", where),
        allow_shrink=_bool(raw.get("allow_shrink", False), "allow_shrink", where),
        conditional_formats=parse_conditional_formats(
            raw.get("conditional_formats", []), headers, where
        ),
        pivots=distinct_titles(title, parse_pivots(raw.get("pivots", []), columns, where), where),
        charts=parse_charts(raw.get("charts"), title, columns, where),
        order=_count(raw.get("order", 100), "order", where),
        position=_enum(SheetPosition, raw.get("position", "any"), "position", where),
        source_file=path,
    )


def _query(raw: Mapping[str, Any], path: Path, where: Where) -> tuple[str | None, Path | None]:
    query, sql = raw.get("query"), raw.get("sql")
    if (query is None) == (sql is None):
        raise where.fail(
            "query", "exactly one of `query` or `sql` is required",
            "name a built-in query (`query: kpi_daily`) or a SQL file (`sql: my_report.sql`)",
        )  # fmt: skip
    if query is not None:
        if not isinstance(query, str):
            raise where.fail("query", "must be a name", "e.g. `query: kpi_daily`")
        return query, None
    candidates = [path.parent / str(sql), path.parent.parent / "sql" / str(sql)]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise where.fail(
            "sql", f"file {sql!r} not found (looked in {', '.join(str(c) for c in candidates)})",
            "put the .sql file beside the template or in templates/sql/",
        )  # fmt: skip
    return None, found


def _check_sources(
    query: str,
    columns: tuple[ColumnSpec, ...],
    query_columns: Mapping[str, Collection[str]],
    where: Where,
) -> None:
    if query not in query_columns:
        close = difflib.get_close_matches(query, sorted(query_columns), n=1)
        hint = f"did you mean {close[0]}?" if close else f"use one of {sorted(query_columns)}"
        raise where.fail("query", f"unknown built-in query {query!r}", hint)
    available = query_columns[query]
    for i, column in enumerate(columns):
        if column.source not in available:
            raise where.fail(
                f"columns[{i}].source", f"query {query!r} has no column {column.source!r}",
                f"use one of {sorted(available)}",
            )  # fmt: skip


def _columns(value: Any, where: Where) -> tuple[ColumnSpec, ...]:
    if not isinstance(value, list) or not value:
        raise where.fail("columns", "missing or empty", "list the columns, each with a `header:`")
    columns = tuple(_column(item, f"columns[{i}]", where) for i, item in enumerate(value))
    seen: set[str] = set()
    for i, column in enumerate(columns):
        if column.header in seen:
            raise where.fail(
                f"columns[{i}].header", f"{column.header!r} appears twice", "rename one"
            )
        seen.add(column.header)
    check_formats_by(columns, where)
    return columns


def _column(item: Any, key: str, where: Where) -> ColumnSpec:
    raw = _mapping(item, key, where)
    where.check_keys(raw, COLUMN_KEYS, f"{key}.")
    header = raw.get("header")
    if not isinstance(header, str) or not header.strip():
        raise where.fail(f"{key}.header", "missing or empty", "give the column a header label")
    return ColumnSpec(
        header=header,
        source=str(raw.get("source") or _snake(header)),
        type=_enum(ColumnType, raw.get("type", "text"), f"{key}.type", where),
        number_format=_optional_str(raw.get("format"), f"{key}.format", where),
        width=_positive_int(raw.get("width"), f"{key}.width", where),
        editable=_bool(raw.get("editable", False), f"{key}.editable", where),
        hidden=_bool(raw.get("hidden", False), f"{key}.hidden", where),
        hold_while_pending=_bool(
            raw.get("hold_while_pending", False), f"{key}.hold_while_pending", where
        ),
        format_by=parse_format_by(raw.get("format_by"), f"{key}.format_by", where),
    )


def _check_holds(columns: tuple[ColumnSpec, ...], key: tuple[str, ...], where: Where) -> None:
    """A held column needs rows known by key and an editable column to hold a pending
    edit; it cannot be editable itself (the team's own cells are kept already)."""
    for i, column in enumerate(columns):
        if not column.hold_while_pending:
            continue
        name = f"columns[{i}].hold_while_pending"
        if column.editable:
            raise where.fail(
                name, f"{column.header!r} is editable, and a sync keeps what the team types",
                "remove `hold_while_pending:` or `editable: true` from the column",
            )  # fmt: skip
        if not any(c.editable for c in columns):
            raise where.fail(
                name, "the tab has no editable column, so no row can have a pending edit",
                "mark the column the team types in `editable: true`, or remove the option",
            )  # fmt: skip
        if not key:
            raise where.fail(
                name, "the tab has no `key`, so a held cell cannot follow its row",
                "give the tab a `key:` (the columns identifying a row), or remove the option",
            )  # fmt: skip


def _check_editable_keyed(
    columns: tuple[ColumnSpec, ...], key: tuple[str, ...], where: Where
) -> None:
    """What the team types in an editable column belongs to a row; without a key no row can
    be found again, so the value would stay beside whichever row comes to that position."""
    if key:
        return
    for i, column in enumerate(columns):
        if column.editable:
            raise where.fail(
                f"columns[{i}].editable",
                f"{column.header!r} is editable, but the tab has no `key`, so what the team "
                "types there cannot follow its row",
                "give the tab a `key:` (the columns identifying a row, e.g. an id column), "
                "or remove `editable: true`",
            )


def _snake(header: str) -> str:
    return "_".join("".join(ch if ch.isalnum() else " " for ch in header.lower()).split())
