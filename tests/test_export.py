"""est.export_model(): one keras.Model from raw features to predict_proba / predict output."""

import os

import keras
import numpy as np
import pandas as pd
import pytest
import sklearn.preprocessing
import tensorflow as tf
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)

import skkeras_prep.export
from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor
from skkeras_prep.export import (
    SUPPORTED_TARGET_TRANSFORMERS,
    SUPPORTED_TRANSFORMERS,
    ExportError,
    frame_to_inputs,
    input_name,
)
from skkeras_prep.export.keras_model import preprocessing_layers
from skkeras_prep.export.translators import TRANSLATORS
from skkeras_prep.models import MLP

FAST = dict(model=MLP((8,)), epochs=3, random_state=0)
ONE_EPOCH = dict(model=MLP((4,)), epochs=1, random_state=0)


# -- data: numbers, text, missing values; held-out rows with unseen categories ---------------
def make_frame(n, seed):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "age": rng.normal(40, 12, n),
        "income": rng.lognormal(10, 0.6, n),
        "city": rng.choice(["paris", "lyon", "nice", "lille"], n),
        "plan": rng.choice(["basic", "pro", "team"], n),
        "score": rng.uniform(0, 5, n),
        "visits / month": rng.integers(0, 20, n),  # not a valid SavedModel input name
    })
    X.loc[::6, "age"] = np.nan
    X.loc[::8, "income"] = np.nan
    X.loc[::5, "city"] = None
    X.loc[::9, "plan"] = None
    return X


@pytest.fixture(scope="module")
def frames():
    train, test = make_frame(160, 0), make_frame(24, 1)
    test.loc[test.index[:3], "city"] = ["atlantis", "gotham", None]  # unseen, unseen, missing
    test.loc[test.index[3:5], "plan"] = ["platinum", None]  # unseen, missing
    test.loc[test.index[5], "age"] = np.nan
    test.loc[test.index[6], "score"] = 9.0  # outside the fitted range: MinMaxScaler clips
    return train, test


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(2)
    scales = [1.0, 10.0, 100.0]
    X = np.column_stack([rng.normal(size=(150, 3)) * scales, rng.integers(0, 4, 150)])
    X[::7, 0] = np.nan
    X_test = np.column_stack([rng.normal(size=(20, 3)) * scales, rng.integers(0, 4, 20)])
    X_test[:2, 3] = [9.0, -1.0]  # unseen codes
    X_test[2:4, 1] = np.nan
    return X, X_test


def frame_classifier_preprocessor():
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                                  StandardScaler()), ["age", "income"]),
            ("city", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                   OneHotEncoder(handle_unknown="ignore")), ["city"]),
            ("plan", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                    encoded_missing_value=-2), ["plan"]),
            ("score", MinMaxScaler(clip=True), ["score"]),
        ],
        remainder="passthrough",  # visits / month
    )


def frame_regressor_preprocessor():
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="mean"), RobustScaler()),
             ["age", "income", "score"]),
            ("text", make_pipeline(SimpleImputer(strategy="constant", fill_value="unknown"),
                                   OneHotEncoder(handle_unknown="ignore", drop="first")),
             ["city", "plan"]),
        ],
        remainder="drop",
    )


def array_preprocessor():
    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="mean"), MaxAbsScaler()), [0, 1, 2]),
        ("code", OneHotEncoder(handle_unknown="ignore"), [3]),
    ])


@pytest.fixture(scope="module")
def frame_classifier(frames):
    train, _ = frames
    y = np.where(train["score"] + (train["plan"] == "pro") > 2.5, "yes", "no")
    est = KerasPipelineClassifier(preprocessor=frame_classifier_preprocessor(), **FAST)
    return est.fit(train, y)


@pytest.fixture(scope="module")
def frame_regressor(frames):
    train, _ = frames
    y = 1000.0 + 50.0 * train["score"] + 10.0 * (train["city"] == "paris")
    return KerasPipelineRegressor(preprocessor=frame_regressor_preprocessor(),
                                  target_transformer=StandardScaler(), **FAST).fit(train, y)


