"""Version differences: files saved under the oldest supported scikit-learn, and the
third-party internals that skkeras_prep._compat relies on (these fail loudly when one moves)."""

import collections
import io
import json
import os
import sys
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import skkeras_prep
from skkeras_prep import _compat, _persistence
from skkeras_prep.exceptions import SkKerasPrepWarning

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "sklearn_min")
FIXTURE = os.path.join(FIXTURES, "classifier.skkeras")
REMAINDER = "sklearn.compose._column_transformer._RemainderColsList"


def _fixture_data():
    sys.path.insert(0, FIXTURES)
    try:
        from make_fixture import data
    finally:
        sys.path.remove(FIXTURES)
    return data()


@pytest.fixture(scope="module")
def expected():
    with open(os.path.join(FIXTURES, "expected.json")) as f:
        return json.load(f)


def _schema(state_bytes):
    with zipfile.ZipFile(io.BytesIO(state_bytes)) as archive:
        return json.loads(archive.read("schema.json"))


def _fixture_members():
    with zipfile.ZipFile(FIXTURE) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# -- a file saved under the oldest supported scikit-learn -------------------------------------
def _minimum_pins():
    with open(os.path.join(os.path.dirname(__file__), "..", "constraints", "minimum.txt")) as f:
        return dict(line.strip().split("==") for line in f
                    if "==" in line and not line.startswith("#"))


def test_fixture_was_saved_under_the_minimum_sklearn_with_a_version_dependent_type(expected):
    assert expected["sklearn"] == _minimum_pins()["scikit-learn"]
    found = sio.get_untrusted_types(data=_fixture_members()["state.skops"])
    assert REMAINDER in found


def test_fixture_saved_under_the_minimum_sklearn_loads_and_predicts_the_same(expected):
    X, _ = _fixture_data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = skkeras_prep.load(FIXTURE)
    ours = [str(w.message) for w in caught if issubclass(w.category, SkKerasPrepWarning)]
    if sklearn.__version__ != expected["sklearn"]:
        assert any(f"sklearn {expected['sklearn']} -> {sklearn.__version__}" in m for m in ours)
    assert loaded.classes_.tolist() == expected["classes"]
    np.testing.assert_allclose(loaded.preprocessor_.transform(X), expected["transformed"],
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(loaded.predict_proba(X), expected["predict_proba"],
                               rtol=0, atol=1e-5)
    assert loaded.predict(X).tolist() == [
        expected["classes"][i] for i in np.argmax(expected["predict_proba"], axis=1)
    ]


def test_version_dependent_types_are_trusted_by_default():
    names = _compat.sklearn_version_dependent_trusted_types()
    assert REMAINDER in names
    assert all(isinstance(name, str) for name in names)
    assert names <= _persistence.default_trusted_types()


def test_missing_sklearn_type_is_reported_with_both_versions(tmp_path, expected):
    members = _fixture_members()
    schema = _schema(members["state.skops"])
    gone = next(node for node in _compat._nodes(schema) if node.get("__class__") == "OneHotEncoder")
    gone["__class__"] = "OneHotEncoderThatNoVersionHas"
    state = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(members["state.skops"])) as old, \
            zipfile.ZipFile(state, "w") as new:
        for name in old.namelist():
            new.writestr(name, json.dumps(schema) if name == "schema.json" else old.read(name))
    members["state.skops"] = state.getvalue()
    metadata = json.loads(members["skkeras_prep.json"])

    def load_saved_with(version):
        metadata["versions"]["sklearn"] = version
        members["skkeras_prep.json"] = json.dumps(metadata).encode()
        path = tmp_path / "gone.skkeras"
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        with pytest.raises(ValueError) as info:
            skkeras_prep.load(path)
        return str(info.value)

    other = "1.5.0" if sklearn.__version__ != "1.5.0" else "1.4.2"
    for saved in (expected["sklearn"], other):
        message = load_saved_with(saved)
        assert "OneHotEncoderThatNoVersionHas" in message
        if saved == sklearn.__version__:  # the version cannot explain it: no such note
            assert "saved with scikit-learn" not in message
        else:
            assert f"saved with scikit-learn {saved}" in message
            assert f"scikit-learn {sklearn.__version__} (installed)" in message


