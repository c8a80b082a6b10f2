"""Issue 23: the forms scikeras code commonly uses. One-element output lists, ``initialize``
with a builder, metric and loss forms, ``batch_size=-1``, pickling with the user's own Keras
classes, ``n_iter_`` under ``warm_start`` / ``partial_fit``, the re-wrapping trap of a
regressor's ``model_``, and the error class of builder-argument mismatches.

Tiny models, 1-2 epochs, 60 rows."""

import pickle
import warnings

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import scikeras_user_objects as user
import skkeras_prep
from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor
from skkeras_prep.exceptions import InvalidParameterError, RoutedArgumentError

N = 60


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 4)).astype("float32")
    y_bin = (X[:, 0] + X[:, 1] > 0).astype(int)
    y_multi = np.digitize(X[:, 2], [-0.5, 0.5])
    y_reg = 100.0 + 40.0 * X[:, 0] + 5.0 * X[:, 1]
    return X, y_bin, y_multi, y_reg


def _listed(meta, units, activation):
    """The scikeras style: a functional model whose outputs are a list of one."""
    inp = keras.Input((meta["n_features_in_"],))
    hidden = keras.layers.Dense(8, activation="relu")(inp)
    out = keras.layers.Dense(units, activation=activation)(hidden)
    return keras.Model(inp, [out])


def binary_listed(meta):
    return _listed(meta, 1, "sigmoid")


def multiclass_listed(meta):
    return _listed(meta, 3, "softmax")


def regression_listed(meta):
    return _listed(meta, 1, None)


def _one_element_dict(meta):
    inp = keras.Input((meta["n_features_in_"],))
    return keras.Model(inp, {"value": keras.layers.Dense(1, name="value")(inp)})


def _name(function):
    return f"{function.__module__}.{function.__qualname__}"


# -- 1. one-element output lists -------------------------------------------------------------
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression", "regression-dict"])
def test_one_element_outputs_fit_predict_save_and_export(data, kind, tmp_path):
    X, y_bin, y_multi, y_reg = data
    if kind == "binary":
        est, y = KerasPipelineClassifier(binary_listed), y_bin
    elif kind == "multiclass":
        est, y = KerasPipelineClassifier(multiclass_listed), y_multi
    elif kind == "regression":
        est, y = KerasPipelineRegressor(regression_listed), y_reg
    else:
        est, y = KerasPipelineRegressor(_one_element_dict), y_reg
    est.set_params(epochs=2, random_state=0).fit(X, y)
    assert isinstance(est.model_.outputs if kind != "regression-dict" else est.model_.output,
                      (list, dict))  # the model is kept as written
    pred = est.predict(X)
    assert pred.shape == (N,)
    if kind != "regression-dict":
        assert est.target_encoder_.__class__.__name__ != "MultiOutputEncoder"
    expected = est.predict_proba(X) if kind in ("binary", "multiclass") else pred
    est.save(tmp_path / "one.skkeras")
    loaded = skkeras_prep.load(tmp_path / "one.skkeras", trusted=[_name(est.model)])
    np.testing.assert_allclose(
        loaded.predict_proba(X) if kind in ("binary", "multiclass") else loaded.predict(X),
        expected, rtol=1e-5, atol=1e-6)
    exported = est.export_model()
    out = np.asarray(exported(X.astype("float64")))
    np.testing.assert_allclose(out.reshape(expected.shape), expected, rtol=1e-4, atol=1e-4)


# -- 2. initialize with a builder --------------------------------------------------------------
def _tiny(meta, hidden=4):
    from skkeras_prep.models import output_units

    units, activation = output_units(meta)
    return keras.Sequential([keras.Input(meta["input_shape_"]),
                             keras.layers.Dense(hidden, activation="relu"),
                             keras.layers.Dense(units, activation=activation)])


