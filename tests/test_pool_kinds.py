"""Model reuse (``_pool``) for every way users write a model (issue 21): a builder returning a
``keras.Sequential`` (with or without ``keras.Input``), a builder returning a functional
``keras.Model``, a ``keras.Model`` instance (cloned at each fit), a builder that compiles its
model, the package's ``CNN`` and ``KerasApplication``, several inputs and outputs. For each:
the second fit of the architecture takes the pooled model, its results are bit for bit those
of ``set_config(reuse_models=False)``, and a 5-fold CV traces once (no TensorFlow retracing
warning). And a builder returning one global model never has it pooled or shared.

These tests read and empty the process-wide pool: under pytest-xdist they run in one group.
"""

import logging
import warnings
import weakref

import keras
import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.preprocessing import StandardScaler

import skkeras_prep
from skkeras_prep import KerasPipelineClassifier, MultiInput, MultiOutput, _pool
from skkeras_prep.models import CNN, KerasApplication

pytestmark = [pytest.mark.xdist_group("pool"), pytest.mark.usefixtures("empty_pool")]


def dense_layers(n_classes_):
    return [keras.layers.Dense(6, activation="relu"),
            keras.layers.Dense(n_classes_, activation="softmax")]


def sequential(n_features_in_, n_classes_):
    return keras.Sequential([keras.Input((n_features_in_,)), *dense_layers(n_classes_)])


def sequential_unbuilt(n_classes_):
    return keras.Sequential(dense_layers(n_classes_))  # built by the fit for the data


def functional(n_features_in_, n_classes_):
    inputs = keras.Input((n_features_in_,))
    hidden = keras.layers.Dense(6, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(n_classes_, activation="softmax")(hidden))


def compiled_by_builder(n_features_in_, n_classes_):
    model = functional(n_features_in_, n_classes_)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def two_in_two_out(meta):
    a = keras.Input(meta["input_shape_"]["a"], name="a")
    b = keras.Input(meta["input_shape_"]["b"], name="b")
    hidden = keras.layers.Dense(6, activation="relu")(keras.layers.Concatenate()([a, b]))
    return keras.Model({"a": a, "b": b},
                       {"kind": keras.layers.Dense(3, activation="softmax", name="kind")(hidden),
                        "flag": keras.layers.Dense(1, activation="sigmoid", name="flag")(hidden)})


def tabular(iris):
    X, y = iris
    return X.astype("float32"), y


def images(digits):
    X, y = digits
    return (X[:200] / 16.0).reshape(-1, 8, 8, 1).astype("float32"), y[:200] % 3


def multi(iris):
    X, y = iris
    return MultiInput({"a": X[:, :2], "b": X[:, 2:]}), MultiOutput({"kind": y, "flag": (y == 1).astype(int)})


# kind -> (estimator parameters, data maker)
KINDS = {
    "sequential_builder": (dict(model=sequential), tabular),
    "sequential_builder_unbuilt": (dict(model=sequential_unbuilt), tabular),
    "functional_builder": (dict(model=functional), tabular),
    "sequential_instance": (dict(model=sequential(4, 3)), tabular),
    "functional_instance": (dict(model=functional(4, 3)), tabular),
    "compiled_by_builder": (dict(model=compiled_by_builder), tabular),
    "cnn": (dict(model=CNN(filters=(4,), dense=(8,), dropout=0.2), preprocessor=None), images),
    "multi_input_output": (dict(model=two_in_two_out, preprocessor={"a": StandardScaler()}), multi),
}
SLOW_KINDS = {
    # MobileNetV3Small (about 1 million weights): seconds a fit, so the slow suite only
    "keras_application": (dict(model=KerasApplication(), preprocessor=None, batch_size=32),
                          lambda digits: _small_rgb(digits)),
}


def _small_rgb(digits):
    X, y = images(digits)
    return np.repeat(np.kron(X[:64], np.ones((1, 4, 4, 1))), 3, axis=-1).astype("float32"), y[:64]


ALL = [pytest.param(k, id=k) for k in KINDS] + [
    pytest.param(k, id=k, marks=pytest.mark.slow) for k in SLOW_KINDS]


@pytest.fixture
def case(request, iris, digits):
    params, data = {**KINDS, **SLOW_KINDS}[request.param]
    X, y = data(digits if data in (images,) or request.param in SLOW_KINDS else iris)

    def make(random_state, **more):
        defaults = dict(preprocessor=StandardScaler(), epochs=2, batch_size=16)
        return KerasPipelineClassifier(**{**defaults, **params, **more}, random_state=random_state)

    return make, X, y


