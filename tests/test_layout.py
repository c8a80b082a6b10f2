"""The package's structure: no import cycles between its modules, counting the imports made
inside function bodies (the only place a cycle can hide once the top level is clean), and the
layering rule of docs/DESIGN.md: each module imports only modules listed above it; and the
size limits (no module over 500 lines, no function over 60)."""

import ast
import pathlib
import re

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


# -- the layering rule of docs/DESIGN.md ---------------------------------------------------
# "Each module in the table imports only modules above it": the "## Modules" table of
# docs/DESIGN.md is read in order; a row may name several modules (same rank) or a package
# (`sources/`: its modules share the row). Inside a package with a table of its own
# (`## The export package`) the same rule holds between its modules. A package's
# `__init__.py` may import its own modules; the top `skkeras_prep/__init__.py` is the public
# face and may import anything.
DESIGN = PACKAGE.parent / "docs" / "DESIGN.md"

# Imports that break the rule today, each with the reason it is left, as
#     ("skkeras_prep.importer", "skkeras_prep.imported"): "why it stays for now",
# The test fails on a new violation and on a listed one that no longer occurs (remove it from
# here when it goes). Empty since the table order was corrected (issue 22): every import that
# went below was to a module that imports nothing of its importer's, so the rows were reordered.
KNOWN_VIOLATIONS = {}


def _table(text, heading):
    """The first-cell names of the table under ``heading``, as {name: row index}."""
    section = re.split(rf"^{re.escape(heading)}\b.*$", text, maxsplit=1, flags=re.M)[1]
    section = section.split("\n## ", 1)[0]
    ranks = {}
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    for index, line in enumerate(rows):
        for name in re.findall(r"`([^`]+)`", line.split("|")[1]):
            ranks[name] = index
    return ranks


def design_tables(text=None):
    """(the module table, {package: its own table}) of docs/DESIGN.md."""
    text = DESIGN.read_text() if text is None else text
    inner = {"export": {k.split("/", 1)[1]: v
                        for k, v in _table(text, "## The export package").items()}}
    return _table(text, "## Modules"), inner


def _place(module, packages, top, inner):
    """``(row, rank inside its package)`` of a package module. Row None: not in the table;
    rank None: not in a package with a table of its own (or its ``__init__``), "missing": in
    one, but not listed there."""
    parts = module.split(".")[1:]
    head = parts[0]
    if head not in packages:
        return top.get(f"{head}.py"), None
    row = top.get(f"{head}/", top.get(f"{head}.py"))
    if row is None:  # a package whose modules have rows of their own (`_persistence/x.py`)
        rows = [rank for name, rank in top.items() if name.startswith(f"{head}/")]
        if len(parts) == 1:  # its __init__, which imports them: with the last of them
            return (max(rows) if rows else None), None
        return top.get(f"{head}/{parts[1]}.py"), None
    own = inner.get(head)
    if own is None or len(parts) == 1:
        return row, None
    return row, own.get(parts[1] + ".py", "missing")


def layering_violations(graph=None, tables=None):
    """{(importer, imported): why} for every import that breaks the rule."""
    graph = import_graph() if graph is None else graph
    top, inner = design_tables() if tables is None else tables
    packages = {m.split(".")[1] for m in graph if m.count(".") >= 2}
    found = {}
    for importer, imported in ((a, b) for a, targets in graph.items() for b in targets):
        if importer == NAME:
            continue  # the public face imports what it exports
        row_a, rank_a = _place(importer, packages, top, inner)
        row_b, rank_b = _place(imported, packages, top, inner)
        if row_a is None or row_b is None:
            which = importer if row_a is None else imported
            why = f"{which} is not in docs/DESIGN.md's module table"
        elif row_b > row_a:
            why = f"{imported} is listed below {importer}"
        elif row_a < row_b or rank_a is None or rank_b is None:
            continue  # above, the same row, or a package's own __init__ and its modules
        elif "missing" in (rank_a, rank_b):
            which = importer if rank_a == "missing" else imported
            why = f"{which} is not in its package's table in docs/DESIGN.md"
        elif rank_b > rank_a:
            why = f"{imported} is listed below {importer} in its package's table"
        else:
            continue
        found[importer, imported] = why
    return found


def against_known(found, known):
    """``(new violations {edge: why}, listed ones that no longer occur [edge])``."""
    return ({edge: why for edge, why in found.items() if edge not in known},
            sorted(set(known) - set(found)))


def test_every_import_goes_to_a_module_above():
    new, gone = against_known(layering_violations(), KNOWN_VIOLATIONS)
    assert not new, "imports against docs/DESIGN.md's module order:\n" + "\n".join(
        f"  {a} imports {b}: {why}" for (a, b), why in sorted(new.items()))
    assert not gone, ("KNOWN_VIOLATIONS lists imports that no longer break the rule; remove "
                      f"them: {gone}")