@pytest.mark.parametrize("builder", ["function", "model__", "default"])
def test_initialize_builds_and_compiles_without_training(data, builder, tmp_path):
    X, y_bin, _, _ = data
    params = {"function": dict(model=_tiny), "model__": dict(model=_tiny, model__hidden=3),
              "default": dict(model=None, model__hidden_layer_sizes=(3,))}[builder]
    clf = KerasPipelineClassifier(**params, epochs=1, random_state=0)
    assert clf.initialize(X, y_bin) is clf
    assert clf.n_iter_ == 0 and clf.history_ == {}
    first_hidden = next(layer for layer in clf.model_.layers if layer.get_weights()).get_weights()[0]
    assert first_hidden.shape == (4, 4 if builder == "function" else 3)
    proba = clf.predict_proba(X)
    assert proba.shape == (N, 2) and np.allclose(proba.sum(axis=1), 1)
    assert 0 <= clf.score(X, y_bin) <= 1
    # model_ is there to modify: zero weights give 0.5 everywhere
    clf.model_.set_weights([np.zeros_like(w) for w in clf.model_.get_weights()])
    np.testing.assert_allclose(clf.predict_proba(X), 0.5)
    clf.save(tmp_path / "init.skkeras")
    loaded = skkeras_prep.load(tmp_path / "init.skkeras", trusted=[_name(_tiny)])
    np.testing.assert_allclose(loaded.predict_proba(X), 0.5)
    clf.partial_fit(X, y_bin)  # trains the initialized model: one epoch
    assert clf.n_iter_ == 1 and len(clf.history_["loss"]) == 1
    assert not np.allclose(clf.predict_proba(X), 0.5)


def test_initialize_with_a_builder_is_seeded_like_fit(data):
    X, y_bin, _, _ = data
    a = KerasPipelineClassifier(_tiny, random_state=3).initialize(X, y_bin)
    b = KerasPipelineClassifier(_tiny, random_state=3).initialize(X, y_bin)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


# -- 3. metric forms ---------------------------------------------------------------------------
@pytest.mark.parametrize("metrics, key", [
    ("acc", "acc"),
    (keras.metrics.AUC(name="auc"), "auc"),
    (keras.metrics.AUC, "auc"),
])
def test_a_single_metric_is_a_list_of_one(data, metrics, key):
    X, y_bin, _, _ = data
    clf = KerasPipelineClassifier(_tiny, metrics=metrics, epochs=1, random_state=0).fit(X, y_bin)
    # the key Keras reports for that form (a class's default name gets a process-wide
    # counter suffix from Keras: "auc", "auc_1", ...)
    assert [k for k in clf.history_ if k == key or k.startswith(key + "_")] != []


def test_history_keys_are_what_keras_reports(data):
    """scikeras renames "mae" to "mean_absolute_error"; here history_ has Keras's key."""
    X, _, _, y_reg = data
    reg = KerasPipelineRegressor(_tiny, metrics=["mae"], epochs=1, random_state=0).fit(X, y_reg)
    assert "mae" in reg.history_ and "mean_absolute_error" not in reg.history_


def _two_heads(meta):
    inp = keras.Input(meta["input_shape_"])
    return keras.Model(inp, {"a": keras.layers.Dense(1, name="a")(inp),
                             "b": keras.layers.Dense(1, name="b")(inp)})


def test_metrics_per_output_lists_of_lists(data):
    X, _, _, y_reg = data
    reg = KerasPipelineRegressor(
        _two_heads, metrics=[["mae"], ["mae", "mse"]], epochs=1, random_state=0,
    ).fit(X, {"a": y_reg, "b": -y_reg})
    assert {"a_mae", "b_mae", "b_mse"} <= set(reg.history_)
    assert "a_mse" not in reg.history_
    with pytest.raises(ValueError, match=r"`metrics` is a list of 3, but the model has 2 outputs"):
        KerasPipelineRegressor(_two_heads, metrics=[["mae"]] * 3, epochs=1).fit(
            X, {"a": y_reg, "b": -y_reg})


def test_metric_class_with_routed_arguments_by_name(data):
    X, y_bin, _, _ = data
    clf = KerasPipelineClassifier(
        _tiny, metrics=[keras.metrics.AUC], metrics__auc__num_thresholds=7, epochs=1,
        random_state=0,
    ).fit(X, y_bin)
    auc = [m for m in clf.model_.metrics if isinstance(m, keras.metrics.AUC)]
    if not auc:  # Keras keeps compiled metrics inside a container
        from skkeras_prep._compat import keras_compiled_metrics

        auc = [m for m in keras_compiled_metrics(clf.model_) if isinstance(m, keras.metrics.AUC)]
    assert auc[0].num_thresholds == 7
    with pytest.raises(RoutedArgumentError, match=r"not arguments of AUC"):
        KerasPipelineClassifier(_tiny, metrics=[keras.metrics.AUC], metrics__auc__bogus=1,
                                epochs=1).fit(X, y_bin)