# -- the internals _compat relies on ------------------------------------------------------------
def test_every_type_the_running_sklearn_writes_for_a_column_transformer_is_trusted():
    # Fails when a scikit-learn release adds a private type here: add it to
    # _compat._SKLEARN_VERSION_DEPENDENT_TYPES (with the versions that have it).
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "x"], "c": [0.0, 1.0, 0.0]})
    ct = ColumnTransformer([("num", StandardScaler(), ["a"]),
                            ("cat", OneHotEncoder(), ["b"])]).fit(X)
    untrusted = set(sio.get_untrusted_types(data=sio.dumps(ct)))
    assert untrusted - _persistence.default_trusted_types() == set()


def test_remainder_columns_type_is_the_one_compat_knows():
    # scikit-learn 1.6.0 keeps remainder columns chosen by name in _RemainderColsList, a
    # UserList (its items in .data); 1.9.1 keeps a plain list. Anything else: update _compat.
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    remainder = ColumnTransformer([("num", StandardScaler(), ["a"])]).fit(X).transformers_[-1][2]
    name = f"{type(remainder).__module__}.{type(remainder).__qualname__}"
    if _compat._sklearn_has(REMAINDER):
        assert name == REMAINDER
        assert isinstance(remainder, collections.UserList) and list(remainder.data) == [1]
    else:
        assert type(remainder) is list


class _Items(collections.UserList):
    pass


def test_skops_stores_a_userlist_as_the_node_compat_rewrites():
    # The layout _compat._as_plain_list reads: ObjectNode -> state dict -> "data" ListNode.
    data = sio.dumps({"items": _Items([3, 4])})
    node = next(n for n in _compat._nodes(_schema(data)) if n.get("__class__") == "_Items")
    plain = _compat._as_plain_list(node)
    assert plain is not None and plain["__loader__"] == "ListNode"
    assert plain["__id__"] == node["__id__"]
    assert len(plain["content"]) == 2


def test_the_fixture_holds_the_node_layout_compat_rewrites():
    nodes = [n for n in _compat._nodes(_schema(_fixture_members()["state.skops"]))
             if _compat._node_type(n) == REMAINDER]
    assert nodes and all(_compat._as_plain_list(n) is not None for n in nodes)


def test_state_is_returned_unchanged_when_nothing_is_missing():
    data = sio.dumps({"scaler": StandardScaler()})
    assert _compat.sklearn_state_for_this_version(data, {"sklearn": "1.6.0"}) is data


# -- the declared range is the tested range -----------------------------------------------------
def test_declared_lower_bounds_are_the_pins_ci_tests():
    import re
    import tomllib

    root = os.path.join(os.path.dirname(__file__), "..")
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    pins = _minimum_pins()
    declared = {}
    # No upper bounds: dask/dask-ml#1016 (dask-ml's adaptive searches on dask >= 2025.3) has a
    # recipe of its own (docs/scaling.md) instead of a cap on everyone's dask.
    capped = set()
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        match = re.fullmatch(
            r"([A-Za-z0-9_.-]+)(?:\[[A-Za-z0-9_,.-]+\])?>=([0-9][0-9.]*)(,<[0-9][0-9.]*)?", requirement
        )
        assert match, f"{requirement!r}: declare a lower bound (name>=version)"
        assert match.group(3) is None or match.group(1) in capped, (
            f"{requirement!r}: an upper bound needs a reason (see pyproject.toml)")
        declared[match.group(1)] = match.group(2)
    assert declared == pins
    extras = project["optional-dependencies"]
    assert set(extras["dask"]) <= set(extras["test"]), "the test extra must install the dask extra"


