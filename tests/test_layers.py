"""The package's imports point one way: io <- sim, vision, csi <- data <- models <- train
<- report <- stages <- cli, nothing imports cli, and no modules import each other in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
#: Layer of each subpackage; a module may import only from strictly lower layers or its own package.
LAYERS = {
    "io": 1,
    "sim": 2,
    "vision": 2,
    "csi": 2,
    "data": 3,
    "models": 4,
    "train": 5,
    "report": 6,
    "stages": 7,
    "cli": 8,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path) -> set[str]:
    """Modules of ``lofi`` that ``path`` imports when it runs (``if TYPE_CHECKING:`` blocks excluded)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("lofi"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lofi"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                known = (SRC / Path(*candidate.split("."))).with_suffix(".py").is_file() or (
                    SRC / Path(*candidate.split(".")) / "__init__.py"
                ).is_file()
                found.add(candidate if known else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


GRAPH = {module_name(p): runtime_imports(p) for p in sorted((SRC / "lofi").rglob("*.py"))}


def test_the_graph_sees_the_package():
    assert {"lofi.cli", "lofi.stages.detect", "lofi.io.session"} <= set(GRAPH)
    assert "lofi.io.session" in GRAPH["lofi.stages.simulate"]


def upward_imports(graph: dict[str, set[str]], module: str) -> list[str]:
    """Targets of ``module`` in another subpackage at the same or a higher layer."""
    layer = LAYERS[package_of(module)]
    return sorted(
        target
        for target in graph[module]
        if package_of(target) in LAYERS
        and package_of(target) != package_of(module)
        and LAYERS[package_of(target)] >= layer
    )


def find_cycles(graph: dict[str, set[str]]) -> list[str]:
    """Every import cycle found by a depth-first walk, as ``a -> b -> a``."""
    cycles: list[str] = []
    state: dict[str, int] = {}

    def walk(module: str, stack: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                cycles.append(" -> ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                walk(target, [*stack, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    return cycles


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if package_of(m) in LAYERS))
def test_imports_point_down(module):
    upward = upward_imports(GRAPH, module)
    assert not upward, f"{module} imports {upward}, which are not below it"


def test_nothing_imports_the_command_line():
    importers = sorted(m for m, targets in GRAPH.items() if m != "lofi.__main__" and package_of(m) != "cli"
                       and any(package_of(t) == "cli" for t in targets))  # fmt: skip
    assert not importers


def test_no_import_cycles():
    assert not find_cycles(GRAPH)


def test_the_checks_catch_a_violation():
    """An upward import, a peer import and a cycle planted in a small graph are all reported."""
    graph = {
        "lofi.io.a": {"lofi.csi.b"},
        "lofi.csi.b": {"lofi.io.a", "lofi.vision.c"},
        "lofi.vision.c": set(),
        "lofi.stages.d": {"lofi.io.a", "lofi.csi.b"},
    }
    assert upward_imports(graph, "lofi.io.a") == ["lofi.csi.b"]
    assert upward_imports(graph, "lofi.csi.b") == ["lofi.vision.c"]
    assert upward_imports(graph, "lofi.stages.d") == []
    assert find_cycles(graph) == ["lofi.csi.b -> lofi.io.a -> lofi.csi.b"]
