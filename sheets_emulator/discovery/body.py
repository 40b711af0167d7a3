"""A request body checked against its message: names, JSON types, ranges, enums, oneofs, masks.

Protobuf JSON as Google parses it: a field may be spelled lowerCamel or snake_case; ``null``
is "not set"; integers may be JSON numbers (integral) or strings; 64-bit integers usually
strings; floats may be ``"NaN"``/``"Infinity"``; an enum is its name (or its number).
``google.protobuf.Value`` fields (a ValueRange's cells) take any JSON and are not walked,
so a million-cell ``values:batchUpdate`` costs one type check per row.
"""

from __future__ import annotations

import math
from typing import Any

from sheets_emulator.discovery import violations as v
from sheets_emulator.discovery.schema import Field, Message
from sheets_emulator.discovery.selectors import SelectorSyntaxError, first_unknown, paths

INT_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}
TYPE_NAMES = {
    "string": "TYPE_STRING", "bytes": "TYPE_BYTES", "int32": "TYPE_INT32",
    "uint32": "TYPE_UINT32", "int64": "TYPE_INT64", "uint64": "TYPE_UINT64",
    "double": "TYPE_DOUBLE", "float": "TYPE_FLOAT", "bool": "TYPE_BOOL",
    "fieldmask": "type.googleapis.com/google.protobuf.FieldMask",
}  # fmt: skip
SPECIAL_FLOATS = {"NaN", "Infinity", "-Infinity"}
MAX_VIOLATIONS = 100


class BodyCheck:
    """One walk of one body; collects violations and uses of deprecated fields."""

    def __init__(self, unknown_ok: bool = False) -> None:
        self.unknown_ok = unknown_ok  # Drive ignores body fields it does not know
        self.violations: list[v.Violation] = []
        self.deprecated: list[str] = []

    def add(self, violation: v.Violation) -> None:
        if len(self.violations) < MAX_VIOLATIONS:
            self.violations.append(violation)

    def message(self, message: Message, data: dict[str, Any], at: str) -> None:
        fields, oneof = message.fields, message.oneof
        chosen: dict[str, str] = {}
        renamed: list[tuple[str, str]] = []
        for key, value in data.items():
            found = fields.get(key)
            if found is None:
                if not self.unknown_ok:
                    self.add(v.unknown_name(key, at))
                continue
            if key != found.name:
                renamed.append((key, found.name))
            if value is None:
                continue
            if found.deprecated:
                self.deprecated.append(v.name_path(f"{at}.{found.name}" if at else found.name))
            if oneof and key in oneof:
                group = oneof[key]
                if group in chosen:
                    self.add(v.oneof_set(at, group, key))
                chosen[group] = key
            if found.repeated or found.kind in ("message", "map"):
                self.nested(found, value, f"{at}.{found.snake}" if at else found.snake, at)
            elif not scalar_ok(found, value):
                self.bad_scalar(found, value, at)
            elif found.kind == "fieldmask" and message.mask_target is not None:
                self.mask(message.mask_target, value, at)
        for snake_name, name in renamed:  # the handlers read lowerCamel, as Google's do
            data[name] = data.pop(snake_name)

    def nested(self, found: Field, value: Any, path: str, parent: str) -> None:
        """A repeated, message or map field (its path already built)."""
        if found.repeated:
            if not isinstance(value, list):
                self.add(v.invalid_value(path, _type_name(found), value))
                return
            item = found.item
            assert item is not None
            if item.kind == "any" and not item.repeated:
                return  # google.protobuf.Value: any JSON, nothing to walk (a row of cells)
            for i, element in enumerate(value):
                if element is not None:
                    self.element(item, element, f"{path}[{i}]")
        elif found.kind == "map":
            if not isinstance(value, dict):
                self.add(v.invalid_value(path, "map", value))
                return
            entry = found.map_value
            assert entry is not None
            for key, element in value.items():
                if element is not None:
                    self.element(entry, element, f"{path}[{key}]")
        else:
            self.element(found, value, path, parent)

    def element(self, item: Field, value: Any, path: str, parent: str | None = None) -> None:
        """One value of ``item``'s type: a message, a nested list, a map entry or a scalar."""
        if item.repeated:
            self.nested(item, value, path, path)
        elif item.kind == "message":
            assert item.message is not None
            if isinstance(value, dict):
                self.message(item.message, value, path)
            elif isinstance(value, list):
                self.add(v.not_repeating(item.name, parent if parent is not None else path))
            else:
                self.add(v.invalid_value(path, item.message.full_name, value))
        elif item.kind == "any":
            return
        elif not scalar_ok(item, value):
            self.add(_scalar_violation(item, value, path))

    def bad_scalar(self, found: Field, value: Any, at: str) -> None:
        if isinstance(value, dict):
            self.add(v.object_on_scalar(found.snake, at))
        elif isinstance(value, list):
            self.add(v.not_repeating(found.name, at))
        else:
            path = f"{at}.{found.snake}" if at else found.snake
            self.add(v.invalid_value(path, _type_name(found), value))

    def mask(self, target: Message, text: str, at: str) -> None:
        if text.strip() == "*":
            return
        try:
            named = paths(text, strip=True)
        except SelectorSyntaxError:
            self.add(v.bad_mask(at, text, target.name))
            return
        for path in named:
            bad = first_unknown(target, path)
            if bad is not None:
                self.add(v.bad_mask(at, ".".join(path[: bad + 1]), target.name))


def _type_name(found: Field) -> str:
    if found.kind == "any" and found.repeated:
        return "type.googleapis.com/google.protobuf.ListValue"
    if found.kind == "enum":
        return found.enum_type
    if found.kind == "message" and found.message is not None:
        return found.message.full_name
    return TYPE_NAMES.get(found.kind, found.kind)


def _scalar_violation(found: Field, value: Any, path: str) -> v.Violation:
    if isinstance(value, dict):
        return v.object_on_scalar(found.snake, path)
    return v.invalid_value(path, _type_name(found), value)


def scalar_ok(found: Field, value: Any) -> bool:
    """Whether protobuf JSON parses ``value`` as a ``found.kind`` (an int within its range)."""
    kind = found.kind
    if kind in ("string", "bytes", "fieldmask"):
        return isinstance(value, str)
    if kind == "enum":
        if isinstance(value, str):
            return value in (found.enum or ())
        return _is_int(value) and 0 <= value < len(found.enum or ())
    if kind == "bool":
        return isinstance(value, bool) or (
            isinstance(value, str) and value.lower() in ("true", "false")
        )
    if kind in INT_RANGES:
        return _int_ok(value, *INT_RANGES[kind])
    if kind in ("double", "float"):
        return _float_ok(value)
    return kind == "any"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_ok(value: Any, low: int, high: int) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        if not value.is_integer():
            return False
        value = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text.lstrip("-").isdigit():
            return False
        value = int(text)
    return isinstance(value, int) and low <= value <= high


def _float_ok(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if not isinstance(value, str):
        return False
    if value in SPECIAL_FLOATS:
        return True
    try:
        return not math.isnan(float(value)) or value == "NaN"
    except ValueError:
        return False
