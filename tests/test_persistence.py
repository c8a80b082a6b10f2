"""est.save / skkeras_prep.load: one file, safe loading, clear errors, atomic writes; and
pickle / joblib round trips."""

import io
import json
import os
import pathlib
import pickle
import stat
import tempfile
import time
import zipfile

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

import skkeras_prep
from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor, SkKerasPrepWarning
from skkeras_prep._persistence import format as file_format
from skkeras_prep._persistence import saving
from skkeras_prep.models import MLP, output_units

FAST = dict(epochs=3, random_state=0)


# -- module-level objects the files refer to -----------------------------------------------
def add_one(X):
    return np.asarray(X, dtype=float) + 1.0


def half_mse(y_true, y_pred):  # a custom loss that is NOT registered with Keras
    return 0.5 * keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


@keras.saving.register_keras_serializable(package="skkeras_prep_tests")
class Doubler(keras.layers.Layer):  # a custom layer that IS registered with Keras
    def call(self, x):
        return 2.0 * x


def doubler_model(n_features):
    inputs = keras.Input(shape=(n_features,))
    hidden = keras.layers.Dense(8, activation="relu")(Doubler()(inputs))
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))


def lambda_builder(meta):
    units, activation = output_units(meta)
    inputs = keras.Input(shape=meta["input_shape_"])
    scaled = keras.layers.Lambda(lambda x: x * 0.5)(inputs)
    return keras.Model(inputs, keras.layers.Dense(units, activation=activation)(scaled))


# -- data and fitted estimators ------------------------------------------------------------
@pytest.fixture(scope="module")
def frame_data():
    rng = np.random.default_rng(0)
    n = 120
    X = pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "income": rng.lognormal(10, 0.5, n),
        "city": rng.choice(["paris", "lyon", "nice"], n),
        "plan": rng.choice(["basic", "pro"], n),
    })
    X.loc[::9, "age"] = np.nan
    X.loc[::7, "city"] = None
    y = np.where(X["income"] > X["income"].median(), "high", "low")
    return X, y


def frame_preprocessor():
    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income"]),
        ("city", make_pipeline(SimpleImputer(strategy="most_frequent"),
                               OneHotEncoder(handle_unknown="ignore")), ["city"]),
        ("plan", OrdinalEncoder(), ["plan"]),
    ])


@pytest.fixture(scope="module")
def fitted_clf(frame_data):
    X, y = frame_data
    clf = KerasPipelineClassifier(MLP((8,)), frame_preprocessor(), optimizer__learning_rate=0.01,
                                  metrics=["accuracy"], **FAST)
    return clf.fit(X, y)


def small_regressor():
    return KerasPipelineRegressor(MLP((8,)), StandardScaler(), target_transformer=StandardScaler(),
                                  **FAST)


@pytest.fixture(scope="module")
def fitted_reg():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    y = 100.0 + 20.0 * X[:, 0] - 5.0 * X[:, 1]
    return small_regressor().fit(X, y), X


@pytest.fixture(scope="module")
def saved_clf(fitted_clf, tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "clf.skkeras"
    fitted_clf.save(path)
    return path


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write_members(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


# -- pickle and joblib -----------------------------------------------------------------------
def _pickle_round_trip(est):
    return pickle.loads(pickle.dumps(est))


def _joblib_round_trip(est):
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


ROUND_TRIPS = pytest.mark.parametrize(
    "round_trip", [_pickle_round_trip, _joblib_round_trip], ids=["pickle", "joblib"]
)


@ROUND_TRIPS
def test_pickle_and_joblib_keep_fitted_predictions(round_trip, fitted_clf, frame_data):
    X, _ = frame_data
    copy = round_trip(fitted_clf)
    np.testing.assert_array_equal(copy.predict_proba(X), fitted_clf.predict_proba(X))
    np.testing.assert_array_equal(copy.predict(X), fitted_clf.predict(X))


@ROUND_TRIPS
def test_pickle_and_joblib_of_unfitted_estimator_fit_the_same(round_trip, fitted_reg):
    reg, X = fitted_reg
    y = reg.predict(X)  # any numeric target will do
    original = small_regressor()
    copy = round_trip(original)
    assert copy.get_params(deep=False).keys() == original.get_params(deep=False).keys()
    np.testing.assert_array_equal(copy.fit(X, y).predict(X), original.fit(X, y).predict(X))


# -- save / load round trips -----------------------------------------------------------------
def test_file_holds_model_state_and_metadata(saved_clf):
    members = _members(saved_clf)
    assert set(members) == {"skkeras_prep.json", "state.skops", "model.keras"}
    metadata = json.loads(members["skkeras_prep.json"])
    assert metadata["format"] == "skkeras_prep.estimator"
    assert metadata["format_version"] == 1  # one input and one output: still readable by older releases (_persistence.saved_io)
    assert metadata["estimator"].endswith("KerasPipelineClassifier")
    assert metadata["fitted"] is True
    assert {"skkeras_prep", "keras", "tensorflow", "sklearn"} <= set(metadata["versions"])
    assert metadata["versions"]["keras"] == keras.__version__
    assert zipfile.is_zipfile(io.BytesIO(members["model.keras"]))  # a genuine .keras file


def test_loaded_classifier_predicts_the_same(saved_clf, fitted_clf, frame_data):
    X, _ = frame_data
    loaded = skkeras_prep.load(saved_clf)
    assert type(loaded) is KerasPipelineClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted_clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), fitted_clf.predict(X))
    np.testing.assert_array_equal(loaded.classes_, fitted_clf.classes_)
    np.testing.assert_array_equal(loaded.feature_names_in_, fitted_clf.feature_names_in_)
    assert loaded.history_ == fitted_clf.history_
    assert loaded.n_iter_ == fitted_clf.n_iter_ == 3
    assert loaded.input_shape_ == fitted_clf.input_shape_
    assert loaded.target_encoder_.layout_ == fitted_clf.target_encoder_.layout_