# -- the private internals reached through _compat: each must still be where it was ------------
def test_tensorflow_gradient_registry_and_its_graphs_are_where_they_were():
    import keras

    from skkeras_prep import _tf_process_state

    registry = _compat.tf_gradient_registry()
    assert registry is not None, (
        "TensorFlow moved ops._gradient_registry._registry (checked on 2.16.1 and 2.21.0): "
        "each fit would keep its traced training graph; update _compat.tf_gradient_registry"
    )
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    before = set(registry)
    model.fit(np.ones((8, 3)), np.ones((8, 2)), epochs=1, verbose=0)
    new = [n for n in registry if n not in before and n.startswith("CustomGradient-")]
    assert new, "Keras's training step registers no custom gradient any more: recheck _tf_process_state"
    own = {id(getattr(v, "value", v)) for v in model.variables}
    assert any(_tf_process_state._uses_variables(registry[n], own) for n in new), (
        "the closure layout of TensorFlow's registered gradient functions changed: "
        "_compat.tf_gradient_entry_graphs finds no graph of this model's variables"
    )
    for name in new:
        registry.pop(name, None)  # leave the registry as the test found it


def test_tensorflow_eager_kernel_cache_can_be_emptied():
    assert _compat.tf_clear_eager_kernel_cache(), (
        "TensorFlow moved context.context().clear_kernel_cache (checked on 2.16.1 and 2.21.0)"
    )


def test_keras_layer_internals_are_where_they_were():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dropout(0.5)])
    layers = _compat.keras_layers(model)
    by_type = {type(layer).__name__: layer for layer in layers}
    assert model in layers and {"Dense", "Dropout"} <= set(by_type)
    variables, _ = _compat.keras_own_state(by_type["Dense"])
    assert {v.path.split("/")[-1] for v in variables} == {"kernel", "bias"}
    assert _compat.keras_own_state(by_type["Dropout"])[1], "Dropout keeps its seed generator"
    with pytest.raises(_compat.InternalMovedError, match=r"_flatten_layers of keras \(checked on"):
        _compat.keras_layers(object())


def test_keras_steps_per_execution_and_compiled_metrics():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=1)])
    model.fit(np.ones((4, 3)), np.zeros(4), epochs=1, verbose=0)
    assert model.train_function is not None
    _compat.keras_set_steps_per_execution(model, 4)
    assert model.steps_per_execution == 4 and model.train_function is None
    metrics = _compat.keras_compiled_metrics(model)
    assert metrics[0] == "accuracy"
    assert isinstance(metrics[1], keras.metrics.SparseTopKCategoricalAccuracy)
    assert _compat.keras_compiled_metrics(keras.Sequential([keras.Input((3,))])) is None


def test_scikit_learn_internals_are_where_they_were():
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 2.0], [2.0, 1.0, 0.0]])
    ct = ColumnTransformer([("a", StandardScaler(), [0, 2])], remainder="drop").fit(X)
    assert list(_compat.sklearn_column_transformer_input_indices(ct)["a"]) == [0, 2]
    encoder = OneHotEncoder().fit(X[:, :1])
    assert _compat.sklearn_infrequent_enabled(encoder) is False
    assert _compat.sklearn_infrequent_enabled(OneHotEncoder(min_frequency=2).fit(X[:, :1])) is True
    assert _compat.sklearn_num_samples(X) == 3
    with pytest.raises(_compat.InternalMovedError, match="scikit-learn|sklearn"):
        _compat.sklearn_infrequent_enabled(object())


def test_sklearn_visual_block_is_where_it_was():
    """The HTML repr's box layout (_VisualBlock), which the estimator's _sk_visual_block_
    returns to show its preprocessor and model builder as boxes."""
    from sklearn.preprocessing import StandardScaler

    block = _compat.sklearn_visual_block(
        "parallel", [StandardScaler(), "build"], names=["a: StandardScaler", "b: build"],
        name_details=["StandardScaler()", "build"],
    )
    assert block.kind == "parallel"
    assert block.names == ["a: StandardScaler", "b: build"]
    assert len(block.estimators) == 2
