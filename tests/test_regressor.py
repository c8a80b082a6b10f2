"""KerasPipelineRegressor: targets, outputs, target transformer, quality."""

import keras
import numpy as np
import pytest
from sklearn.base import is_regressor
from sklearn.datasets import load_diabetes
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, cross_val_score
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skkeras_prep import KerasPipelineRegressor
from skkeras_prep.models import MLP


@pytest.fixture(scope="module")
def linear_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    Y = np.column_stack([X @ [1.0, 2.0, 0.0, -1.0] + 50, X[:, 0] * 3 - 400])
    return X, Y


def small(**kwargs):
    params = dict(model=MLP((16,)), epochs=40, random_state=0, optimizer__learning_rate=0.01)
    params.update(kwargs)
    return KerasPipelineRegressor(**params)


def test_single_output(linear_data):
    X, Y = linear_data
    reg = small().fit(X, Y[:, 0])
    assert is_regressor(reg)
    pred = reg.predict(X)
    assert pred.shape == (200,)
    assert reg.n_outputs_ == 1 and reg.model_.output_shape == (None, 1)
    assert reg.score(X, Y[:, 0]) == pytest.approx(r2_score(Y[:, 0], pred))
    assert reg.score(X, Y[:, 0]) > 0.9
    assert reg.model_.loss == "mean_squared_error"
    assert reg.model_.layers[-1].get_config()["activation"] == "linear"


def test_multi_output(linear_data):
    X, Y = linear_data
    reg = small().fit(X, Y)
    assert reg.predict(X).shape == (200, 2)
    assert reg.n_outputs_ == 2 and reg.model_.output_shape == (None, 2)
    assert reg.score(X, Y) > 0.9


def test_target_transformer_is_fitted_and_inverted(linear_data):
    X, Y = linear_data
    reg = small(target_transformer=MinMaxScaler()).fit(X, Y[:, 1])
    assert isinstance(reg.target_encoder_.target_transformer_, MinMaxScaler)
    pred = reg.predict(X)
    assert abs(pred.mean() - Y[:, 1].mean()) < 5  # back on the original scale (about -400)


def test_auto_target_scaling_is_what_makes_unscaled_targets_work(linear_data):
    X, Y = linear_data
    y = Y[:, 1]  # centred near -400
    scaled = small(epochs=10).fit(X, y)
    raw = small(epochs=10, target_transformer=None).fit(X, y)
    assert scaled.score(X, y) > 0.8
    assert raw.score(X, y) < scaled.score(X, y) - 0.5


def test_output_width_mismatch(linear_data):
    X, Y = linear_data

    def one_unit(meta):
        return keras.Sequential([keras.Input(meta["input_shape_"]), keras.layers.Dense(1)])

    with pytest.raises(ValueError, match="width 1.*2 output"):
        small(model=one_unit).fit(X, Y)


def test_bad_target_transformer(linear_data):
    X, Y = linear_data
    with pytest.raises(ValueError, match=r"parameter 'target_transformer' must be None, one of \{'auto'\} or a transformer"):
        small(target_transformer="minmax").fit(X, Y[:, 0])


@pytest.mark.slow
def test_diabetes_quality_at_least_sklearn_mlp():
    X, y = load_diabetes(return_X_y=True)
    folds = KFold(5, shuffle=True, random_state=0)
    ours = cross_val_score(
        KerasPipelineRegressor(preprocessor=StandardScaler(), random_state=0), X, y, cv=folds
    ).mean()
    reference = cross_val_score(
        make_pipeline(StandardScaler(), MLPRegressor(max_iter=2000, random_state=0)), X, y, cv=folds
    ).mean()
    assert ours >= reference, (ours, reference)