def test_loaded_classifier_keeps_its_parameters(saved_clf, fitted_clf):
    loaded = skkeras_prep.load(saved_clf)
    params = loaded.get_params(deep=False)
    assert params.keys() == fitted_clf.get_params(deep=False).keys()
    assert params["optimizer__learning_rate"] == 0.01
    assert params["metrics"] == ["accuracy"]
    assert params["model"].get_params() == MLP((8,)).get_params()
    assert repr(params["preprocessor"]) == repr(fitted_clf.preprocessor)


def test_loaded_estimator_keeps_training(saved_clf, frame_data):
    X, y = frame_data
    loaded = skkeras_prep.load(saved_clf).set_params(warm_start=True, epochs=1)
    before = loaded.predict_proba(X)
    loaded.fit(X, y)
    assert loaded.n_iter_ == 1 and len(loaded.history_["loss"]) == 4
    assert not np.allclose(loaded.predict_proba(X), before)


def test_regressor_round_trip(fitted_reg, tmp_path):
    reg, X = fitted_reg
    reg.save(tmp_path / "reg.skkeras")
    loaded = skkeras_prep.load(str(tmp_path / "reg.skkeras"))  # str paths work too
    assert type(loaded) is KerasPipelineRegressor
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    assert type(loaded.target_encoder_.target_transformer_) is StandardScaler


def test_unfitted_estimator_with_keras_objects_in_parameters(tmp_path):
    template = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    est = KerasPipelineRegressor(
        template, optimizer=keras.optimizers.SGD(momentum=0.5), loss=keras.losses.Huber,
        loss__delta=2.0, callbacks=[keras.callbacks.EarlyStopping], callbacks__patience=2,
        callbacks__monitor="loss",
        metrics=[keras.metrics.MeanAbsoluteError()], **FAST,
    )
    est.save(tmp_path / "unfitted.skkeras")
    assert "model.keras" not in _members(tmp_path / "unfitted.skkeras")
    with pytest.raises(ValueError, match=r"params\['callbacks'\]\[0\].*callback.*trusted="):
        skkeras_prep.load(tmp_path / "unfitted.skkeras")  # callbacks need an opt-in
    loaded = skkeras_prep.load(tmp_path / "unfitted.skkeras",
                               trusted=["keras.callbacks.EarlyStopping"])
    assert not hasattr(loaded, "model_")
    assert isinstance(loaded.model, keras.Sequential) and loaded.model.output_shape == (None, 1)
    assert isinstance(loaded.optimizer, keras.optimizers.SGD) and loaded.optimizer.momentum == 0.5
    params = loaded.get_params(deep=False)
    assert loaded.loss is keras.losses.Huber and params["loss__delta"] == 2.0
    assert loaded.callbacks == [keras.callbacks.EarlyStopping]
    assert params["callbacks__patience"] == 2
    assert isinstance(loaded.metrics[0], keras.metrics.MeanAbsoluteError)
    X = np.random.default_rng(0).normal(size=(30, 3))
    assert loaded.fit(X, X[:, 0]).predict(X).shape == (30,)