# -- 4. loss forms -----------------------------------------------------------------------------
def test_loss_list_one_per_output(data):
    X, _, _, y_reg = data
    reg = KerasPipelineRegressor(_two_heads, loss=["mse", "mae"], epochs=1,
                                 random_state=0).fit(X, {"a": y_reg, "b": -y_reg})
    assert reg.model_.loss == {"a": "mse", "b": "mae"}
    with pytest.raises(ValueError, match=r"`loss` is a list of 3, but the model has 2 outputs"):
        KerasPipelineRegressor(_two_heads, loss=["mse"] * 3, epochs=1).fit(
            X, {"a": y_reg, "b": -y_reg})


def test_loss_dict_naming_some_outputs_gets_defaults_for_the_others(data):
    X, _, _, y_reg = data
    reg = KerasPipelineRegressor(_two_heads, loss={"b": "mae"}, epochs=1,
                                 random_state=0).fit(X, {"a": y_reg, "b": -y_reg})
    assert reg.model_.loss == {"a": "mean_squared_error", "b": "mae"}
    with pytest.raises(ValueError, match=r"`loss` names \['c'\]"):
        KerasPipelineRegressor(_two_heads, loss={"c": "mae"}, epochs=1).fit(
            X, {"a": y_reg, "b": -y_reg})


def test_loss_class_by_name_with_routed_arguments(data):
    X, y_bin, _, _ = data
    clf = KerasPipelineClassifier(_tiny, loss="BinaryCrossentropy", loss__label_smoothing=0.1,
                                  epochs=1, random_state=0).fit(X, y_bin)
    assert isinstance(clf.model_.loss, keras.losses.BinaryCrossentropy)
    assert clf.model_.loss.get_config()["label_smoothing"] == pytest.approx(0.1)
    plain = KerasPipelineClassifier(_tiny, loss="BinaryCrossentropy", epochs=1).fit(X, y_bin)
    assert isinstance(plain.model_.loss, keras.losses.BinaryCrossentropy)
    with pytest.raises(RoutedArgumentError, match=r"\['bogus'\] are not arguments of BinaryCrossentropy"):
        KerasPipelineClassifier(_tiny, loss="BinaryCrossentropy", loss__bogus=1,
                                epochs=1).fit(X, y_bin)


def test_nested_loss_arguments_build_the_inner_object(data):
    """loss__<arg>__<sub>, as scikeras routes it: the argument given as a class is made with
    the <sub> arguments, then the loss with it."""
    X, _, _, y_reg = data
    reg = KerasPipelineRegressor(_tiny, loss=user.ScaledLoss, loss__scale=user.Scale,
                                 loss__scale__factor=2.5, epochs=1, random_state=0).fit(X, y_reg)
    assert isinstance(reg.model_.loss.scale, user.Scale) and reg.model_.loss.scale.factor == 2.5
    with pytest.raises(RoutedArgumentError, match=r"\['bogus'\] are not arguments of Scale"):
        KerasPipelineRegressor(_tiny, loss=user.ScaledLoss, loss__scale=user.Scale,
                               loss__scale__bogus=1, epochs=1).fit(X, y_reg)


def test_nested_routed_arguments_build_the_inner_object(data):
    X, y_bin, _, _ = data
    clf = KerasPipelineClassifier(
        _tiny, optimizer="sgd",
        optimizer__learning_rate=keras.optimizers.schedules.ExponentialDecay,
        optimizer__learning_rate__initial_learning_rate=0.05,
        optimizer__learning_rate__decay_steps=10,
        optimizer__learning_rate__decay_rate=0.5, epochs=1, random_state=0,
    ).fit(X, y_bin)
    schedule = clf.model_.optimizer.learning_rate_schedule if hasattr(
        clf.model_.optimizer, "learning_rate_schedule") else clf.model_.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.ExponentialDecay)
    assert schedule.decay_steps == 10


