"""The import graph of a package, read with ``ast`` (nothing is imported), and its rules.

The layers of ``scheduler/`` (DESIGN.md, "Layout the code should show") each import only
the layers below them. ``config`` ranks above ``worker`` and ``store`` because it checks
job files against the task API (``worker/tasks.py``); none of them imports another
of its own rank.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

RANKS: Mapping[str, int] = {
    "core": 0,
    "store": 1,
    "worker": 1,
    "config": 2,
    "engine": 3,
    "cli": 4,
    "web": 4,
}


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``line`` (both dotted module names)."""

    source: str
    target: str
    line: int


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package at ``root``, by dotted name (packages by their own)."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def edges(root: Path) -> list[Edge]:
    """Every import between the package's own modules, lazy and TYPE_CHECKING ones too.

    ``from pkg import name`` is an import of ``pkg.name`` where that is a module, else of
    ``pkg`` itself: a command importing ``scheduler.cli.report`` depends on the report,
    not on everything the package's ``__init__`` re-exports.
    """
    known = modules(root)
    out: list[Edge] = []
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for target in _targets(node, package, known):
                if target != name:
                    out.append(Edge(name, target, getattr(node, "lineno", 0)))
    return out


def _targets(node: ast.AST, package: str, known: Mapping[str, Path]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            found = _longest_known(alias.name, known)
            if found:
                yield found
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            base = ".".join([*up, *([node.module] if node.module else [])])
        for alias in node.names:
            if f"{base}.{alias.name}" in known:
                yield f"{base}.{alias.name}"
            elif base in known:
                yield base


def _longest_known(dotted: str, known: Mapping[str, Path]) -> str | None:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return None


def layer(module: str) -> str | None:
    """The layer a module belongs to (``None`` for the package's top-level modules)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANKS else None


def layering_violations(all_edges: list[Edge], top: str) -> list[str]:
    """Imports that go up or sideways between layers, or from a layer to a top module.

    The top-level modules (``scheduler.tasks``, ``scheduler.runner``, ``__main__``) are
    facades over the layers; only the package root itself (its version) may be imported.
    """
    out = []
    for edge in all_edges:
        source, target = layer(edge.source), layer(edge.target)
        if source is None:
            continue
        if target is None:
            if edge.target != top:
                out.append(f"{edge.source}:{edge.line} imports the facade {edge.target}")
        elif target != source and RANKS[target] >= RANKS[source]:
            out.append(
                f"{edge.source}:{edge.line} ({source}, rank {RANKS[source]}) imports "
                f"{edge.target} ({target}, rank {RANKS[target]})"
            )
    return out


def cycles(all_edges: list[Edge]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for edge in all_edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found