# -- the trusted-types policy ----------------------------------------------------------------
def test_untrusted_function_is_refused_until_trusted(tmp_path):
    X = np.random.default_rng(0).normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    est = KerasPipelineClassifier(MLP((8,)), FunctionTransformer(add_one), **FAST).fit(X, y)
    est.save(tmp_path / "f.skkeras")
    name = f"{add_one.__module__}.{add_one.__qualname__}"
    with pytest.raises(ValueError, match="not trusted by default") as info:
        skkeras_prep.load(tmp_path / "f.skkeras")
    assert name in str(info.value) and "trusted=" in str(info.value)
    loaded = skkeras_prep.load(tmp_path / "f.skkeras", trusted=[name])
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_lambda_in_parameters_is_refused_at_save(tmp_path):
    est = KerasPipelineClassifier(FunctionTransformer(lambda X: X), **FAST)
    with pytest.raises(ValueError, match="module level"):
        est.save(tmp_path / "lambda.skkeras")
    assert os.listdir(tmp_path) == []


def test_registered_custom_layer_loads_without_arguments(tmp_path, binary_data):
    X, y = binary_data
    est = KerasPipelineClassifier(doubler_model(X.shape[1]), **FAST).fit(X, y)
    est.save(tmp_path / "custom.skkeras")
    loaded = skkeras_prep.load(tmp_path / "custom.skkeras")  # no custom_objects, no trusted
    assert any(isinstance(layer, Doubler) for layer in loaded.model_.layers)
    assert any(isinstance(layer, Doubler) for layer in loaded.model.layers)  # the parameter too
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_unregistered_custom_loss_needs_custom_objects(tmp_path, fitted_reg):
    reg, X = fitted_reg
    y = reg.predict(X)
    est = KerasPipelineRegressor(MLP((8,)), loss=half_mse, **FAST).fit(X, y)
    est.save(tmp_path / "loss.skkeras")
    with pytest.raises(ValueError, match="custom_objects") as info:
        skkeras_prep.load(tmp_path / "loss.skkeras")
    assert "half_mse" in str(info.value)
    loaded = skkeras_prep.load(tmp_path / "loss.skkeras", custom_objects={"half_mse": half_mse})
    assert loaded.loss is half_mse
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_lambda_layer_needs_safe_mode_off(tmp_path, binary_data):
    X, y = binary_data
    est = KerasPipelineClassifier(lambda_builder, **FAST).fit(X, y)
    est.save(tmp_path / "lambda_layer.skkeras")
    name = f"{lambda_builder.__module__}.{lambda_builder.__qualname__}"
    with pytest.raises(ValueError, match="safe_mode=False"):
        skkeras_prep.load(tmp_path / "lambda_layer.skkeras", trusted=[name])
    loaded = skkeras_prep.load(tmp_path / "lambda_layer.skkeras", trusted=[name], safe_mode=False)
    np.testing.assert_allclose(loaded.predict_proba(X), est.predict_proba(X))


# -- foreign, truncated and tampered files ------------------------------------------------------
def _random_bytes(path, good):
    path.write_bytes(np.random.default_rng(0).bytes(2000))


