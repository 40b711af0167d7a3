"""Reading one template file: UTF-8 YAML, remembering the line of every key.

Every loader message names the file, the key (as a path such as
``pivots[0].rows``) and, when the key is in the file, its line, so an editor
can jump straight to the mistake.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from sheets_sync.errors import SheetsSyncError, TemplateError

_LAST_PART = re.compile(r"(?:\.[^.\[]+|\[\d+\])$")


class Where:
    """Builds messages that say which file, key and line went wrong and how to fix it."""

    def __init__(
        self,
        path: Path,
        lines: dict[str, int] | None = None,
        error: type[SheetsSyncError] = TemplateError,
    ) -> None:
        self.path = path
        self.lines = lines or {}
        self.error = error

    def fail(self, key: str, problem: str, fix: str) -> SheetsSyncError:
        line = self.line(key)
        at = f"{self.path}:{line}" if line else str(self.path)
        return self.error(f"{at}: {key}: {problem}. Fix: {fix}")

    def check_keys(self, raw: Mapping[str, Any], allowed: set[str], prefix: str = "") -> None:
        """Refuse a key not in ``allowed``, suggesting the closest one (typos are common)."""
        for key in raw:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = (
                    f"did you mean {prefix}{close[0]}?"
                    if close
                    else f"use one of {sorted(allowed)}"
                )
                raise self.fail(f"{prefix}{key}", "unknown key", hint)

    def line(self, key: str) -> int | None:
        """The line of ``key``, or of its nearest parent present in the file."""
        while key:
            if key in self.lines:
                return self.lines[key]
            key = _LAST_PART.sub("", key) if _LAST_PART.search(key) else ""
        return None


def read_yaml(
    path: Path,
    keys_hint: str = "`title:`, `columns:`, …",
    error: type[SheetsSyncError] = TemplateError,
) -> tuple[dict[str, Any], Where]:
    """The file's top-level mapping and a :class:`Where` knowing its key lines.

    ``keys_hint`` names the top-level keys the file should have and ``error``
    the exception its mistakes raise, so other YAML files (the spreadsheet
    registry) get the same file:line messages.
    """
    where = Where(path, error=error)
    node, raw = _parse(_text(path, where), where)
    if not isinstance(raw, dict):
        raise where.fail("(file)", "the file is not a mapping", f"write {keys_hint} keys")
    lines: dict[str, int] = {}
    if node is not None:
        _key_lines(node, "", lines)
    return raw, Where(path, lines, error)


def _text(path: Path, where: Where) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise where.fail(
            "(file)", f"cannot read it ({error.strerror})", "check the file and its permissions"
        ) from error
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise where.fail(
            "(file)",
            f"not UTF-8 text (byte 0x{data[error.start]:02X} on line {line})",
            "save the file as UTF-8 (in your editor: Save with encoding → UTF-8)",
        ) from error


def _parse(text: str, where: Where) -> tuple[Node | None, Any]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        fix = "correct the YAML syntax"
        context = str(getattr(error, "context", None) or "")
        if "alias" in context or "anchor" in context:
            # YAML reads a bare *… as an alias (and &… as an anchor): "*@example.com" needs quotes
            fix = 'quote a value that starts with * or &, e.g. "*@example.com"'
        raise where.fail("(file)", f"invalid YAML at {at}", fix) from error
    finally:
        loader.dispose()


def _key_lines(node: Node, prefix: str, out: dict[str, int]) -> None:
    if isinstance(node, MappingNode):
        for key_node, value in node.value:
            key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            out.setdefault(key, key_node.start_mark.line + 1)
            _key_lines(value, key, out)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            key = f"{prefix}[{index}]"
            out.setdefault(key, item.start_mark.line + 1)
            _key_lines(item, key, out)
