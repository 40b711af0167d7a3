"""Google's discovery schemas compiled into messages and fields, once, for fast request checks.

A discovery document describes every message (``schemas``) as JSON Schema-like properties;
walking that JSON for each request would be slow, so each schema becomes a :class:`Message`
whose fields are looked up by either of the names protobuf JSON accepts (lowerCamel and the
original snake_case). What the documents do not say — which fields form a protobuf ``oneof``,
which message a ``google-fieldmask`` field masks, an enum's proto type name — is added here
from Google's reference pages (docs/emulator.md names them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Scalar kinds. A field's ``kind`` is one of these, "message" or "map".
SCALARS: dict[tuple[Any, Any], str] = {
    ("string", None): "string",
    ("string", "int64"): "int64",
    ("string", "uint64"): "uint64",
    ("string", "byte"): "bytes",
    ("string", "google-fieldmask"): "fieldmask",
    ("integer", "int32"): "int32",
    ("integer", "uint32"): "uint32",
    ("number", "double"): "double",
    ("number", "float"): "float",
    ("boolean", None): "bool",
    ("any", None): "any",
}

ONEOFS: dict[str, dict[str, tuple[str, ...]]] = {
    # Request: every field is one kind of update (the reference's "Union field kind").
    "DataFilter": {"filter": ("developerMetadataLookup", "a1Range", "gridRange")},
    "ExtendedValue": {
        "value": ("numberValue", "stringValue", "boolValue", "formulaValue", "errorValue")
    },
    "ColorStyle": {"kind": ("rgbColor", "themeColor")},
    "ChartSpec": {
        "chart": (
            "basicChart",
            "pieChart",
            "bubbleChart",
            "candlestickChart",
            "orgChart",
            "histogramChart",
            "waterfallChart",
            "treemapChart",
            "scorecardChart",
        )
    },
    "PasteDataRequest": {"kind": ("delimiter", "html")},
    "FindReplaceRequest": {"scope": ("range", "sheetId", "allSheets")},
    "UpdateCellsRequest": {"area": ("start", "range")},
    "AutoFillRequest": {"area": ("range", "sourceAndDestination")},
    "ConditionalFormatRule": {"rule": ("booleanRule", "gradientRule")},
    "DeveloperMetadataLocation": {"location": ("spreadsheet", "sheetId", "dimensionRange")},
    "AutoResizeDimensionsRequest": {"dimension_range": ("dimensions", "dataSourceSheetDimensions")},
}
"""The ``oneof`` groups of Sheets v4 messages, as Google's reference pages list them
("Union field ``kind`` can be only one of the following")."""

MASK_TARGETS = {
    "RepeatCellRequest": ("cell",),
    "UpdateCellsRequest": ("rows", "values"),
    "AppendCellsRequest": ("rows", "values"),
    "UpdateDimensionPropertiesRequest": ("properties",),
    "UpdateDeveloperMetadataRequest": ("developerMetadata",),
    "UpdateEmbeddedObjectBorderRequest": ("border",),
    "UpdateEmbeddedObjectPositionRequest": ("newPosition", "overlayPosition"),
    "UpdateSlicerSpecRequest": ("spec",),
}
"""Where the message a ``fields`` mask names lies, for requests with more than one message
field; any other request masks its only message field (``properties``, ``namedRange`` …)."""

ENUM_TYPES = {"INPUT_VALUE_OPTION_UNSPECIFIED": "ValueInputOption"}
"""Proto enum type names the first value does not spell (``Dimension`` from
``DIMENSION_UNSPECIFIED`` does); used in ``Invalid value at ... (type.googleapis.com/...)``."""


@dataclass(eq=False)
class Field:
    """One field of a message, or the element type of a repeated field or a map."""

    name: str
    snake: str
    kind: str
    repeated: bool = False
    message: Message | None = None
    enum: frozenset[str] | None = None
    enum_type: str = ""
    map_value: Field | None = None
    item: Field | None = None  # a repeated field's elements (may be repeated again)
    deprecated: bool = False


@dataclass(eq=False)
class Message:
    name: str
    package: str
    fields: dict[str, Field] = field(default_factory=dict)
    oneof: dict[str, str] = field(default_factory=dict)  # field name -> oneof name
    mask_target: Message | None = None

    @property
    def full_name(self) -> str:
        return f"type.googleapis.com/{self.package}.{self.name}"


def snake(name: str) -> str:
    """``updateSheetProperties`` → ``update_sheet_properties`` (the proto field name)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def compile_schemas(document: dict[str, Any], package: str) -> dict[str, Message]:
    """Every schema of ``document`` as a :class:`Message`, references resolved."""
    messages = {name: Message(name, package) for name in document.get("schemas", {})}
    for name, schema in document.get("schemas", {}).items():
        message = messages[name]
        for prop, spec in schema.get("properties", {}).items():
            compiled = _field(prop, spec, messages, package)
            message.fields[prop] = compiled
            message.fields.setdefault(compiled.snake, compiled)
    _add_oneofs(messages)
    _add_mask_targets(messages)
    return messages


