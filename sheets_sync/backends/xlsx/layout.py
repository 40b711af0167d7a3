"""Sheet-level presentation of a managed tab: freeze, filter, protection, rules.

Protection guards the team against editing computed cells by accident: the
sheet is protected without a password, editable template columns and the
team's own columns (inserted between the managed ones or right of them) are
unlocked, and sorting, filtering and inserting columns stay allowed.
"""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.formatting.rule import CellIsRule, FormulaRule, Rule
from openpyxl.styles import Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.dimensions import ColumnDimension
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.errors import TemplateError
from sheets_sync.limits import XLSX_MAX_COLUMNS
from sheets_sync.tab_templates.model import ConditionalFormat, ConditionKind, TabTemplate


def freeze(ws: Worksheet, rows: int, columns: int) -> None:
    """Freeze the first ``rows`` and ``columns`` (by reference: no cell is created, so the
    streamed data cell there is not hidden by an empty one)."""
    top_left = f"{get_column_letter(columns + 1)}{rows + 1}"
    ws.freeze_panes = None if rows == 0 and columns == 0 else top_left


def data_ref(width: int, rows: int) -> str:
    """The A1 range of the header plus ``rows`` data rows over ``width`` columns."""
    return f"A1:{get_column_letter(width)}{rows + 1}"


def autofilter(ws: Worksheet, width: int, rows: int) -> None:
    ws.auto_filter.ref = data_ref(width, rows)


def protect(ws: Worksheet, last: int, team: Sequence[int] = ()) -> None:
    """Lock managed non-editable cells; leave editable and team columns open.

    ``last`` is the tab's last used column. The team's columns are unlocked
    as whole columns, so the team can type in any row: those already holding
    team cells one by one (they keep their own widths), every column right of
    ``last`` through a single range.
    """
    for column in team:
        ws.column_dimensions[get_column_letter(column)].protection = Protection(locked=False)
    first_free = last + 1
    if first_free <= XLSX_MAX_COLUMNS:
        rest = ColumnDimension(ws, min=first_free, max=XLSX_MAX_COLUMNS)
        rest.protection = Protection(locked=False)
        ws.column_dimensions[get_column_letter(first_free)] = rest
    sheet = ws.protection
    sheet.sheet = True
    sheet.sort = False
    sheet.autoFilter = False
    sheet.formatColumns = False
    sheet.formatRows = False
    sheet.formatCells = False
    sheet.insertColumns = False  # the team's own columns may go between ours


def conditional_formats(
    ws: Worksheet, template: TabTemplate, rows: int, positions: Sequence[int] | None = None
) -> None:
    """Template rules over each column's data cells (nothing to colour on an empty tab)."""
    if rows == 0:
        return
    at = list(positions) if positions is not None else range(1, len(template.columns) + 1)
    for index, rule in enumerate(template.conditional_formats):
        column = get_column_letter(at[template.column_index(rule.column)])
        ref = f"{column}2:{column}{rows + 1}"
        for built in _rules(rule, f"{column}2", template, index):
            ws.conditional_formatting.add(ref, built)


def _rules(rule: ConditionalFormat, first: str, template: TabTemplate, index: int) -> list[Rule]:
    look = {
        "fill": PatternFill(bgColor=_argb(rule.background)) if rule.background else None,
        "font": Font(color=_argb(rule.font_color), bold=rule.bold or None)
        if rule.font_color or rule.bold
        else None,
    }
    kind = rule.condition
    if kind is ConditionKind.TEXT_EQ:
        return [CellIsRule(operator="equal", formula=[_text(v)], **look) for v in rule.values]
    if kind is ConditionKind.TEXT_CONTAINS:
        return [
            FormulaRule(formula=[f"NOT(ISERROR(SEARCH({_text(v)},{first})))"], **look)
            for v in rule.values
        ]
    if kind is ConditionKind.NOT_BLANK:
        return [FormulaRule(formula=[f"LEN(TRIM({first}))>0"], **look)]
    numbers = _numbers(rule, template, index)
    operator = {
        ConditionKind.NUMBER_GREATER: "greaterThan",
        ConditionKind.NUMBER_LESS: "lessThan",
        ConditionKind.NUMBER_BETWEEN: "between",
    }[kind]
    needed = 2 if kind is ConditionKind.NUMBER_BETWEEN else 1
    if len(numbers) != needed:
        raise _bad_rule(template, index, f"{kind.value} needs {needed} value(s)")
    return [CellIsRule(operator=operator, formula=numbers, **look)]


def _numbers(rule: ConditionalFormat, template: TabTemplate, index: int) -> list[str]:
    out = []
    for value in rule.values:
        try:
            out.append(repr(float(value)))
        except ValueError as error:
            raise _bad_rule(template, index, f"{value!r} is not a number") from error
    return out


def _bad_rule(template: TabTemplate, index: int, problem: str) -> TemplateError:
    return TemplateError(
        f"{template.source_file or template.title}: conditional_formats[{index}].values: "
        f"{problem}. Fix: give numbers, e.g. `values: [0.9]` (two for number_between)"
    )


def _text(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _argb(colour: str | None) -> str:
    return "FF" + (colour or "#000000").lstrip("#").upper()


def column_letters(count: int) -> Sequence[str]:
    return [get_column_letter(i) for i in range(1, count + 1)]
