"""The streaming engine's costs (issue 5): what a fit keeps alive, how often it traces, how
often it transforms. Timings live in bench/; these tests check the mechanisms behind them.
"""

import gc
import weakref

import keras
import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin

from skkeras_prep import KerasPipelineClassifier, _dataset
from skkeras_prep.models import MLP

OUTPUTS = []  # weak references to every array the tracking transformer returned
CALLS = {"fit": 0, "transform": 0, "rows": 0}


class TrackingScaler(TransformerMixin, BaseEstimator):
    """Standardises, counts its calls, and keeps a weak reference to each output array."""

    def fit(self, X, y=None):
        CALLS["fit"] += 1
        X = np.asarray(X, dtype=np.float64)
        self.mean_, self.scale_ = X.mean(axis=0), X.std(axis=0) + 1e-12
        return self

    def transform(self, X):
        CALLS["transform"] += 1
        CALLS["rows"] += len(X)
        out = ((np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_).astype(np.float32)
        OUTPUTS.append(weakref.ref(out))
        return out


@pytest.fixture
def tracked():
    OUTPUTS.clear()
    for key in CALLS:
        CALLS[key] = 0
    yield
    OUTPUTS.clear()


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 6))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    return X, y


def _alive():
    gc.collect()
    return [ref for ref in OUTPUTS if ref() is not None]


@pytest.mark.parametrize("validation_split", [0.0, 0.25])
def test_a_fit_lets_its_transformed_data_go(tracked, data, validation_split):
    """TensorFlow keeps the gather functions of a pipeline alive for the whole process; the
    transformed rows must not be, or every fit in a grid search leaks a copy of its data."""
    X, y = data
    clf = KerasPipelineClassifier(
        MLP(hidden_layer_sizes=(8,)), TrackingScaler(), epochs=30, batch_size=64,
        validation_split=validation_split, optimizer__learning_rate=0.01, random_state=0,
    ).fit(X, y)
    assert len(OUTPUTS) == 1
    assert _alive() == [], "the fit's transformed X outlived the fit"
    assert clf.score(X, y) > 0.8  # the estimator itself still learns


def test_a_streamed_prediction_lets_its_rows_go(tracked, data, monkeypatch):
    X, y = data
    clf = KerasPipelineClassifier(
        MLP(hidden_layer_sizes=(4,)), TrackingScaler(), epochs=1, random_state=0
    ).fit(X, y)
    monkeypatch.setattr(_dataset, "MAX_EVAL_BATCH_BYTES", 4 * 6 * 50)  # 50 rows a batch
    big = np.tile(X, (3, 1))
    proba = clf.predict_proba(big)  # 24 batches through tf.data, not one direct call
    np.testing.assert_allclose(proba[:400], clf.predict_proba(X), rtol=1e-6, atol=1e-7)
    assert _alive() == []


class TraceCountingModel(keras.Sequential):
    traces = 0

    def train_step(self, data):
        type(self).traces += 1  # runs once per trace of the train function, not per batch
        return super().train_step(data)


