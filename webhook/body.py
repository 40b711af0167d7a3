"""Reading a JSON request body against a small field spec: 400 naming the field.

The endpoints take two or three fields each, so a declarative spec here is
clearer than a schema library: a missing, unknown or mistyped field is a
:class:`~webhook.errors.BadRequest` whose message names it and what it wants.

The body is parsed here, not by Flask, so that no body can make a 500
(docs/design.md §8): it must be UTF-8 JSON (RFC 8259; a UTF-8 byte-order mark is
skipped, any other encoding or ``charset`` is refused naming it), nested at most
:data:`MAX_DEPTH` levels (``[[[…]]]`` a hundred thousand deep overflowed the
parser's recursion) and without a key given twice in one object (which of the
two counts differs from one JSON parser to the next). Each refusal is a
``400`` naming the problem; the body's size is capped by the app (413).
"""

from __future__ import annotations

import codecs
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import request

from webhook.errors import BadRequest


@dataclass(frozen=True)
class Field:
    """One body field: its JSON type (``string``, ``boolean``, ``string list``)."""

    kind: str
    required: bool = False


_CHECKS = {
    "string": lambda v: isinstance(v, str) and v.strip() != "",
    "boolean": lambda v: isinstance(v, bool),
    "string list": lambda v: isinstance(v, list) and bool(v),
}
_WANTS = {
    "string": "a non-empty string",
    "boolean": "true or false",
    "string list": 'a non-empty list of strings, e.g. ["KPI Daily"]',
}


EXPECTED = 'expected a JSON object, e.g. {"spreadsheet_id": "1AbC…"}'
MAX_DEPTH = 32
"""The deepest nesting of arrays and objects a body may have (the endpoints' bodies have 2)."""
UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_OTHER_BOMS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"?', re.DOTALL)
"""A JSON string, or an unterminated one up to the end: never backtracks (linear)."""
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKey(key)
        found[key] = value
    return found


def parse_json_body() -> Any:
    """The request body as JSON, or :class:`BadRequest` on field ``body`` naming the problem."""
    data = request.get_data(cache=True)
    charset = request.mimetype_params.get("charset")
    if charset is not None and charset.strip().lower() not in UTF8_NAMES:
        raise BadRequest("body", f"charset {charset[:40]!r} is not accepted; send UTF-8 JSON")
    for bom, name in _OTHER_BOMS.items():  # UTF-32 first: its LE mark starts like UTF-16's
        if data.startswith(bom):
            raise BadRequest("body", f"the body is {name} (byte-order mark); send UTF-8 JSON")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(
            "body", f"not UTF-8 (byte {error.start} is {data[error.start]:#04x}); send UTF-8 JSON"
        ) from None
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise BadRequest(
            "body", f"JSON nested {depth} levels deep; at most {MAX_DEPTH} are accepted"
        )
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as duplicate:
        raise BadRequest(
            field_name(duplicate.key), "given twice in one object; give each field once"
        ) from None
    except RecursionError:  # not reached below MAX_DEPTH; kept as the last guard
        raise BadRequest("body", "JSON nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, and an integer of over 4,300 digits
        raise BadRequest("body", f"not JSON ({_first_line(error)}); {EXPECTED}") from None


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (JSON or not), in linear time.

    Strings are cut out first (a ``[`` in a string is text), then the brackets
    are counted up and down: regular expressions and ``itertools`` only, no
    Python loop per character, and no recursion however deep the body goes.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def field_name(key: str) -> str:
    """A body's key as a 400 names it: as given, or quoted when blank (and cut at 100)."""
    return key[:100] if key.strip() else json.dumps(key)


def _first_line(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


def json_body(spec: Mapping[str, Field]) -> dict[str, Any]:
    """The body as a dict whose fields match ``spec`` (absent optional ones left out)."""
    body = parse_json_body()
    if not isinstance(body, dict):
        raise BadRequest("body", EXPECTED)
    for name in body:
        if name not in spec:
            raise BadRequest(field_name(name), f"unknown field; the fields are {', '.join(spec)}")
    for name, field in spec.items():
        if name not in body:
            if field.required:
                raise BadRequest(name, f"missing; give {_WANTS[field.kind]}")
            continue
        value = body[name]
        if not _CHECKS[field.kind](value):
            raise BadRequest(name, f"{json_type(value)} given; expected {_WANTS[field.kind]}")
        if field.kind == "string list":
            _check_items(name, value)
    return body


def _check_items(name: str, values: list[Any]) -> None:
    for index, item in enumerate(values):
        if not isinstance(item, str) or not item.strip():
            raise BadRequest(f"{name}[{index}]", f"{json_type(item)} given; expected a tab title")


def json_type(value: Any) -> str:
    """The JSON name of ``value``'s type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "an empty string" if not value.strip() else "a string"
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    return "an object"
