"""Google's wording for a request its discovery document refuses, and the 400 that carries it.

The texts are Google's own (ESF, the JSON front end of Google APIs, and the protobuf JSON
parser it runs), quoted in docs/emulator.md with where each was seen: paths in snake_case
(``requests[0].update_sheet_properties.properties``), field names as the client sent them.
Every violation in a request is reported, one line each, as Google does, with one
``google.rpc.BadRequest`` field violation per line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sheets_emulator.apierror import ApiError

BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


@dataclass(frozen=True)
class Violation:
    field: str  # the snake_case path Google names ("" for the request itself)
    description: str


def unknown_name(name: str, at: str) -> Violation:
    where = f" at '{at}'" if at else ""
    return Violation(
        at, f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'
    )


def not_repeating(name: str, at: str) -> Violation:
    where = f" at '{at}'" if at else ""
    return Violation(
        at,
        f'Invalid JSON payload received. Unknown name "{name}"{where}: '
        "Proto field is not repeating, cannot start list.",
    )


def object_on_scalar(snake_name: str, at: str) -> Violation:
    where = f" at '{at}'" if at else ""
    return Violation(
        at, f"Invalid value{where} ({snake_name}), Starting an object on a scalar field"
    )


def invalid_value(at: str, type_name: str, value: Any) -> Violation:
    return Violation(at, f"Invalid value at '{at}' ({type_name}), {_render(value)}")


def oneof_set(at: str, group: str, name: str) -> Violation:
    return Violation(
        at,
        f"Invalid value at '{at}' (oneof), oneof field '{group}' is already set. Cannot set '{name}'",
    )


def unbound_query(name: str) -> Violation:
    return Violation(
        "",
        f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter. '
        f"Field '{name}' could not be found in request message.",
    )


def bad_mask(at: str, path: str, message: str) -> Violation:
    return Violation(
        at,
        f"Invalid {camel_path(at)}: Invalid field mask path: {path!r} is not a field of {message}",
    )


def _render(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 200 else text[:200] + "…"


def refusal(violations: list[Violation], drive: bool = False) -> ApiError:
    """One 400 for every violation found, Google's ``details`` attached."""
    error = ApiError(400, "\n".join(v.description for v in violations))
    entries = [
        {"field": v.field, "description": v.description}
        if v.field
        else {"description": v.description}
        for v in violations
    ]
    error.extra["details"] = [{"@type": BAD_REQUEST, "fieldViolations": entries}]
    if drive:
        error.extra["errors"] = [
            {"domain": "global", "reason": "invalid", "message": v.description} for v in violations
        ]
    return error


def selector_refusal(path: str, drive: bool) -> ApiError:
    """A ``fields`` selector naming no field: ESF's message on Sheets, Drive's own on Drive."""
    if not drive:
        return ApiError(
            400,
            f"Error expanding 'fields' parameter. Cannot find matching fields for path '{path}'.",
        )
    message = f"Invalid field selection {path}"
    error = ApiError(400, message)
    error.extra["errors"] = [
        {"domain": "global", "reason": "invalidParameter", "message": message,
         "locationType": "parameter", "location": "fields"}
    ]  # fmt: skip
    return error


def camel_path(at: str) -> str:
    """``requests[0].update_sheet_properties`` → ``requests[0].updateSheetProperties``."""
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), at)


def name_path(at: str) -> str:
    """A body path without list indexes or map keys, in lowerCamel (the counters' key)."""
    return camel_path(re.sub(r"\[[^\]]*\]", "", at))