@pytest.mark.parametrize("params, match", [
    # below an object given as an instance: no arguments to take
    (dict(optimizer="sgd", optimizer__learning_rate=0.1, optimizer__learning_rate__decay_steps=3),
     r"optimizer__learning_rate__decay_steps routes an argument below optimizer__learning_rate=0.1"),
    # below an argument not given at all
    (dict(loss="BinaryCrossentropy", loss__reduction__x=1),
     r"loss__reduction__x routes an argument below loss__reduction, which is not given"),
    # a class that takes no such argument
    (dict(optimizer="sgd", optimizer__learning_rate=keras.optimizers.schedules.ExponentialDecay,
          optimizer__learning_rate__bogus=1),
     r"\['bogus'\] are not arguments of ExponentialDecay"),
    (dict(optimizer="adam", optimizer__bogus=1), r"Could not make Adam from the optimizer__ arguments"),
])
def test_a_key_below_an_object_without_that_argument_is_refused(data, params, match):
    X, y_bin, _, _ = data
    with pytest.raises(RoutedArgumentError, match=match):
        KerasPipelineClassifier(_tiny, epochs=1, **params).fit(X, y_bin)


# -- 5. batch_size=-1 --------------------------------------------------------------------------
def test_batch_size_minus_one_is_all_rows_in_one_batch(data):
    X, y_bin, _, _ = data

    class Batches(keras.callbacks.Callback):
        count = 0

        def on_train_batch_end(self, batch, logs=None):
            Batches.count += 1

    clf = KerasPipelineClassifier(_tiny, batch_size=-1, epochs=2, callbacks=[Batches],
                                  random_state=0).fit(X, y_bin)
    assert Batches.count == 2  # one batch per epoch
    full = clf.predict_proba(X, batch_size=-1)
    np.testing.assert_array_equal(full, clf.predict_proba(X))
    with pytest.raises(InvalidParameterError, match="batch_size"):
        KerasPipelineClassifier(_tiny, batch_size=-2, epochs=1).fit(X, y_bin)


# -- 6. pickling with the user's own Keras classes ----------------------------------------------
@pytest.mark.parametrize("params", [
    dict(loss=user.CustomLoss()),
    dict(loss=user.RegisteredLoss()),
    dict(metrics=[user.CustomMetric]),
    dict(model=user.subclassed_builder),
    dict(loss=user.squared_error),
    dict(metrics=[user.absolute_error]),
    dict(loss=[user.squared_error], metrics=[[user.absolute_error]]),
], ids=["unregistered-loss", "registered-loss", "metric-class", "model-subclass",
        "loss-function", "metric-function", "functions-in-lists"])
def test_pickle_round_trips_user_classes_then_keeps_training(data, params):
    X, _, _, y_reg = data
    est = KerasPipelineRegressor(**{"model": _tiny, **params}, epochs=1, random_state=0)
    clone(est)  # a search clones first: Keras deep-copies a loss through the same round trip
    est.fit(X, y_reg)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.predict(X), est.predict(X), rtol=1e-6)
    again.partial_fit(X, y_reg)
    assert again.n_iter_ == 1 and len(again.history_["loss"]) == 2
    if params.get("metrics") == [user.CustomMetric]:
        assert "custom_metric" in again.history_
    if params.get("metrics") == [user.absolute_error]:
        assert "absolute_error" in again.history_
    if "model" in params:
        assert type(again.model_) is user.LinearModel


