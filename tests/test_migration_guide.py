"""docs/migrating-from-scikeras.md is true: every row of its four tables has a test here
(``ROWS`` maps each row to it, and ``test_every_row_of_the_guide_has_a_test`` fails on a row
without one), and the guide maps every scikeras parameter.

Where a row states scikeras's behaviour, it is read from ``fixtures/scikeras_0_13.json``
(scikeras is not installed here; with it installed, the parameter list is also read from
scikeras itself). Tiny models, 1-2 epochs, 60 rows."""

import inspect
import json
import pathlib
import pickle
import random

import keras
import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

import skkeras_prep
from skkeras_prep import ClassifierTargetEncoder, KerasPipelineClassifier, KerasPipelineRegressor
from skkeras_prep.exceptions import RoutedArgumentError
from skkeras_prep.models import MLP, output_units

HERE = pathlib.Path(__file__).resolve().parent
GUIDE = (HERE.parent / "docs" / "migrating-from-scikeras.md").read_text()
SCIKERAS = json.loads((HERE / "fixtures" / "scikeras_0_13.json").read_text())
TABLES = ["## Defaults that differ", "## Parameters, side by side",
          "## Methods and fitted attributes", "## What the builder receives"]
N = 60


def table_rows(title):
    """The rows of one table of the guide, each keyed by its first cell (its second when the
    first is "—", a feature scikeras does not have)."""
    start = GUIDE.index(title)
    end = GUIDE.index("\n## ", start + 3)
    lines = [line for line in GUIDE[start:end].splitlines() if line.startswith("|")]
    keys = []
    for line in lines[2:]:  # after the header and the ---|--- line
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        keys.append(cells[1] if cells[0] == "—" else cells[0])
    return keys


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 4)).astype("float32")
    return X, (X[:, 0] + X[:, 1] > 0).astype(int), 100.0 + 30.0 * X[:, 0]


def tiny(meta, hidden=4):
    units, activation = output_units(meta)
    return keras.Sequential([keras.Input(meta["input_shape_"]),
                             keras.layers.Dense(hidden, activation="relu"),
                             keras.layers.Dense(units, activation=activation)])


def compiled(meta):
    model = tiny(meta)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="binary_crossentropy")
    return model


@pytest.fixture(scope="module")
def clf(data):
    X, y, _ = data
    return KerasPipelineClassifier(tiny, epochs=2, metrics=["acc"], random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def reg(data):
    X, _, y = data
    return KerasPipelineRegressor(tiny, epochs=2, random_state=0).fit(X, y)


def _default(name):
    return inspect.signature(KerasPipelineClassifier).parameters[name].default


# -- Defaults that differ --------------------------------------------------------------------------
def defaults_epochs():
    assert SCIKERAS["defaults"]["epochs"] == 1 and _default("epochs") == 100


def defaults_optimizer(data):
    assert SCIKERAS["defaults"]["optimizer"] == "rmsprop" and _default("optimizer") is None
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, epochs=1).fit(X, y)
    assert isinstance(fitted.model_.optimizer, keras.optimizers.Adam)  # None means adam


def defaults_verbose():
    assert SCIKERAS["defaults"]["verbose"] == 1 and _default("verbose") == 0


def defaults_batch_size():
    assert SCIKERAS["defaults"]["batch_size"] is None
    assert _default("batch_size") == 32
    assert inspect.signature(KerasPipelineRegressor).parameters["batch_size"].default == 64


def defaults_loss(clf, reg):
    assert SCIKERAS["defaults"]["loss"] is None
    assert clf.model_.loss == "binary_crossentropy"  # one sigmoid unit for a binary target
    assert reg.model_.loss == "mean_squared_error"


def defaults_model(data):
    assert SCIKERAS["defaults"]["model"] is None
    X, y, _ = data
    fitted = KerasPipelineClassifier(model__hidden_layer_sizes=(3,), epochs=1).fit(X, y)
    assert fitted.predict(X).shape == (N,) and MLP().get_params()  # the default network trained