@pytest.fixture(scope="module")
def array_classifier(arrays):
    X, _ = arrays
    y = (X[:, 3] + (X[:, 1] > 0)).astype(int) % 3
    return KerasPipelineClassifier(preprocessor=array_preprocessor(), **FAST).fit(X, y)


@pytest.fixture(scope="module")
def array_regressor(arrays):
    X, _ = arrays
    X = np.nan_to_num(X)
    y = np.column_stack([X[:, 1] * 3.0 + 7.0, X[:, 2] - X[:, 0]])
    est = KerasPipelineRegressor(target_transformer=MinMaxScaler(), **FAST)  # no preprocessor
    return est.fit(X, y)


CASES = ["frame_classifier", "frame_regressor", "array_classifier", "array_regressor"]


@pytest.fixture(scope="module")
def exported():
    """Exported models, built once per estimator for the whole module."""
    return {}


def _case(request, name, frames, arrays):
    est = request.getfixturevalue(name)
    X_test = frames[1] if name.startswith("frame") else arrays[1]
    if name == "array_regressor":
        X_test = np.nan_to_num(X_test)
    return est, X_test


def _expected(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


def _export(est, cache):
    if id(est) not in cache:
        cache[id(est)] = est.export_model()
    return cache[id(est)]


# -- parity ----------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Found unknown categories")  # OneHotEncoder(drop=...) warns
@pytest.mark.parametrize("name", CASES)
def test_exported_model_matches_the_estimator(name, request, frames, arrays, exported):
    est, X_test = _case(request, name, frames, arrays)
    model = _export(est, exported)
    assert isinstance(model, keras.Model)
    got = keras.ops.convert_to_numpy(model(frame_to_inputs(model, X_test)))
    want = _expected(est, X_test)
    assert np.ptp(want, axis=0).min() > 1e-3  # the rows differ, so a wrong translation shows
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5)


def test_held_out_rows_really_have_unseen_and_missing_values(frame_classifier, frames):
    _, test = frames
    city = frame_classifier.preprocessor_.named_transformers_["city"][-1]
    assert not set(test["city"].dropna()) <= set(city.categories_[0])
    assert test[["age", "city", "plan"]].isna().any().all()


def test_predict_method_and_array_input_work(array_classifier, arrays, exported):
    _, X_test = arrays
    model = _export(array_classifier, exported)
    got = model.predict(X_test, verbose=0)  # a plain float array
    np.testing.assert_allclose(got, array_classifier.predict_proba(X_test), atol=1e-5)


