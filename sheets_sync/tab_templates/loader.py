"""Load and validate tab templates from YAML, failing early with file, key and fix.

A template that loads is safe to run: every header it refers to exists, its
query is known (or its SQL file is there), its types and formats are valid.
Problems found only at run time (a user SQL returning other columns) are
reported by the query layer with the same precision.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sheets_sync.errors import TemplateError
from sheets_sync.limits import GOOGLE_LIMITS, XLSX_LIMITS
from sheets_sync.tab_templates.charts import check_chart_sources, parse_charts
from sheets_sync.tab_templates.checks import boolean as _bool
from sheets_sync.tab_templates.checks import count as _count
from sheets_sync.tab_templates.checks import enum_value as _enum
from sheets_sync.tab_templates.checks import headers as _headers
from sheets_sync.tab_templates.checks import items as _list
from sheets_sync.tab_templates.checks import mapping as _mapping
from sheets_sync.tab_templates.checks import optional_text as _optional_str
from sheets_sync.tab_templates.checks import positive_int as _positive_int
from sheets_sync.tab_templates.model import (
    ColumnSpec,
    ColumnType,
    ConditionalFormat,
    ConditionKind,
    PivotSpec,
    PivotValue,
    SettingParam,
    SheetPosition,
    Summarize,
    TabTemplate,
)
from sheets_sync.tab_templates.source import Where, read_yaml

TAB_KEYS = {
    "title", "description", "query", "sql", "columns", "key", "window_days", "params",
    "freeze", "filter", "truncate_to_limit", "conditional_formats", "pivots", "charts", "order",
    "position",
}  # fmt: skip
COLUMN_KEYS = {
    "header", "source", "type", "format", "width", "editable", "hidden", "hold_while_pending",
}  # fmt: skip
PIVOT_KEYS = {"title", "rows", "columns", "values", "sort_rows"}
VALUE_KEYS = {"column", "summarize", "label"}
FORMAT_KEYS = {"column", "when", "values", "value", "background", "font_color", "bold"}
FREEZE_KEYS = {"rows", "columns"}
SORT_ORDERS = ("ASCENDING", "DESCENDING")
SAME = "give each tab and pivot sheet its own title (titles are compared case-insensitively)"
_HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
E = TypeVar("E")
SettingParams = Mapping[str, Mapping[str, SettingParam]]
"""Built-in query name → its params that settings own (:class:`SettingParam`)."""


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
        for key, title in _sheet_titles(template.title, template.pivots):
            if title.casefold() in owners:
                other = owners[title.casefold()]
                raise Where(path).fail(key, f"{title!r} is also a sheet title in {other}", SAME)
        owners.update(
            {t.casefold(): path for _, t in _sheet_titles(template.title, template.pivots)}
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
    return TabTemplate(
        title=title,
        columns=columns,
        query=query,
        sql_path=sql_path,
        description=str(raw.get("description", "")),
        key=key,
        window_days=_positive_int(raw.get("window_days"), "window_days", where),
        params=_params(raw.get("params", {}), (setting_params or {}).get(query or ""), where),
        freeze_rows=_count(freeze.get("rows", 1), "freeze.rows", where),
        freeze_columns=_count(freeze.get("columns", 0), "freeze.columns", where),
        filter=_bool(raw.get("filter", True), "filter", where),
        truncate_to_limit=_bool(raw.get("truncate_to_limit", False), "truncate_to_limit", where),
        conditional_formats=_conditional_formats(
            raw.get("conditional_formats", []), headers, where
        ),
        pivots=_distinct(title, _pivots(raw.get("pivots", []), columns, where), where),
        charts=parse_charts(raw.get("charts"), title, columns, where),
        order=_count(raw.get("order", 100), "order", where),
        position=_enum(SheetPosition, raw.get("position", "any"), "position", where),
        source_file=path,
    )


def _params(value: Any, owned: Mapping[str, SettingParam] | None, where: Where) -> dict[str, Any]:
    """The template's params, with those settings own set from the settings.

    A template may repeat such a param with the settings' value (``30`` and ``30.0``
    are the same), but another value would make the tab disagree with what the
    setting enforces elsewhere (a suggested price the push refuses), so it fails.
    """
    params = _mapping(value, "params", where)
    if not owned:
        return params
    for name, param in owned.items():
        if name in params and _exact(params[name]) != param.value:
            raise where.fail(
                f"params.{name}", _disagreement(name, params[name], param),
                f"remove `{name}:` from `params:` (the tab follows {param.variable})"
                f"{_or_change(params[name], param)}",
            )  # fmt: skip
    return {**params, **{name: param.value for name, param in owned.items()}}


def _disagreement(name: str, given: Any, param: SettingParam) -> str:
    same = f", i.e. `{name}: {_plain(param.value)}`" if param.scale != 1 else ""
    return (
        f"{given!r} is not what {param.variable}={_plain(param.setting)} sets "
        f"({param.meaning}{same})"
    )


def _or_change(given: Any, param: SettingParam) -> str:
    number = _exact(given)
    if number is None:
        return ""
    return (
        f", or set {param.variable}={_plain(number / param.scale)} if that limit is what you meant"
    )


def _exact(value: Any) -> Decimal | None:
    """A finite YAML number as an exact decimal (``0.1`` as written), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = Decimal(str(value))
    return number if number.is_finite() else None