def defaults_regressor_targets(reg, data):
    _, _, y = data
    assert reg.target_transformer == "auto"
    scaler = reg.target_encoder_.target_transformer_
    assert isinstance(scaler, StandardScaler) and scaler.mean_[0] == pytest.approx(y.mean())


def defaults_random_state(data):
    X, y, _ = data
    numpy_state = np.random.get_state()[1].copy()
    random.seed(1)  # whatever the global generators hold, the fit's seeds are its own
    a = KerasPipelineClassifier(tiny, epochs=1, random_state=5).fit(X, y).predict_proba(X)
    random.seed(2)
    b = KerasPipelineClassifier(tiny, epochs=1, random_state=5).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)  # not seeded


# -- Parameters, side by side --------------------------------------------------------------------
def params_model(data):
    X, y, _ = data
    model = tiny({"input_shape_": (4,), "n_classes_": 2, "target_type_": "binary",
                  "n_outputs_": 1, "classes_": np.array([0, 1])})
    before = [w.copy() for w in model.get_weights()]
    fitted = KerasPipelineClassifier(model, epochs=1).fit(X, y)
    assert fitted.model_ is not model  # cloned
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # not mutated


def params_build_fn():
    assert "build_fn" in SCIKERAS["parameters"]["KerasClassifier"]
    assert "build_fn" not in KerasPipelineClassifier().get_params()


def params_plain_builder_keywords(data):
    X, y, _ = data
    with pytest.raises(ValueError, match="model__"):
        KerasPipelineClassifier(tiny, hidden=3, epochs=1).fit(X, y)
    fitted = KerasPipelineClassifier(tiny, model__hidden=3, epochs=1).fit(X, y)
    assert fitted.model_.layers[0].units == 3


def params_preprocessor(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, preprocessor=StandardScaler(), epochs=1).fit(X * 10, y)
    np.testing.assert_allclose(fitted.preprocessor_.mean_, (X * 10).mean(axis=0), rtol=1e-4)


def params_warm_start(data):
    X, y, _ = data
    est = KerasPipelineClassifier(tiny, epochs=1, warm_start=True, random_state=0).fit(X, y)
    weights = est.model_.get_weights()
    est.fit(X, y)
    assert len(est.history_["loss"]) == 2  # continued
    assert not all(np.array_equal(a, b) for a, b in zip(weights, est.model_.get_weights()))


def params_random_state(data):
    X, y, _ = data
    for state in (3, np.random.RandomState(3), np.random.default_rng(3), None):
        KerasPipelineClassifier(tiny, epochs=1, random_state=state).fit(X, y)


def params_optimizer(data):
    X, y, _ = data
    given = keras.optimizers.SGD(learning_rate=0.05)
    for optimizer in ("sgd", keras.optimizers.SGD, given):
        fitted = KerasPipelineClassifier(tiny, optimizer=optimizer, epochs=1).fit(X, y)
        assert isinstance(fitted.model_.optimizer, keras.optimizers.SGD)
        assert fitted.model_.optimizer is not given  # an instance is copied


def params_optimizer_routed(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, optimizer="sgd", optimizer__learning_rate=0.05,
                                     epochs=1).fit(X, y)
    assert float(fitted.model_.optimizer.learning_rate) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="optimizer__learning_rate"):
        KerasPipelineClassifier(tiny, optimizer__learning_rate=-1.0, epochs=1).fit(X, y)
    schedule = KerasPipelineClassifier(
        tiny, optimizer="sgd", optimizer__learning_rate=keras.optimizers.schedules.ExponentialDecay,
        optimizer__learning_rate__initial_learning_rate=0.1,
        optimizer__learning_rate__decay_steps=5, optimizer__learning_rate__decay_rate=0.5,
        epochs=1).fit(X, y)
    assert schedule.model_.optimizer.get_config()["learning_rate"]["class_name"] == "ExponentialDecay"