def _outputs(est, X):
    proba = est.predict_proba(X)
    return proba if isinstance(proba, list) else [proba]


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.mark.parametrize("case", ALL, indirect=True)
def test_pooled_fits_match_reuse_off_bit_for_bit_and_a_cv_never_retraces(case, monkeypatch):
    make, X, y = case
    with skkeras_prep.config_context(reuse_models=False):
        fresh = make(0).fit(X, y)
        expected, history = _outputs(fresh, X), fresh.history_
        del fresh
    dirty = make(5, epochs=3).fit(X, y)  # another seed, another number of steps
    assert _pool.reusable(dirty.model_), _pool.not_pooled_reason(dirty.model_)
    pooled = weakref.ref(dirty.model_)
    del dirty
    info = _pool.cache_info()
    assert (info["models"], info["not_pooled"]) == (1, {})
    # the second fit of the architecture takes the pooled model, and gives what a fresh one gives
    est = make(0).fit(X, y)
    assert est.model_ is pooled()
    for got, want in zip(_outputs(est, X), expected):
        np.testing.assert_array_equal(got, want)
    assert est.history_ == history
    del est

    # a 5-fold CV: every fold takes that model in turn, nothing is traced again
    adopted = []
    adopt = _pool.adopt
    monkeypatch.setattr(_pool, "adopt", lambda est, model: (adopted.append(model is pooled()),
                                                             adopt(est, model)))
    handler = _Records()
    tf_logger = logging.getLogger("tensorflow")
    tf_logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            labels = y.data["kind"] if isinstance(y, MultiOutput) else y
            splits = list(StratifiedKFold(5, shuffle=True, random_state=0).split(
                np.zeros(len(labels)), labels))
            cross_val_score(make(0), X, y, cv=splits, scoring=_score)
    finally:
        tf_logger.removeHandler(handler)
    assert adopted == [True] * 5
    said = handler.messages + [str(w.message) for w in caught]
    assert not [m for m in said if "retracing" in m], said


def _score(est, X, y):
    return float(np.mean([p.sum() for p in _outputs(est, X)]))  # predict only: any number


def test_a_builder_returning_one_global_model_never_pools_or_shares_it(iris):
    X, y = iris
    the_model = sequential(4, 3)

    def build():
        return the_model

    first = KerasPipelineClassifier(build, epochs=2, random_state=0).fit(X, y)
    assert first.model_ is the_model
    assert "keeps the model it returns" in _pool.not_pooled_reason(the_model)
    before = first.predict_proba(X)
    second = KerasPipelineClassifier(build, epochs=2, random_state=1).fit(X, y)
    third = KerasPipelineClassifier(build, epochs=2, random_state=0).fit(X[::-1], y[::-1])
    assert len({id(first.model_), id(second.model_), id(third.model_)}) == 3
    np.testing.assert_array_equal(first.predict_proba(X), before)  # nobody trained it again
    del first
    assert _pool.cache_info()["models"] == 0  # the global model is the user's
    # a copy starts from new weights, like a fresh build: same seed, same data, same result
    with skkeras_prep.config_context(reuse_models=False):
        again = KerasPipelineClassifier(build, epochs=2, random_state=0).fit(X[::-1], y[::-1])
    assert again.model_ is not the_model
    np.testing.assert_array_equal(again.predict_proba(X), third.predict_proba(X))
    del second, third
    fourth = KerasPipelineClassifier(build, epochs=2, random_state=3).fit(X, y)
    assert fourth.model_ is not the_model and fourth.model_ is not again.model_


def test_a_builder_keeping_its_model_in_a_closure_is_not_pooled(iris):
    X, y = iris
    kept = functional(4, 3)
    est = KerasPipelineClassifier(lambda: kept, epochs=1, random_state=0).fit(X, y)
    assert "keeps the model it returns" in _pool.not_pooled_reason(est.model_)
    del est
    assert _pool.cache_info()["models"] == 0


def test_builder_holds_finds_where_a_builder_keeps_its_model():
    import functools

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    other = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])

    def with_default(m=model):
        return m

    def takes(m):
        return m

    def fresh():
        return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])

    assert "default argument" in _pool.builder_holds(with_default, model)
    assert "functools.partial" in _pool.builder_holds(functools.partial(takes, model), model)
    assert "enclosing function" in _pool.builder_holds(lambda: model, model)
    assert _pool.builder_holds(with_default, other) is None
    assert _pool.builder_holds(fresh, fresh()) is None
    assert _pool.builder_holds(print, model) is None  # a builtin: nothing to look into


def test_clone_shares_a_model_instance_and_fits_never_change_it(iris):
    """A ``keras.Model`` given as ``model=`` is shared by clones (a deep copy per CV fold cost
    about 75 ms) and fits train clones of it: after a CV its weights are what they were."""
    from sklearn.base import clone

    X, y = iris
    given = sequential(4, 3)
    weights = [w.copy() for w in given.get_weights()]
    est = KerasPipelineClassifier(given, epochs=1, random_state=0, optimizer__learning_rate=0.01)
    copy = clone(est)
    assert copy.model is given and copy.get_params()["optimizer__learning_rate"] == 0.01
    cross_val_score(est, X, y, cv=3)
    copy.fit(X, y)
    assert copy.model_ is not given
    for before, after in zip(weights, given.get_weights()):
        np.testing.assert_array_equal(before, after)
