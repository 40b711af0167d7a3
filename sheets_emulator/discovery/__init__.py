"""Every Sheets and Drive request checked against Google's published discovery documents.

The documents (``sheets.v4.json``, ``drive.v3.json``, ``drive.v2.json`` beside this file,
taken from the ``google-api-python-client`` wheel; ``python -m
sheets_emulator.discovery.refresh`` re-takes them) are compiled once per process into
methods and messages. :meth:`Validator.check` then refuses, with Google's 400, a request
Google would refuse: a method or path no document has, an unknown query parameter or a bad
value for one, a ``fields`` selector naming no field, and in the body an unknown field at
any depth, a wrong JSON type, an integer out of range, a bad enum, two members of one
``oneof``, or a field mask naming a field the masked message lacks. It answers the body
paths of deprecated fields the request used, for the emulator's counters.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

from sheets_emulator.apierror import ApiError
from sheets_emulator.discovery import violations as v
from sheets_emulator.discovery.body import BodyCheck, scalar_ok
from sheets_emulator.discovery.methods import Method, Param, as_field, compile_methods
from sheets_emulator.discovery.schema import compile_schemas
from sheets_emulator.discovery.selectors import SelectorSyntaxError, first_unknown, paths

DOCUMENTS = {
    "sheets.v4.json": "google.apps.sheets.v4",
    "drive.v3.json": "google.apps.drive.v3",
    "drive.v2.json": "google.apps.drive.v2",
}
PREFIXES = ("/v4/", "/drive/", "/upload/drive/")
"""Paths the documents describe; anything else (``/token``, ``/_emulator/``) is not checked."""


class Validator:
    def __init__(self, documents: dict[str, dict[str, Any]]) -> None:
        self.methods: list[Method] = []
        for name, document in documents.items():
            messages = compile_schemas(document, DOCUMENTS[name])
            self.methods += compile_methods(document, messages, DOCUMENTS[name])
        self.methods.sort(key=lambda m: -m.literal)
        self.revisions = {name: str(d.get("revision", "")) for name, d in documents.items()}

    def check(self, http: str, path: str, query: str, body: Any) -> list[str]:
        """Raise Google's error for an invalid request; answer the deprecated fields it used."""
        if not path.startswith(PREFIXES):
            return []
        method = self.find(http, path)
        pairs = parse_qsl(query, keep_blank_values=True)
        _check_query(method, pairs)
        _check_selector(method, pairs)
        if method.request is None or method.media or not isinstance(body, dict):
            return []
        walk = BodyCheck(unknown_ok=method.drive)
        walk.message(method.request, body, "")
        if walk.violations:
            raise v.refusal(walk.violations, method.drive)
        return [f"{method.id.removeprefix('sheets.')} {p}" for p in walk.deprecated]

    def find(self, http: str, path: str) -> Method:
        """The method at ``path``; a 404 as Google's front end answers for none."""
        matched = [m for m in self.methods if m.pattern.match(path)]
        for method in matched:
            if method.http == http:
                return method
        raise ApiError(
            404,
            "Method not found."
            if matched
            else f"The requested URL {path} was not found on this server.",
        )


def _check_query(method: Method, pairs: list[tuple[str, str]]) -> None:
    found: list[v.Violation] = []
    for name, value in pairs:
        param = method.params.get(name)
        if param is None:
            found.append(v.unbound_query(name))
        elif not _param_ok(param, value):
            found.append(v.invalid_value(as_field(param).snake, _param_type(param), value))
    if found:
        raise v.refusal(found, method.drive)


def _param_ok(param: Param, value: str) -> bool:
    if param.kind == "bool":
        return value.lower() in ("true", "false", "1", "0", "t", "f", "yes", "no", "y", "n")
    return scalar_ok(as_field(param), value)


def _param_type(param: Param) -> str:
    if param.kind == "enum":
        return param.enum_type
    return {"bool": "TYPE_BOOL", "string": "TYPE_STRING"}.get(
        param.kind, f"TYPE_{param.kind.upper()}"
    )


def _check_selector(method: Method, pairs: list[tuple[str, str]]) -> None:
    """The ``fields`` partial-response selector names fields of the response message."""
    for name, text in pairs:
        if name != "fields" or method.response is None or not text or text == "*":
            continue
        try:
            named = paths(text, strip=method.drive)
        except SelectorSyntaxError:
            raise v.selector_refusal(text, method.drive) from None
        for path in named:
            bad = first_unknown(method.response, path)
            if bad is not None:
                raise v.selector_refusal(".".join(path[: bad + 1]), method.drive)


@functools.cache
def default_validator() -> Validator:
    """The validator over the packaged documents, compiled once per process."""
    folder = resources.files(__package__)
    documents = {name: json.loads(folder.joinpath(name).read_text("utf-8")) for name in DOCUMENTS}
    return Validator(documents)


__all__ = ["DOCUMENTS", "Validator", "default_validator"]