def params_loss(data):
    """Forms of the row; the per-output forms are tested in test_scikeras_forms.py."""
    X, y, _ = data
    by_name = KerasPipelineClassifier(tiny, loss="BinaryCrossentropy", loss__label_smoothing=0.2,
                                      epochs=1).fit(X, y)
    assert by_name.model_.loss.get_config()["label_smoothing"] == pytest.approx(0.2)
    by_class = KerasPipelineClassifier(tiny, loss=keras.losses.BinaryCrossentropy,
                                       loss__from_logits=False, epochs=1).fit(X, y)
    assert isinstance(by_class.model_.loss, keras.losses.BinaryCrossentropy)
    with pytest.raises(RoutedArgumentError, match="not arguments of BinaryCrossentropy"):
        KerasPipelineClassifier(tiny, loss="BinaryCrossentropy", loss__nope=1, epochs=1).fit(X, y)


def params_metrics(data, reg):
    X, y, _ = data
    single = KerasPipelineClassifier(tiny, metrics="acc", epochs=1).fit(X, y)
    assert "acc" in single.history_
    routed = KerasPipelineClassifier(tiny, metrics=[keras.metrics.AUC],
                                     metrics__auc__num_thresholds=9, epochs=1).fit(X, y)
    assert "auc" in routed.history_
    keyed = KerasPipelineRegressor(tiny, metrics=["mae"], epochs=1).fit(X, data[2])
    assert SCIKERAS["behaviour"]["history_key_of_metric_mae"] == "mean_absolute_error"
    assert "mae" in keyed.history_ and "mean_absolute_error" not in keyed.history_


def params_batch_size(data):
    X, y, _ = data
    assert SCIKERAS["behaviour"]["batch_size_minus_one"] == "all rows in one batch"
    fitted = KerasPipelineClassifier(tiny, batch_size=-1, epochs=1, verbose=0).fit(X, y)
    assert fitted.predict(X, batch_size=-1).shape == (N,)
    none = KerasPipelineClassifier(tiny, batch_size=None, epochs=1).fit(X, y)
    assert none.n_iter_ == 1


def params_validation_batch_size(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, validation_split=0.25, validation_batch_size=4,
                                     epochs=1).fit(X, y)
    assert "val_loss" in fitted.history_


def params_verbose(data, capsys):
    X, y, _ = data
    KerasPipelineClassifier(tiny, verbose=False, epochs=1).fit(X, y)
    assert capsys.readouterr().out == ""
    KerasPipelineClassifier(tiny, verbose=True, epochs=1).fit(X, y)  # True means 1


class Counter(keras.callbacks.Callback):
    def __init__(self, start=0):
        super().__init__()
        self.epochs = start

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def params_callbacks(data):
    X, y, _ = data
    given = Counter()
    fitted = KerasPipelineClassifier(tiny, callbacks=[given, Counter], callbacks__1__start=10,
                                     epochs=2).fit(X, y)
    assert given.epochs == 0  # a copy ran
    assert [c.epochs for c in fitted.callbacks_] == [2, 12]


def params_validation_split(data):
    X, y, _ = data
    a = KerasPipelineClassifier(tiny, validation_split=0.2, epochs=1, random_state=0).fit(X, y)
    b = KerasPipelineClassifier(tiny, validation_split=0.2, epochs=1, random_state=0).fit(X, y)
    assert a.history_["val_loss"] == b.history_["val_loss"]  # seeded split


def params_shuffle(data):
    X, y, _ = data
    for shuffle in (True, False):
        KerasPipelineClassifier(tiny, shuffle=shuffle, epochs=1).fit(X, y)


def params_run_eagerly(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, run_eagerly=True, jit_compile=False, epochs=1).fit(X, y)
    assert fitted.model_.run_eagerly is True


def params_epochs(clf):
    assert clf.n_iter_ == 2 and _default("epochs") == 100


def params_class_weight(data):
    X, y, _ = data
    for weight in ({0: 1.0, 1: 3.0}, "balanced"):
        KerasPipelineClassifier(tiny, class_weight=weight, epochs=1).fit(X, y)


def params_early_stopping(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, early_stopping=True, n_iter_no_change=1, tol=10.0,
                                     epochs=20, random_state=0).fit(X, y)
    assert fitted.n_iter_ < 20 and fitted.best_epoch_ is not None


