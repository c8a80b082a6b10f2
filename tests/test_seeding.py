"""Seeded fits that do not depend on Python's process-wide ``random``.

Keras draws the default seed of each initializer, dropout, noise and ``Random*`` layer from
``random`` when the layer is created; other threads using ``random`` change those draws. A fit
with ``random_state`` set must not depend on them (``_seeding.reseed_model``).
"""

import contextlib
import random
import threading

import keras
import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from skkeras_prep import KerasPipelineClassifier
from skkeras_prep._seeding import reseed_model
from skkeras_prep.models import MLP


@contextlib.contextmanager
def noisy_random_thread():
    """A thread that draws from and reseeds Python's ``random`` in a tight loop."""
    stop = threading.Event()
    calls = [0]

    def churn():
        while not stop.is_set():
            random.random()
            random.seed()  # fresh OS entropy each time
            calls[0] += 1

    thread = threading.Thread(target=churn, daemon=True)
    thread.start()
    try:
        yield calls
    finally:
        stop.set()
        thread.join()


def noisy_model():
    """A keras.Model instance with every kind of seeded part a small tabular model has."""
    inputs = keras.Input(shape=(4,))
    x = keras.layers.Dense(8, activation="relu")(inputs)
    x = keras.layers.GaussianNoise(0.3)(x)
    x = keras.layers.Dropout(0.3)(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize(
    "make_model", [lambda: MLP((16,), dropout=0.3), noisy_model], ids=["mlp-dropout", "keras-model"]
)
def test_four_seeded_fits_are_identical_with_a_noisy_random_thread(iris, make_model):
    X, y = iris
    predictions = []
    with noisy_random_thread() as calls:
        for _ in range(4):
            clf = KerasPipelineClassifier(
                make_model(), preprocessor=StandardScaler(), epochs=3, batch_size=32,
                random_state=0,
            )
            predictions.append(clf.fit(X, y).predict_proba(X))
    assert calls[0] > 100  # the thread really ran during the fits
    for other in predictions[1:]:
        np.testing.assert_array_equal(predictions[0], other)


def test_fit_results_do_not_depend_on_the_global_random_state(iris):
    X, y = iris
    kwargs = dict(model=noisy_model(), epochs=2, random_state=3)
    random.seed(1)
    a = KerasPipelineClassifier(**kwargs).fit(X, y)
    random.seed(2)
    b = KerasPipelineClassifier(**kwargs).fit(X, y)
    for wa, wb in zip(a.model_.get_weights(), b.model_.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def _advanced_by_keras_seed_draws(before, after, limit=100):
    """How many ``random.randint(1, 10**9)`` draws (Keras's default seed) lead from state
    ``before`` to ``after``; None if ``after`` cannot be reached that way."""
    rng = random.Random()
    rng.setstate(before)
    for draws in range(limit + 1):
        if rng.getstate() == after:
            return draws
        rng.randint(1, int(1e9))
    return None


def test_fit_neither_seeds_nor_restores_the_global_random_state(iris):
    # The library never calls random.seed/setstate. The only use of `random` during a fit is
    # Keras's own default-seed draw (random.randint(1, 1e9)) when an unseeded layer or
    # initializer is created, so the state after the fit is the state before it advanced by
    # exactly those draws: one per unseeded initializer and dropout/noise layer.
    X, y = iris
    random.seed(11)
    before = random.getstate()
    KerasPipelineClassifier(noisy_model(), epochs=1, random_state=0).fit(X, y)
    draws = _advanced_by_keras_seed_draws(before, random.getstate())
    # noisy_model(): 2 Dense kernels + GaussianNoise + Dropout, drawn once when the instance
    # is made and once more when the fit clones it.
    assert draws == 8


def test_different_random_states_give_different_weights_and_dropout_streams(iris):
    X, y = iris
    fits = [
        KerasPipelineClassifier(noisy_model(), epochs=1, random_state=seed).fit(X, y)
        for seed in (0, 1)
    ]
    first, second = (fit.model_ for fit in fits)
    for va, vb in zip(first.variables, second.variables):
        if va.path.endswith("bias"):
            continue  # zeros at the start; trained for one epoch only
        assert not np.array_equal(np.asarray(va), np.asarray(vb)), va.path


def test_no_random_state_gives_fresh_initial_weights(iris):
    X, y = iris
    fits = [KerasPipelineClassifier(noisy_model(), epochs=1).fit(X, y) for _ in range(2)]
    kernels = [np.asarray(fit.model_.layers[1].kernel) for fit in fits]
    assert not np.allclose(*kernels)


# -- reseed_model on its own: which parts it covers ----------------------------------------
def many_layer_kinds():
    inputs = keras.Input(shape=(6,), dtype="int32")
    x = keras.layers.Embedding(10, 4)(inputs)
    x = keras.layers.Conv1D(3, 2)(x)
    x = keras.layers.SeparableConv1D(3, 2)(x)
    x = keras.layers.BatchNormalization(moving_mean_initializer="random_normal")(x)
    x = keras.layers.LSTM(5, return_sequences=True, dropout=0.1)(x)
    x = keras.layers.GRU(4)(x)
    x = keras.layers.GaussianNoise(0.1)(x)
    x = keras.layers.Dropout(0.3)(x)
    x = keras.layers.PReLU(alpha_initializer="random_uniform")(x)
    x = keras.layers.Dense(2, kernel_initializer=keras.initializers.GlorotUniform(seed=5))(x)
    return keras.Model(inputs, x)


def _values(model):
    return {v.path.split("/", 1)[-1]: np.asarray(v) for v in model.variables}


def _build_reseeded(global_seed, seed):
    random.seed(global_seed)  # changes every default seed Keras draws
    model = many_layer_kinds()
    assert reseed_model(model, seed) == 10 + 4  # the random parts counted below
    return model


def test_reseed_model_makes_every_random_part_independent_of_keras_default_seeds():
    a = _build_reseeded(global_seed=1, seed=42)
    b = _build_reseeded(global_seed=2, seed=42)
    c = _build_reseeded(global_seed=1, seed=43)
    random.seed()
    # Without reseeding, the same global seeds give these random weights:
    random.seed(1)
    plain = many_layer_kinds()
    random.seed()
    # Layer paths carry process-wide name counters, so compare by position.
    values_a, values_b, values_c = (list(m.variables) for m in (a, b, c))
    assert len(values_a) == len(values_b) == len(values_c) == len(plain.variables)
    random_parts = 0
    for va, vb, vc, vp in zip(values_a, values_b, values_c, plain.variables):
        np.testing.assert_array_equal(np.asarray(va), np.asarray(vb), err_msg=va.path)
        name = va.path.rsplit("/", 1)[-1]
        deterministic = name in ("bias", "gamma", "beta", "moving_variance") or (
            va.path.startswith(a.layers[-1].name)  # explicitly seeded Dense: kept as Keras drew
        )
        if deterministic:
            np.testing.assert_array_equal(np.asarray(va), np.asarray(vc), err_msg=va.path)
            np.testing.assert_array_equal(np.asarray(va), np.asarray(vp), err_msg=va.path)
        else:
            random_parts += 1
            assert not np.array_equal(np.asarray(va), np.asarray(vc)), va.path
            assert not np.array_equal(np.asarray(va), np.asarray(vp)), va.path
    # embeddings, conv kernel, depthwise + pointwise kernels, moving_mean, LSTM and GRU
    # kernel + recurrent_kernel, PReLU alpha; seed generators of LSTM, GRU, noise, dropout.
    assert random_parts == 10 + 4


def test_lstm_forget_bias_built_from_a_wrapped_initializer_is_left_alone():
    random.seed(3)
    layer = keras.layers.LSTM(3, bias_initializer="random_normal", unit_forget_bias=True)
    model = keras.Sequential([keras.Input((2, 2)), layer])
    random.seed()
    bias = np.asarray(layer.cell.bias).copy()
    np.testing.assert_array_equal(bias[3:6], 1.0)  # Keras's forget-gate ones
    reseed_model(model, 0)
    np.testing.assert_array_equal(np.asarray(layer.cell.bias), bias)


class Subclassed(keras.Model):
    """A subclassed model without build(): Keras makes its weights on the first call."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(8, activation="relu")
        self.drop = keras.layers.Dropout(0.3)
        self.out = keras.layers.Dense(3, activation="softmax")

    def call(self, x, training=False):
        return self.out(self.drop(self.hidden(x), training=training))


@pytest.mark.filterwarnings("ignore:`build\\(\\)` was called on layer")
def test_subclassed_model_weights_made_on_first_call_are_reseeded(iris):
    X, y = iris
    fits = []
    for global_seed in (1, 2):
        random.seed(global_seed)
        fits.append(KerasPipelineClassifier(lambda: Subclassed(), epochs=1, random_state=0).fit(X, y))
    random.seed()
    a, b = (fit.model_ for fit in fits)
    assert len(a.variables) == 5  # two kernels, two biases, the dropout seed state
    for va, vb in zip(a.variables, b.variables):
        np.testing.assert_array_equal(np.asarray(va), np.asarray(vb), err_msg=va.path)


def test_builders_get_a_random_seed_derived_from_random_state(iris):
    X, y = iris
    seen = []

    def builder(meta, random_seed_):
        seen.append(random_seed_)
        return MLP((4,)).build(meta)

    for random_state in (0, 0, 1):
        KerasPipelineClassifier(builder, epochs=1, random_state=random_state).fit(X, y)
    assert seen[0] == seen[1] != seen[2]
    assert all(isinstance(s, int) for s in seen)


def test_moved_keras_internals_give_a_clear_error():
    class NotALayer:
        pass

    with pytest.raises(RuntimeError, match="Layer._flatten_layers of keras .checked on 3.15"):
        reseed_model(NotALayer(), 0)
