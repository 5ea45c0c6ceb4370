"""The package's structure: no import cycle among the vsp_simulator modules, and the app factory
imported only by the CLI and the harness (imports read with ``ast``, nothing is imported)."""

import ast
from pathlib import Path

import vsp_simulator

PACKAGE = Path(vsp_simulator.__file__).parent


def imports_of(path):
    """The vsp_simulator modules ``path`` imports (by module name, package-relative)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 or (node.module or "").split(".")[0] == "vsp_simulator":
                base = node.module or ""
                if node.level == 0:
                    base = base.partition(".")[2]
                if base:
                    found.add(base.split(".")[0])
                else:  # from . import a, b
                    found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("vsp_simulator."):
                    found.add(alias.name.split(".")[1])
    return found


def import_graph():
    modules = {p.stem: p for p in PACKAGE.glob("*.py")}
    return {name: imports_of(path) & set(modules) for name, path in modules.items()}


def find_cycle(graph):
    """One import cycle of ``graph`` (a list of module names, first == last), or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                return path[path.index(dep):] + [dep]
            if dep not in state:
                cycle = visit(dep, path + [dep])
                if cycle:
                    return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [start])
            if cycle:
                return cycle
    return None


def test_find_cycle_finds_one():
    circle = {"app": {"keys"}, "keys": {"web"}, "web": {"app"}}
    assert find_cycle(circle) == ["app", "keys", "web", "app"]
    assert find_cycle({"a": {"a"}}) == ["a", "a"]
    assert find_cycle({"app": {"keys", "web"}, "keys": {"web"}, "web": set()}) is None


def test_imports_are_read():
    graph = import_graph()
    assert {"control", "keys", "locks", "sessions_api", "storage", "hooks"} <= graph["app"]
    assert "web" in graph["keys"]


def test_no_import_cycle():
    assert find_cycle(import_graph()) is None


def test_only_the_cli_and_the_harness_import_the_app():
    importers = {name for name, deps in import_graph().items() if "app" in deps}
    assert importers <= {"cli", "harness", "__main__"}, importers
