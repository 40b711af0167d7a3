"""A column's ``format_by:``: a number format per row, chosen by another column's text.

::

    - header: Value
      type: decimal
      format_by:
        column: Unit                       # a text column of the same tab
        formats: {"%": "0.0 %", EUR: '"€ "#,##0.00', days: "#,##0"}

The figures stay numbers (pivots and filters work on them); each row is shown
in the format its ``Unit`` names, by both destinations in the same write. The
checks here make a ``format_by`` that loads one both can apply: the column it
reads exists, holds text and is not the formatted column itself; the formatted
column is numeric; every format is a non-empty text.
"""

from __future__ import annotations

from typing import Any

from sheets_sync.tab_templates.checks import headers as _headers
from sheets_sync.tab_templates.checks import mapping as _mapping
from sheets_sync.tab_templates.model import ColumnSpec, ColumnType, FormatBy
from sheets_sync.tab_templates.source import Where

FORMAT_BY_KEYS = {"column", "formats"}
EXAMPLE = 'format_by: {column: Unit, formats: {"%": "0.0 %", EUR: "#,##0.00"}}'


def parse_format_by(value: Any, key: str, where: Where) -> FormatBy | None:
    """The option as written; which column it reads is checked by :func:`check_formats_by`."""
    if value is None:
        return None
    raw = _mapping(value, key, where)
    where.check_keys(raw, FORMAT_BY_KEYS, f"{key}.")
    column = raw.get("column")
    if not isinstance(column, str) or not column.strip():
        raise where.fail(f"{key}.column", "missing or empty", f"name a text column: {EXAMPLE}")
    formats = _mapping(raw.get("formats"), f"{key}.formats", where)
    if not formats:
        raise where.fail(f"{key}.formats", "is empty", f"map each value to a format: {EXAMPLE}")
    for name, pattern in formats.items():
        if not isinstance(pattern, str) or not pattern.strip():
            raise where.fail(
                f"{key}.formats.{name}", f"{pattern!r} is not a number format",
                'write a format as text, e.g. "#,##0.00"',
            )  # fmt: skip
    return FormatBy(column, tuple((str(name), pattern) for name, pattern in formats.items()))


def check_formats_by(columns: tuple[ColumnSpec, ...], where: Where) -> None:
    """Each ``format_by`` reads another, text column and formats a numeric one."""
    known = [c.header for c in columns]
    for i, column in enumerate(columns):
        if column.format_by is None:
            continue
        key = f"columns[{i}].format_by"
        name = _headers([column.format_by.column], known, f"{key}.column", where)[0]
        if name == column.header:
            raise where.fail(
                f"{key}.column", f"{name!r} is the column being formatted",
                "name the text column that says each row's unit (e.g. `Unit`)",
            )  # fmt: skip
        if columns[known.index(name)].type is not ColumnType.TEXT:
            raise where.fail(
                f"{key}.column", f"{name!r} is not a text column",
                f"give {name!r} `type: text`, or name the column holding each row's unit",
            )  # fmt: skip
        if not column.type.is_numeric:
            raise where.fail(
                key, f"{column.header!r} is a {column.type.value} column, not a number",
                "give it a numeric `type:` (integer, decimal, money, percent) or remove format_by",
            )  # fmt: skip
