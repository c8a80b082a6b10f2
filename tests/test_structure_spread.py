"""Where the package knows that X may have several inputs and y several outputs.

Inside the estimator, X is a structure of named inputs and y a structure of named targets; one
input or one output is that structure with one entry. Only three modules may say "several":

- ``multi_io``: the public wrappers, and reading the structure of what the user passes (an X,
  a y, a per-output parameter);
- ``_inputs/named``: the structure of the inputs (their records, transformers and row sources);
- ``_target_layout``: the structure of the targets (the encoder of several outputs, its heads).

Every other module goes through those three and never asks how many there are. "Saying
several" is measured in code, not in prose (strings, comments and docstrings are free):

- an identifier (name, attribute, function, class, argument or import) containing ``multi``,
  ``several`` or ``y_heads`` (scikit-learn's own tag names ``multi_label`` and ``multi_output``,
  and ``multiply`` / ``multiclass``, are other words);
- ``isinstance(v, dict)`` where ``v`` is an X, a y, a shape, a width, a batch, an output or a
  preprocessor, or ``isinstance(v, list)`` (or tuple) where ``v`` is the model's output or
  probabilities: asking whether it is one or several;
- a loop or comprehension over what only several inputs or outputs have: ``heads_``,
  ``names_``, ``keys_``, ``input_names_``, ``output_names_``, ``_input_records``.

A loop over a structure every X or y has (a source's ``parts``, a ``Targets``'s ``heads``)
is the general case, one entry for one input, and is not counted.

Two files are exempt, each for what is checked below: the package's ``__init__`` (it imports
the two public wrappers, and does nothing else with them), and ``_multi_input`` (the module
path pickles of 0.2 name; it holds one alias).
"""

import ast
import pathlib
import re

import skkeras_prep

PACKAGE = pathlib.Path(skkeras_prep.__file__).parent

ALLOWED = {"multi_io.py", "_inputs/named.py", "_target_layout.py"}
_WORD = re.compile(r"multi|several|y_heads", re.I)
_OTHER_WORDS = {"multi_label", "multi_output", "multiply", "multiclass"}
_STRUCTURES = re.compile(
    r"X|y|y_true|y_pred|(input|row|batch|output|gathered)_shape_?|shape|widths?|batch|"
    r"out|outputs?|structure|preprocessor|preprocessor_|inputs|targets|proba|probas")
_OUTPUTS = re.compile(r"out|outputs?|structure|proba|probas")
_SEVERAL_ONLY = {"heads_", "names_", "keys_", "input_names_", "output_names_", "_input_records"}


def _identifier(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.alias):
        return node.asname or node.name
    if isinstance(node, ast.arg):
        return node.arg
    if isinstance(node, ast.keyword):
        return node.arg
    return None


def _looped_over(node):
    """The several-only attribute a loop's iterable reads, if any (through ``zip``,
    ``enumerate``, ``list``, ``.items()`` ...)."""
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("items", "values", "keys"):
            return _looped_over(node.func.value)
        if isinstance(node.func, ast.Name) and node.func.id in ("zip", "enumerate", "list",
                                                                "sorted", "reversed", "tuple"):
            for arg in node.args:
                found = _looped_over(arg)
                if found:
                    return found
        return None
    name = _identifier(node)
    return name if name in _SEVERAL_ONLY else None


def _is_structure_test(node):
    """``isinstance(<X, y, a shape, width, batch or output>, dict / list / tuple)``: asking
    whether a value is one or several."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "isinstance" and len(node.args) == 2):
        return False
    kinds = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
    subject = node.args[0]
    while isinstance(subject, (ast.Subscript, ast.Call)):
        key = subject.slice if isinstance(subject, ast.Subscript) else None
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            subject = ast.Name(id=key.value)  # meta["input_shape_"]: the value named
            break
        subject = subject.value if isinstance(subject, ast.Subscript) else subject.func
    name = _identifier(subject) or ""
    if "dict" in kinds:
        return bool(_STRUCTURES.fullmatch(name))
    # a list or tuple of outputs (a list of one is one output); a list X is rows, not inputs
    return bool(kinds & {"list", "tuple"}) and bool(_OUTPUTS.fullmatch(name))


def sayings(tree):
    """``[(line, what)]``: where a module's code says several."""
    found = []
    for node in ast.walk(tree):
        name = _identifier(node)
        if name and name not in _OTHER_WORDS and _WORD.search(name):
            found.append((getattr(node, "lineno", 0), name))
        if _is_structure_test(node):
            found.append((node.lineno, f"isinstance({ast.unparse(node.args[0])}, "
                                       f"{ast.unparse(node.args[1])})"))
        if isinstance(node, (ast.For, ast.comprehension)):
            over = _looped_over(node.iter)
            if over:
                found.append((node.iter.lineno, f"a loop over {over}"))
    return sorted(found)


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text())


def test_only_the_three_structure_modules_say_several():
    outside = {}
    for name, tree in _modules():
        if name in ALLOWED or name in ("__init__.py", "_multi_input.py"):
            continue
        found = sayings(tree)
        if found:
            outside[name] = found
    assert not outside, (
        "These modules say 'several' (line, identifier); go through multi_io, _inputs/named "
        f"or _target_layout instead: {outside}"
    )


def test_the_exempt_files_only_import_and_alias():
    init = ast.parse((PACKAGE / "__init__.py").read_text())
    for node in ast.walk(init):
        if isinstance(node, (ast.Name, ast.Attribute)):
            assert not _WORD.search(_identifier(node) or ""), (
                "__init__ may import the public wrappers, not use them")
    imports = [n for n in ast.walk(init) if isinstance(n, ast.ImportFrom)
               and any(_WORD.search(a.name) for a in n.names)]
    assert [n.module for n in imports] == ["multi_io"]
    alias = ast.parse((PACKAGE / "_multi_input.py").read_text())
    code = [n for n in alias.body if not (isinstance(n, ast.Expr)
                                          and isinstance(n.value, ast.Constant))]
    assert [type(n) for n in code] in ([ast.ImportFrom], [ast.ImportFrom, ast.Assign])
    assert all(t.id == "__all__" for n in code if isinstance(n, ast.Assign) for t in n.targets)


def test_the_measure_sees_what_it_should():
    tree = ast.parse(
        "from .multi_io import MultiOutput\n"
        "several = len(x) > 1\n"
        "for name, head in zip(enc.names_, enc.heads_):\n    pass\n"
        "tags.multi_output = True\n"
        "if isinstance(meta['input_shape_'], dict):\n    pass\n"
        "if isinstance(params, dict):\n    pass\n"
        "for part in source.parts.values():\n    pass\n"
    )
    said = [what for _, what in sayings(tree)]
    assert "MultiOutput" in said and "several" in said
    assert any(what.startswith("a loop over") for what in said)
    assert "multi_output" not in said
    assert "isinstance(meta['input_shape_'], dict)" in said
    assert not any("params" in what for what in said)
    assert not any("parts" in what for what in said)
