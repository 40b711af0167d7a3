"""Minimal text edits of the package's index parts: the workbook, its relationships and
the content types.

Only what a write changes is touched: a managed sheet's name put back, a new
sheet added, the product's defined names (markers, data ranges, a rewritten
sheet's filter range) replaced; every other byte — the team's names, views,
calculation settings, namespace declarations Excel relies on — stays as it
was. Editing as text rather than re-serialising a parsed tree is what keeps
those declarations (``mc:Ignorable`` prefixes) intact.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from openpyxl.workbook.defined_name import DefinedName
from openpyxl.xml.constants import REL_NS
from openpyxl.xml.constants import SHEET_MAIN_NS as MAIN_NS
from openpyxl.xml.functions import tostring

_NAME_ITEM = re.compile(
    r"<(?:\w+:)?definedName(?=[\s/>])([^>]*?)(?:/>|>(.*?)</(?:\w+:)?definedName>)", re.S
)
FILTER_NAME = "_xlnm._FilterDatabase"


@dataclass(frozen=True)
class NewSheet:
    """A sheet the write adds at the end of the workbook."""

    title: str
    sheet_id: int
    rel_id: str
    state: str = "visible"


@dataclass(frozen=True)
class NameEdits:
    """The defined names after the write: global ones as the shell holds them (``before``:
    as the file held them), the local names of rewritten sheets (by sheet index:
    dropped, then their filter range added), and the sheet index of the others' local
    names when sheets moved."""

    before: Mapping[str, DefinedName]
    after: Mapping[str, DefinedName]
    rewritten: Collection[int]  # sheet indexes as the file had them
    filters: Mapping[int, str]  # sheet indexes after the write
    moved: Mapping[int, int] = field(default_factory=dict)  # index before → after


def _attr(text: str) -> str:
    return html.escape(text, quote=True)


def _prefix(xml: str, root: str) -> str:
    found = re.search(rf"<(\w+:)?{root}\b", xml)
    return (found.group(1) or "") if found else ""


def _rel_prefix(xml: str) -> str:
    found = re.search(rf'xmlns:(\w+)="{re.escape(REL_NS)}"', xml)
    return found.group(1) if found else "r"


def edit_workbook(
    xml: str,
    renamed: Mapping[str, str],
    new: Sequence[NewSheet],
    names: NameEdits,
    order: Sequence[str] | None = None,
    active: int | None = None,
    states: Mapping[str, str] | None = None,
) -> str:
    """The workbook part with sheets renamed (by relationship id), added, put in ``order``
    (relationship ids) when they moved, the ``active`` sheet set, and names set."""
    prefix, rel = _prefix(xml, "workbook"), _rel_prefix(xml)
    if rel == "r" and f'xmlns:r="{REL_NS}"' not in xml and new:
        xml = re.sub(r"<((?:\w+:)?workbook)\b", rf'<\1 xmlns:r="{REL_NS}"', xml, count=1)
    for rel_id, title in renamed.items():
        xml = _rename(xml, rel, rel_id, title)
    for rel_id, state in (states or {}).items():
        xml = _set_state(xml, rel, rel_id, state)
    added = "".join(
        f'<{prefix}sheet name="{_attr(s.title)}" sheetId="{s.sheet_id}"'
        + ("" if s.state == "visible" else f' state="{s.state}"')
        + f' {rel}:id="{s.rel_id}"/>'
        for s in new
    )
    if added:
        xml = _append_to(xml, prefix, "sheets", added)
    if order is not None:
        xml = _reorder(xml, prefix, rel, order)
    if active is not None:
        xml = _set_active(xml, active)
    return _edit_names(xml, prefix, names)


def _reorder(xml: str, prefix: str, rel: str, order: Sequence[str]) -> str:
    """The ``<sheet>`` elements in ``order`` (the position of a sheet is its index)."""
    block = re.search(rf"<{prefix}sheets>(.*?)</{prefix}sheets>", xml, re.S)
    if block is None:
        return xml
    elements = re.findall(r"<(?:\w+:)?sheet\b[^>]*>", block.group(1))
    by_id = {re.search(rf'\b{rel}:id="([^"]*)"', e).group(1): e for e in elements}  # type: ignore[union-attr]
    body = "".join(by_id[rel_id] for rel_id in order)
    return xml[: block.start(1)] + body + xml[block.end(1) :]


def _set_active(xml: str, active: int) -> str:
    view = re.search(r"<(?:\w+:)?workbookView\b[^>]*?/?>", xml)
    if view is None:
        return xml
    element = view.group(0)
    if re.search(r'\bactiveTab="\d+"', element):
        element = re.sub(r'\bactiveTab="\d+"', f'activeTab="{active}"', element, count=1)
    else:
        element = re.sub(r"(/?>)$", rf' activeTab="{active}"\1', element, count=1)
    return xml[: view.start()] + element + xml[view.end() :]


def _rename(xml: str, rel: str, rel_id: str, title: str) -> str:
    def renamed(element: str) -> str:
        return re.sub(r'\bname="[^"]*"', f'name="{_attr(title)}"', element, count=1)

    return _edit_sheet_element(xml, rel, rel_id, renamed)


def _set_state(xml: str, rel: str, rel_id: str, state: str) -> str:
    """A written sheet's visibility (``hidden``: a sheet of chart data); visible drops it."""

    def with_state(element: str) -> str:
        element = re.sub(r'\sstate="[^"]*"', "", element, count=1)
        if state != "visible":
            element = re.sub(r"\bsheetId=", f'state="{state}" sheetId=', element, count=1)
        return element

    return _edit_sheet_element(xml, rel, rel_id, with_state)