def _plain(number: Decimal) -> str:
    """``Decimal("30.00")`` → ``30``, ``Decimal("0.300")`` → ``0.3``."""
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _title(value: Any, key: str, where: Where) -> str:
    if not isinstance(value, str) or not value.strip():
        raise where.fail(key, "missing or empty", "give the sheet a title, e.g. `title: KPI Daily`")
    longest = _longest_title()
    if len(value) > longest or any(ch in value for ch in "[]*?:/\\'"):
        raise where.fail(
            key, f"{value!r} is not a valid sheet title",
            f"use at most {longest} characters and none of [ ] * ? : / \\ '",
        )  # fmt: skip
    return value


def _longest_title() -> int:
    """The longest title any destination accepts; a shorter destination cap (xlsx) is
    checked by that backend before it writes (:func:`sheets_sync.backends.fit.fit_each_tab`)."""
    caps = (XLSX_LIMITS.max_title_chars, GOOGLE_LIMITS.max_title_chars)
    return max(cap for cap in caps if cap is not None)


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


def _pivots(value: Any, columns: tuple[ColumnSpec, ...], where: Where) -> tuple[PivotSpec, ...]:
    headers = [c.header for c in columns]
    numeric = {c.header for c in columns if c.type.is_numeric}
    pivots = []
    for i, item in enumerate(_list(value, "pivots", where)):
        key = f"pivots[{i}]"
        raw = _mapping(item, key, where)
        where.check_keys(raw, PIVOT_KEYS, f"{key}.")
        values = tuple(
            _pivot_value(v, f"{key}.values[{j}]", headers, numeric, where)
            for j, v in enumerate(_list(raw.get("values"), f"{key}.values", where))
        )
        if not values:
            raise where.fail(f"{key}.values", "no values", "add e.g. `- column: Orders created`")
        pivots.append(
            PivotSpec(
                title=_title(raw.get("title"), f"{key}.title", where),
                rows=tuple(_headers(raw.get("rows", []), headers, f"{key}.rows", where)),
                columns=tuple(_headers(raw.get("columns", []), headers, f"{key}.columns", where)),
                values=values,
                sort_rows=_sort_order(raw.get("sort_rows", "ASCENDING"), f"{key}.sort_rows", where),
            )
        )
    return tuple(pivots)


def _sheet_titles(title: str, pivots: tuple[PivotSpec, ...]) -> list[tuple[str, str]]:
    """(key, title) of every sheet a template writes: its tab, then one per pivot."""
    return [("title", title), *((f"pivots[{i}].title", p.title) for i, p in enumerate(pivots))]


def _distinct(title: str, pivots: tuple[PivotSpec, ...], where: Where) -> tuple[PivotSpec, ...]:
    """Pivots whose sheet titles differ from the tab's and each other's (case-insensitive,
    as workbooks and spreadsheets compare them)."""
    seen: dict[str, str] = {}
    for key, name in _sheet_titles(title, pivots):
        if name.casefold() in seen:
            raise where.fail(key, f"{name!r} is also the title of {seen[name.casefold()]}", SAME)
        seen[name.casefold()] = "the tab" if key == "title" else key.removesuffix(".title")
    return pivots


