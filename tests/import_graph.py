"""The layer's imports, read from its source: who imports whom, and where.

Every import counts, at module level, inside a function or under ``TYPE_CHECKING``, so
a cycle or an arrow against the layering cannot hide behind a deferred import.
``python -m tests.import_graph`` prints the graph by package.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LAYER = Path(__file__).resolve().parents[1] / "layers" / "sekisho" / "sekisho"


@dataclass(frozen=True)
class Import:
    importer: str  # sekisho.intake.service
    target: str  # a module of the layer, or a third-party top-level name
    line: int
    in_function: bool


def modules(root: Path = LAYER) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _scoped(tree: ast.AST) -> Iterator[tuple[ast.AST, bool]]:
    """Each node with whether it sits inside a function."""
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, inside = stack.pop()
        yield node, inside
        nested = inside or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        stack.extend((child, nested) for child in ast.iter_child_nodes(node))


def imports(root: Path = LAYER) -> list[Import]:
    known = modules(root)
    found: list[Import] = []
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node, inside in _scoped(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                # `from a import b` imports the module a.b when there is one, else a.
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
                    for alias in node.names
                ]
            for target in targets:
                if target in known or not target.startswith("sekisho"):
                    found.append(Import(name, target, node.lineno, inside))
    return found


def edges(root: Path = LAYER) -> dict[str, set[str]]:
    """Module -> the layer's modules it imports."""
    known = modules(root)
    graph: dict[str, set[str]] = {name: set() for name in known}
    for item in imports(root):
        if item.target in known and item.target != item.importer:
            graph[item.importer].add(item.target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in graph:
        if node not in index:
            visit(node)
    return found


def package_of(module: str) -> str:
    """sekisho.intake.service -> intake; sekisho.lookup -> lookup; sekisho -> sekisho."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def main() -> None:
    graph = edges()
    print(f"module cycles: {len(cycles(graph))}")
    for component in cycles(graph):
        print("  " + " <-> ".join(component))
    by_package: dict[str, set[str]] = {}
    for importer, targets in graph.items():
        for target in targets:
            if package_of(importer) != package_of(target) and target != "sekisho":
                by_package.setdefault(package_of(importer), set()).add(package_of(target))
    for package in sorted(by_package):
        print(f"  {package} -> {', '.join(sorted(by_package[package]))}")


if __name__ == "__main__":
    main()