def params_target_transformer(data):
    X, _, y = data
    raw = KerasPipelineRegressor(tiny, target_transformer=None, epochs=1).fit(X, y)
    assert raw.target_encoder_.target_transformer_ is None


def params_fit_predict_routed(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, fit__validation_split=0.2, predict__batch_size=7,
                                     epochs=1).fit(X, y)
    assert "val_loss" in fitted.history_ and fitted.predict(X).shape == (N,)


def params_compile_routed(data):
    X, y, _ = data
    assert "compile" in SCIKERAS["routing_prefixes"]
    with pytest.raises(ValueError, match="compile__"):
        KerasPipelineClassifier(tiny, compile__run_eagerly=True, epochs=1).fit(X, y)


def params_score_routed(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, score__normalize=False, epochs=1).fit(X, y)
    assert fitted.score(X, y) == pytest.approx((fitted.predict(X) == y).sum())


# -- Methods and fitted attributes ---------------------------------------------------------------
def methods_fit(data):
    X, y, _ = data
    est = KerasPipelineClassifier(tiny, epochs=3)
    est.fit(X, y, epochs=1, validation_data=(X[:10], y[:10]))
    assert est.n_iter_ == 1 and est.epochs == 3 and "val_loss" in est.history_


def methods_partial_fit(data):
    X, y, _ = data
    est = KerasPipelineClassifier(tiny, epochs=5).partial_fit(X, y, classes=[0, 1])
    assert est.n_iter_ == 1


def methods_predict(clf, data):
    X, _, _ = data
    np.testing.assert_array_equal(clf.predict_proba(X, batch_size=7), clf.predict_proba(X))
    np.testing.assert_array_equal(clf.predict_proba(X)[:5], clf.predict_proba(X[:5]))


def methods_score(clf, data):
    X, y, _ = data
    assert clf.score(X, y) == pytest.approx((clf.predict(X) == y).mean())


def methods_initialize(data, tmp_path):
    X, y, _ = data
    assert SCIKERAS["behaviour"]["initialize_with_builder"].startswith("builds")
    built = KerasPipelineClassifier(tiny, random_state=0).initialize(X, y)
    assert built.n_iter_ == 0 and built.predict_proba(X).shape == (N, 2)
    built.model_.set_weights([np.zeros_like(w) for w in built.model_.get_weights()])
    np.testing.assert_allclose(built.predict_proba(X), 0.5)
    trained = KerasPipelineClassifier(tiny, epochs=1, random_state=0).fit(X, y)
    wrapped = KerasPipelineClassifier(trained.model_).initialize(X, y)
    np.testing.assert_allclose(wrapped.predict_proba(X), trained.predict_proba(X), rtol=1e-6)
    wrapped.save(tmp_path / "w.skkeras")
    assert wrapped.export_model() is not None
    built.partial_fit(X, y)
    assert built.score(X, y) >= 0


def methods_model_history(clf):
    assert isinstance(clf.model_, keras.Model)
    assert type(clf.history_) is dict and all(type(v) is list for v in clf.history_.values())


def methods_current_epoch(data):
    X, y, _ = data
    assert SCIKERAS["behaviour"]["current_epoch"] == "len(history_['loss'])"
    est = KerasPipelineClassifier(tiny, epochs=2, warm_start=True).fit(X, y)
    est.fit(X, y)
    est.partial_fit(X, y)
    assert len(est.history_["loss"]) == 5  # scikeras's current_epoch
    assert est.n_iter_ == 1  # the epochs of the last call


def methods_initialized(clf):
    check_is_fitted(clf)
    assert not hasattr(clf, "initialized_")


def methods_n_features(data):
    import pandas as pd

    X, y, _ = data
    frame = pd.DataFrame(X, columns=list("abcd"))
    fitted = KerasPipelineClassifier(tiny, epochs=1).fit(frame, y)
    assert fitted.n_features_in_ == 4 and list(fitted.feature_names_in_) == list("abcd")


def methods_classes(clf):
    assert list(clf.classes_) == [0, 1] and clf.n_classes_ == 2
    assert clf.target_type_ == "binary" and clf.n_outputs_ == 1