def _field(name: str, spec: dict[str, Any], messages: dict[str, Message], package: str) -> Field:
    deprecated = bool(spec.get("deprecated")) or str(spec.get("description", "")).startswith(
        "Deprecated"
    )
    out = Field(name, snake(name), "string", deprecated=deprecated)
    if "$ref" in spec:
        out.kind, out.message = "message", messages[spec["$ref"]]
    elif spec.get("type") == "array":
        out.item = _field(name, spec.get("items", {}), messages, package)
        out.kind, out.repeated = out.item.kind, True
        out.message, out.enum, out.enum_type = out.item.message, out.item.enum, out.item.enum_type
    elif spec.get("type") == "object" and "additionalProperties" in spec:
        out.kind = "map"
        out.map_value = _field(name, spec["additionalProperties"], messages, package)
    elif spec.get("type") == "object":
        out.kind = "any"  # a free-form JSON object (google.protobuf.Struct)
    elif "enum" in spec:
        out.kind, out.enum = "enum", frozenset(spec["enum"])
        out.enum_type = f"type.googleapis.com/{package}.{_enum_type(name, spec['enum'])}"
    else:
        out.kind = SCALARS.get((spec.get("type"), spec.get("format")), "string")
    return out


def _enum_type(field_name: str, values: list[str]) -> str:
    first = values[0] if values else ""
    if first in ENUM_TYPES:
        return ENUM_TYPES[first]
    if first.endswith("_UNSPECIFIED"):
        words = first.removesuffix("_UNSPECIFIED").split("_")
        return "".join(w.capitalize() for w in words)
    return field_name[:1].upper() + field_name[1:]


def _add_oneofs(messages: dict[str, Message]) -> None:
    request = messages.get("Request")
    if request is not None:
        request.oneof = {f.name: "kind" for f in request.fields.values()}
    for name, groups in ONEOFS.items():
        message = messages.get(name)
        if message is None:
            continue
        for group, members in groups.items():
            for member in members:
                if member in message.fields:
                    message.oneof[member] = group
    for message in messages.values():  # both spellings of a member belong to its group
        for member, group in list(message.oneof.items()):
            message.oneof[message.fields[member].snake] = group


def _add_mask_targets(messages: dict[str, Message]) -> None:
    for name, message in messages.items():
        mask = message.fields.get("fields")
        if mask is None or mask.kind != "fieldmask":
            continue
        path = MASK_TARGETS.get(name)
        if path is None:
            candidates = {f.name for f in message.fields.values() if f.kind == "message"}
            path = (candidates.pop(),) if len(candidates) == 1 else None
        node: Message | None = message
        for step in path or ():
            node = node.fields[step].message if node is not None else None
        message.mask_target = node if path else None