@pytest.mark.parametrize("params", [
    dict(loss={"a": user.CustomLoss(), "b": user.CustomLoss()}),
    dict(metrics=[[user.CustomMetric()], [user.CustomMetric()]]),
], ids=["dict-of-losses", "metrics-per-output"])
def test_clone_and_pickle_find_user_classes_at_any_depth(params):
    """A search clones first, and Keras deep-copies each loss or metric instance through the
    same file round trip as pickle: the user's classes are found inside dicts and nested
    lists too (a loss or metrics per output), not only at the top."""
    est = KerasPipelineClassifier(_tiny, **params, epochs=1)
    copied = clone(est)
    unpickled = pickle.loads(pickle.dumps(est))
    key = next(iter(params))
    for other in (copied, unpickled):
        got, want = other.get_params()[key], params[key]
        flat = list(got.values()) if isinstance(got, dict) else [m for ms in got for m in ms]
        expected = list(want.values()) if isinstance(want, dict) else [m for ms in want for m in ms]
        assert [type(o) for o in flat] == [type(o) for o in expected]
        assert all(o is not e for o, e in zip(flat, expected))  # copies, not the same objects


def test_a_class_defined_inside_a_function_is_refused_by_name(data):
    X, _, _, y_reg = data

    class LocalLoss(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    est = KerasPipelineRegressor(_tiny, loss=LocalLoss(), epochs=1).fit(X, y_reg)
    with pytest.raises(pickle.PicklingError, match=r"'LocalLoss'.*top level of a module"):
        pickle.dumps(est)


# -- 7. n_iter_ under warm_start and partial_fit -----------------------------------------------
def test_n_iter_counts_the_epochs_of_the_last_call_like_mlp(data):
    """The rule: n_iter_ is the epochs the last fit or partial_fit ran, as MLPClassifier
    reports them (run side by side here, so a change in scikit-learn shows); history_ keeps
    every epoch of a continued model (scikeras's current_epoch is len(history_["loss"]))."""
    X, y_bin, _, _ = data
    clf = KerasPipelineClassifier(_tiny, epochs=2, warm_start=True, random_state=0).fit(X, y_bin)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of the tiny MLP fits
        mlp = MLPClassifier((2,), max_iter=2, warm_start=True, random_state=0).fit(X, y_bin)
        assert clf.n_iter_ == mlp.n_iter_ == 2
        clf.set_params(epochs=1).fit(X, y_bin)
        mlp.set_params(max_iter=1).fit(X, y_bin)
        assert clf.n_iter_ == mlp.n_iter_ == 1
        assert len(clf.history_["loss"]) == 3  # warm_start: the history goes on
        clf.partial_fit(X, y_bin)
        clf.partial_fit(X, y_bin)
        mlp.partial_fit(X, y_bin)
        mlp.partial_fit(X, y_bin)
        assert clf.n_iter_ == mlp.n_iter_ == 1
        assert len(clf.history_["loss"]) == 5


# -- 8. re-wrapping model_ of a regressor -----------------------------------------------------
def test_rewrapping_a_standardized_model_warns_and_export_model_is_raw(data):
    X, _, _, y_reg = data
    reg = KerasPipelineRegressor(_tiny, epochs=2, random_state=0).fit(X, y_reg)
    assert abs(reg.predict(X).mean() - y_reg.mean()) < 50  # raw units
    assert abs(reg.model_.predict(X, verbose=0).mean()) < 5  # model_ predicts standardized y
    with pytest.warns(skkeras_prep.SkKerasPrepWarning, match=r"export_model\(\)"):
        KerasPipelineRegressor(reg.model_).initialize(X, y_reg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        named = KerasPipelineRegressor(reg.model_, target_transformer=StandardScaler())
        np.testing.assert_allclose(named.initialize(X, y_reg).predict(X), reg.predict(X), rtol=1e-5)
    exported = reg.export_model()
    np.testing.assert_allclose(np.asarray(exported(X.astype("float64"))).ravel(), reg.predict(X),
                               rtol=1e-4)


# -- 9. error class of builder-argument mismatches ---------------------------------------------
def test_builder_argument_mismatch_is_both_value_and_type_error(data):
    X, y_bin, _, _ = data
    for error in (ValueError, TypeError, RoutedArgumentError, InvalidParameterError):
        with pytest.raises(error, match=r"\['hiden'\] are not arguments of the model builder"):
            KerasPipelineClassifier(_tiny, model__hiden=3, epochs=1).fit(X, y_bin)

    def needs(meta, width):
        return _tiny(meta, width)

    with pytest.raises(TypeError, match=r"needs argument\(s\) \['width'\]"):
        KerasPipelineClassifier(needs, epochs=1).fit(X, y_bin)
