"""Crafted files (issue 9 §1, §2 and the crafted-file items of §4): each is refused at ``load``
with a ValueError naming the offending entry, runs nothing and costs little.

Execution is detected with a side-effect file in tmp_path: the crafted arguments would create
it if the class they name were ever called."""

import json
import os
import sys
import tracemalloc
import zipfile

import keras
import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

import skkeras_prep
from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor
from skkeras_prep._persistence import loading
from skkeras_prep.models import MLP

import crafted_files as crafted
from crafted_files import CLASS, MODEL, OBJECT, POPEN

FAST = dict(epochs=2, random_state=0)


def _popen_args(side):
    """Arguments that make Popen create the side-effect file, and nothing else."""
    return [sys.executable, "-c", f"open({str(side)!r}, 'w').close()"]


def _refused(path, entry, *more, **load_kwargs):
    with pytest.raises(ValueError) as info:
        skkeras_prep.load(path, **load_kwargs)
    message = str(info.value)
    assert entry in message, message
    for text in more:
        assert text in message, message
    return message


# -- §1: class references run nothing -------------------------------------------------------
@pytest.mark.parametrize("place, routed_prefix, value", [
    ("loss", "loss", {CLASS: POPEN}),
    ("model", "model", {CLASS: POPEN}),
    ("callbacks", "callbacks", [{CLASS: POPEN}]),
])
def test_popen_through_a_keras_module_is_refused_at_load(tmp_path, place, routed_prefix, value):
    side = tmp_path / "ran"
    path = crafted.state_file(tmp_path / "popen.skkeras", params={
        place: value, f"{routed_prefix}__args": _popen_args(side)})
    entry = f"params['{place}']" + ("[0]" if place == "callbacks" else "")
    _refused(path, entry, "dotted attribute chains are never followed")
    assert not side.exists()


def test_zipfile_through_a_keras_module_is_refused(tmp_path):
    side = tmp_path / "truncated.txt"
    side.write_text("keep me")
    mark = {"module": "keras.src.saving.saving_lib", "name": "ZipFile", "registered": None}
    path = crafted.state_file(tmp_path / "zip.skkeras", params={
        "loss": {CLASS: mark}, "loss__file": str(side), "loss__mode": "w"})
    _refused(path, "params['loss']", "not a public or registered Keras class")
    assert side.read_text() == "keep me"


@pytest.mark.parametrize("mark", [
    {"module": "builtins", "name": "type", "registered": "type"},
    {"module": "keras", "name": "type", "registered": None},
    {"module": "keras.src.losses", "name": "__builtins__", "registered": None},
])
def test_builtins_type_is_refused(tmp_path, mark):
    path = crafted.state_file(tmp_path / "type.skkeras", params={"loss": {CLASS: mark}})
    _refused(path, "params['loss']")


def test_a_class_of_the_wrong_kind_for_its_place_is_refused(tmp_path):
    optimizer = {"module": "keras.src.optimizers.adam", "name": "Adam", "registered": "Adam"}
    path = crafted.state_file(tmp_path / "kind.skkeras", params={"loss": {CLASS: optimizer}})
    _refused(path, "params['loss']", "keras.losses")
    path = crafted.state_file(tmp_path / "place.skkeras", params={"verbose": {CLASS: optimizer}})
    _refused(path, "params['verbose']", "trusted=")


@pytest.mark.parametrize("name, argument", [
    ("BackupAndRestore", "backup_dir"), ("CSVLogger", "filename"),
    ("ModelCheckpoint", "filepath"), ("RemoteMonitor", "root"), ("TensorBoard", "log_dir"),
])
def test_callbacks_need_trusted_and_the_error_says_so(tmp_path, name, argument):
    side = tmp_path / "written"
    mark = {"module": "keras.callbacks", "name": name, "registered": name}
    path = crafted.state_file(tmp_path / "cb.skkeras", params={
        "callbacks": [{CLASS: mark}], f"callbacks__{argument}": str(side)})
    message = _refused(path, "params['callbacks'][0]", "not rebuilt from a file unless you opt "
                       "in", f"trusted=['keras.callbacks.{name}']")
    assert "callback" in message
    loaded = skkeras_prep.load(path, trusted=[f"keras.callbacks.{name}"])
    assert loaded.callbacks == [getattr(keras.callbacks, name)]
    assert not side.exists()


