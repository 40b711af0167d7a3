"""The stylesheet of a workbook: styles a write adds are appended, none is renumbered.

The team's sheets are copied byte for byte, so every style index they use
must keep meaning what it meant. The shell workbook (:mod:`.package`) holds
the file's styles at their own indices; a write adds fonts, fills, cell
formats (``cellXfs``) and conditional-format styles (``dxfs``) only when no
equal one exists, and here exactly those are appended to ``xl/styles.xml`` —
as text, leaving every existing byte in place (a re-parse would lose
namespace declarations Excel needs). Number formats keep the file's ids; a
new one gets the next free id.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl.styles.cell_style import CellStyle
from openpyxl.styles.numbers import BUILTIN_FORMATS_MAX_SIZE
from openpyxl.workbook.workbook import Workbook
from openpyxl.xml.constants import SHEET_MAIN_NS as MAIN_NS
from openpyxl.xml.functions import tostring

_NUM_FMT = re.compile(r'<(?:\w+:)?numFmt\b[^>]*?numFmtId="(\d+)"[^>]*?formatCode="([^"]*)"')
_NUM_FMT_REVERSED = re.compile(
    r'<(?:\w+:)?numFmt\b[^>]*?formatCode="([^"]*)"[^>]*?numFmtId="(\d+)"'
)


@dataclass(frozen=True)
class StyleCounts:
    """How many of each style list the file held when opened."""

    fonts: int
    fills: int
    borders: int
    xfs: int
    dxfs: int

    @classmethod
    def of(cls, wb: Workbook) -> StyleCounts:
        return cls(
            len(wb._fonts),
            len(wb._fills),
            len(wb._borders),
            len(wb._cell_styles),
            len(wb._differential_styles.styles),
        )


def merged(xml: str, wb: Workbook, before: StyleCounts) -> str | None:
    """``xml`` with the styles added since ``before`` appended; ``None`` when none were."""
    if StyleCounts.of(wb) == before:
        return None
    xml, formats = _number_formats(xml, wb, before)
    xml = _append(xml, "fonts", [_snippet(f) for f in wb._fonts[before.fonts :]])
    xml = _append(xml, "fills", [_snippet(f) for f in wb._fills[before.fills :]])
    xml = _append(xml, "borders", [_snippet(b) for b in wb._borders[before.borders :]])
    xfs = [_xf(wb, index, formats) for index in range(before.xfs, len(wb._cell_styles))]
    xml = _append(xml, "cellXfs", xfs)
    dxfs = wb._differential_styles.styles[before.dxfs :]
    return _append(xml, "dxfs", [_snippet(d) for d in dxfs], after=("cellStyles", "cellXfs"))


def _snippet(item: object) -> str:
    return str(tostring(item.to_tree()).decode())  # type: ignore[attr-defined]


def _xf(wb: Workbook, index: int, formats: dict[int, int]) -> str:
    """A new cell format, as openpyxl's stylesheet writer spells it, with the file's
    number-format id."""
    style = wb._cell_styles[index]
    xf = CellStyle.from_array(style)
    if style.alignmentId:
        xf.alignment = wb._alignments[style.alignmentId]
    if style.protectionId:
        xf.protection = wb._protections[style.protectionId]
    xf.numFmtId = formats.get(style.numFmtId, style.numFmtId)
    return _snippet(xf)


def _number_formats(xml: str, wb: Workbook, before: StyleCounts) -> tuple[str, dict[int, int]]:
    """Map the shell's custom format ids of new cell formats to the file's, adding new ones.

    The shell numbers custom formats 164 + their position in its list; the file
    has its own ids. A format the file has keeps its id.
    """
    existing = {html.unescape(code): int(i) for i, code in _NUM_FMT.findall(xml)}
    existing.update({html.unescape(code): int(i) for code, i in _NUM_FMT_REVERSED.findall(xml)})
    free = max([BUILTIN_FORMATS_MAX_SIZE - 1, *existing.values()]) + 1
    mapping: dict[int, int] = {}
    added: list[str] = []
    for style in wb._cell_styles[before.xfs :]:
        shell_id = style.numFmtId
        if shell_id < BUILTIN_FORMATS_MAX_SIZE or shell_id in mapping:
            continue
        code = wb._number_formats[shell_id - BUILTIN_FORMATS_MAX_SIZE]
        if code not in existing:
            existing[code] = free
            added.append(f'<numFmt numFmtId="{free}" formatCode="{html.escape(code)}"/>')
            free += 1
        mapping[shell_id] = existing[code]
    return _append(xml, "numFmts", added, first=True), mapping


def _append(
    xml: str,
    tag: str,
    snippets: Sequence[str],
    after: Sequence[str] = (),
    first: bool = False,
) -> str:
    """Add ``snippets`` at the end of element ``tag`` (created when missing), fixing its
    ``count``."""
    if not snippets:
        return xml
    opening = re.search(rf"<((?:\w+:)?){tag}\b([^>]*?)(/?)>", xml)
    body = "".join(_in_main(s, _prefix(xml)) for s in snippets)
    if opening is None:
        return _insert_block(xml, tag, body, len(snippets), after, first)
    prefix, attrs, empty = opening.groups()
    attrs = _count(attrs, len(snippets))
    if empty:
        block = f"<{prefix}{tag}{attrs}>{body}</{prefix}{tag}>"
        return xml[: opening.start()] + block + xml[opening.end() :]
    closing = xml.index(f"</{prefix}{tag}>", opening.end())
    return (
        xml[: opening.start()]
        + f"<{prefix}{tag}{attrs}>"
        + xml[opening.end() : closing]
        + body
        + xml[closing:]
    )


def _count(attrs: str, added: int) -> str:
    found = re.search(r'\bcount="(\d+)"', attrs)
    if found is None:
        return attrs
    return attrs[: found.start(1)] + str(int(found.group(1)) + added) + attrs[found.end(1) :]


def _insert_block(
    xml: str, tag: str, body: str, count: int, after: Sequence[str], first: bool
) -> str:
    prefix = _prefix(xml)
    block = f'<{prefix}{tag} count="{count}">{body}</{prefix}{tag}>'
    if first:
        root = re.search(r"<(?:\w+:)?styleSheet\b[^>]*>", xml)
        at = root.end() if root else 0
        return xml[:at] + block + xml[at:]
    for previous in after:
        closing = re.search(rf"</(?:\w+:)?{previous}>|<(?:\w+:)?{previous}\b[^>]*/>", xml)
        if closing is not None:
            return xml[: closing.end()] + block + xml[closing.end() :]
    raise ValueError(f"styles.xml has no place for <{tag}>")


def _prefix(xml: str) -> str:
    """The prefix the document gives the main namespace (``''`` when it is the default)."""
    root = re.search(r"<(\w+:)?styleSheet\b", xml) or re.search(r"<(\w+:)?workbook\b", xml)
    return (root.group(1) or "") if root else ""


def _in_main(snippet: str, prefix: str) -> str:
    """A snippet in the main namespace even where the document gives it a prefix."""
    if not prefix:
        return snippet
    end = re.match(r"<[\w:]+", snippet)
    at = end.end() if end else 0
    return f'{snippet[:at]} xmlns="{MAIN_NS}"{snippet[at:]}'
