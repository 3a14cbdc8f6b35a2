"""The package's imports go one way: no cycles, and the layers import only downwards.

Every module under convgrad/ is parsed (not imported) and every import counts,
also those inside functions: a cycle hidden in a function still ties two
modules together, and moving that import to the top would break start-up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "convgrad"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The convgrad modules ``path`` imports, anywhere in it (``from . import x`` names module x)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            targets = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in modules else stem for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # a name inside a module: the module itself
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    graph = {module_name(p): imported_modules(p, modules) for p in paths}
    # A package's __init__ runs before any of its modules, but importing a module does not make
    # the package import it back: only count edges written in code, as above.
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


GRAPH = import_graph()


def test_the_graph_sees_imports_inside_functions():
    # render() imports the views when called; the parser must still count that edge.
    assert "convgrad.render.explain" in GRAPH["convgrad.render.human"]
    assert "convgrad.layers.conv" in GRAPH["convgrad.render.table"]
    assert GRAPH["convgrad.commands.solve"] >= {"convgrad.api", "convgrad.render.human"}


def test_a_cycle_is_found_and_named():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def importers_of(prefix: str) -> dict[str, set[str]]:
    return {m: {t for t in targets if t == prefix or t.startswith(prefix + ".")} for m, targets in GRAPH.items()}


def under(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_only_commands_and_the_cli_use_the_views():
    users = {m for m, hits in importers_of("convgrad.render").items() if hits}
    assert {m for m in users if not under(m, "convgrad.render", "convgrad.commands", "convgrad.cli")} == {"convgrad"}
    # The package's front door names the Python API (forward, backward, Result), which lives
    # with the views it shows itself with; nothing else of render.
    assert importers_of("convgrad.render")["convgrad"] == {"convgrad.render.notebook"}


def test_the_views_never_import_commands_or_the_cli():
    for module, targets in GRAPH.items():
        if under(module, "convgrad.render"):
            assert not any(under(t, "convgrad.commands", "convgrad.cli") for t in targets), module


def test_only_the_cli_imports_the_commands():
    for module, targets in GRAPH.items():
        if not under(module, "convgrad.commands", "convgrad.cli", "convgrad.__main__"):
            assert not any(under(t, "convgrad.commands", "convgrad.cli") for t in targets), module


#: Pure math: arrays and shapes in, arrays and shapes out; none of the layers above.
ENGINE = ("convgrad.layers", "convgrad.geometry", "convgrad.blas")
ABOVE_ENGINE = (
    "convgrad.problem",
    "convgrad.api",
    "convgrad.reader",
    "convgrad.check",
    "convgrad.render",
    "convgrad.commands",
    "convgrad.cli",
)


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if under(m, *ENGINE)))
def test_the_engine_imports_nothing_above_it(module):
    assert not any(under(t, *ABOVE_ENGINE) for t in GRAPH[module]), (module, sorted(GRAPH[module]))


#: The shared text and grid helpers of render/: every view uses them, they use no view.
RENDER_LEAVES = ("convgrad.render.text", "convgrad.render.grids", "convgrad.render.layout")


@pytest.mark.parametrize("leaf", RENDER_LEAVES)
def test_the_render_leaves_import_no_view(leaf):
    views = {t for t in GRAPH[leaf] if under(t, "convgrad.render")}
    assert views <= set(RENDER_LEAVES) - {leaf}, (leaf, views)
    assert "convgrad.render.grids" not in GRAPH["convgrad.render.text"]


def test_no_module_reaches_into_another_modules_private_names():
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] != "__future__":
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if under(module_name(path), "convgrad.render") or (node.module or "").startswith("render"):
                    assert not private, (module_name(path), node.module, private)


#: Reading and validating a problem: below the results, the checks and every view.
PARSING = (
    "convgrad.problem",
    "convgrad.reader",
    "convgrad.forms",
    "convgrad.numbers",
    "convgrad.limits",
    "convgrad.errors",
)


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if under(m, *PARSING)))
def test_parsing_imports_no_result_check_or_view(module):
    above = (
        "convgrad.api",
        "convgrad.check",
        "convgrad.gradcheck",
        "convgrad.audits",
        "convgrad.render",
        "convgrad.commands",
        "convgrad.cli",
    )
    assert not any(under(t, *above) for t in GRAPH[module]), (module, sorted(GRAPH[module]))


#: The views proper: each sits on the leaves, none on another (human.py composes them, exports
#: reuse the Markdown and JSON writers).
VIEWS = (
    "convgrad.render.table",
    "convgrad.render.explain",
    "convgrad.render.auditview",
    "convgrad.render.checkview",
    "convgrad.render.markdown",
    "convgrad.render.jsonout",
    "convgrad.render.gradcheckview",
    "convgrad.render.shapeview",
    "convgrad.render.columns",
)


@pytest.mark.parametrize("view", VIEWS)
def test_a_view_imports_no_other_view(view):
    assert not (GRAPH[view] & (set(VIEWS) | {"convgrad.render.human", "convgrad.render.exports"})), view
