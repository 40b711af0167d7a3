"""Embedded charts: ``addChart``, ``updateChartSpec``, ``updateEmbeddedObjectPosition``,
``deleteEmbeddedObject``, and ``sheets[].charts`` in ``spreadsheets.get``.

A chart is stored on the sheet it floats over (its ``overlayPosition.anchorCell``)
as the EmbeddedChart JSON Google answers: ``chartId``, ``spec``, ``position``
and ``border``. Google fills in defaults the client did not send
(``hiddenDimensionStrategy``, ``fontName``, a white border), so the emulator
does too: a client comparing what it would send with what it reads must
compare only what it sends. Every ``sourceRange`` GridRange is checked (the
sheet exists, the range is inside its grid, one row or one column wide) and
moves with the rows and columns inserted or deleted on its sheet, as do anchor
cells (:mod:`.shift`). Deleting a sheet deletes the charts on it; a chart
elsewhere that read it loses those source ranges (Google keeps the chart and
shows it empty). Charts on a sheet of their own (``newSheet``, ``sheetId``
positions) are not supported: a 400 naming it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from sheets_emulator.apierror import bad_request
from sheets_emulator.batch_cells import expand_fields
from sheets_emulator.shapes import normalise_colours
from sheets_emulator.spreadsheets import Sheet, Spreadsheet, clip

CHART_TYPES = {"BAR", "LINE", "AREA", "COLUMN", "SCATTER", "COMBO", "STEPPED_AREA"}
SPEC_DEFAULTS = {"hiddenDimensionStrategy": "SKIP_HIDDEN_ROWS_AND_COLUMNS", "fontName": "Roboto"}
WHITE_BORDER = {"color": {"red": 1, "green": 1, "blue": 1}}
OVERLAY_FIELDS = ("anchorCell", "offsetXPixels", "offsetYPixels", "widthPixels", "heightPixels")
DEFAULT_SIZE = {"widthPixels": 600, "heightPixels": 371}
_ZERO_DEFAULTS = {
    "sheetId", "startRowIndex", "startColumnIndex", "rowIndex", "columnIndex",
    "offsetXPixels", "offsetYPixels", "headerCount",
}  # fmt: skip


def add_chart(book: Spreadsheet, payload: dict[str, Any]) -> dict[str, Any]:
    chart = copy.deepcopy(payload.get("chart") or {})
    spec = chart.get("spec")
    if not isinstance(spec, dict):
        raise bad_request("chart.spec is required")
    chart_id = chart.get("chartId")
    if chart_id is None:
        chart_id = _new_id(book)
    elif _find(book, int(chart_id)) is not None:
        raise bad_request(f"An object with id {chart_id} already exists.")
    check_spec(book, spec)
    position = _overlay(book, chart.get("position"))
    stored = {
        "chartId": int(chart_id),
        "spec": {**SPEC_DEFAULTS, **spec},
        "position": {"overlayPosition": position},
        "border": normalise_colours({"color": dict(WHITE_BORDER["color"])}),
    }
    host = book.sheet_by_id(position["anchorCell"].get("sheetId", 0))
    host.charts.append(stored)
    return {"chart": public(stored)}


def update_chart_spec(book: Spreadsheet, payload: dict[str, Any]) -> None:
    chart = _chart(book, payload.get("chartId"))
    spec = payload.get("spec")
    if not isinstance(spec, dict):
        raise bad_request("spec is required")
    check_spec(book, spec)
    chart["spec"] = {**SPEC_DEFAULTS, **copy.deepcopy(spec)}


def update_position(book: Spreadsheet, payload: dict[str, Any]) -> dict[str, Any]:
    chart = _chart(book, payload.get("objectId"))
    new = (payload.get("newPosition") or {}).get("overlayPosition")
    if not isinstance(new, dict):
        raise bad_request(
            "newPosition.overlayPosition is required (the emulator does not move charts to "
            "a sheet of their own)"
        )
    fields = str(payload.get("fields") or "")
    if not fields:
        raise bad_request("At least one field must be updated (set 'fields').")
    paths = list(OVERLAY_FIELDS) if fields == "*" else expand_fields(fields)
    overlay = copy.deepcopy(chart["position"]["overlayPosition"])
    for path in paths:
        top = path.split(".")[0]
        if top not in OVERLAY_FIELDS:
            raise bad_request(
                f"Invalid field mask path: {path!r} is not a field of OverlayPosition"
            )
        if top in new:
            overlay[top] = copy.deepcopy(new[top])
        else:
            overlay.pop(top, None)
    overlay = _overlay(book, {"overlayPosition": overlay})
    _detach(book, chart["chartId"])
    chart["position"] = {"overlayPosition": overlay}
    book.sheet_by_id(overlay["anchorCell"].get("sheetId", 0)).charts.append(chart)
    return {"position": public(chart)["position"]}


def delete_object(book: Spreadsheet, payload: dict[str, Any]) -> None:
    _chart(book, payload.get("objectId"))
    _detach(book, int(payload["objectId"]))


def check_spec(book: Spreadsheet, spec: dict[str, Any]) -> None:
    """The chart's kind and every source range, as Google checks them before drawing."""
    kinds = [k for k in spec if k.endswith("Chart")]
    if len(kinds) != 1:
        raise bad_request("spec must set exactly one kind of chart (e.g. basicChart, pieChart)")
    basic = spec.get("basicChart")
    if basic is not None and basic.get("chartType") not in CHART_TYPES:
        raise bad_request(
            f"Invalid value at 'basicChart.chartType' ({basic.get('chartType')!r}): "
            f"use one of {sorted(CHART_TYPES)}"
        )
    found = False
    for rng in source_ranges(spec):
        found = True
        sheet, bounds = book.grid_range(rng, "chart source range: ")
        r0, r1, c0, c1 = clip(sheet, bounds)
        if r1 - r0 != 1 and c1 - c0 != 1:
            raise bad_request(
                "Chart source ranges must be a single row or a single column "
                f"(got {r1 - r0} rows × {c1 - c0} columns on sheet {sheet.title!r})"
            )
    if not found:
        raise bad_request("The chart has no data: set at least one sourceRange")