def test_binary_sigmoid_model_gives_two_columns(frame_classifier, frames, exported):
    _, test = frames
    assert frame_classifier.model_.output_shape == (None, 1)
    model = _export(frame_classifier, exported)
    proba = keras.ops.convert_to_numpy(model(frame_to_inputs(model, test)))
    assert proba.shape == (len(test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_inputs_follow_how_the_estimator_was_fitted(frame_classifier, array_classifier, exported):
    frame_model = _export(frame_classifier, exported)
    assert set(frame_model.input) == {input_name(c) for c in frame_classifier.feature_names_in_}
    dtypes = {name: t.dtype for name, t in frame_model.input.items()}
    assert dtypes["city"] == dtypes["plan"] == "string"
    assert dtypes["age"] == dtypes["visits___month"] == "float64"  # name made signature-safe
    array_model = _export(array_classifier, exported)
    assert tuple(array_model.input.shape) == (None, 4)


def test_exported_model_does_not_share_weights(frame_regressor, exported):
    model = _export(frame_regressor, exported)
    exported_ids = {id(v) for v in model.weights}
    assert exported_ids and not exported_ids & {id(v) for v in frame_regressor.model_.weights}


# -- SavedModel and .keras --------------------------------------------------------------------
@pytest.mark.parametrize("name", ["frame_classifier", "array_regressor"])
def test_saved_model_serves_the_same_predictions(name, request, frames, arrays, exported, tmp_path):
    est, X_test = _case(request, name, frames, arrays)
    model = _export(est, exported)
    model.export(str(tmp_path / "served"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "served"))
    assert "serve" in served.signatures
    got = served.serve(frame_to_inputs(model, X_test)).numpy()
    np.testing.assert_allclose(got, _expected(est, X_test), rtol=1e-6, atol=1e-5)


def test_exported_model_saves_as_keras_file(frame_classifier, frames, exported, tmp_path):
    _, test = frames
    model = _export(frame_classifier, exported)
    model.save(tmp_path / "exported.keras")
    reloaded = keras.saving.load_model(tmp_path / "exported.keras")  # layers are registered
    got = keras.ops.convert_to_numpy(reloaded(frame_to_inputs(reloaded, test)))
    np.testing.assert_allclose(got, frame_classifier.predict_proba(test), atol=1e-5)


# -- what cannot be exported -------------------------------------------------------------------
def test_unfitted_estimator_cannot_be_exported():
    with pytest.raises(NotFittedError):
        KerasPipelineClassifier().export_model()


@pytest.mark.parametrize("preprocessor", [
    PolynomialFeatures(), make_pipeline(StandardScaler(), FunctionTransformer(np.tanh)),
    ColumnTransformer([("poly", PolynomialFeatures(), [0, 1])], remainder="passthrough"),
], ids=["top-level", "in-pipeline", "in-column-transformer"])
def test_unsupported_transformer_is_named_with_the_supported_list(preprocessor, binary_data):
    X, y = binary_data
    est = KerasPipelineClassifier(preprocessor=preprocessor, **ONE_EPOCH).fit(X, y)
    with pytest.raises(ExportError, match="Supported preprocessors: StandardScaler") as info:
        est.export_model()
    assert isinstance(info.value, ValueError)
    assert "PolynomialFeatures" in str(info.value) or "FunctionTransformer" in str(info.value)


def test_unsupported_target_transformer_is_refused(binary_data):
    X, _ = binary_data
    y = X[:, 0] * 2.0
    quantiles = QuantileTransformer(n_quantiles=20)
    est = KerasPipelineRegressor(target_transformer=quantiles, **ONE_EPOCH)
    est.fit(X, y)
    with pytest.raises(ExportError, match="QuantileTransformer.*Supported target transformers"):
        est.export_model()


def test_text_columns_in_an_array_need_a_dataframe(frames):
    train, _ = frames
    X = train[["city"]].fillna("none").to_numpy()
    y = (train["score"] > 2.5).to_numpy().astype(int)
    est = KerasPipelineClassifier(preprocessor=OneHotEncoder(), **ONE_EPOCH).fit(X, y)
    with pytest.raises(ExportError, match="pandas DataFrame"):
        est.export_model()


# -- models exported by version 0.1 -------------------------------------------------------------
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture(scope="module")
def v01_expected():
    with np.load(os.path.join(FIXTURES, "export_v01_expected.npz"), allow_pickle=False) as f:
        return dict(f)


@pytest.mark.parametrize("file, prefix", [("export_v01.keras", "clf"),
                                          ("export_v01_regressor.keras", "reg")])
def test_models_exported_by_v01_still_load_and_give_the_same_output(file, prefix, v01_expected):
    """The files were saved by skkeras_prep 0.1.0 (tests/fixtures/make_export_v01.py): the
    registered names of the export layers must not change."""
    model = keras.saving.load_model(os.path.join(FIXTURES, file))
    inputs = {k.split(":", 1)[1]: v for k, v in v01_expected.items()
              if k.startswith(prefix + ":") and not k.endswith(":output")}
    if set(inputs) == {"features"}:
        inputs = inputs["features"]
    else:
        assert set(inputs) == set(model.input)
        inputs = {name: tf.constant(value) for name, value in inputs.items()}
    got = keras.ops.convert_to_numpy(model(inputs))
    want = v01_expected[f"{prefix}:output"]
    assert np.ptp(want, axis=0).min() > 1e-3  # the rows differ, so a wrong layer shows
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_public_names_of_v01_are_still_there():
    v01 = ["ExportError", "MISSING_STRING", "SUPPORTED_TRANSFORMERS",
           "SUPPORTED_TARGET_TRANSFORMERS", "STRING", "NUMBER", "Block", "export_model",
           "frame_to_inputs", "input_name"]
    layers = ["SelectColumns", "Concat", "Affine", "FillMissing", "IsMissing", "OneHot", "Ordinal",
              "JoinFeatures", "ProbabilityOutput", "FirstColumn"]
    missing = [name for name in v01 + layers if not hasattr(skkeras_prep.export, name)]
    assert not missing
    for name in layers:  # the names stored in .keras files
        layer = getattr(skkeras_prep.export, name)
        assert keras.saving.get_registered_name(layer) == f"skkeras_prep>{name}"
        assert keras.saving.get_registered_object(f"skkeras_prep>{name}") is layer


# -- the translator registry --------------------------------------------------------------------
def test_supported_transformers_are_the_registry():
    assert SUPPORTED_TRANSFORMERS == tuple(cls.__name__ for cls in TRANSLATORS)
    assert "FunctionTransformer" in SUPPORTED_TRANSFORMERS  # 0.1's list left it out
    assert len(set(SUPPORTED_TRANSFORMERS)) == len(SUPPORTED_TRANSFORMERS)


NUMERIC = ["score", "visits / month"]  # complete numeric columns of make_frame
TEXT = ["city", "plan"]  # text columns with None


def registry_examples():
    """(columns of make_frame, preprocessor) for each registered translator. A new registry
    entry fails test_every_registered_translator_exports until it gets an example here."""
    everything = ["age", "income", *TEXT, *NUMERIC]
    return {
        "StandardScaler": (NUMERIC, StandardScaler()),
        "MinMaxScaler": (NUMERIC, MinMaxScaler(clip=True)),  # test rows hold a score of 9.0
        "MaxAbsScaler": (NUMERIC, MaxAbsScaler()),
        "RobustScaler": (NUMERIC, RobustScaler()),
        "SimpleImputer": (["age", "income", "city"], ColumnTransformer([
            ("n", SimpleImputer(strategy="median", add_indicator=True), ["age", "income"]),
            ("t", make_pipeline(SimpleImputer(strategy="constant", fill_value="none"),
                                OneHotEncoder(handle_unknown="ignore")), ["city"]),
        ])),
        "OneHotEncoder": (TEXT, OneHotEncoder(handle_unknown="ignore")),
        "OrdinalEncoder": (TEXT, OrdinalEncoder(handle_unknown="use_encoded_value",
                                                unknown_value=-1, encoded_missing_value=-2)),
        "ColumnTransformer": (everything, ColumnTransformer(
            [("n", SimpleImputer(), ["age", "income"]),
             ("t", OneHotEncoder(handle_unknown="ignore"), TEXT),
             ("gone", "drop", ["score"])],
            remainder="passthrough",  # visits / month
        )),
        "Pipeline": (["age", "income"], make_pipeline(SimpleImputer(), "passthrough",
                                                      StandardScaler())),
        "FunctionTransformer": (NUMERIC, ColumnTransformer([("t", FunctionTransformer(),
                                                              NUMERIC)])),
    }


def _fitted_classes(transformer):
    """The classes of every fitted transformer inside ``transformer``."""
    found = {type(transformer).__name__}
    if isinstance(transformer, Pipeline):
        parts = [step for _, step in transformer.steps]
    elif isinstance(transformer, ColumnTransformer):
        parts = [part for _, part, _ in transformer.transformers_]
    else:
        parts = []
    for part in parts:
        if part is not None and not isinstance(part, str):
            found |= _fitted_classes(part)
    return found


@pytest.mark.filterwarnings("ignore:Found unknown categories")
@pytest.mark.parametrize("name", SUPPORTED_TRANSFORMERS)
def test_every_registered_translator_exports(name, frames):
    if name not in registry_examples():
        pytest.fail(f"Add an example of {name} to registry_examples() in tests/test_export.py.")
    columns, example = registry_examples()[name]
    train, test = frames
    y = np.where(train["score"] + (train["plan"] == "pro") > 2.5, "yes", "no")
    train, test = train[columns], test[columns]
    est = KerasPipelineClassifier(preprocessor=example, **ONE_EPOCH).fit(train, y)
    assert name in _fitted_classes(est.preprocessor_)  # the example really uses the entry
    translated = keras.Model(*preprocessing_layers(est))  # raw columns -> the model's features
    features = keras.ops.convert_to_numpy(translated(frame_to_inputs(translated, test)))
    want = est.preprocessor_.transform(test)
    want = np.asarray(want.toarray() if hasattr(want, "toarray") else want, dtype=np.float32)
    assert np.ptp(want, axis=0).max() > 1e-3
    np.testing.assert_allclose(features, want, rtol=1e-6, atol=1e-6)
    model = est.export_model()
    got = keras.ops.convert_to_numpy(model(frame_to_inputs(model, test)))
    np.testing.assert_allclose(got, est.predict_proba(test), rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", SUPPORTED_TARGET_TRANSFORMERS)
def test_every_supported_target_transformer_is_inverted(name, arrays):
    X, X_test = (np.nan_to_num(a[:, :3]) for a in arrays)
    y = 50.0 + 20.0 * X[:, 1] - X[:, 2]
    transformer = None if name == "None" else getattr(sklearn.preprocessing, name)()
    est = KerasPipelineRegressor(target_transformer=transformer, **ONE_EPOCH).fit(X, y)
    model = est.export_model()
    got = keras.ops.convert_to_numpy(model(frame_to_inputs(model, X_test)))
    want = est.predict(X_test)
    assert got.shape == want.shape == (len(X_test),)
    assert np.ptp(want) > 1e-3
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5)


def test_function_transformer_with_a_function_names_the_limit(binary_data):
    X, y = binary_data
    est = KerasPipelineClassifier(preprocessor=FunctionTransformer(np.tanh), **ONE_EPOCH)
    est.fit(X, y)
    with pytest.raises(ExportError, match="FunctionTransformer.*supported only without func"):
        est.export_model()


def test_text_reaching_a_scaler_is_refused_with_the_transformers_that_take_text():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"n": rng.integers(0, 9, 40).astype(str).astype(object)})  # numbers as text
    y = (X["n"].astype(int) > 4).astype(int)
    preprocessor = make_pipeline(SimpleImputer(strategy="most_frequent"), StandardScaler())
    est = KerasPipelineClassifier(preprocessor=preprocessor, **ONE_EPOCH).fit(X, y)
    with pytest.raises(ExportError, match="StandardScaler receives text columns") as info:
        est.export_model()
    for name in ("SimpleImputer", "OneHotEncoder", "OrdinalEncoder"):
        assert name in str(info.value)


def test_text_in_a_column_the_model_reads_as_numbers_is_a_clear_error(frames):
    train, test = frames
    y = (train["score"] > 2.5).astype(int)
    only_numbers = ColumnTransformer([("t", StandardScaler(), NUMERIC)])  # drops city, plan
    est = KerasPipelineClassifier(preprocessor=only_numbers, **ONE_EPOCH).fit(train, y)
    model = est.export_model()
    with pytest.raises(ValueError, match="reads column 'city' as numbers .*any number, e.g. 0"):
        frame_to_inputs(model, test)
    filled = test.assign(city=0.0, plan=0.0)  # the dropped columns' values do not matter
    got = keras.ops.convert_to_numpy(model(frame_to_inputs(model, filled)))
    np.testing.assert_allclose(got, est.predict_proba(test), rtol=1e-6, atol=1e-5)
