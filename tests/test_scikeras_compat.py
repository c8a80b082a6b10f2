"""Issue 12: no setting is ignored silently, and scikeras's interface works (compiled models,
subclasses with ``_keras_build_fn``, fit/predict keyword arguments and routed prefixes,
builder arguments, ``initialize``, accepted values, logits, ``callbacks_``).

Tiny models on iris, 1-3 epochs."""

import keras
import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.preprocessing import StandardScaler

import skkeras_prep
from skkeras_prep import ClassifierTargetEncoder, KerasPipelineClassifier, KerasPipelineRegressor
from skkeras_prep.models import output_units


def tiny(meta):
    units, activation = output_units(meta)
    return keras.Sequential([keras.Input(meta["input_shape_"]),
                             keras.layers.Dense(units, activation=activation)])


def compiled_adam(meta):
    model = tiny(meta)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class BatchCounter(keras.callbacks.Callback):
    """Stateful: counts the training and the validation batches it saw."""

    def __init__(self):
        super().__init__()
        self.train_batches = 0
        self.test_batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.train_batches += 1

    def on_test_batch_end(self, batch, logs=None):
        self.test_batches += 1


# -- 1. compiled models ----------------------------------------------------------------------
def test_compiled_model_keeps_what_is_unset_and_takes_what_is_set(iris):
    X, y = iris
    kept = KerasPipelineClassifier(compiled_adam, epochs=1, random_state=0).fit(X, y)
    assert isinstance(kept.model_.optimizer, keras.optimizers.Adam)
    assert kept.model_.loss == "sparse_categorical_crossentropy"
    assert "accuracy" in kept.history_  # the model's own metrics stay

    set_ = KerasPipelineClassifier(
        compiled_adam, optimizer="sgd", optimizer__learning_rate=0.5,
        loss="categorical_crossentropy", epochs=1, random_state=0,
    ).fit(X, y)
    assert isinstance(set_.model_.optimizer, keras.optimizers.SGD)
    assert float(set_.model_.optimizer.learning_rate) == pytest.approx(0.5)
    assert set_.model_.loss == "categorical_crossentropy"
    assert "accuracy" in set_.history_  # metrics were not set: the model's stay

    # a routed argument alone applies to the model's own optimizer
    lr_only = KerasPipelineClassifier(compiled_adam, optimizer__learning_rate=0.25, epochs=1).fit(X, y)
    assert isinstance(lr_only.model_.optimizer, keras.optimizers.Adam)
    assert float(lr_only.model_.optimizer.learning_rate) == pytest.approx(0.25)


def test_a_searched_learning_rate_changes_a_compiled_model(iris):
    X, y = iris
    est = KerasPipelineClassifier(compiled_adam, epochs=3, batch_size=16, random_state=0)
    search = GridSearchCV(est, {"optimizer__learning_rate": [1e-6, 0.3]}, cv=2).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert scores[1] > scores[0]  # same seeds and folds: only the learning rate differs
    assert float(search.best_estimator_.model_.optimizer.learning_rate) == pytest.approx(0.3)


# -- 2. subclassing --------------------------------------------------------------------------
class SubclassedMLP(KerasPipelineClassifier):
    """The scikeras pattern: own __init__ parameters plus _keras_build_fn."""

    def __init__(self, hidden_units=8, epochs=2, **kwargs):
        super().__init__(epochs=epochs, **kwargs)
        self.hidden_units = hidden_units

    def _keras_build_fn(self, compile_kwargs):
        model = keras.Sequential([
            keras.Input((self.n_features_in_,)),
            keras.layers.Dense(self.hidden_units, activation="relu"),
            keras.layers.Dense(self.n_classes_, activation="softmax"),
        ])
        model.compile(loss="sparse_categorical_crossentropy", optimizer=compile_kwargs["optimizer"])
        return model