def _overlay(book: Spreadsheet, position: Any) -> dict[str, Any]:
    if not isinstance(position, dict) or not isinstance(position.get("overlayPosition"), dict):
        raise bad_request(
            "chart.position.overlayPosition is required (the emulator does not support charts "
            "on a sheet of their own: newSheet or sheetId positions)"
        )
    overlay = {**DEFAULT_SIZE, **copy.deepcopy(position["overlayPosition"])}
    anchor = overlay.get("anchorCell")
    if not isinstance(anchor, dict):
        raise bad_request("overlayPosition.anchorCell is required")
    sheet = book.sheet_by_id(anchor.get("sheetId", 0))
    row, col = int(anchor.get("rowIndex", 0)), int(anchor.get("columnIndex", 0))
    if not (0 <= row < sheet.row_count and 0 <= col < sheet.col_count):
        raise bad_request(
            f"The anchor cell (row {row}, column {col}) is outside sheet {sheet.title!r} "
            f"({sheet.row_count} rows × {sheet.col_count} columns)"
        )
    for key in ("widthPixels", "heightPixels", "offsetXPixels", "offsetYPixels"):
        if int(overlay.get(key, 0)) < 0:
            raise bad_request(f"overlayPosition.{key} must not be negative")
    return overlay


def source_ranges(spec: Any) -> Iterator[dict[str, Any]]:
    """Every GridRange under a ``sourceRange.sources`` of the spec (live: mutable)."""
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "sourceRange" and isinstance(value, dict):
                yield from value.get("sources") or []
            else:
                yield from source_ranges(value)
    elif isinstance(spec, list):
        for item in spec:
            yield from source_ranges(item)


def all_charts(book: Spreadsheet) -> Iterator[dict[str, Any]]:
    for sheet in book.sheets:
        yield from sheet.charts


def chart_ranges(book: Spreadsheet) -> Iterator[dict[str, Any]]:
    """Source ranges of every chart, for :mod:`.shift`."""
    for chart in all_charts(book):
        yield from source_ranges(chart["spec"])


def shift_anchors(sheet: Sheet, dim: str, at: int, n: int) -> None:
    """Charts float over a cell: rows/columns inserted before it push it, deleted ones pull."""
    key = "rowIndex" if dim == "ROWS" else "columnIndex"
    for chart in sheet.charts:
        anchor = chart["position"]["overlayPosition"]["anchorCell"]
        index = int(anchor.get(key, 0))
        if n > 0 and index >= at:
            anchor[key] = index + n
        elif n < 0 and index >= at:
            anchor[key] = max(at, index + n)
    size = sheet.row_count if dim == "ROWS" else sheet.col_count
    for chart in sheet.charts:
        anchor = chart["position"]["overlayPosition"]["anchorCell"]
        anchor[key] = min(int(anchor.get(key, 0)), max(size - 1, 0))


def drop_sheet(book: Spreadsheet, sheet_id: int) -> None:
    """A deleted sheet takes its charts; others lose the source ranges that were on it."""
    for chart in all_charts(book):
        _drop_sources(chart["spec"], sheet_id)


def _drop_sources(spec: Any, sheet_id: int) -> None:
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "sourceRange" and isinstance(value, dict):
                value["sources"] = [
                    r for r in value.get("sources") or [] if r.get("sheetId", 0) != sheet_id
                ]
            else:
                _drop_sources(value, sheet_id)
    elif isinstance(spec, list):
        for item in spec:
            _drop_sources(item, sheet_id)


def public(chart: dict[str, Any]) -> dict[str, Any]:
    """An EmbeddedChart as Google answers it: zero indexes, offsets and sheet 0 left out."""
    return _without_zeros(copy.deepcopy(chart))


def _without_zeros(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_zeros(v)
            for k, v in value.items()
            if not (k in _ZERO_DEFAULTS and v == 0 and not isinstance(v, bool))
        }
    if isinstance(value, list):
        return [_without_zeros(v) for v in value]
    return value


def _new_id(book: Spreadsheet) -> int:
    while True:
        candidate = book.rng.randrange(1, 2**31 - 1)
        if _find(book, candidate) is None and candidate not in {s.sheet_id for s in book.sheets}:
            return candidate


def _find(book: Spreadsheet, chart_id: int) -> dict[str, Any] | None:
    return next((c for c in all_charts(book) if c["chartId"] == chart_id), None)


def _chart(book: Spreadsheet, chart_id: Any) -> dict[str, Any]:
    if chart_id is None:
        raise bad_request("The chart id (chartId / objectId) is required")
    chart = _find(book, int(chart_id))
    if chart is None:
        raise bad_request(f"No chart with id: {chart_id}")
    return chart


def _detach(book: Spreadsheet, chart_id: int) -> None:
    for sheet in book.sheets:
        sheet.charts = [c for c in sheet.charts if c["chartId"] != chart_id]


HANDLERS = {
    "addChart": add_chart,
    "updateChartSpec": update_chart_spec,
    "updateEmbeddedObjectPosition": update_position,
    "deleteEmbeddedObject": delete_object,
}
