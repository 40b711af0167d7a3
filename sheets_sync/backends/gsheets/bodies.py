"""The changed cells as ``values:batchUpdate`` bodies, each under the payload cap.

Pure: no HTTP. Sizes are counted as the bytes sent (compact JSON, UTF-8, as
:mod:`.http` serialises it), so a body never crosses the cap; a range too big
for one body is split by rows.
"""

from __future__ import annotations

import json
from typing import Any

from sheets_sync.backends.gsheets.cells import Cell, a1_range
from sheets_sync.backends.gsheets.diff import Block

BODY_OVERHEAD = 64  # {"valueInputOption":"RAW","data":[...]} around the ranges


def value_range(title: str, block: Block) -> dict[str, Any]:
    """A changed block as one ``values:batchUpdate`` range (A1 bounds, rows of values)."""
    rng = a1_range(title, block.row0, block.col0, block.row1, block.col1)
    return {"range": rng, "majorDimension": "ROWS", "values": block.values}


def pack(ranges: list[dict[str, Any]], payload_cap: int) -> list[dict[str, Any]]:
    """``values:batchUpdate`` bodies, each under ``payload_cap`` bytes of JSON."""
    bodies: list[dict[str, Any]] = []
    data: list[dict[str, Any]] = []
    size = BODY_OVERHEAD
    for piece, piece_size in _pieces(ranges, payload_cap - BODY_OVERHEAD):
        if data and size + piece_size > payload_cap:
            bodies.append(_body(data))
            data, size = [], BODY_OVERHEAD
        data.append(piece)
        size += piece_size + 1
    if data:
        bodies.append(_body(data))
    return bodies


def _body(data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"valueInputOption": "RAW", "data": data}


def _pieces(ranges: list[dict[str, Any]], cap: int) -> Any:
    """Each range with its JSON size; a range too big for one body is split by rows."""
    for rng in ranges:
        size = _json_size(rng)
        if size <= cap:
            yield rng, size
            continue
        yield from _split(rng, cap)


def _split(rng: dict[str, Any], cap: int) -> Any:
    """Row slices of one range; each slice's own range and keys are counted at their real
    size (a long title makes them long), with the largest row number the range reaches."""
    title, _, bounds = rng["range"].rpartition("!")
    first, _, last = bounds.partition(":")
    col0 = first.rstrip("0123456789")
    col1 = last.rstrip("0123456789")
    row = int(first[len(col0) :])
    end = row + len(rng["values"])
    overhead = _json_size(_slice(title, col0, col1, end, [[]]))  # "values":[[]] ≥ "values":[]
    chunk: list[list[Cell]] = []
    size = 0
    for values in rng["values"]:
        row_size = _json_size(values) + 1
        if chunk and size + row_size + overhead > cap:
            yield _slice(title, col0, col1, row, chunk), size + overhead
            row += len(chunk)
            chunk, size = [], 0
        chunk.append(values)
        size += row_size
    if chunk:
        yield _slice(title, col0, col1, row, chunk), size + overhead


def _slice(title: str, col0: str, col1: str, row: int, values: list[list[Cell]]) -> dict:
    rng = f"{title}!{col0}{row}:{col1}{row + len(values) - 1}"
    return {"range": rng, "majorDimension": "ROWS", "values": values}


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