def test_every_package_module_has_a_row():
    top, inner = design_tables()
    graph = import_graph()
    packages = {m.split(".")[1] for m in graph if m.count(".") >= 2}
    modules = [m for m in graph if m != NAME]
    missing = sorted(m for m in modules if _place(m, packages, top, inner)[0] is None)
    unlisted = sorted(m for m in modules if _place(m, packages, top, inner)[1] == "missing")
    assert not missing, f"modules without a row in docs/DESIGN.md's module table: {missing}"
    assert not unlisted, f"modules missing from their package's table in docs/DESIGN.md: {unlisted}"


def test_design_tables_are_read_as_written():
    top, inner = design_tables()
    assert top["exceptions.py"] == 0
    assert top["classifier.py"] == top["regressor.py"]  # one row naming two modules
    assert top["sources/"] < top["_validation.py"] < top["_estimator.py"]
    assert inner["export"]["_common.py"] == 0 and "keras_model.py" in inner["export"]


_FAKE_DESIGN = """
## Modules (one responsibility each)
| module | responsibility |
|---|---|
| `a.py` | first |
| `sources/` | a package |
| `b.py`, `c.py` | two in one row |
| `export/` | a package with a table |
| `store/one.py` | a package whose modules have rows |
| `store/two.py` | its second module |

## The export package
| module | responsibility |
|---|---|
| `export/_common.py` | first |
| `export/layers.py` | second |

## Next
| `z.py` | not a module row |
"""


def test_layering_checker_names_importer_and_imported():
    # the checker itself, on a made-up table: each kind of violation is found and named
    m = {name: f"{NAME}.{name}" for name in ("a", "b", "c", "zz", "sources", "export")}
    graph = {
        m["a"]: {m["b"], m["zz"]},  # b is below a; zz has no row
        m["b"]: {m["c"], m["a"], f"{NAME}.sources.x"},  # same row, above, above
        m["c"]: set(),
        f"{NAME}.sources.x": {f"{NAME}.sources.y", m["a"]},  # inside a package without a table
        f"{NAME}.sources.y": {f"{NAME}.sources.x"},
        m["export"]: {f"{NAME}.export.layers"},  # a package's __init__ imports its modules
        f"{NAME}.export._common": {f"{NAME}.export.layers"},  # below, in the package's table
        f"{NAME}.export.layers": {f"{NAME}.export._common"},
        f"{NAME}.export.new": {f"{NAME}.export._common"},  # not in the package's table
        f"{NAME}.store.one": {m["a"]},  # a module with a row of its own in a package
        f"{NAME}.store.two": {f"{NAME}.store.one"},
        f"{NAME}.store": {f"{NAME}.store.two"},  # its __init__ ranks with its last module
        NAME: {m["zz"]},  # the public face may import anything
    }
    graph[f"{NAME}.store.one"] = {m["a"], f"{NAME}.store.two"}  # below it, in the same package
    found = layering_violations(graph, design_tables(_FAKE_DESIGN))
    assert found == {
        (m["a"], m["b"]): f"{m['b']} is listed below {m['a']}",
        (m["a"], m["zz"]): f"{m['zz']} is not in docs/DESIGN.md's module table",
        (f"{NAME}.export._common", f"{NAME}.export.layers"):
            f"{NAME}.export.layers is listed below {NAME}.export._common in its package's table",
        (f"{NAME}.export.new", f"{NAME}.export._common"):
            f"{NAME}.export.new is not in its package's table in docs/DESIGN.md",
        (f"{NAME}.store.one", f"{NAME}.store.two"):
            f"{NAME}.store.two is listed below {NAME}.store.one",
    }


def test_known_violations_stay_honest():
    found = {("p.a", "p.b"): "p.b is listed below p.a", ("p.c", "p.d"): "..."}
    known = {("p.a", "p.b"): "being refactored", ("p.e", "p.f"): "fixed since"}
    assert against_known(found, known) == ({("p.c", "p.d"): "..."}, [("p.e", "p.f")])


# -- size: issue 22's targets ("no module over 500 lines, and no function over 60") -------------
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def _sizes(source):
    """(lines of the module, [(lines, first line, name)] of every function in it)."""
    tree = ast.parse(source)
    functions = [(node.end_lineno - node.lineno + 1, node.lineno, node.name)
                 for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return len(source.splitlines()), functions


def test_no_module_or_function_is_too_long():
    too_long = []
    for name, path in sorted(_modules().items()):
        lines, functions = _sizes(path.read_text())
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{name}: {lines} lines (at most {MAX_MODULE_LINES})")
        too_long += [f"{name}:{first} {function}: {n} lines (at most {MAX_FUNCTION_LINES})"
                     for n, first, function in functions if n > MAX_FUNCTION_LINES]
    assert not too_long, "Split these:\n" + "\n".join(too_long)


def test_the_size_measure_counts_decorated_and_nested_functions():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    source = f"@property\ndef outer():\n    def inner():\n        pass\n{body}\n"
    lines, functions = _sizes(source)
    assert lines == MAX_FUNCTION_LINES + 4
    assert (MAX_FUNCTION_LINES + 3, 2, "outer") in functions  # from `def` to its last line
    assert (2, 3, "inner") in functions
