"""The input adapters and their dispatcher (``skkeras_prep._inputs``): X's kind is asked once,
by ``dispatch``, and the estimator side imports no adapter and nothing from ``sources``."""

import ast
import pathlib

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import StandardScaler

import skkeras_prep
from skkeras_prep import KerasPipelineClassifier, MultiInput
from skkeras_prep._inputs import dispatch
from skkeras_prep._inputs.dask import DaskInput
from skkeras_prep._inputs.memory import ArrayInput, FrameInput, PathsInput, RowsInput, SparseInput
from skkeras_prep._inputs.named import (InputRecord, NamedInputs, entries, map_inputs, one_input,
                                        width_of)

da = pytest.importorskip("dask.array")

PACKAGE = pathlib.Path(skkeras_prep.__file__).parent


@pytest.mark.parametrize("make, kind", [
    (lambda: np.zeros((4, 3)), ArrayInput),
    (lambda: [[0.0, 1.0], [2.0, 3.0]], RowsInput),
    (lambda: [np.zeros((5, 5)), np.ones((5, 5))], RowsInput),  # a list of images
    (lambda: sp.csr_matrix(np.eye(3)), SparseInput),
    (lambda: pd.DataFrame({"a": [1, 2], "b": [3, 4]}), FrameInput),
    (lambda: ["a.png", "b.png"], PathsInput),
    (lambda: np.array(["a.png", "b.png"], dtype=object), PathsInput),
    (lambda: da.zeros((10, 3), chunks=5), DaskInput),
])
def test_dispatch_gives_one_unnamed_entry_of_the_kind(make, kind):
    inputs = dispatch(make())
    assert list(inputs.parts) == [None] and not inputs.named
    assert type(inputs.parts[None]) is kind
    assert inputs.lazy == (kind is DaskInput)


def test_dispatch_gives_one_entry_per_named_input():
    X = {"a": np.zeros((4, 2)), "b": pd.DataFrame({"c": range(4)}), "d": sp.csr_matrix(np.eye(4))}
    for given in (X, MultiInput(X)):
        inputs = dispatch(given)
        assert inputs.named and inputs.names == ["a", "b", "d"]
        assert [type(p) for p in inputs.parts.values()] == [ArrayInput, FrameInput, SparseInput]


@pytest.mark.parametrize("X, message", [
    (None, "X is None"),
    (iter([[1.0], [2.0]]), "iterator"),
])
def test_dispatch_refuses_x_without_rows(X, message):
    with pytest.raises(ValueError, match=message):
        dispatch(X)


def test_a_dask_input_among_several_is_refused_with_what_to_do():
    X = {"a": np.zeros((10, 2)), "b": da.zeros((10, 2), chunks=5)}
    with pytest.raises(TypeError, match=r"Input\(s\) \['b'\] are dask collections.*Compute them"):
        dispatch(X)
    with pytest.raises(TypeError, match="dask collections"):
        KerasPipelineClassifier(epochs=1).fit(X, np.arange(10) % 2)


def test_the_structure_refuses_a_lazy_entry_among_named_ones_whatever_the_adapters():
    class Lazy:
        lazy = True

        def __init__(self, X):
            self.X = X

    assert NamedInputs.of(np.zeros(3), Lazy).lazy  # one lazy input is fine
    with pytest.raises(TypeError, match=r"Input\(s\) \['a', 'b'\] are dask collections"):
        NamedInputs.of({"a": np.zeros(3), "b": np.zeros(3)}, Lazy)


def test_a_value_per_input_is_read_and_mapped_alike_for_one_input_and_several():
    assert entries((3, 2)) == {None: (3, 2)} and map_inputs(len, (3, 2)) == 2
    assert map_inputs(len, {"a": (3,), "b": (1, 2)}) == {"a": 1, "b": 2}
    assert width_of((3, 2)) == 6 and width_of({"a": (3, 2), "b": (4,)}) == {"a": 6, "b": 4}
    assert one_input((3,), "no {names}") == (3,)
    with pytest.raises(ValueError, match=r"^augment: not for \['a', 'b'\]$"):
        one_input({"a": (1,), "b": (2,)}, "augment: not for {names}")


def test_a_single_x_is_checked_against_the_estimator_and_named_inputs_against_records():
    est = KerasPipelineClassifier(preprocessor=StandardScaler())
    dispatch(np.zeros((4, 3))).check(est, reset=True, preprocessor=est.preprocessor)
    assert est.n_features_in_ == 3 and not hasattr(est, "_input_records")
    X = {"a": np.zeros((4, 2)), "b": np.zeros((4, 5))}
    dispatch(X).check(est, reset=True, preprocessor=None)
    assert not hasattr(est, "n_features_in_") and est.input_names_ == ["a", "b"]
    assert {k: type(r) for k, r in est._input_records.items()} == {"a": InputRecord, "b": InputRecord}
    assert est._input_records["b"].n_features_in_ == 5


def test_named_inputs_are_taken_in_the_order_seen_at_fit():
    est = KerasPipelineClassifier()
    dispatch({"a": np.zeros((4, 2)), "b": np.ones((4, 5))}).check(est, reset=True, preprocessor=None)
    again = dispatch({"b": np.ones((4, 5)), "a": np.zeros((4, 2))})
    again.check(est, reset=False, preprocessor=None)
    assert again.names == ["a", "b"]
    source = again.rows(est, None)
    assert source.input_names == ["a", "b"]


def test_errors_about_one_of_several_inputs_name_it():
    est = KerasPipelineClassifier()
    X = {"a": np.zeros((4, 2)), "b": np.array([[1.0, np.nan]] * 4)}
    with pytest.raises(ValueError, match=r"^Input 'b': .*NaN"):
        dispatch(X).check(est, reset=True, preprocessor=None)


def _imports(path):
    """The modules a top-level module of the package imports, as ``skkeras_prep.*`` names (at
    the top level and inside functions)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            module = "skkeras_prep" + (f".{node.module}" if node.module else "")
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


@pytest.mark.parametrize("name", ["_estimator", "_estimator_params", "_fit_stages", "classifier",
                                  "regressor"])
def test_the_estimator_side_imports_no_adapter_and_no_source(name):
    imported = _imports(PACKAGE / f"{name}.py")
    assert not [m for m in imported if m.startswith("skkeras_prep.sources")]
    adapters = [m for m in imported if m.startswith("skkeras_prep._inputs.")
                and m.split(".")[2] in ("dask", "memory", "named", "kind")]
    assert not adapters, adapters


def _code_names(path):
    """Identifiers used in ``path``'s code (names, attributes, imported modules and names),
    not its strings, docstrings or comments."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(a.name for a in node.names)
            names.update((getattr(node, "module", None) or "").split("."))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


# the dask adapter (_inputs/dask.py and its row source sources/dask.py), the two dispatchers
# (_inputs.dispatch; sources.as_source, for a transform that returns a dask array) and the
# worker plugin (dask_workers.py, workers.py: its deprecated name)
DASK_MODULES = {"_inputs/dask.py", "_inputs/__init__.py", "sources/dask.py", "sources/__init__.py",
                "dask_workers.py", "workers.py"}


def test_only_the_dask_adapter_and_the_dispatchers_name_dask_in_code():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in DASK_MODULES:
            continue
        named = sorted(n for n in _code_names(path) if "dask" in n.lower() or n == "DaskRows")
        if named:
            offenders[relative] = named
    assert not offenders, offenders
