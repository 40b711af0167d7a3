"""Reading a JSON request body against a small field spec: 400 naming the field.

The endpoints take two or three fields each, so a declarative spec here is
clearer than a schema library: a missing, unknown or mistyped field is a
:class:`~webhook.errors.BadRequest` whose message names it and what it wants.
"""

from __future__ import annotations

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


def json_body(spec: Mapping[str, Field]) -> dict[str, Any]:
    """The body as a dict whose fields match ``spec`` (absent optional ones left out)."""
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise BadRequest("body", 'expected a JSON object, e.g. {"spreadsheet_id": "1AbC…"}')
    for name in body:
        if name not in spec:
            raise BadRequest(name, f"unknown field; the fields are {', '.join(spec)}")
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