def test_subclass_keras_build_fn_is_called_and_its_parameters_are_searchable(iris):
    X, y = iris
    est = SubclassedMLP(hidden_units=5, optimizer__learning_rate=0.05, random_state=0)
    params = est.get_params()
    assert params["hidden_units"] == 5 and params["epochs"] == 2
    assert params["optimizer__learning_rate"] == 0.05 and params["batch_size"] == 32
    twin = clone(est).set_params(hidden_units=3)
    twin.fit(X, y)
    assert twin.model_.layers[0].units == 3
    assert float(twin.model_.optimizer.learning_rate) == pytest.approx(0.05)
    assert not hasattr(est, "n_classes_")  # the estimator itself was not touched
    with pytest.raises(ValueError, match="_keras_build_fn.*model="):
        SubclassedMLP(model=tiny).fit(X, y)


# -- 3. keyword arguments and routed prefixes ------------------------------------------------
def test_epochs_precedence_call_over_fit_prefix_over_constructor(iris):
    X, y = iris
    est = KerasPipelineClassifier(tiny, epochs=4, random_state=0)
    assert clone(est).fit(X, y).n_iter_ == 4
    est.set_params(fit__epochs=3)
    assert est.fit(X, y, epochs=1).n_iter_ == 1  # the call wins
    assert clone(est).fit(X, y).n_iter_ == 3  # clone keeps fit__epochs, not the call's value
    with pytest.raises(TypeError, match="unexpected argument.*'epoch'.*accepts"):
        est.fit(X, y, epoch=2)
    with pytest.raises(ValueError, match="fit__steps.*accepts"):
        clone(est).set_params(fit__steps=2).fit(X, y)


def test_validation_data_goes_through_the_fitted_preprocessor(iris):
    X, y = iris
    order = np.random.default_rng(0).permutation(len(y))
    X, y = X[order] * 100 + 1000, y[order]  # an untransformed X_val would give a huge loss
    est = KerasPipelineClassifier(tiny, preprocessor=StandardScaler(), epochs=2, random_state=0)
    est.fit(X[:100], y[:100], validation_data=(X[100:], y[100:]), verbose=False)
    proba = est.predict_proba(X[100:])
    expected = -np.mean(np.log(proba[np.arange(50), np.searchsorted(est.classes_, y[100:])]))
    assert est.history_["val_loss"][-1] == pytest.approx(expected, rel=1e-3)
    with pytest.raises(ValueError, match="both validation_data and validation_split"):
        est.fit(X, y, validation_data=(X, y), validation_split=0.2)


def test_fit_callbacks_class_weight_and_predict_batch_size(iris):
    X, y = iris
    counter = BatchCounter()
    est = KerasPipelineClassifier(tiny, epochs=2, batch_size=50, random_state=0,
                                  predict__batch_size=7)
    est.fit(X, y, callbacks=[counter], class_weight={0: 1.0, 1: 2.0, 2: 1.0})
    assert counter.train_batches == 0  # the fit worked on a copy
    assert est.callbacks_[0].train_batches == 2 * 3
    np.testing.assert_array_equal(est.predict_proba(X), est.predict_proba(X, batch_size=1000))
    with pytest.raises(ValueError, match="class_weight has keys \\[7\\]"):
        est.fit(X, y, class_weight={7: 1.0})
    with pytest.raises(TypeError, match="predict\\(\\) got unexpected argument.*steps"):
        est.predict(X, steps=2)
    with pytest.raises(ValueError, match="batch_size"):
        est.predict(X, batch_size=0)


def test_metrics_and_score_prefixes(iris):
    X, y = iris
    est = KerasPipelineClassifier(tiny, metrics=[keras.metrics.SparseTopKCategoricalAccuracy],
                                  metrics__k=3, epochs=1, random_state=0)
    est.fit(X, y)
    assert est.history_["sparse_top_k_categorical_accuracy"] == [1.0]  # k=3 of 3 classes
    accuracy = est.score(X, y)
    assert est.set_params(score__normalize=False).score(X, y) == pytest.approx(accuracy * len(y))

    y2 = np.column_stack([X[:, 0], X[:, 1] * 10])
    reg = KerasPipelineRegressor(tiny, epochs=1, random_state=0, score__multioutput="raw_values")
    assert reg.fit(X, y2).score(X, y2).shape == (2,)