def _truncated(path, good):
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flipped_byte(path, good):
    members = _members(good)
    state = bytearray(members["state.skops"])
    state[len(state) // 2] ^= 0xFF
    members["state.skops"] = bytes(state)
    _write_members(path, members)


def _foreign_zip(path, good):
    _write_members(path, {"hello.txt": b"not an estimator"})


def _other_metadata(path, good):
    _write_members(path, {"skkeras_prep.json": json.dumps({"format": "something.else"})})


def _broken_metadata(path, good):
    members = _members(good)
    members["skkeras_prep.json"] = b"{not json"
    _write_members(path, members)


def _garbage_model(path, good):
    members = _members(good)
    members["model.keras"] = b"garbage"
    _write_members(path, members)


def _missing_state(path, good):
    members = _members(good)
    del members["state.skops"]
    _write_members(path, members)


def _central_entry(path, good, patch):
    """The saved file with its first central-directory entry changed by ``patch(bytearray,
    offset of the entry)`` (zip's layout: version needed at +6, flags at +8, name at +46)."""
    data = bytearray(pathlib.Path(good).read_bytes())
    patch(data, data.index(b"PK\x01\x02"))
    pathlib.Path(path).write_bytes(bytes(data))


def _unknown_zip_version(path, good):  # zipfile: NotImplementedError("zip file version 6.4")
    _central_entry(path, good, lambda data, at: data.__setitem__(slice(at + 6, at + 8),
                                                                  (64).to_bytes(2, "little")))


def _name_not_utf8(path, good):  # flagged UTF-8, starting with a byte UTF-8 never has
    def patch(data, at):
        flags = int.from_bytes(data[at + 8:at + 10], "little") | 0x800
        data[at + 8:at + 10] = flags.to_bytes(2, "little")
        data[at + 46] = 0xFF
    _central_entry(path, good, patch)


@pytest.mark.parametrize(
    "make_bad_file, message",
    [
        (_random_bytes, "not a zip archive"),
        (_truncated, "not a zip archive"),
        (_unknown_zip_version, "not a zip archive this package reads .zip file version 6.4"),
        (_name_not_utf8, "not a zip archive this package reads .*utf-8"),
        (_flipped_byte, "'state.skops/schema.json' entry is corrupted"),
        (_foreign_zip, "no 'skkeras_prep.json' entry"),
        (_other_metadata, "does not describe a skkeras_prep estimator"),
        (_broken_metadata, "not valid JSON"),
        (_garbage_model, "'model.keras' entry is not a zip archive"),
        (_missing_state, "no 'state.skops' entry"),
    ],
)
def test_bad_files_give_a_clear_error(make_bad_file, message, saved_clf, tmp_path):
    path = tmp_path / "bad.skkeras"
    make_bad_file(path, saved_clf)
    with pytest.raises(ValueError, match=message) as info:
        skkeras_prep.load(path)
    error = info.value  # our message, not a chained library traceback
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    assert pathlib.Path(info.traceback[-1].path).parent.name == "_persistence"  # raised by us


def test_newer_format_version_says_so(saved_clf, tmp_path):
    members = _members(saved_clf)
    metadata = json.loads(members["skkeras_prep.json"])
    metadata["format_version"] = file_format.FORMAT_VERSION + 1
    members["skkeras_prep.json"] = json.dumps(metadata).encode()
    _write_members(tmp_path / "newer.skkeras", members)
    with pytest.raises(ValueError, match="newer skkeras_prep.*Upgrade"):
        skkeras_prep.load(tmp_path / "newer.skkeras")


def test_other_library_versions_warn(saved_clf, tmp_path, frame_data):
    members = _members(saved_clf)
    metadata = json.loads(members["skkeras_prep.json"])
    metadata["versions"]["sklearn"] = "0.0.1"
    members["skkeras_prep.json"] = json.dumps(metadata).encode()
    _write_members(tmp_path / "old.skkeras", members)
    with pytest.warns(SkKerasPrepWarning, match="sklearn 0.0.1"):
        loaded = skkeras_prep.load(tmp_path / "old.skkeras")
    assert loaded.predict(frame_data[0]).shape == (len(frame_data[0]),)


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        skkeras_prep.load(tmp_path / "nothing-here.skkeras")


# -- atomic save -------------------------------------------------------------------------------
def _fail_at_the_model_entry(monkeypatch):
    """Make the write of the file's last entry fail, after the others are written."""
    real = zipfile.ZipFile.writestr
    calls = []

    def writestr(self, name, data, *args, **kwargs):
        if name in ("skkeras_prep.json", "state.skops", "model.keras"):
            calls.append(name)
        if name == "model.keras":
            raise OSError("disk full (simulated)")
        return real(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)
    return calls


def test_failed_save_keeps_the_previous_file(saved_clf, fitted_reg, tmp_path, monkeypatch):
    path = tmp_path / "model.skkeras"
    path.write_bytes(saved_clf.read_bytes())
    before = path.read_bytes()
    calls = _fail_at_the_model_entry(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        fitted_reg[0].save(path)
    monkeypatch.undo()
    assert calls == ["skkeras_prep.json", "state.skops", "model.keras"]  # failed part-way
    assert os.listdir(tmp_path) == ["model.skkeras"]  # no temporary file left behind
    assert path.read_bytes() == before
    assert type(skkeras_prep.load(path)) is KerasPipelineClassifier


def test_failed_first_save_leaves_nothing(fitted_reg, tmp_path, monkeypatch):
    _fail_at_the_model_entry(monkeypatch)
    with pytest.raises(OSError):
        fitted_reg[0].save(tmp_path / "new.skkeras")
    assert os.listdir(tmp_path) == []


def test_save_replaces_an_existing_file(saved_clf, fitted_reg, tmp_path):
    path = tmp_path / "model.skkeras"
    path.write_bytes(saved_clf.read_bytes())
    fitted_reg[0].save(path)
    assert os.listdir(tmp_path) == ["model.skkeras"]
    assert type(skkeras_prep.load(path)) is KerasPipelineRegressor


def _temp_names(directory):
    return sorted(n for n in os.listdir(directory) if ".skkeras-tmp." in n)


def test_save_stages_everything_beside_the_target(fitted_reg, tmp_path, monkeypatch):
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    target_dir = tmp_path / "out"
    target_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    seen = []
    real_write_zip = saving.write_zip

    def spying_write_zip(fileobj, members):  # an injected observation point
        seen.extend(_temp_names(target_dir))
        return real_write_zip(fileobj, members)

    monkeypatch.setattr(saving, "write_zip", spying_write_zip)
    est = KerasPipelineRegressor(keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]),
                                 **FAST)  # a parameter model too: two Keras models staged
    est.fit(*_reg_xy(fitted_reg)).save(target_dir / "reg.skkeras")
    assert os.listdir(system_tmp) == []
    prefix = f".reg.skkeras.skkeras-tmp.{os.getpid()}."
    assert seen and all(name.startswith(prefix) for name in seen)
    assert os.listdir(target_dir) == ["reg.skkeras"]