def _edit_sheet_element(xml: str, rel: str, rel_id: str, edit: Callable[[str], str]) -> str:
    """``xml`` with the ``<sheet>`` element of relationship ``rel_id`` edited (if present)."""
    pattern = re.compile(rf'<(?:\w+:)?sheet\b[^>]*\b{rel}:id="{re.escape(rel_id)}"[^>]*>')
    found = pattern.search(xml)
    if found is None:
        return xml
    return xml[: found.start()] + edit(found.group(0)) + xml[found.end() :]


def _append_to(xml: str, prefix: str, tag: str, body: str) -> str:
    empty = re.search(rf"<{prefix}{tag}\s*/>", xml)
    if empty is not None:
        return xml[: empty.start()] + f"<{prefix}{tag}>{body}</{prefix}{tag}>" + xml[empty.end() :]
    closing = xml.index(f"</{prefix}{tag}>")
    return xml[:closing] + body + xml[closing:]


def _edit_names(xml: str, prefix: str, names: NameEdits) -> str:
    block = re.search(
        rf"<{prefix}definedNames\b[^>]*?(?:/>|>(.*?)</{prefix}definedNames>)", xml, re.S
    )
    kept: list[str] = []
    done: set[str] = set()
    for item in _NAME_ITEM.finditer((block.group(1) or "") if block else ""):
        name, local = _name_of(item.group(1))
        if local is not None:
            if local not in names.rewritten:
                kept.append(_relocated(item.group(0), local, names.moved.get(local, local)))
            continue
        done.add(name)
        now = names.after.get(name)
        if now is None:
            continue
        was = names.before.get(name)
        kept.append(item.group(0) if was is not None and _same(was, now) else _snippet(now))
    kept += [_snippet(d) for n, d in names.after.items() if n not in done]
    kept += [_filter(index, ref) for index, ref in sorted(names.filters.items())]
    text = "".join(_in_main(k, prefix) for k in kept)
    new_block = f"<{prefix}definedNames>{text}</{prefix}definedNames>" if text else ""
    if block is not None:
        return xml[: block.start()] + new_block + xml[block.end() :]
    if not new_block:
        return xml
    for previous in ("externalReferences", "functionGroups", "sheets"):
        closing = re.search(rf"</{prefix}{previous}>|<{prefix}{previous}\s*/>", xml)
        if closing is not None:
            return xml[: closing.end()] + new_block + xml[closing.end() :]
    raise ValueError("workbook.xml has no <sheets> element")


def _relocated(element: str, before: int, after: int) -> str:
    if before == after:
        return element
    return re.sub(r'\blocalSheetId="\d+"', f'localSheetId="{after}"', element, count=1)


def _name_of(attrs: str) -> tuple[str, int | None]:
    name = re.search(r'\bname="([^"]*)"', attrs)
    local = re.search(r'\blocalSheetId="(\d+)"', attrs)
    return html.unescape(name.group(1) if name else ""), int(local.group(1)) if local else None


def _same(was: DefinedName, now: DefinedName) -> bool:
    return (was.attr_text, bool(was.hidden), was.comment) == (
        now.attr_text,
        bool(now.hidden),
        now.comment,
    )


def _snippet(name: DefinedName) -> str:
    return str(tostring(name.to_tree()).decode())


def _filter(index: int, ref: str) -> str:
    return (
        f'<definedName name="{FILTER_NAME}" localSheetId="{index}" hidden="1">'
        f"{html.escape(ref, quote=False)}</definedName>"
    )


def _in_main(snippet: str, prefix: str) -> str:
    if not prefix:
        return snippet
    return re.sub(r"^<definedName", f'<definedName xmlns="{MAIN_NS}"', snippet, count=1)


# -- relationships and content types --------------------------------------------


def add_relationships(xml: str, rels: Sequence[tuple[str, str, str]]) -> str:
    """Append ``(id, type, target)`` relationships."""
    body = "".join(
        f'<Relationship Id="{i}" Type="{t}" Target="{_attr(target)}"/>' for i, t, target in rels
    )
    return _append_to(xml, _prefix(xml, "Relationships"), "Relationships", body) if body else xml


def remove_relationships(xml: str, targets: Collection[str]) -> str:
    """Drop relationships whose ``Target`` ends with one of ``targets`` (parts removed)."""
    if not targets:
        return xml

    def keep(match: re.Match[str]) -> str:
        target = re.search(r'\bTarget="([^"]*)"', match.group(0))
        value = html.unescape(target.group(1)) if target else ""
        return "" if any(value.lstrip("/").endswith(t) for t in targets) else match.group(0)

    return re.sub(r"<(?:\w+:)?Relationship\b[^>]*?/>", keep, xml)


def next_rel_id(xml: str) -> int:
    numbers = [int(n) for n in re.findall(r'\bId="rId(\d+)"', xml)]
    return max(numbers, default=0) + 1


def edit_content_types(xml: str, add: Sequence[tuple[str, str]], remove: Collection[str]) -> str:
    """Add ``(part, content type)`` overrides and drop those of removed parts."""
    for part in remove:
        xml = re.sub(rf'<(?:\w+:)?Override\b[^>]*PartName="/{re.escape(part)}"[^>]*/>', "", xml)
    body = "".join(
        f'<Override PartName="/{_attr(part)}" ContentType="{kind}"/>'
        for part, kind in add
        if f'PartName="/{part}"' not in xml
    )
    return _append_to(xml, _prefix(xml, "Types"), "Types", body) if body else xml