def test_fit_keywords_are_not_routable_with_metadata_routing_but_sample_weight_is(iris):
    X, y = iris
    est = KerasPipelineClassifier(tiny, epochs=1, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises((TypeError, ValueError), match="epochs"):
            GridSearchCV(clone(est), {"batch_size": [16]}, cv=2).fit(X, y, epochs=2)
        weighted = clone(est).set_fit_request(sample_weight=True).set_score_request(
            sample_weight=False)
        result = cross_validate(weighted, X, y, cv=2, params={"sample_weight": np.ones(len(y))})
        assert len(result["test_score"]) == 2


# -- 4. builder arguments, meta, target encoder hook ------------------------------------------
def test_builder_gets_compile_kwargs_params_and_meta(iris):
    X, y = iris
    seen = {}

    def builder(meta, compile_kwargs, params):
        seen.update(compile_kwargs=compile_kwargs, params=params, meta=meta)
        with pytest.raises(KeyError, match="no key 'n_feature_in_'.*n_features_in_"):
            meta["n_feature_in_"]
        model = tiny(meta)
        model.compile(**compile_kwargs)
        return model

    est = KerasPipelineClassifier(builder, preprocessor=StandardScaler(), optimizer="sgd",
                                  optimizer__learning_rate=0.2, metrics=["accuracy"], epochs=1)
    est.fit(X, y)
    kwargs, meta = seen["compile_kwargs"], seen["meta"]
    assert isinstance(kwargs["optimizer"], keras.optimizers.SGD)
    assert float(kwargs["optimizer"].learning_rate) == pytest.approx(0.2)
    assert kwargs["loss"] == "sparse_categorical_crossentropy" and kwargs["metrics"] == ["accuracy"]
    assert seen["params"]["optimizer__learning_rate"] == 0.2
    assert meta["X_shape_"] == (150, 4) and meta["X_dtype_"] == X.dtype
    assert meta["y_dtype_"] == y.dtype and meta["n_outputs_expected_"] == 1
    assert isinstance(meta["feature_encoder_"], StandardScaler)
    assert meta["target_encoder_"] is est.target_encoder_


class SmoothedTargets(ClassifierTargetEncoder):
    """A custom target encoding: one-hot rows with label smoothing."""

    def encode(self, y):
        one_hot = super().encode(y).astype(np.float32)
        return one_hot * 0.8 + 0.2 / one_hot.shape[1]


class SmoothedClassifier(KerasPipelineClassifier):
    @property
    def target_encoder(self):
        return SmoothedTargets()


def test_target_encoder_hook(iris):
    X, y = iris
    est = SmoothedClassifier(tiny, loss="categorical_crossentropy", epochs=1, random_state=0)
    plain = KerasPipelineClassifier(tiny, loss="categorical_crossentropy", epochs=1, random_state=0)
    est.fit(X, y)
    plain.fit(X, y)
    assert isinstance(est.target_encoder_, SmoothedTargets)
    # same seed, same model: only the smoothed targets make the losses differ
    assert est.history_["loss"][0] != pytest.approx(plain.history_["loss"][0], rel=1e-3)
    assert est.predict(X).shape == (150,)

    class Wrong(KerasPipelineClassifier):
        target_encoder = property(lambda self: StandardScaler())

    with pytest.raises(TypeError, match="ClassifierTargetEncoder"):
        Wrong(tiny, epochs=1).fit(X, y)


# -- 5. initialize ---------------------------------------------------------------------------
def test_initialize_wraps_a_trained_model(iris, tmp_path):
    X, y = iris
    X = X.astype(np.float32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    model.fit(X, y, epochs=20, verbose=0)
    weights = [w.copy() for w in model.get_weights()]
    est = KerasPipelineClassifier(model).initialize(X, y)
    assert est.n_iter_ == 0 and est.history_ == {}
    np.testing.assert_allclose(est.predict_proba(X), model.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    assert est.score(X, y) > 0.6
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # the given model was not changed
    path = tmp_path / "wrapped.skkp"
    est.save(path)
    np.testing.assert_allclose(skkeras_prep.load(path).predict_proba(X), est.predict_proba(X))
    exported = est.export_model()
    np.testing.assert_allclose(np.asarray(exported(X)), est.predict_proba(X), rtol=1e-5, atol=1e-6)
    built = KerasPipelineClassifier(tiny).initialize(X, y)  # a builder: built, untrained
    assert built.n_iter_ == 0 and built.predict_proba(X).shape == (len(X), 3)


# -- 6. accepted values ----------------------------------------------------------------------
def test_accepted_values(iris):
    X, y = iris
    counter = BatchCounter()
    est = KerasPipelineClassifier(
        tiny, epochs=1, batch_size=None, verbose=False, validation_split=0.2,
        validation_batch_size=10, run_eagerly=True, jit_compile=False, callbacks=[counter],
        random_state=0,
    ).fit(X, y)
    assert est.callbacks_[0].train_batches == 4  # 120 rows, the class default of 32
    assert est.callbacks_[0].test_batches == 3  # 30 rows in batches of 10
    assert est.model_.run_eagerly is True and est.model_.jit_compile is False
    reg = KerasPipelineRegressor(tiny, epochs=1, batch_size=None, callbacks=[counter]).fit(X, y)
    assert reg.callbacks_[0].train_batches == 3  # 150 rows, the regressor's default of 64
    with pytest.raises(ValueError, match="'verbose' must be"):
        clone(est).set_params(verbose=3).fit(X, y)


# -- 7. logits -------------------------------------------------------------------------------
def linear(meta):
    units, _ = output_units(meta)
    return keras.Sequential([keras.Input(meta["input_shape_"]), keras.layers.Dense(units)])


@pytest.mark.parametrize("target,loss,routed", [
    ("multiclass", "sparse_categorical_crossentropy", {"loss__from_logits": True}),
    ("binary", keras.losses.BinaryCrossentropy(from_logits=True), {}),
])
def test_logits_are_turned_into_probabilities(iris, target, loss, routed):
    X, y = iris
    if target == "binary":
        y = (y == 2).astype(int)
    est = KerasPipelineClassifier(linear, loss=loss, epochs=2, random_state=0, **routed)
    est.fit(X * 5, y)
    logits = np.asarray(est.model_(X * 5)).astype(np.float64)
    if target == "binary":
        p = 1 / (1 + np.exp(-logits[:, 0]))
        expected = np.column_stack([1 - p, p])
    else:
        expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    proba = est.predict_proba(X * 5)
    np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(est.export_model()(X * 5)), proba, rtol=1e-5, atol=1e-6)


def test_regressor_refuses_a_logits_loss(iris):
    X, y = iris
    with pytest.raises(ValueError, match="from_logits"):
        KerasPipelineRegressor(tiny, loss=keras.losses.BinaryCrossentropy(from_logits=True),
                               epochs=1).fit(X, y.astype(float))


# -- 8. callbacks_ ---------------------------------------------------------------------------
def test_callbacks_of_the_last_fit_are_kept_and_not_saved(iris, tmp_path):
    X, y = iris
    counter = BatchCounter()
    est = KerasPipelineClassifier(tiny, epochs=2, batch_size=50, callbacks=[counter],
                                  fit__callbacks=[BatchCounter()], random_state=0).fit(X, y)
    assert counter.train_batches == 0
    assert [cb.train_batches for cb in est.callbacks_] == [6, 6]
    est.fit(X, y, epochs=1)
    assert [cb.train_batches for cb in est.callbacks_] == [3, 3]  # new copies each fit
    path = tmp_path / "cb.skkp"
    est.save(path)
    loaded = skkeras_prep.load(path, trusted=[BatchCounter, tiny])
    assert not hasattr(loaded, "callbacks_")
    np.testing.assert_allclose(loaded.predict_proba(X), est.predict_proba(X))


def test_initialize_a_regressor_predicts_what_the_model_predicts(iris):
    X, _ = iris
    X = X.astype(np.float32)
    y = X[:, 0] * 30 + 100  # far from standardised: "auto" must not rescale the outputs
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    est = KerasPipelineRegressor(model).initialize(X, y)
    np.testing.assert_allclose(est.predict(X), model.predict(X, verbose=0)[:, 0], rtol=1e-5, atol=1e-5)