def test_a_path_taking_layer_needs_trusted(tmp_path):
    mark = {"module": "keras.layers", "name": "TFSMLayer", "registered": None}
    path = crafted.state_file(tmp_path / "tfsm.skkeras", params={
        "model__layer": {CLASS: mark}})
    _refused(path, "params['model__layer']", "files, paths or addresses", "trusted=")


def test_keras_objects_that_write_files_are_refused(tmp_path):
    side = tmp_path / "log.csv"
    config = json.dumps({"module": "keras.callbacks", "class_name": "CSVLogger",
                         "config": {"filename": str(side)}, "registered_name": None})
    path = crafted.state_file(tmp_path / "obj.skkeras", params={"loss": {OBJECT: config}})
    _refused(path, "params['loss']", "CSVLogger")
    assert not side.exists()
    popen = json.dumps({"module": "keras.src.utils.progbar", "class_name": "Popen",
                        "config": {"args": _popen_args(side)}, "registered_name": None})
    path = crafted.state_file(tmp_path / "obj2.skkeras", params={"loss": {OBJECT: popen}})
    _refused(path, "params['loss']")
    assert not side.exists()


def test_a_keras_object_that_would_build_a_huge_model_is_refused(tmp_path):
    inputs = keras.Input((3,))
    small = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    config = keras.saving.serialize_keras_object(small)
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_shape"] = [None, 100_000]
        elif layer["class_name"] == "Dense":
            layer["config"]["units"] = 100_000
            layer["build_config"] = {"input_shape": [None, 100_000]}
    path = crafted.state_file(tmp_path / "big.skkeras", params={
        "model__extra": {OBJECT: json.dumps(config)}})
    _refused_cheaply(path, "params['model__extra']", "max_params=")


def test_a_keras_function_that_is_not_a_loss_is_refused(tmp_path):
    config = json.dumps({"module": "keras.config", "class_name": "function",
                         "config": "enable_unsafe_deserialization", "registered_name": None})
    path = crafted.state_file(tmp_path / "fn.skkeras", params={"loss": {OBJECT: config}})
    _refused(path, "params['loss']")
    assert keras.config.enable_unsafe_deserialization.__name__  # still public, never called
    ok = json.dumps(keras.saving.serialize_keras_object(keras.losses.mean_squared_error))
    path = crafted.state_file(tmp_path / "mse.skkeras", params={"loss": {OBJECT: ok}})
    assert skkeras_prep.load(path).loss is keras.losses.mean_squared_error


def test_a_keras_object_of_the_wrong_kind_is_refused(tmp_path):
    config = json.dumps(keras.saving.serialize_keras_object(keras.optimizers.Adam()))
    path = crafted.state_file(tmp_path / "obj.skkeras", params={"loss": {OBJECT: config}})
    _refused(path, "params['loss']", "Adam")


def test_estimator_class_pointing_elsewhere_is_refused(tmp_path):
    path = crafted.state_file(tmp_path / "cls.skkeras", estimator_class=StandardScaler)
    _refused(path, "'estimator_class'", "StandardScaler", "not a skkeras_prep estimator")
    path = crafted.state_file(tmp_path / "cls2.skkeras", estimator_class=KerasPipelineClassifier)
    with pytest.raises(ValueError, match="metadata and state name different"):
        skkeras_prep.load(path)  # the metadata says regressor


@pytest.mark.parametrize("name", ["__class__", "_forward", "_routed", "fit", "predict",
                                  "__dict__", "model_", "classes__"])
def test_only_fitted_attribute_names_are_restored(tmp_path, name):
    path = crafted.state_file(tmp_path / "attr.skkeras", attributes={name: StandardScaler})
    _refused(path, f"attributes[{name!r}]", "only fitted attribute names")


@pytest.mark.parametrize("mark, problem", [
    ({MODEL: 3}, "not one of the 0 parameter models"),
    ({MODEL: "0"}, "not one of"),
    ({MODEL: True}, "not one of"),
    ({MODEL: -1}, "not one of"),
])
def test_model_markers_out_of_range_or_of_wrong_type(tmp_path, mark, problem):
    path = crafted.state_file(tmp_path / "m.skkeras", params={"model": mark})
    _refused(path, "params['model']", problem)


def test_param_models_count_that_the_file_does_not_hold(tmp_path):
    path = crafted.state_file(tmp_path / "count.skkeras", param_models=3)
    _refused(path, "3 parameter models")
    path = crafted.state_file(tmp_path / "bad.skkeras", param_models="many")
    _refused(path, "'many' parameter models")