def methods_meta_attributes(data):
    X, y, _ = data
    seen = {}

    def build(meta):
        seen.update(meta)
        return tiny(meta)

    KerasPipelineClassifier(build, epochs=1).fit(X, y)
    assert seen["X_shape_"] == X.shape and seen["X_dtype_"] == X.dtype
    assert seen["n_outputs_expected_"] == 1 and "y_dtype_" in seen and seen["input_shape_"] == (4,)


def methods_encoders(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, preprocessor=StandardScaler(), epochs=1).fit(X, y)
    assert isinstance(fitted.preprocessor_, StandardScaler)
    assert isinstance(fitted.target_encoder_, ClassifierTargetEncoder)


class SmoothEncoderClassifier(KerasPipelineClassifier):
    @property
    def target_encoder(self):
        return ClassifierTargetEncoder()


def methods_encoder_hooks(data):
    X, y, _ = data
    assert SmoothEncoderClassifier(tiny, epochs=1).fit(X, y).predict(X).shape == (N,)


def methods_pickle(clf, data, tmp_path):
    X, _, _ = data
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    clf.save(tmp_path / "c.skkeras")
    loaded = skkeras_prep.load(tmp_path / "c.skkeras", trusted=[f"{__name__}.tiny"])
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-6)


def methods_export_model(clf, data):
    X, _, _ = data
    out = np.asarray(clf.export_model()(X.astype("float64")))
    np.testing.assert_allclose(out, clf.predict_proba(X), rtol=1e-4, atol=1e-5)


def methods_history_display(clf):
    pytest.importorskip("matplotlib")
    from skkeras_prep.plotting import HistoryDisplay

    assert HistoryDisplay.from_estimator(clf) is not None


# -- What the builder receives -----------------------------------------------------------------
def builder_meta(data):
    X, y, _ = data
    seen = {}

    def build(meta):
        seen["meta"] = meta
        with pytest.raises(KeyError, match="The available keys are"):
            meta["nope"]
        return tiny(meta)

    KerasPipelineClassifier(build, epochs=1).fit(X, y)
    assert {"n_features_in_", "input_shape_", "n_classes_", "n_outputs_", "classes_",
            "target_type_", "random_seed_", "feature_encoder_", "target_encoder_"} <= set(seen["meta"])


def builder_meta_keys_by_name(data):
    X, y, _ = data

    def build(n_features_in_, n_classes_, meta):
        assert n_features_in_ == 4 and n_classes_ == 2
        return tiny(meta)

    KerasPipelineClassifier(build, epochs=1).fit(X, y)


def builder_compile_kwargs(data):
    X, y, _ = data
    seen = {}

    def build(meta, compile_kwargs):
        seen.update(compile_kwargs)
        return tiny(meta)

    KerasPipelineClassifier(build, optimizer="sgd", metrics=["acc"], epochs=1).fit(X, y)
    assert isinstance(seen["optimizer"], keras.optimizers.SGD)
    assert seen["loss"] == "binary_crossentropy" and seen["metrics"] == ["acc"]


def builder_params(data):
    X, y, _ = data
    seen = {}

    def build(meta, params):
        seen.update(params)
        return tiny(meta)

    KerasPipelineClassifier(build, epochs=1, optimizer__learning_rate=0.01).fit(X, y)
    assert seen["epochs"] == 1 and seen["optimizer__learning_rate"] == 0.01


def builder_model_values(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, model__hidden=2, epochs=1).fit(X, y)
    assert fitted.model_.layers[0].units == 2


def builder_plain_keywords(data):
    params_plain_builder_keywords(data)


def builder_argument_mismatch(data):
    X, y, _ = data
    assert SCIKERAS["behaviour"]["builder_argument_mismatch_error"] == "TypeError"
    for error in (TypeError, ValueError):
        with pytest.raises(error, match="not arguments of the model builder"):
            KerasPipelineClassifier(tiny, model__nope=1, epochs=1).fit(X, y)


def one_output_list(meta):
    inp = keras.Input(meta["input_shape_"])
    return keras.Model(inp, [keras.layers.Dense(1, activation="sigmoid")(inp)])


