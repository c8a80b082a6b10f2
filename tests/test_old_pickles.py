"""Pickles written by skkeras_prep at git 1a28e87 (tests/fixtures/make_pickle_1a28e87.py), before
the module renames of issue 22: each loads with this package, predicts what it predicted when
it was written, and refits. A pickle names every class by its module path (the fixtures name
``classifier``, ``regressor``, ``models``, ``_targets``, ``_multi_input`` and ``workers``), so a
module that is renamed keeps its old path importable; these tests fail if it does not.
"""

import json
import pathlib
import pickle
import sys

import numpy as np
import pytest

import skkeras_prep
from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "pickle_1a28e87"
ESTIMATORS = {
    "classifier": KerasPipelineClassifier,
    "regressor": KerasPipelineRegressor,
    "two_inputs": KerasPipelineClassifier,
    "two_outputs": KerasPipelineClassifier,
}
NUMPY_1 = int(np.__version__.split(".")[0]) < 2


def _value(record):
    """The inverse of the fixture script's ``_jsonable``."""
    if isinstance(record, list):
        return [_value(v) for v in record]
    if set(record) == {"array", "dtype"}:
        return np.array(record["array"], dtype=np.dtype(record["dtype"]))
    return {k: _value(v) for k, v in record.items()}


def _assert_same(actual, expected, what):
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and list(actual) == list(expected), what
        for key in expected:
            _assert_same(actual[key], expected[key], f"{what}[{key!r}]")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), what
        for i, (a, e) in enumerate(zip(actual, expected)):
            _assert_same(a, e, f"{what}[{i}]")
    elif expected.dtype.kind in "fc":
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-7, err_msg=what)
    else:  # labels: equal, whatever their dtype (str, int, object)
        assert np.shape(actual) == expected.shape, what
        assert np.asarray(actual).tolist() == expected.tolist(), what


@pytest.fixture(scope="module")
def expected():
    return {name: {key: _value(v) for key, v in record.items()}
            for name, record in json.loads((FIXTURES / "expected.json").read_text()).items()}


def _foreign_modules():
    """Modules of the package imported from outside this package's folder. An editable
    install of another checkout (a development setup) finds a module missing here in that
    checkout, which would hide a missing alias."""
    folder = pathlib.Path(skkeras_prep.__file__).parent
    return sorted(name for name, module in list(sys.modules.items())
                  if name.startswith("skkeras_prep.") and getattr(module, "__file__", None)
                  and folder not in pathlib.Path(module.__file__).parents)


def _load(name, holds_arrays=True):
    with open(FIXTURES / f"{name}.pkl", "rb") as f:
        if NUMPY_1 and holds_arrays:
            # written under numpy 2, whose arrays pickle by numpy._core: numpy 1 cannot read
            # them (pickle's limit, as for tests/fixtures/v01_classifier.pkl)
            with pytest.raises(ModuleNotFoundError, match="numpy._core"):
                pickle.load(f)
            return None
        loaded = pickle.load(f)
    assert not _foreign_modules(), f"{name}.pkl loaded modules from another checkout"
    return loaded


def test_fixtures_name_the_modules_they_guard():
    """The fixtures hold what they are meant to test: classes by the old module paths."""
    assert b"skkeras_prep._multi_input" in (FIXTURES / "two_inputs.pkl").read_bytes()
    assert b"MultiOutputEncoder" in (FIXTURES / "two_outputs.pkl").read_bytes()
    assert b"skkeras_prep.workers" in (FIXTURES / "tensorflow_threads.pkl").read_bytes()


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_old_pickle_loads_predicts_the_same_and_refits(name, expected):
    loaded = _load(name)
    if loaded is None:
        return
    assert type(loaded) is ESTIMATORS[name]
    record = expected[name]
    X, y = record["X"], record["y"]
    _assert_same(loaded.predict(X), record["predict"], f"{name}.predict")
    if "predict_proba" in record:
        _assert_same(loaded.predict_proba(X), record["predict_proba"], f"{name}.predict_proba")
    before = [w.copy() for w in loaded.model_.get_weights()]
    loaded.set_params(epochs=1).fit(X, y)  # and it refits under this version
    after = loaded.model_.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(after, before)), "the refit trained nothing"
    assert np.shape(loaded.predict(X)) == np.shape(record["predict"])


def test_old_pickled_worker_plugin_loads_through_the_deprecated_module():
    pytest.importorskip("distributed", reason="the skkeras_prep[dask] extra is not installed")
    import sys

    from skkeras_prep import dask_workers

    sys.modules.pop("skkeras_prep.workers", None)  # its warning comes at the first import
    with pytest.warns(FutureWarning, match="skkeras_prep.dask_workers"):
        plugin = _load("tensorflow_threads", holds_arrays=False)
    assert type(plugin) is dask_workers.TensorFlowThreads
    assert (plugin.intra_op_threads, plugin.inter_op_threads) == (2, 3)