@pytest.mark.parametrize("mark", [
    ["keras.losses", "Huber"],                                    # not a mapping
    {"module": "keras.losses"},                                   # KeyError today
    {"module": "keras.nothing.here", "name": "X", "registered": None},  # ModuleNotFoundError
    {"module": ["keras"], "name": "Huber", "registered": None},   # unhashable TypeError
    {"module": "keras.losses", "name": "Huber", "registered": ["x"]},
    {"module": "keras.losses", "name": 3, "registered": None},
    {"module": "keras.losses", "name": "", "registered": None},   # IndexError-like
])
def test_malformed_class_markers_give_a_value_error(tmp_path, mark):
    path = crafted.state_file(tmp_path / "mal.skkeras", params={"loss": {CLASS: mark}})
    _refused(path, "params['loss']")


def test_malformed_object_markers_give_a_value_error(tmp_path):
    for i, value in enumerate([3, "{not json", json.dumps([1, 2]), "[" * 5000 + "]" * 5000]):
        path = crafted.state_file(tmp_path / f"o{i}.skkeras", params={"loss": {OBJECT: value}})
        _refused(path, "params['loss']")


# -- §4: the loaded estimator's parts must agree -----------------------------------------------
@pytest.fixture(scope="module")
def iris_clf():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    return KerasPipelineClassifier(MLP((8,)), StandardScaler(), **FAST).fit(X, y), X


def test_model_with_the_wrong_output_width_is_refused(iris_clf, tmp_path):
    clf, X = iris_clf
    wrong = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="softmax")])
    clf2 = KerasPipelineClassifier(**clf.get_params())
    clf2.__dict__.update({k: v for k, v in vars(clf).items() if k != "_forward"})
    clf2.model_ = wrong
    clf2.save(tmp_path / "width.skkeras")
    _refused(tmp_path / "width.skkeras", "width 5", "expects 3")


def test_overwritten_classes_are_refused(iris_clf, tmp_path):
    clf, X = iris_clf
    clf2 = KerasPipelineClassifier(**clf.get_params())
    clf2.__dict__.update({k: v for k, v in vars(clf).items() if k != "_forward"})
    clf2.classes_ = np.array(["a", "b", "c"])
    clf2.save(tmp_path / "classes.skkeras")
    _refused(tmp_path / "classes.skkeras", "classes_ does not match its target encoding")
    clf.save(tmp_path / "good.skkeras")  # the untouched estimator loads and predicts the same
    np.testing.assert_array_equal(skkeras_prep.load(tmp_path / "good.skkeras").predict_proba(X),
                                  clf.predict_proba(X))