def _counting_builder(meta):
    return TraceCountingModel([
        keras.Input(meta["input_shape_"]),
        keras.layers.Dense(4, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])


def test_the_train_step_is_traced_once_per_fit(data):
    """Optimizer variables created inside the first trace make TensorFlow trace again; they
    are built before training, so a fit pays for one trace."""
    X, y = data
    TraceCountingModel.traces = 0
    clf = KerasPipelineClassifier(_counting_builder, epochs=5, batch_size=64, random_state=0)
    clf.fit(X, y)
    assert TraceCountingModel.traces == 1
    clf.set_params(warm_start=True).fit(X, y)  # same model, same step count: no new trace
    assert TraceCountingModel.traces == 1


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("epochs", [1, 7])
def test_the_preprocessor_transforms_once_per_fit(tracked, data, epochs, early_stopping):
    X, y = data
    KerasPipelineClassifier(
        MLP(hidden_layer_sizes=(4,)), TrackingScaler(), epochs=epochs, batch_size=64,
        early_stopping=early_stopping, n_iter_no_change=epochs + 1, random_state=0,
    ).fit(X, y)
    assert CALLS == {"fit": 1, "transform": 1, "rows": len(X)}


def test_epoch_order_is_the_seeded_permutation_kept_for_one_epoch_only():
    order = _dataset._EpochOrder(1000, seed=7, shuffle=True)
    for epoch in (0, 1, 2):
        expected = np.random.default_rng([7, epoch]).permutation(1000)
        np.testing.assert_array_equal(order.permutation(epoch), expected)
        np.testing.assert_array_equal(order.indices(epoch, 10, 20), np.sort(expected[10:20]))
    assert order.permutation(0).dtype == np.int32  # 4 bytes a row, not 8
    # a straggling batch of an older epoch gets that epoch's rows, without re-caching it
    np.testing.assert_array_equal(
        order.indices(0, 0, 5), np.sort(np.random.default_rng([7, 0]).permutation(1000)[:5])
    )
    assert order._epoch == 2


def test_unit_weights_cost_no_memory(data, monkeypatch):
    from skkeras_prep import _validation

    w = _validation.check_sample_weight(None, 10**9)
    assert w.shape == (10**9,) and w.dtype == np.float32 and w.strides == (0,)
    X, y = data
    seen = []
    real = _dataset.training_dataset

    def spy(X, y, sample_weight, **kwargs):
        seen.append(np.asarray(sample_weight))
        return real(X, y, sample_weight, **kwargs)

    monkeypatch.setattr(_dataset, "training_dataset", spy)
    monkeypatch.setattr(_dataset, "MAX_IN_MEMORY_BYTES", 0)  # the tf.data pipeline, not in memory
    KerasPipelineClassifier(MLP(hidden_layer_sizes=(4,)), epochs=1, random_state=0).fit(X, y)
    assert seen[0].strides == (0,) and (seen[0] == 1).all()


@pytest.mark.parametrize(
    "n_classes, loss, stored, batch",
    [(2, None, np.uint8, np.float32), (3, None, np.uint8, np.int32),
     (300, None, np.uint16, np.int32), (3, "categorical_crossentropy", np.uint8, np.float32)],
)
def test_targets_are_stored_compactly_and_cast_per_batch(monkeypatch, n_classes, loss, stored, batch):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(3 * n_classes, 3))
    y = np.arange(3 * n_classes) % n_classes * 10  # labels 0, 10, 20, ...
    seen = {}
    real = _dataset.training_dataset

    def spy(X, y, sample_weight, **kwargs):
        dataset, per_epoch = real(X, y, sample_weight, **kwargs)
        seen["stored"] = y.values
        seen["batch"] = next(iter(dataset))[1].numpy()
        return dataset, per_epoch

    monkeypatch.setattr(_dataset, "training_dataset", spy)
    monkeypatch.setattr(_dataset, "MAX_IN_MEMORY_BYTES", 0)  # the tf.data pipeline, not in memory
    KerasPipelineClassifier(
        MLP(hidden_layer_sizes=(4,)), loss=loss, epochs=1, batch_size=8, shuffle=False,
        random_state=0,
    ).fit(X, y)
    assert seen["stored"].dtype == stored
    assert seen["batch"].dtype == batch
    first = np.arange(len(seen["batch"])) % n_classes  # class indices of the unshuffled rows
    expected = first.astype(batch)
    if loss == "categorical_crossentropy":
        expected = np.eye(n_classes, dtype=np.float32)[first]
    elif n_classes == 2:
        expected = expected.reshape(-1, 1)
    np.testing.assert_array_equal(seen["batch"], expected)


def _custom_gradient_entries():
    from tensorflow.python.framework import ops

    return {n for n in ops._gradient_registry._registry if n.startswith("CustomGradient-")}


class ForeignCustomGradient(keras.callbacks.Callback):
    """Traces someone else's tf.custom_gradient function in the middle of a fit."""

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        @tf.custom_gradient
        def scaled(x):
            return x * 3.0, lambda dy: dy * 3.0

        @tf.function
        def grad(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = scaled(x)
            return tape.gradient(y, x)

        grad(tf.constant(1.0))


def test_fits_leave_no_gradient_registrations_behind(data):
    """Keras's TensorFlow optimizer registers a custom gradient per traced train step, which
    keeps the step's graph alive for the life of the process; a fit removes its own."""
    X, y = data
    before = _custom_gradient_entries()
    for seed in range(3):
        clf = KerasPipelineClassifier(MLP(hidden_layer_sizes=(4,)), epochs=2, random_state=seed)
        clf.fit(X, y)
    assert _custom_gradient_entries() == before
    # another's registration made during a fit is left where it is
    clf = KerasPipelineClassifier(
        MLP(hidden_layer_sizes=(4,)), epochs=1, callbacks=[ForeignCustomGradient()], random_state=0
    ).fit(X, y)
    assert len(_custom_gradient_entries() - before) == 1
    # and the fitted model still trains on (warm start reuses its traced step)
    clf.set_params(warm_start=True, callbacks=None).fit(X, y)
    assert len(clf.history_["loss"]) == 2
