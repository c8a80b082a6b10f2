"""Issue 9 section 4: every bad input gets a clear error naming the problem and the fix, or is
handled correctly; none trains silently or fails inside TensorFlow."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor, SkKerasPrepWarning
from skkeras_prep.exceptions import InvalidParameterError
from skkeras_prep.models import MLP


def clf(**kwargs):
    return KerasPipelineClassifier(MLP((4,)), **{"epochs": 1, "random_state": 0, **kwargs})


def reg(**kwargs):
    return KerasPipelineRegressor(MLP((4,)), **{"epochs": 1, "random_state": 0, **kwargs})


@pytest.fixture(scope="module")
def fitted_scaled(iris):
    X, y = iris
    return clf(preprocessor=StandardScaler()).fit(X, y)


# -- obscure errors today ----------------------------------------------------------------------
def test_list_of_mixed_rows_without_preprocessor_is_refused_before_training():
    X = [[1.0, "a", None]] * 30 + [[2, 3, 4]] * 30
    with pytest.raises(ValueError, match=r"not numbers in column\(s\) \[1\].*missing values \(None or NaN\) in column\(s\) \[2\].*ColumnTransformer.*OneHotEncoder"):
        clf().fit(X, [0, 1] * 30)


def test_mse_on_a_multiclass_target_trains_on_one_hot_rows(iris):
    X, y = iris
    est = clf(loss="mse", preprocessor=StandardScaler()).fit(X, y)
    assert est.target_encoder_.layout_ == "one_hot"
    proba = est.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    "make, loss, match",
    [
        (clf, "sparse_categorical_crossentropy", "takes one class index per row"),
        (clf, "categorical_crossentropy", "constant and nothing is learned"),
        (reg, "sparse_categorical_crossentropy", "a regressor needs a regression loss"),
    ],
    ids=["sparse-ce-on-sigmoid", "categorical-ce-on-one-unit", "classification-loss-in-regressor"],
)
def test_loss_that_cannot_fit_the_target_layout_is_refused_before_training(binary_data, make, loss, match):
    X, y = binary_data
    est = make(loss=loss)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    assert not hasattr(est, "model_")


@pytest.mark.parametrize(
    "labels, match",
    [
        (np.array(["a", None] * 75, dtype=object), r"missing labels \(None or NaN\) at 75 row"),
        (np.array(["a", float("nan")] * 75, dtype=object), "missing labels"),
        (np.array(["a", 1] * 75, dtype=object), r"mixes label types \(number, str\)"),
    ],
    ids=["none", "nan", "mixed"],
)
def test_missing_or_mixed_labels(iris, labels, match):
    X, _ = iris
    with pytest.raises(ValueError, match=match):
        clf().fit(X, labels)


def test_nd_predict_with_a_preprocessor_names_the_shape(fitted_scaled, iris):
    X, _ = iris
    with pytest.raises(ValueError, match=r"shape \(150, 2, 2\) \(3-D\).*4 feature\(s\)"):
        fitted_scaled.predict(X.reshape(150, 2, 2))


# -- float32 overflow -------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e300, None], ids=["times-1e300", "values-1e39"])
def test_X_beyond_float32_is_refused_naming_X(iris, scale):
    X, y = iris
    Xbad = X * scale if scale else np.full_like(X, 1e39)
    with pytest.raises(ValueError, match=r"^X has values up to .*beyond the range of float32"):
        clf().fit(Xbad, y)


def test_X_beyond_float32_at_predict_is_refused(iris):
    X, y = iris
    est = clf().fit(X, y)
    with pytest.raises(ValueError, match="X has values up to 1e\\+39"):
        est.predict_proba(np.full_like(X, 1e39))


def test_preprocessor_output_beyond_float32_names_the_column(iris):
    X, y = iris
    Xbad = X.copy()
    Xbad[0, 2] = 1e39
    with pytest.raises(ValueError, match=r"FunctionTransformer returned values up to 1e\+39 in transformed column\(s\) \[2\]"):
        clf(preprocessor=FunctionTransformer()).fit(Xbad, y)


@pytest.mark.parametrize("weight", [1e30, 1e300])
def test_huge_sample_weight_is_refused_naming_it(iris, weight):
    X, y = iris
    with pytest.raises(ValueError, match=r"^sample_weight has values up to .*divide them by their mean"):
        clf().fit(X, y, sample_weight=np.full(len(y), weight))


def test_huge_class_weight_is_refused_naming_it(iris):
    X, y = iris
    with pytest.raises(ValueError, match="sample_weight times class_weight has values up to"):
        clf(class_weight={0: 1e30, 1: 1.0, 2: 1.0}).fit(X, y)


# -- regressor advice -------------------------------------------------------------------------
def test_regressor_huge_target_gets_advice_that_fits(iris):
    X, _ = iris
    y = np.linspace(1, 2, len(X)) * 1e300
    with pytest.raises(ValueError, match="target_transformer StandardScaler could not bring y into float32.*up to 2e\\+300.*Divide y") as info:
        with np.errstate(all="ignore"):
            reg().fit(X, y)
    assert "target_transformer=StandardScaler()" not in str(info.value)
    with pytest.raises(ValueError, match="target_transformer='auto' \\(the default"):
        reg(target_transformer=None).fit(X, np.full(len(X), 1e39))


def test_divergence_advice_leaves_out_remedies_already_in_use():
    assert "target_transformer" not in KerasPipelineRegressor()._divergence_advice()
    assert "target_transformer='auto'" in KerasPipelineRegressor(target_transformer=None)._divergence_advice()
    scaled = KerasPipelineClassifier(preprocessor=StandardScaler())._divergence_advice()
    assert "preprocessor=" not in scaled and "learning rate" in scaled
    assert "preprocessor=StandardScaler()" in KerasPipelineClassifier()._divergence_advice()


# -- silent outcomes today --------------------------------------------------------------------
def test_huge_integer_X_without_preprocessor_warns(iris):
    X, y = iris
    Xbig = (X * 1e3).astype(np.int64) + 2**62
    with pytest.warns(SkKerasPrepWarning, match=r"values up to 4\.6\d*e\+18.*2\*\*24.*StandardScaler"):
        clf().fit(Xbig, y)


def test_ordinary_X_gives_no_large_value_warning(iris, recwarn):
    X, y = iris
    clf().fit(X, y)
    assert not [w for w in recwarn if issubclass(w.category, SkKerasPrepWarning)]


@pytest.mark.parametrize("rate", [-1.0, 0.0, float("nan"), float("inf"), "fast"])
def test_bad_routed_learning_rate_is_refused(iris, rate):
    X, y = iris
    with pytest.raises(InvalidParameterError, match="parameter 'optimizer__learning_rate' must be a finite float in \\(0, inf\\)"):
        clf(optimizer__learning_rate=rate).fit(X, y)


def test_learning_rate_schedule_is_accepted(iris):
    import keras

    X, y = iris
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=10, decay_rate=0.9)
    assert clf(optimizer__learning_rate=schedule).fit(X, y).n_iter_ == 1


@pytest.mark.parametrize("param", ["epochs", "batch_size", "n_iter_no_change"])
def test_bool_is_not_an_int(iris, param):
    X, y = iris
    with pytest.raises(InvalidParameterError, match=f"parameter '{param}' must be (None or |None, )?an int in \\[1, inf\\)( or one of \\{{-1\\}})?; got True \\(bool\\)"):
        clf(**{param: True}).fit(X, y)


def test_dataframe_with_integer_column_names_reordered_at_predict(iris):
    X, y = iris
    frame = pd.DataFrame(X)
    est = clf().fit(frame, y)
    expected = est.predict_proba(frame)
    np.testing.assert_array_equal(est.predict_proba(frame[[3, 2, 1, 0]]), expected)
    with pytest.raises(ValueError, match=r"missing column\(s\) \[3\]"):
        est.predict(frame[[0, 1, 2]])
    # a plain array after a DataFrame fit is read by position, as before
    np.testing.assert_array_equal(est.predict_proba(X), expected)


def test_one_hot_column_arriving_as_ints_names_the_column(iris):
    X, y = iris
    frame = pd.DataFrame({"colour": ["red", "green", "blue"] * 50, "size": X[:, 0]})
    pre = ColumnTransformer(
        [("oh", OneHotEncoder(handle_unknown="ignore"), ["colour"])], remainder="passthrough"
    )
    est = clf(preprocessor=pre).fit(frame, y)
    ints = frame.assign(colour=np.arange(150))
    with pytest.raises(TypeError, match=r"'colour' was .* at fit and is int64 now.*astype\(str\)"):
        est.predict(ints)


# -- issue 20 section 4: obscure errors --------------------------------------------------------
@pytest.fixture(scope="module")
def fitted_pair(iris):
    X, y = iris
    return clf().fit(X, y), reg().fit(X, X[:, 0])


@pytest.mark.parametrize("kind", ["generator", "map", "list_iterator"])
@pytest.mark.parametrize("method", ["fit", "partial_fit", "predict", "predict_proba", "score"])
def test_X_as_an_iterator_is_refused_naming_the_fix(iris, fitted_pair, kind, method):
    X, y = iris
    make = {"generator": lambda: (row for row in X), "map": lambda: map(np.asarray, X),
            "list_iterator": lambda: iter(list(X))}[kind]
    est = clf() if method == "fit" else fitted_pair[0]
    args = (make(), y) if method in ("fit", "partial_fit", "score") else (make(),)
    with pytest.raises(ValueError, match=r"^X is a \w+ \(an iterator\).*np\.asarray\(list\(X\)\).*dask"):
        getattr(est, method)(*args)


def test_X_as_a_generator_with_a_preprocessor_or_as_one_input_is_refused(iris):
    X, y = iris
    with pytest.raises(ValueError, match=r"X is a generator \(an iterator\)"):
        clf(preprocessor=StandardScaler()).fit((row for row in X), y)
    with pytest.raises(TypeError, match=r"Input 'b' is a generator; each part must be an array-like"):
        KerasPipelineClassifier(epochs=1).fit({"a": X, "b": (row for row in X)}, y)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("make", [clf, reg], ids=["classifier", "regressor"])
def test_dict_X_with_a_single_input_builder_names_the_builder_and_the_fix(iris, make, method):
    X, y = iris
    est = make()
    with pytest.raises(ValueError, match=r"The builder MLP \(skkeras_prep\.models\) has one input and one output.*named inputs.*np\.hstack"):
        getattr(est, method)({"a": X[:, :2], "b": X[:, 2:]}, y)
    assert not hasattr(est, "model_")


@pytest.mark.parametrize("method", ["fit", "partial_fit", "score"])
@pytest.mark.parametrize("which", [0, 1], ids=["classifier", "regressor"])
def test_y_without_columns_is_refused_naming_y(iris, fitted_pair, method, which):
    X, _ = iris
    est = (clf, reg)[which]() if method == "fit" else fitted_pair[which]
    with pytest.raises(ValueError, match=r"^y has shape \(150, 0\): it has no target column.*\(n_samples,\)") as info:
        getattr(est, method)(X, np.empty((150, 0)))
    assert "StandardScaler" not in str(info.value)
