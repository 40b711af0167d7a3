"""Google's JSON conventions for what the emulator stores and answers.

The Sheets API is protobuf underneath, and its JSON shows it: a JSON ``null``
in a request means "not set"; default values are left out of answers
(``sheetId`` 0 inside a GridRange, ``hidden: false``, ``frozenRowCount: 0``);
colours are 32-bit floats with zero channels omitted; and a colour given as
``backgroundColor`` also comes back as ``backgroundColorStyle`` (and the other
way round). gspread's recorded cassettes show each of these.
"""

from __future__ import annotations

import math
from typing import Any

_RANGE_KEYS = {
    "sheetId", "startRowIndex", "endRowIndex", "startColumnIndex", "endColumnIndex",
    "dimension", "startIndex", "endIndex", "rowIndex", "columnIndex",
}  # fmt: skip
_FALSE_DEFAULTS = ("hidden", "rightToLeft")
_GRID_DEFAULTS = {
    "frozenRowCount": 0,
    "frozenColumnCount": 0,
    "hideGridlines": False,
    "rowGroupControlAfter": False,
    "columnGroupControlAfter": False,
}
_CHANNELS = ("red", "green", "blue", "alpha")
# (colour key, style key) pairs Google keeps in step, by the object holding them.
_COLOUR_PAIRS = (("backgroundColor", "backgroundColorStyle"), ("tabColor", "tabColorStyle"))
_TEXT_PAIR = ("foregroundColor", "foregroundColorStyle")


def drop_nulls(value: Any) -> Any:
    """A request payload with every ``null`` removed (null = unset, as in protobuf JSON)."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def public_ranges(value: Any) -> Any:
    """A copy where GridRange/DimensionRange/GridCoordinate objects on sheet 0 lose ``sheetId``."""
    if isinstance(value, dict):
        out = {k: public_ranges(v) for k, v in value.items()}
        if out.get("sheetId") == 0 and out.keys() <= _RANGE_KEYS:
            del out["sheetId"]
        return out
    if isinstance(value, list):
        return [public_ranges(v) for v in value]
    return value


def public_properties(props: dict[str, Any]) -> dict[str, Any]:
    """SheetProperties as Google answers them: false/zero defaults left out."""
    out = {k: v for k, v in props.items() if not (k in _FALSE_DEFAULTS and v is False)}
    grid = out.get("gridProperties")
    if isinstance(grid, dict):
        out["gridProperties"] = {k: v for k, v in grid.items() if _GRID_DEFAULTS.get(k, ...) != v}
    return out


def colour(value: dict[str, Any]) -> dict[str, Any]:
    """A Color as Google stores it: 8 bits a channel, shown as float32, zero channels dropped.

    Google keeps 255 steps (0.5 comes back as 127/255 = 0.49803922) and
    prints 1.0 as ``1``.
    """
    out: dict[str, Any] = {}
    for key in _CHANNELS:
        channel = value.get(key)
        if not isinstance(channel, int | float) or isinstance(channel, bool):
            continue
        steps = math.floor(min(max(float(channel), 0.0), 1.0) * 255 + 1e-9)
        if steps:
            shown = float(f"{steps / 255:.8g}")
            out[key] = int(shown) if shown.is_integer() else shown
    return out


def normalise_colours(obj: dict[str, Any]) -> dict[str, Any]:
    """A format or sheet properties with colours stored as Google does, styles in step.

    Mutates and returns ``obj``: colour channels are rounded, and a colour
    set only as ``backgroundColor`` (or only as ``backgroundColorStyle.rgbColor``)
    gets its twin, for background, tab and text colours.
    """
    for plain, style in _COLOUR_PAIRS:
        _pair(obj, plain, style)
    text = obj.get("textFormat")
    if isinstance(text, dict):
        _pair(text, *_TEXT_PAIR)
    return obj


def _pair(obj: dict[str, Any], plain: str, style: str) -> None:
    if isinstance(obj.get(plain), dict):
        obj[plain] = colour(obj[plain])
    styled = obj.get(style)
    if isinstance(styled, dict) and isinstance(styled.get("rgbColor"), dict):
        styled["rgbColor"] = colour(styled["rgbColor"])
    if plain in obj and style not in obj:
        obj[style] = {"rgbColor": dict(obj[plain])}
    elif isinstance(styled, dict) and "rgbColor" in styled and plain not in obj:
        obj[plain] = dict(styled["rgbColor"])


def twin_paths(paths: list[str]) -> list[str]:
    """Field-mask paths plus the colour twins they imply (``backgroundColor`` → its style)."""
    twins = {
        "backgroundColor": "backgroundColorStyle",
        "tabColor": "tabColorStyle",
        "textFormat.foregroundColor": "textFormat.foregroundColorStyle",
    }
    twins.update({v: k for k, v in list(twins.items())})
    out = list(paths)
    for path in paths:
        twin = twins.get(path)
        if twin is not None and twin not in out:
            out.append(twin)
    return out
