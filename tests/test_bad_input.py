"""Bad input gets a clear error that says how to fix it, at every entry point."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor
from skkeras_prep.models import MLP


def small(**kwargs):
    return KerasPipelineClassifier(MLP((8,)), epochs=2, random_state=0, **kwargs)


@pytest.fixture(scope="module")
def fitted(iris):
    X, y = iris
    return small().fit(X, y)


def with_nan(X):
    X = X.astype(float).copy()
    X[3, 1] = np.nan
    return X


def test_nan_without_preprocessor_is_refused(iris):
    X, y = iris
    with pytest.raises(ValueError, match="NaN"):
        small().fit(with_nan(X), y)
    Xinf = X.astype(float).copy()
    Xinf[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        small().fit(Xinf, y)


def test_nan_passed_through_by_the_preprocessor_is_refused_naming_the_column(iris):
    X, y = iris
    with pytest.raises(ValueError, match=r"after preprocessing, in transformed column\(s\) \[1\].*SimpleImputer"):
        small(preprocessor=StandardScaler()).fit(with_nan(X), y)


def test_nan_is_fine_when_the_preprocessor_imputes(iris):
    X, y = iris
    pre = make_pipeline(SimpleImputer(), StandardScaler())
    clf = small(preprocessor=pre).fit(with_nan(X), y)
    assert clf.predict(with_nan(X)).shape == (150,)
    assert clf.__sklearn_tags__().input_tags.allow_nan


def test_nan_at_predict_is_refused(fitted, iris):
    X, _ = iris
    with pytest.raises(ValueError, match="NaN"):
        fitted.predict(with_nan(X))


def test_wrong_feature_count_at_predict(fitted, iris):
    X, _ = iris
    with pytest.raises(ValueError, match="3 features, but KerasPipelineClassifier is expecting 4"):
        fitted.predict(X[:, :3])


@pytest.mark.parametrize("preprocessor", [None, StandardScaler()], ids=["plain", "preprocessor"])
def test_one_dimensional_X(iris, preprocessor):
    X, y = iris
    with pytest.raises(ValueError, match="reshape"):
        small(preprocessor=preprocessor).fit(X[:, 0], y)


@pytest.mark.parametrize("preprocessor", [None, StandardScaler()], ids=["plain", "preprocessor"])
def test_mismatched_lengths(iris, preprocessor):
    X, y = iris
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        small(preprocessor=preprocessor).fit(X, y[:-1])


@pytest.mark.parametrize("preprocessor", [None, StandardScaler()], ids=["plain", "preprocessor"])
def test_empty_X(preprocessor):
    with pytest.raises(ValueError, match="0 sample"):
        small(preprocessor=preprocessor).fit(np.empty((0, 3)), np.array([]))


def test_single_class(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="only one class.*at least 2 classes"):
        small().fit(X, np.zeros(len(X)))


def test_continuous_target_for_classifier(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="Unknown label type"):
        small().fit(X, np.linspace(0, 1, len(X)))


def test_non_numeric_regression_target(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="KerasPipelineClassifier"):
        KerasPipelineRegressor(MLP((4,)), epochs=1).fit(X, np.array(["a", "b"] * 75))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function", "score"])
def test_predict_before_fit(iris, method):
    X, y = iris
    args = (X, y) if method == "score" else (X,)
    with pytest.raises(NotFittedError):
        getattr(KerasPipelineClassifier(), method)(*args)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(epochs=0), ValueError, "epochs"),
        (dict(batch_size="32"), TypeError, "batch_size"),
        (dict(validation_split=1.0), ValueError, "validation_split"),
        (dict(verbose=5), ValueError, r"parameter 'verbose' must be one of \{0, 1, 2\} or True or False; got 5"),
        (dict(shuffle="yes"), TypeError, "shuffle"),
        (dict(preprocessor=object()), TypeError, r"parameter 'preprocessor' must be None, a scikit-learn transformer \(with fit and transform\) or a dict of transformers keyed by input name"),
        (dict(model="mlp"), TypeError, "model"),
        (dict(optimizer=3), TypeError, "optimizer"),
        (dict(optimizer="no_such_optimizer"), ValueError, "optimizer"),
        (dict(class_weight="heavy"), ValueError, "class_weight"),
        (dict(class_weight={"nope": 2.0}), ValueError, "not labels of y"),
        (dict(random_state="seed"), ValueError, "random_state"),
        (dict(metrics=3), TypeError, "metrics"),
    ],
)
def test_invalid_parameters_are_reported_at_fit(iris, params, error, match):
    X, y = iris
    clf = KerasPipelineClassifier(**{"epochs": 1, **params})  # constructing never raises
    with pytest.raises(error, match=match):
        clf.fit(X, y)


def test_builder_with_unknown_routed_argument(iris):
    X, y = iris

    def builder(meta):
        return MLP((4,)).build(meta)

    with pytest.raises(ValueError, match="not arguments of the model builder"):
        KerasPipelineClassifier(builder, model__units=3, epochs=1).fit(X, y)


def test_complex_and_string_X_without_preprocessor(iris):
    X, y = iris
    with pytest.raises(ValueError, match="[Cc]omplex"):
        small().fit(X.astype(complex), y)
    with pytest.raises(ValueError):
        small().fit(np.array([["a", "b"]] * 150), y)


def test_bad_sample_weight(iris):
    X, y = iris
    with pytest.raises(ValueError, match="expected \\(150,\\)"):
        small().fit(X, y, sample_weight=np.ones(10))
    with pytest.raises(ValueError, match="Negative"):
        small().fit(X, y, sample_weight=-np.ones(150))
    with pytest.raises(ValueError, match="All sample weights are zero"):
        small().fit(X, y, sample_weight=np.zeros(150))


def test_non_finite_regression_target(iris):
    X, _ = iris
    y = np.linspace(0, 1, len(X))
    y[4] = np.nan
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        KerasPipelineRegressor(MLP((4,)), epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="too large for float32"):
        KerasPipelineRegressor(MLP((4,)), epochs=1, target_transformer=None).fit(X, np.full(len(X), 1e300))