def builder_one_element_outputs(data, tmp_path):
    X, y, _ = data
    assert SCIKERAS["behaviour"]["one_element_output_list"] == "one output"
    fitted = KerasPipelineClassifier(one_output_list, epochs=1).fit(X, y)
    assert fitted.predict(X).shape == (N,)
    fitted.save(tmp_path / "o.skkeras")
    assert fitted.export_model() is not None


ROWS = {
    # Defaults that differ
    "`epochs`": defaults_epochs,
    "`optimizer`": defaults_optimizer,
    "`verbose`": defaults_verbose,
    "`batch_size`": defaults_batch_size,
    "`loss`": defaults_loss,
    "`model`": defaults_model,
    "regressor targets": defaults_regressor_targets,
    "`random_state`": defaults_random_state,
    # Parameters, side by side
    "`model` (callable, `keras.Model`, None)": params_model,
    "`build_fn` (deprecated alias)": params_build_fn,
    "builder arguments as plain keywords (`hidden_layer_sizes=...`)": params_plain_builder_keywords,
    "`preprocessor`": params_preprocessor,
    "`warm_start`": params_warm_start,
    "`optimizer__*`": params_optimizer_routed,
    "`loss`, `loss__*`": params_loss,
    "`metrics`, `metrics__*`": params_metrics,
    "`batch_size` (None → 32; -1 = all rows)": params_batch_size,
    "`validation_batch_size`": params_validation_batch_size,
    "`verbose` (int or bool)": params_verbose,
    "`callbacks` (instances or classes), `callbacks__*`": params_callbacks,
    "`validation_split`": params_validation_split,
    "`shuffle`": params_shuffle,
    "`run_eagerly`": params_run_eagerly,
    "`class_weight` (classifier)": params_class_weight,
    "`early_stopping`, `n_iter_no_change`, `tol`": params_early_stopping,
    "`target_transformer` (regressor)": params_target_transformer,
    "`fit__*`, `predict__*`": params_fit_predict_routed,
    "`compile__*`": params_compile_routed,
    "`score__*`": params_score_routed,
    # Methods and fitted attributes
    "`fit(X, y, sample_weight=None, **kwargs)`": methods_fit,
    "`partial_fit(X, y, ...)`": methods_partial_fit,
    "`predict(X, **kwargs)`, `predict_proba(X, **kwargs)`": methods_predict,
    "`score(X, y, sample_weight=None)`": methods_score,
    "`initialize(X, y)`": methods_initialize,
    "`model_`, `history_`": methods_model_history,
    "`current_epoch`": methods_current_epoch,
    "`initialized_`": methods_initialized,
    "`n_features_in_`, `feature_names_in_`": methods_n_features,
    "`classes_`, `n_classes_`, `target_type_`, `n_outputs_`": methods_classes,
    "`X_shape_`, `X_dtype_`, `y_dtype_`, `n_outputs_expected_`": methods_meta_attributes,
    "`target_encoder_`, `feature_encoder_`": methods_encoders,
    "`target_encoder` / `feature_encoder` (override in a subclass)": methods_encoder_hooks,
    "pickle": methods_pickle,
    "`export_model()`": methods_export_model,
    "`skkeras_prep.plotting.HistoryDisplay`": methods_history_display,
    # What the builder receives
    "`meta`": builder_meta,
    "each meta key by name (`n_classes_`, ...)": builder_meta_keys_by_name,
    "`compile_kwargs`": builder_compile_kwargs,
    "`params`": builder_params,
    "`model__<name>` values": builder_model_values,
    "plain keyword arguments of the estimator (`hidden_layer_sizes=...`)": builder_plain_keywords,
    "a `model__<name>` the builder does not declare, or an argument it needs that is not given":
        builder_argument_mismatch,
    "a model whose outputs are a one-element list or dict (`keras.Model(inp, [out])`)":
        builder_one_element_outputs,
}
# rows whose first cell repeats in two tables ("`optimizer`", "`random_state`", "`epochs`"):
# the Parameters rows of those names are tested by these too
_SHARED = {"`optimizer`": params_optimizer, "`random_state`": params_random_state,
           "`epochs`": params_epochs}


