"""Keep every GridRange in a spreadsheet pointing at the same cells when rows or
columns are inserted or deleted (named ranges, filters, protections,
conditional formats, merges, pivot sources and chart sources), as Google does;
charts floating over the sheet move with their anchor cell; developer
metadata on a row or column moves with it too (see :mod:`.devmeta`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sheets_emulator import charts, devmeta, groups
from sheets_emulator.grid import Cell
from sheets_emulator.spreadsheets import Spreadsheet


def shift_ranges(book: Spreadsheet, sheet_id: int, dim: str, at: int, n: int) -> None:
    """``n > 0``: ``n`` inserted before index ``at``; ``n < 0``: ``[at, at - n)`` deleted."""
    keys = (
        ("startRowIndex", "endRowIndex")
        if dim == "ROWS"
        else ("startColumnIndex", "endColumnIndex")
    )
    for rng in all_ranges(book):
        if rng.get("sheetId", 0) == sheet_id:
            _shift_one(rng, keys, at, n)
    devmeta.shift(book, sheet_id, dim, at, n)
    groups.shift(book.sheet_by_id(sheet_id), dim, at, n)
    charts.shift_anchors(book.sheet_by_id(sheet_id), dim, at, n)


def _shift_one(rng: dict[str, Any], keys: tuple[str, str], at: int, n: int) -> None:
    lo_key, hi_key = keys
    lo, hi = rng.get(lo_key), rng.get(hi_key)
    if n > 0:
        if lo is not None and lo >= at:
            rng[lo_key] = lo + n
        if hi is not None and hi > at:
            rng[hi_key] = hi + n
        return
    d0, _d1 = at, at - n
    if lo is not None:
        rng[lo_key] = lo if lo < d0 else max(d0, lo + n)
    if hi is not None:
        rng[hi_key] = hi if hi <= d0 else max(d0, hi + n)


def all_ranges(book: Spreadsheet) -> Iterator[dict[str, Any]]:
    """Every stored GridRange of the spreadsheet, live (mutating one moves it)."""
    for named in book.named_ranges:
        yield named["range"]
    for sheet in book.sheets:
        if sheet.basic_filter and "range" in sheet.basic_filter:
            yield sheet.basic_filter["range"]
        for protected in sheet.protected_ranges:
            if "range" in protected:
                yield protected["range"]
            yield from protected.get("unprotectedRanges", [])
        for rule in sheet.conditional_formats:
            yield from rule.get("ranges", [])
        yield from sheet.merges
        if sheet.has_pivots:
            yield from _pivot_sources(sheet.writable().rows)
    yield from charts.chart_ranges(book)


def _pivot_sources(rows: dict[int, list[Any]]) -> Iterator[dict[str, Any]]:
    for row in rows.values():
        for entry in row:
            if type(entry) is Cell and entry.pivot is not None and "source" in entry.pivot:
                yield entry.pivot["source"]