def _reg_xy(fitted_reg):
    reg, X = fitted_reg
    return X, reg.predict(X)


@pytest.mark.parametrize("failure", [OSError("disk full (simulated)"), KeyboardInterrupt()])
@pytest.mark.parametrize("point", ["write_zip", "_keras_bytes", "_state_bytes"])
def test_injected_failures_leave_nothing_behind(fitted_reg, tmp_path, monkeypatch, point,
                                                failure):
    def failing(*args, **kwargs):  # the temporary file exists when the failure strikes
        assert any(n.endswith(".tmp") for n in os.listdir(tmp_path))
        raise failure

    monkeypatch.setattr(saving, point, failing)
    with pytest.raises(type(failure)):
        fitted_reg[0].save(tmp_path / "x.skkeras")
    assert os.listdir(tmp_path) == []


def test_stale_temporary_files_are_cleaned_but_live_saves_are_not(fitted_reg, tmp_path):
    target = tmp_path / "m.skkeras"
    prefix = saving._tmp_prefix(str(target))
    dead_pid = 2**22 + 12345  # above the usual pid_max: no such process
    with pytest.raises(ProcessLookupError):
        os.kill(dead_pid, 0)
    crashed = [tmp_path / f"{prefix}{dead_pid}.abc.tmp", tmp_path / f"{prefix}{dead_pid}.abc.keras"]
    live = tmp_path / f"{prefix}{os.getppid()}.def.tmp"        # a save in progress elsewhere
    old_live = tmp_path / f"{prefix}{os.getppid()}.old.tmp"    # live pid, but a day old
    garbled = tmp_path / f"{prefix}notapid.tmp"
    other = tmp_path / f".other.skkeras.skkeras-tmp.{dead_pid}.abc.tmp"  # another target's
    for path in crashed + [live, old_live, garbled, other]:
        path.write_bytes(b"partial")
    day_ago = time.time() - saving.STALE_SECONDS - 60
    os.utime(old_live, (day_ago, day_ago))
    fitted_reg[0].save(target)
    assert sorted(os.listdir(tmp_path)) == sorted([target.name, live.name, other.name])


def test_save_keeps_the_mode_of_an_existing_file(fitted_reg, tmp_path):
    path = tmp_path / "private.skkeras"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)
    fitted_reg[0].save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    umask = os.umask(0o022)
    os.umask(umask)
    fitted_reg[0].save(tmp_path / "new.skkeras")
    assert stat.S_IMODE(os.stat(tmp_path / "new.skkeras").st_mode) == 0o666 & ~umask


def test_save_writes_through_a_symlink(fitted_reg, tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "model.skkeras"
    target.write_bytes(b"old")
    link = tmp_path / "link.skkeras"
    link.symlink_to(target)
    fitted_reg[0].save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert type(skkeras_prep.load(target)) is KerasPipelineRegressor
    assert os.listdir(real_dir) == ["model.skkeras"]


def test_save_into_a_missing_directory_names_it(fitted_reg, tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError) as info:
        fitted_reg[0].save(missing / "m.skkeras")
    assert str(missing) in str(info.value) and "skkeras-tmp" not in str(info.value)
    assert "does not exist" in str(info.value)