def test_every_row_of_the_guide_has_a_test():
    rows = [row for title in TABLES for row in table_rows(title)]
    missing = sorted(set(rows) - set(ROWS))
    assert not missing, f"rows of docs/migrating-from-scikeras.md without a test: {missing}"
    assert len(rows) >= 50


@pytest.mark.parametrize("row", sorted(set(ROWS) | {f"{k} (parameter)" for k in _SHARED}))
def test_row(row, request):
    test = _SHARED[row[:-len(" (parameter)")]] if row.endswith(" (parameter)") else ROWS[row]
    kwargs = {name: request.getfixturevalue(name) for name in inspect.signature(test).parameters}
    test(**kwargs)


# -- the prose of the guide ----------------------------------------------------------------------
def test_no_stale_marks_in_the_guide():
    assert "issue 12" not in GUIDE and "Assumptions" not in GUIDE and "Status." not in GUIDE


def test_edit_3_rmsprop_replaces_a_builder_compiled_optimizer(data):
    """The guide warns next to edit 3: optimizer="rmsprop" recompiles a builder-compiled model
    with RMSprop, replacing the builder's optimizer (scikeras kept the model's own)."""
    assert "replaced" in GUIDE[GUIDE.index("3. set the defaults"):GUIDE.index("## Defaults")]
    assert SCIKERAS["behaviour"]["compiled_model_with_optimizer_set"] == "keeps the model's own optimizer"
    X, y, _ = data
    kept = KerasPipelineClassifier(compiled, epochs=1).fit(X, y)
    assert isinstance(kept.model_.optimizer, keras.optimizers.SGD)
    replaced = KerasPipelineClassifier(compiled, optimizer="rmsprop", epochs=1).fit(X, y)
    assert isinstance(replaced.model_.optimizer, keras.optimizers.RMSprop)


def test_single_class_y_is_refused_with_the_reason(data):
    """scikeras trains on one class; here fit raises a clear error (the guide says why;
    scikit-learn's check_classifiers_one_label accepts either behaviour)."""
    assert SCIKERAS["behaviour"]["single_class_y"] == "trains"
    assert "check_classifiers_one_label" in GUIDE
    X, _, _ = data
    with pytest.raises(ValueError, match=r"only one class \(\[7\]\); a classifier needs"):
        KerasPipelineClassifier(tiny, epochs=1).fit(X, np.full(N, 7))


def test_the_rewrapping_trap_is_documented_where_model_is():
    assert "export_model()" in KerasPipelineRegressor.__doc__.split("model_ : keras.Model")[1][:600]
    assert "The trap of re-wrapping `model_`" in GUIDE


# -- the migration guide covers every scikeras parameter ---------------------------------------
def _parameter_rows():
    table = GUIDE[GUIDE.index("## Parameters, side by side"):GUIDE.index("## Methods and fitted attributes")]
    return [line.split("|")[1] for line in table.splitlines() if line.startswith("| ")]


def _unmapped(names):
    rows = _parameter_rows()
    return sorted(n for n in names if not any(f"`{n}`" in row or f"`{n} " in row or f"`{n}__" in row
                                              for row in rows))


def test_the_migration_guide_maps_every_recorded_scikeras_parameter():
    names = set(SCIKERAS["parameters"]["KerasClassifier"]) | set(SCIKERAS["parameters"]["KerasRegressor"])
    missing = _unmapped(names)
    assert not missing, f"the guide's parameter table has no row for {missing}"


def test_the_migration_guide_maps_every_scikeras_parameter():
    """docs/migrating-from-scikeras.md has a row for each constructor parameter of scikeras's
    estimators (read from scikeras itself, which the bench extra installs)."""
    wrappers = pytest.importorskip("scikeras.wrappers")
    names = set()
    for cls in (wrappers.KerasClassifier, wrappers.KerasRegressor):
        names.update(p.name for p in inspect.signature(cls.__init__).parameters.values()
                     if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD)
    names.discard("self")
    missing = _unmapped(names)
    assert not missing, f"the guide's parameter table has no row for {missing}"