# -- §2: bounded cost ------------------------------------------------------------------------
def _refused_cheaply(path, *texts, **load_kwargs):
    """Refused with a ValueError, allocating less than 100 MB in Python and numpy."""
    assert os.path.getsize(path) <= 2**20
    tracemalloc.start()
    try:
        message = _refused(path, *texts, **load_kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20, f"peak {peak / 2**20:.0f} MB"
    return message


@pytest.mark.parametrize("make, texts", [
    (crafted.outer_bomb, ("compression ratio", "max_ratio=")),
    (crafted.metadata_bomb, ("compression ratio",)),
    (crafted.inner_bomb, ("'state.skops'", "compression ratio")),
    (crafted.model_bomb, ("'model.keras'", "compression ratio")),
    (crafted.many_param_models, ("10000000 parameter models",)),
    (crafted.deep_metadata, ("nested 100000 deep", "max_json_depth=")),
    (crafted.deep_state, ("'state.skops/schema.json' is nested", "max_json_depth=")),
    (crafted.wide_dense, ("20,000,200,000 parameters", "max_params=")),
    (lambda p: crafted.wide_dense(p, width=4000, units=4000), ("weights hold only",)),
], ids=["outer-bomb", "metadata-bomb", "inner-bomb", "model-bomb", "param-models",
        "deep-metadata", "deep-state", "wide-dense", "config-weights-mismatch"])
def test_hostile_file_is_refused_before_it_costs(tmp_path, make, texts):
    path = make(tmp_path / "hostile.skkeras")
    _refused_cheaply(path, *texts)


def test_limits_are_keyword_arguments(tmp_path):
    path = crafted.deep_state(tmp_path / "deep.skkeras", depth=150)  # 300 deep in JSON
    _refused(path, "max_json_depth=200")
    with pytest.raises(ValueError) as info:  # past the depth limit: the state is not ours
        skkeras_prep.load(path, max_json_depth=1000)
    assert "max_json_depth" not in str(info.value)
    with pytest.raises(TypeError, match="max_bytes must be a positive number"):
        skkeras_prep.load(path, max_bytes=-1)


def test_max_bytes_refuses_a_real_file_and_can_be_raised(iris_clf, tmp_path):
    clf, X = iris_clf
    clf.save(tmp_path / "clf.skkeras")
    _refused(tmp_path / "clf.skkeras", "max_bytes=", max_bytes=1000)
    loaded = skkeras_prep.load(tmp_path / "clf.skkeras", max_bytes=10**7)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_real_model_passes_the_parameter_check(tmp_path):
    X = np.random.default_rng(0).normal(size=(40, 300))
    y = X[:, 0]
    reg = KerasPipelineRegressor(MLP((256, 128)), epochs=1, random_state=0).fit(X, y)
    reg.save(tmp_path / "reg.skkeras")
    np.testing.assert_allclose(skkeras_prep.load(tmp_path / "reg.skkeras").predict(X),
                               reg.predict(X))
    _refused(tmp_path / "reg.skkeras", "max_params=", max_params=1000)


# -- inspect_file --------------------------------------------------------------------------------
def test_inspect_file_lists_what_needs_trusting_without_loading(tmp_path, monkeypatch):
    side = tmp_path / "ran"
    path = crafted.state_file(tmp_path / "i.skkeras", params={
        "callbacks": [{CLASS: {"module": "keras.callbacks", "name": "CSVLogger",
                               "registered": "CSVLogger"}}, {CLASS: POPEN}],
        "preprocessor": StandardScaler(), "callbacks__filename": str(side)})
    calls = []
    monkeypatch.setattr(loading, "_keras_from_bytes", lambda *a: calls.append(a))
    monkeypatch.setattr(loading, "load_state", lambda *a: calls.append(a))
    info = skkeras_prep.inspect_file(path)
    assert calls == [] and not side.exists()
    assert info["untrusted"] == ["keras.callbacks.CSVLogger"]
    assert [where for where, _ in info["refused"]] == ["params['callbacks'][1]"]
    assert info["metadata"]["estimator"] == "skkeras_prep.regressor.KerasPipelineRegressor"
    assert info["metadata"]["fitted"] is False
    assert set(info["entries"]) == {"skkeras_prep.json", "state.skops"}


def test_inspect_file_of_a_saved_estimator(iris_clf, tmp_path):
    clf, _ = iris_clf
    clf.set_params(callbacks=[keras.callbacks.TerminateOnNaN()]).save(tmp_path / "c.skkeras")
    clf.set_params(callbacks=None)
    info = skkeras_prep.inspect_file(tmp_path / "c.skkeras")
    assert info["versions"]["keras"] == keras.__version__
    assert info["untrusted"] == ["keras.src.callbacks.terminate_on_nan.TerminateOnNaN"]
    assert info["refused"] == [] and info["metadata"]["fitted"] is True
    assert "model.keras" in info["entries"]


def test_inspect_file_checks_limits_too(tmp_path):
    path = crafted.outer_bomb(tmp_path / "bomb.skkeras", size=64 * 2**20)
    with pytest.raises(ValueError, match="compression ratio"):
        skkeras_prep.inspect_file(path)


# -- type checks at the moment of the call (_build) ---------------------------------------------
def test_classes_are_checked_again_when_called():
    from skkeras_prep import _build, _compiling

    with pytest.raises(TypeError, match="not a keras.losses.Loss"):
        _compiling.resolve_loss(zipfile.ZipFile, {"file": "x"})
    with pytest.raises(TypeError, match="not a keras.callbacks.Callback"):
        _compiling.resolve_callbacks([zipfile.ZipFile], {})
    with pytest.raises(TypeError, match="optimizer"):
        _compiling.resolve_optimizer(zipfile.ZipFile, {})
    with pytest.raises(TypeError, match="class ZipFile"):
        _build.build_model(zipfile.ZipFile, {}, {"input_shape_": (2,)}, 0)


def test_a_loss_class_without_arguments_saves(tmp_path):
    X = np.random.default_rng(0).normal(size=(40, 3))
    reg = KerasPipelineRegressor(MLP((4,)), loss=keras.losses.Huber, **FAST).fit(X, X[:, 0])
    reg.save(tmp_path / "huber.skkeras")
    loaded = skkeras_prep.load(tmp_path / "huber.skkeras")
    assert loaded.loss is keras.losses.Huber
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
