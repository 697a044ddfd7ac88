"""The package is built in layers, and a module imports only from its own layer or the layers below.

Reading `ast` (nothing is imported), every import of every module of tinygrad_np is resolved to the
module it names, at module level and inside functions alike, and checked against LAYERS. The module-
level imports must also form no cycle. docs/concepts/architecture.md shows the same layers.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tinygrad_np"

# Lowest first. A module belongs to the first layer with a prefix that names it or a package above it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("errors", "torch_names", "random", "fileio")),
    ("core", ("tensor", "autograd")),
    ("kernels", ("kernels",)),
    ("ops", ("ops", "functions", "creation")),
    ("functional", ("functional",)),
    ("serialization", ("serialization",)),
    ("nn", ("nn",)),
    ("optim", ("optim",)),
    ("data", ("data",)),
    ("viz", ("viz",)),
    ("checks", ("gradcheck", "check_op")),
    ("examples", ("examples",)),
    ("package", ("",)),  # tinygrad_np/__init__.py: the public names, gathered from every layer
]

# Imports that go up a layer, each with its reason. Keep it empty.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {}


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name ('' for the package itself, 'ops.shape', ...)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def layer_of(module: str) -> int:
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + ".") or prefix == "" == module:
                return rank
    raise AssertionError(f"tinygrad_np.{module} is in no layer: add it to LAYERS in tests/test_layering.py")


def _resolve(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The tinygrad_np modules an import statement names (relative forms resolved)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
        return [n.removeprefix("tinygrad_np").lstrip(".") for n in names
                if n == "tinygrad_np" or n.startswith("tinygrad_np.")]
    if node.level == 0:
        if node.module is None or not (node.module == "tinygrad_np" or node.module.startswith("tinygrad_np.")):
            return []
        base = node.module.removeprefix("tinygrad_np").lstrip(".")
    else:
        is_package = MODULES[module].name == "__init__.py"
        parts = module.split(".") if module else []
        keep = len(parts) - (node.level - 1) - (0 if is_package else 1)
        base = ".".join(parts[:keep] + ([node.module] if node.module else []))
    targets = []
    for alias in node.names:  # `from . import x` imports the module x when there is one
        sub = f"{base}.{alias.name}" if base else alias.name
        targets.append(sub if sub in MODULES else base)
    return targets


def imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for each import of `module`; imports only a type
    checker runs (under `if TYPE_CHECKING:`) are left out."""
    tree = ast.parse(MODULES[module].read_text())
    found = []

    def walk(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend((target, child.lineno, top) for target in _resolve(module, child))
            walk(child, top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    walk(tree, True)
    return found


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module):
    rank = layer_of(module)
    for target, line, _ in imports(module):
        if layer_of(target) > rank and (module, target) not in ALLOWED_UPWARD:
            pytest.fail(f"tinygrad_np.{module} (layer {LAYERS[rank][0]}) imports tinygrad_np.{target} (layer "
                        f"{LAYERS[layer_of(target)][0]}) at line {line}: a module imports only from its own "
                        f"layer or below ({' < '.join(name for name, _ in LAYERS)})")


def test_module_level_imports_form_no_cycle():
    graph = {m: {t for t, _, top in imports(m) if top and t != m} for m in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target] if target in path else [module, target]
                pytest.fail("module-level import cycle: " + " -> ".join(f"tinygrad_np.{m}" for m in cycle))
            if target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_checker_resolves_relative_imports_and_sees_those_in_functions():
    """The walk itself: `from ..x import y`, `from . import x` and an import inside a function."""
    assert ("autograd.grad_mode", True) in [(t, top) for t, _, top in imports("tensor")]
    assert ("autograd.engine", False) in [(t, top) for t, _, top in imports("tensor")]  # in Tensor.backward
    assert ("ops.activation", True) in [(t, top) for t, _, top in imports("ops.tensor_methods")]
    assert layer_of("ops.shape") > layer_of("tensor") > layer_of("errors")
    assert layer_of("") == len(LAYERS) - 1
