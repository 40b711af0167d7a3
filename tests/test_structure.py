"""The shape of the code a newcomer relies on: layers that only import downward, no
import circle, no module too long to read in one sitting.

Read from the source (the ``import`` statements, function-level ones included), not by
importing it, so a circle that Python happens to resolve still fails here. The layers
are the map in docs/architecture.md: a package may import its own modules and any
package of a lower layer, never one beside it or above it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEB = {"webhook", "flask", "werkzeug"}
MAX_LINES = 400
"""Outside the emulator (which follows Google's API surface, one resource per module)."""

LAYERS: list[set[str]] = [
    {"sheets_sync", "errors"},
    {"clock", "limits", "secrets", "vocabulary"},
    {"config", "schema"},
    {"db", "batching", "locks", "tab_templates"},
    {"frame", "facts", "nonces", "quota"},
    {"db_init", "guards", "archive", "winmodel"},
    {"kpis"},
    {"alerts", "backends"},
    {"destinations"},
    {"sync", "registry"},
    {"jobs"},
    {"pricing", "addon"},
    {"doctor", "demo"},
    {"cli"},
]
"""Bottom to top: the foundation (no imports of ours beyond it), settings and tables,
connections and templates, the facts, the KPIs, the destinations, one sync, the run
machinery, the pricing push, and the command line on top."""


def modules(package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


@cache
def import_graph() -> dict[str, set[str]]:
    """Module → the modules of ours it imports (``from a import b`` counts ``a`` and ``a.b``)."""
    known = dict(modules("sheets_sync")) | dict(modules("webhook"))
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported = set(_imported(ast.parse(path.read_text()), package, known))
        graph[name] = {target for target in imported if target in known and target != name}
    return graph


def _imported(tree: ast.Module, package: str, known: Mapping[str, Path]) -> Iterator[str]:
    """What a module imports. ``from pkg import sub`` is an import of the module ``pkg.sub``
    only; ``from pkg import name`` (a name defined in ``pkg/__init__``) is one of ``pkg``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base


def unit(module: str) -> str:
    """The layer unit: ``sheets_sync.kpis.daily`` → ``kpis``; the package root is its own."""
    parts = module.split(".")
    return parts[1] if parts[0] == "sheets_sync" and len(parts) > 1 else parts[0]


def layer_of(name: str) -> int:
    for index, layer in enumerate(LAYERS):
        if name in layer:
            return index
    raise AssertionError(f"sheets_sync.{name} is in no layer: add it to LAYERS (and the map)")


def test_every_package_of_the_library_has_its_layer() -> None:
    for name in {unit(m) for m in import_graph() if m.startswith("sheets_sync")}:
        layer_of(name)


def test_the_library_imports_only_downward() -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if module.startswith("sheets_sync")
        for target in targets
        if target.startswith("sheets_sync")  # the CLI's serve starts the webhook: see below
        and unit(target) != unit(module)
        and layer_of(unit(target)) >= layer_of(unit(module))
    )
    assert upward == []


def test_the_library_never_imports_the_webhook_or_flask() -> None:
    """The CLI's ``serve`` starts the webhook: the CLI sits on top of both."""
    offending = []
    for name, path in modules("sheets_sync"):
        if unit(name) == "cli":
            continue
        imported = set(_imported(ast.parse(path.read_text()), name, {}))
        offending += [f"{name} imports {t}" for t in imported if t.split(".")[0] in WEB]
    assert offending == []


def test_no_import_circle() -> None:
    assert [sorted(c) for c in _circles(import_graph())] == []


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(graph):
        if start not in index:
            _visit(start, graph, index, low, stack, found)
    return found


def _visit(start, graph, index, low, stack, found) -> None:  # type: ignore[no-untyped-def]
    work = [(start, iter(sorted(graph[start])))]
    index[start] = low[start] = len(index)
    stack.append(start)
    while work:
        node, children = work[-1]
        child = next(children, None)
        if child is not None:
            if child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in stack:
                low[node] = min(low[node], index[child])
            continue
        work.pop()
        if work:
            low[work[-1][0]] = min(low[work[-1][0]], low[node])
        if low[node] == index[node]:
            component = stack[stack.index(node) :]
            del stack[stack.index(node) :]
            if len(component) > 1:
                found.append(component)


@pytest.mark.parametrize("package", ["sheets_sync", "webhook"])
def test_no_module_is_too_long_to_read(package: str) -> None:
    long = {
        name: lines
        for name, path in modules(package)
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
