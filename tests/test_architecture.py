"""The layout: layers import only downward, no cycles, short modules, lazy start-up."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "circuitlearn"
MAX_LINES = 400

# Lowest layer first; a module may import from its own layer and the ones before it.
LAYERS = (
    ("circuitlearn._version", "circuitlearn.errors", "circuitlearn.registry"),
    ("circuitlearn.circuit",),
    ("circuitlearn.netlist",),
    ("circuitlearn.generators",),
    ("circuitlearn.solver",),
    ("circuitlearn.learning",),
    ("circuitlearn.analysis",),
    ("circuitlearn.training",),
    ("circuitlearn.spice",),
    ("circuitlearn.bench",),
    ("circuitlearn.commands", "circuitlearn.cli"),
)
HEAVY = ("matplotlib", "networkx", "scipy.integrate", "pandas")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _runtime_nodes(tree: ast.AST):
    """Every node but those under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            children = node.orelse
        else:
            children = [node]
        for child in children:
            yield child
            yield from _runtime_nodes(child)


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Package modules ``name`` imports, anywhere in the file (lazy imports count)."""
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            base = node.module
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                         for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            pytest.fail(f"{name}: relative import (use absolute circuitlearn.* imports)")
    return {m for m in found if m in known and m != name}


def _layer(module: str) -> int:
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    if module == "circuitlearn":
        return len(LAYERS)
    pytest.fail(f"{module} belongs to no layer: add it to LAYERS")


def test_no_module_exceeds_the_line_limit():
    long = {n: len(p.read_text().splitlines()) for n, p in _modules().items()}
    assert {n: c for n, c in long.items() if c > MAX_LINES} == {}


def test_imports_only_go_down_the_layers():
    modules = _modules()
    upward = [(m, i) for m, path in modules.items()
              for i in _imports(m, path, set(modules)) if _layer(i) > _layer(m)]
    assert upward == []


def test_no_import_cycles():
    modules = _modules()
    graph = {m: _imports(m, p, set(modules)) for m, p in modules.items()}
    state: dict[str, int] = {}

    def visit(node: str, path: tuple[str, ...]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join((*path, node, nxt)))
            if nxt not in state:
                visit(nxt, (*path, node))
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, ())


def test_layers_are_exercised():
    """The check above is not vacuous: real upward edges would be seen."""
    modules = _modules()
    edges = {(m, i) for m, p in modules.items() for i in _imports(m, p, set(modules))}
    assert ("circuitlearn.training.setup", "circuitlearn.learning.rules") in edges
    assert _layer("circuitlearn.training.setup") > _layer("circuitlearn.learning.rules")


@pytest.mark.parametrize("argv", [["--help"], ["simulate", "netlists/divider.cir"]],
                         ids=["help", "simulate"])
def test_start_up_imports_no_heavy_library(argv):
    code = ("import sys\nfrom circuitlearn.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PACKAGE.parent, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