def _pivot_value(
    item: Any, key: str, headers: list[str], numeric: set[str], where: Where
) -> PivotValue:
    raw = _mapping(item, key, where)
    where.check_keys(raw, VALUE_KEYS, f"{key}.")
    column = _headers([raw.get("column")], headers, f"{key}.column", where)[0]
    summarize = _enum(
        Summarize, str(raw.get("summarize", "SUM")).upper(), f"{key}.summarize", where
    )
    if summarize is not Summarize.COUNTA and column not in numeric:
        raise where.fail(
            f"{key}.column", f"{column!r} is not numeric, so it cannot be {summarize.value}-med",
            "pick a numeric column or `summarize: COUNTA`",
        )  # fmt: skip
    label = raw.get("label")
    return PivotValue(column=column, summarize=summarize, label=str(label) if label else None)


def _conditional_formats(
    value: Any, headers: list[str], where: Where
) -> tuple[ConditionalFormat, ...]:
    rules = []
    for i, item in enumerate(_list(value, "conditional_formats", where)):
        key = f"conditional_formats[{i}]"
        raw = _mapping(item, key, where)
        where.check_keys(raw, FORMAT_KEYS, f"{key}.")
        condition = _enum(ConditionKind, raw.get("when"), f"{key}.when", where)
        rules.append(
            ConditionalFormat(
                column=_headers([raw.get("column")], headers, f"{key}.column", where)[0],
                condition=condition,
                values=_format_values(raw, condition, key, where),
                background=_colour(raw.get("background"), f"{key}.background", where),
                font_color=_colour(raw.get("font_color"), f"{key}.font_color", where),
                bold=_bool(raw.get("bold", False), f"{key}.bold", where),
            )
        )
    return tuple(rules)


def _format_values(
    raw: Mapping[str, Any], condition: ConditionKind, key: str, where: Where
) -> tuple[str, ...]:
    """The rule's values, checked against what its ``when`` compares with."""
    if "value" in raw and "values" in raw:
        raise where.fail(
            f"{key}.values", "both `value` and `values` are given", "keep only one of them"
        )
    name = f"{key}.values" if "values" in raw else f"{key}.value"
    values = _list(raw["values"], name, where) if "values" in raw else []
    if "value" in raw:
        values = [raw["value"]]
    if condition is ConditionKind.NOT_BLANK:
        if values:
            field = name.rsplit(".", 1)[1]
            raise where.fail(name, "not_blank compares with no value", f"remove `{field}:`")
        return ()
    if condition is ConditionKind.NUMBER_BETWEEN:
        return _between(values, name, where)
    if len(values) != 1:
        raise where.fail(
            name, f"{condition.value} compares with exactly one value, got {len(values)}",
            "write one `value:`",
        )  # fmt: skip
    if condition.value.startswith("number_"):
        return (str(_number(values[0], name, where)),)
    if not isinstance(values[0], str):
        raise where.fail(name, f"{values[0]!r} is not text", f'quote it, e.g. value: "{values[0]}"')
    return (values[0],)


def _between(values: list[Any], name: str, where: Where) -> tuple[str, ...]:
    if len(values) != 2:
        raise where.fail(
            name, f"number_between needs two numbers (low, high), got {len(values)}",
            "write e.g. `values: [0.9, 1.0]`",
        )  # fmt: skip
    low, high = (_number(v, name, where) for v in values)
    if low > high:
        raise where.fail(
            name, f"the low bound {low} is above the high bound {high}",
            f"write them in order: `values: [{high}, {low}]`",
        )  # fmt: skip
    return (str(low), str(high))


def _number(value: Any, key: str, where: Where) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.fail(key, f"{value!r} is not a number", "write a number, e.g. `0.9`")
    return value


def _sort_order(value: Any, key: str, where: Where) -> str:
    order = str(value).upper()
    if order not in SORT_ORDERS:
        raise where.fail(key, f"{value!r} is not a sort order", f"use one of {list(SORT_ORDERS)}")
    return order


def _colour(value: Any, key: str, where: Where) -> str | None:
    text = _optional_str(value, key, where)
    if text is not None and not _HEX_COLOUR.match(text):
        raise where.fail(key, f"{text!r} is not a colour", 'write it as "#RRGGBB", e.g. "#F4CCCC"')
    return text


def _snake(header: str) -> str:
    return "_".join("".join(ch if ch.isalnum() else " " for ch in header.lower()).split())
