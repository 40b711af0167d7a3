"""Partial responses: the ``fields`` parameter (``sheets(properties(title)),namedRanges``).

A mask is parsed into a tree of names (an empty dict selects a whole
subtree) and applied to the response JSON; lists are masked element-wise.
"""

from __future__ import annotations

from typing import Any

from sheets_emulator.apierror import bad_request

Mask = dict[str, "Mask"]


def parse(text: str) -> Mask | None:
    """``None`` for no mask (or ``*``): everything is selected."""
    text = text.replace(" ", "")
    if not text or text == "*":
        return None
    tree: Mask = {}
    _parse_into(tree, text, text)
    return tree


def _parse_into(tree: Mask, text: str, whole: str) -> None:
    for item in _split_top(text, whole):
        head, paren, rest = item.partition("(")
        path = head.replace("/", ".").split(".")
        node = tree
        for name in path[:-1]:
            node = _child(node, name)
        last = path[-1]
        if not last:
            raise bad_request(f"Invalid field selection {whole}")
        if paren:
            if not rest.endswith(")"):
                raise bad_request(f"Invalid field selection {whole}")
            _parse_into(_child(node, last), rest[:-1], whole)
        else:
            node[last] = {}


def _child(node: Mask, name: str) -> Mask:
    if name in node and not node[name]:
        return {}  # already selected whole: deeper selections add nothing (a detached node)
    return node.setdefault(name, {})


def _split_top(text: str, whole: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            raise bad_request(f"Invalid field selection {whole}")
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if depth:
        raise bad_request(f"Invalid field selection {whole}")
    return [p for p in [*parts, current] if p]


def selects(mask: Mask | None, *path: str) -> bool:
    """Whether anything at or below ``path`` is selected."""
    node = mask
    for name in path:
        if node is None or (not node):
            return True
        if name not in node:
            return False
        node = node[name]
    return True


def apply(value: Any, mask: Mask | None) -> Any:
    if mask is None or not mask:
        return value
    if isinstance(value, list):
        return [apply(v, mask) for v in value]
    if not isinstance(value, dict):
        return value
    return {key: apply(value[key], sub or None) for key, sub in mask.items() if key in value}
