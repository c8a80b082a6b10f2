"""The package's structure: no import cycles between its modules, counting the imports made
inside function bodies (the only place a cycle can hide once the top level is clean)."""

import ast
import pathlib

import skkeras_prep

PACKAGE = pathlib.Path(skkeras_prep.__file__).parent
NAME = "skkeras_prep"


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(current, is_package, node, modules):
    """The package modules an import statement in ``current`` depends on."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == NAME]
    if node.level:
        base = current.split(".") if is_package else current.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != NAME:
        return []
    found = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        found.append(sub if sub in modules else target)  # a submodule, or a name in target
    return found


def import_graph():
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges = set()
        for node in ast.walk(tree):  # every import, at the top level or inside functions
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(_resolve(name, path.name == "__init__.py", node, modules))
        # importing a.b.c runs a.b's __init__ first: depend on each enclosing package too
        closed = set()
        for edge in edges:
            parts = edge.split(".")
            closed.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
        closed.discard(name)
        # a module depends on its own enclosing packages by being imported; not an edge
        graph[name] = {e for e in closed if e in modules and not name.startswith(e + ".")}
    return graph


def find_cycle(graph):
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_import_graph_has_no_cycles():
    graph = import_graph()
    assert len(graph) >= 10  # the walk found the package's modules
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_sees_imports_inside_functions(tmp_path):
    # the detector itself: a cycle made only by an import inside a function is found
    graph = {"p.a": {"p.b"}, "p.b": {"p.a"}}
    assert find_cycle(graph) == ["p.a", "p.b", "p.a"]
    source = "def f():\n    from . import b\n"
    tree = ast.parse(source)
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    assert _resolve("skkeras_prep.a", False, node, {"skkeras_prep.b": None}) == ["skkeras_prep.b"]