def test_keras_symbolic_build_and_distribute_strategy():
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    with pytest.raises(ValueError, match="not yet been built"):
        model.get_metrics_result()
    spec = (tf.TensorSpec((None, 3), tf.float32), tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((None,), tf.float32))
    _compat.keras_symbolic_build(model, spec)
    assert set(model.get_metrics_result()) == {"loss", "accuracy"}
    assert _compat.keras_distribute_strategy(model) is None
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        inside = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert _compat.keras_distribute_strategy(inside) is not None
    with pytest.raises(_compat.InternalMovedError, match=r"_symbolic_build of keras \(checked on"):
        _compat.keras_symbolic_build(object(), spec)


def test_keras_models_are_written_and_read_in_memory():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    data = _compat.keras_model_to_bytes(model)
    assert zipfile.is_zipfile(io.BytesIO(data))
    loaded = _compat.keras_model_from_bytes(data, custom_objects=None, safe_mode=True)
    x = np.ones((1, 3), dtype="float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# -- tf2onnx: the handlers that replace its string Equal and its tf.where ----------------------
def _onnx_run(fn, signature, feeds):
    import onnxruntime
    import tf2onnx
    from onnx import helper

    problems = []
    proto, _ = tf2onnx.convert.from_function(
        fn, input_signature=signature, opset=18,
        custom_op_handlers=_compat.tf2onnx_op_handlers(problems),
        extra_opset=[helper.make_opsetid("ai.onnx.ml", 2)],
    )
    session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0], problems, proto


def test_tf2onnx_handlers_compare_text_and_pick_around_nan():
    import tensorflow as tf

    @tf.function
    def fn(text, x):
        match = tf.cast(tf.equal(text, tf.constant([["b", "a", "c"]])), tf.float64)
        unknown = tf.fill(tf.shape(x), tf.constant(np.nan, tf.float64))  # not a constant
        picked = tf.where(x > 0.0, x, unknown)  # NaN only where x <= 0
        return tf.concat([match, picked], axis=1)

    signature = [tf.TensorSpec((None, 1), tf.string), tf.TensorSpec((None, 1), tf.float64)]
    text = np.array([["a"], ["zzz"], [""], ["c"]], dtype=object)
    x = np.array([[1.0], [-1.0], [2.0], [np.nan]])
    got, problems, proto = _onnx_run(fn, signature, {"text": text, "x": x})
    expected = fn(tf.constant(text.astype(str)), tf.constant(x)).numpy()
    np.testing.assert_array_equal(got, expected)  # NaN in the same places
    assert not problems
    assert "CategoryMapper" in {n.op_type for n in proto.graph.node}


def test_tf2onnx_string_equal_of_two_computed_tensors_is_reported():
    import tensorflow as tf

    @tf.function
    def fn(a, b):
        return tf.cast(tf.equal(a, b), tf.float64)

    signature = [tf.TensorSpec((None,), tf.string), tf.TensorSpec((None,), tf.string)]
    import tf2onnx

    problems = []
    tf2onnx.convert.from_function(fn, input_signature=signature, opset=18,
                                  custom_op_handlers=_compat.tf2onnx_op_handlers(problems))
    assert problems and "two computed string tensors" in problems[0]


def test_tf2onnx_default_handlers_are_where_they_were():
    assert callable(_compat._tf2onnx_handler("logical", "Equal").version_11)
    assert callable(_compat._tf2onnx_handler("controlflow", "Select").version_9)
    with pytest.raises(_compat.InternalMovedError, match="tf2onnx"):
        _compat._tf2onnx_handler("logical", "NoSuchHandler")
