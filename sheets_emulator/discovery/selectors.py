"""Field paths in the partial-response syntax: the ``fields`` query parameter and field masks.

Both name fields as ``a,b/c,d(e,f)`` (``.`` and ``/`` both step down, parentheses select
several sub-fields, ``*`` is everything). A selector must name fields of the response
message and a mask fields of the message it masks; Google refuses either when a name does
not exist, so the emulator does too.
"""

from __future__ import annotations

from sheets_emulator.discovery.schema import Message


class SelectorSyntaxError(ValueError):
    """Unbalanced parentheses or an empty name."""


def paths(text: str, *, strip: bool = False) -> list[tuple[str, ...]]:
    """``"a,b/c,d(e,f)"`` → ``[("a",), ("b", "c"), ("d", "e"), ("d", "f")]``.

    ``strip`` drops blanks around names (Drive tolerates ``"id, name"``; Sheets does not,
    and looks for a field named `` name``)."""
    out: list[tuple[str, ...]] = []
    _expand(text, (), out, strip)
    return out


def _expand(text: str, prefix: tuple[str, ...], out: list[tuple[str, ...]], strip: bool) -> None:
    for item in _split_top(text):
        head, paren, rest = item.partition("(")
        names = tuple(n.strip() if strip else n for n in head.replace("/", ".").split("."))
        if any(not n for n in names):
            raise SelectorSyntaxError(item)
        if paren:
            if not rest.endswith(")") or not rest[:-1]:
                raise SelectorSyntaxError(item)
            _expand(rest[:-1], prefix + names, out, strip)
        else:
            out.append(prefix + names)


def _split_top(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SelectorSyntaxError(text)
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise SelectorSyntaxError(text)
    parts.append(text[start:])
    if any(not p for p in parts):
        raise SelectorSyntaxError(text)
    return parts


def first_unknown(message: Message, path: tuple[str, ...]) -> int | None:
    """The index of the first name in ``path`` that ``message`` has no field for, else None.

    A map, a free-form object or a ``*`` ends the check: what lies below is not described."""
    node: Message | None = message
    for i, name in enumerate(path):
        if name == "*":
            return None
        if node is None:
            return i
        found = node.fields.get(name)
        if found is None:
            return i
        if found.kind in ("map", "any"):
            return None
        node = found.message
    return None
