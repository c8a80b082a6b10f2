"""Three published scikeras / Keras-wrapper examples, ported with the smallest possible changes.

- scikeras's Basic Usage notebook (docs/source/notebooks/Basic_Usage.md),
- scikeras's MLPClassifier / MLPRegressor tutorial (docs/source/notebooks/MLPClassifier_MLPRegressor.md),
- the ``keras.wrappers.SKLearnClassifier`` docstring example (keras/src/wrappers/sklearn_wrapper.py).

The code below is theirs, section by section, with each change marked ``# PORT:`` and listed,
before and after, in docs/migrating-from-scikeras.md ("The three ported examples"). Changes
made only to keep the test suite fast (smaller data, fewer epochs, ``n_jobs=1``, a
``random_state``) are marked ``# TEST:`` and change nothing else.
"""

import pickle
from typing import Any, Dict, Iterable

import keras
import numpy as np
import pytest
from sklearn.datasets import make_classification, make_moons, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

# PORT: from scikeras.wrappers import KerasClassifier, KerasRegressor
from skkeras_prep import KerasPipelineClassifier as KerasClassifier
from skkeras_prep import KerasPipelineRegressor as KerasRegressor

# PORT: the notebooks' "silence TensorFlow logging" cell is left out: get_logger().setLevel
# changes process-wide state, and this library never sets TF's random state, so it has no
# "Setting the random state for TF" warning to filter.


# -- Basic Usage notebook ----------------------------------------------------------------------
def get_clf(meta, hidden_layer_sizes, dropout):
    n_features_in_ = meta["n_features_in_"]
    n_classes_ = meta["n_classes_"]  # noqa: F841 (as in the notebook)
    model = keras.models.Sequential()
    model.add(keras.layers.Input(shape=(n_features_in_,)))
    for hidden_layer_size in hidden_layer_sizes:
        model.add(keras.layers.Dense(hidden_layer_size, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    return model


def get_reg(meta, hidden_layer_sizes, dropout):
    n_features_in_ = meta["n_features_in_"]
    model = keras.models.Sequential()
    model.add(keras.layers.Input(shape=(n_features_in_,)))
    for hidden_layer_size in hidden_layer_sizes:
        model.add(keras.layers.Dense(hidden_layer_size, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(1))
    return model


@pytest.fixture(scope="module")
def classification():
    X, y = make_classification(1000, 20, n_informative=10, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def basic_clf(classification):
    """Sections 2.3-2.4: defining and training the classifier."""
    X, y = classification
    clf = KerasClassifier(
        model=get_clf,
        loss="binary_crossentropy",
        model__hidden_layer_sizes=(100,),  # PORT: hidden_layer_sizes=(100,),
        model__dropout=0.5,  # PORT: dropout=0.5,
        epochs=3,  # TEST: scikeras's default is 1 epoch, this library's 100
        random_state=0,  # TEST
    )
    clf.fit(X, y)
    return clf


@pytest.fixture(scope="module")
def regression():
    X_regr, y_regr = make_regression(1000, 20, n_informative=10, random_state=0)
    return X_regr, y_regr


@pytest.fixture(scope="module")
def basic_reg(regression):
    """Sections 3.3: defining and training the regressor."""
    X_regr, y_regr = regression
    reg = KerasRegressor(
        model=get_reg,
        loss="mse",
        metrics=[keras.metrics.R2Score],
        model__hidden_layer_sizes=(100,),  # PORT: hidden_layer_sizes=(100,),
        model__dropout=0.5,  # PORT: dropout=0.5,
        epochs=3,  # TEST
        random_state=0,  # TEST
    )
    reg.fit(X_regr, y_regr)
    return reg


def test_basic_usage_classifier_predictions(basic_clf, classification):
    X, y = classification
    y_pred = basic_clf.predict(X[:5])
    y_proba = basic_clf.predict_proba(X[:5])
    assert set(y_pred) <= {0, 1} and y_proba.shape == (5, 2)
    np.testing.assert_allclose(y_proba.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(y_pred, y_proba.argmax(axis=1))
    assert basic_clf.score(X, y) > 0.7


def test_basic_usage_regressor_predictions(basic_reg, regression):
    X_regr, y_regr = regression
    y_pred = basic_reg.predict(X_regr[:5])
    assert y_pred.shape == (5,)
    assert "r2_score" in basic_reg.history_
    assert basic_reg.score(X_regr, y_regr) > 0.5


def test_basic_usage_saving_the_whole_model_with_pickle(basic_reg, regression):
    """Section 4.1."""
    X_regr, _ = regression
    bytes_model = pickle.dumps(basic_reg)
    new_reg = pickle.loads(bytes_model)
    np.testing.assert_allclose(new_reg.predict(X_regr[:5]), basic_reg.predict(X_regr[:5]))


def test_basic_usage_in_a_pipeline(basic_clf, classification):
    """Section 5."""
    X, y = classification
    pipe = Pipeline([
        ("scale", StandardScaler()),
        ("clf", basic_clf),
    ])
    y_proba = pipe.fit(X, y).predict(X)
    assert y_proba.shape == (len(X),)
