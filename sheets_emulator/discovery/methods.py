"""The methods of a discovery document as URL patterns, with their query parameters compiled.

A method is found by its HTTP method and path template (``v4/spreadsheets/{spreadsheetId}/
values/{range}:append``; a media upload also by its ``/upload/...`` path); templates with
more literal text are tried first, so ``files/generateIds`` wins over ``files/{fileId}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sheets_emulator.discovery.schema import Field, Message, _enum_type, snake


@dataclass(eq=False)
class Param:
    name: str
    kind: str  # string, bool, int32, uint32, int64, enum
    repeated: bool = False
    enum: frozenset[str] | None = None
    enum_type: str = ""


@dataclass(eq=False)
class Method:
    id: str
    http: str
    pattern: re.Pattern[str]
    literal: int  # characters of literal text, to try the most specific template first
    params: dict[str, Param] = field(default_factory=dict)
    request: Message | None = None
    response: Message | None = None
    media: bool = False  # the /upload/ path: the body is the file, not JSON
    drive: bool = False


def compile_methods(
    document: dict[str, Any], messages: dict[str, Message], package: str
) -> list[Method]:
    standard = _params(document.get("parameters", {}), package)
    root = "/" + str(document.get("servicePath", ""))
    drive = str(document.get("name")) == "drive"
    out: list[Method] = []
    for spec in _walk(document):
        params = {**standard, **_params(spec.get("parameters", {}), package)}
        request = messages.get(spec.get("request", {}).get("$ref", ""))
        response = messages.get(spec.get("response", {}).get("$ref", ""))
        templates = [(root + str(spec["path"]), False)]
        simple = spec.get("mediaUpload", {}).get("protocols", {}).get("simple", {})
        if simple.get("path"):
            templates.append((str(simple["path"]), True))
        for template, media in templates:
            pattern, literal = _pattern(template)
            out.append(Method(spec["id"], spec["httpMethod"], pattern, literal, params,
                              request, response, media, drive))  # fmt: skip
    return out


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(node.get("methods", {}).values())
    for child in node.get("resources", {}).values():
        found += _walk(child)
    return found


def _pattern(template: str) -> tuple[re.Pattern[str], int]:
    """``/v4/spreadsheets/{spreadsheetId}/values/{range}:append`` as an anchored regex."""
    parts, literal, pos = [], 0, 0
    for match in re.finditer(r"\{\+?(\w+)\}", template):
        text = template[pos : match.start()]
        parts.append(re.escape(text))
        literal += len(text)
        parts.append("(.+?)" if match.group(1) == "range" else "([^/:]+?)")
        pos = match.end()
    parts.append(re.escape(template[pos:]))
    literal += len(template) - pos
    return re.compile("^" + "".join(parts) + "$"), literal


def _params(specs: dict[str, Any], package: str) -> dict[str, Param]:
    out: dict[str, Param] = {}
    for name, spec in specs.items():
        if spec.get("location") != "query":
            continue
        param = Param(name, _kind(spec), bool(spec.get("repeated")))
        if "enum" in spec:
            param.kind, param.enum = "enum", frozenset(spec["enum"])
            type_name = _enum_type(re.sub(r"^response(?=[A-Z])", "", name), spec["enum"])
            param.enum_type = (
                f"type.googleapis.com/{package}.{type_name[:1].upper()}{type_name[1:]}"
            )
        out[name] = param
        out.setdefault(snake(name), param)
    return out


def _kind(spec: dict[str, Any]) -> str:
    if spec.get("type") == "boolean":
        return "bool"
    if spec.get("type") == "integer":
        return str(spec.get("format") or "int32")
    return "int64" if spec.get("format") == "int64" else "string"


def as_field(param: Param) -> Field:
    """A query parameter as a body field, to check its value with the body's rules."""
    return Field(param.name, snake(param.name), param.kind, enum=param.enum,
                 enum_type=param.enum_type)  # fmt: skip
