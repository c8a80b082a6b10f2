"""skkeras_prep.export.to_onnx: the exported model as an ONNX file, served by onnxruntime
without TensorFlow, gives what predict_proba / predict give."""

import sys

import keras
import numpy as np
import onnxruntime
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)

from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor, MultiInput
from skkeras_prep.export import ExportError, onnx_inputs, onnx_signature, to_onnx
from skkeras_prep.images import ImageLoader
from skkeras_prep.models import MLP

TOLERANCE = 1e-5


# -- data: numbers and text with missing values; held-out rows with unseen categories --------
def make_frame(n, seed):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "age": rng.normal(40, 12, n),
        "income": rng.lognormal(10, 0.6, n),
        "city": rng.choice(["paris", "lyon", "nice"], n),
        "plan": rng.choice(["basic", "pro", "team"], n),
        "tier": rng.integers(0, 3, n).astype(float),
        "score": rng.uniform(0, 5, n),
        "size": rng.choice(["s", "m", "l"], n),  # no unseen values: a plain OrdinalEncoder
    })
    X.loc[::6, "age"] = np.nan
    X.loc[::5, "city"] = None
    X.loc[::7, "plan"] = None
    return X


@pytest.fixture(scope="module")
def frames():
    train, test = make_frame(120, 0), make_frame(20, 1)
    test.loc[test.index[:3], "city"] = ["atlantis", "gotham", None]  # unseen, unseen, missing
    test.loc[test.index[3:5], "plan"] = ["platinum", None]  # unseen, missing
    test.loc[test.index[5], "tier"] = 7.0  # an unseen number category
    test.loc[test.index[6], ["age", "score"]] = [np.nan, 9.0]  # missing; outside the range
    return train, test


def frame_preprocessor():
    """Every translated transformer, on numbers and on text, missing values included."""
    return ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                                  StandardScaler()), ["age"]),
        ("robust", RobustScaler(), ["income"]),
        ("clip", MinMaxScaler(clip=True), ["score"]),
        ("city", make_pipeline(SimpleImputer(strategy="constant", fill_value="unknown"),
                               OneHotEncoder(handle_unknown="ignore")), ["city"]),
        ("plan", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                encoded_missing_value=-2), ["plan"]),
        ("tier", OneHotEncoder(handle_unknown="ignore"), ["tier"]),
        ("maxabs", MaxAbsScaler(), ["income"]),
        # handle_unknown="error": the layer's unknown value is a NaN filled at run time, which
        # tf2onnx's own tf.where would multiply into every row (_compat.tf2onnx_op_handlers)
        ("size", OrdinalEncoder(), ["size"]),
    ])


def sequential_mlp(meta):
    """A builder returning keras.Sequential, as users write them."""
    return keras.Sequential([keras.Input(meta["input_shape_"]),
                             keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(meta["n_classes_"], activation="softmax")])


def functional_regressor(meta):
    """A builder returning a functional model it compiled itself."""
    x = keras.Input(meta["input_shape_"])
    h = keras.layers.Dense(8, activation="tanh")(x)
    model = keras.Model(x, keras.layers.Dense(1)(h))
    model.compile(optimizer="adam", loss="mse")
    return model


def tiny_cnn(meta):
    x = keras.Input(meta["input_shape_"])
    h = keras.layers.Conv2D(3, 3, activation="relu")(x)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(x, keras.layers.Dense(meta["n_classes_"], activation="softmax")(h))


@pytest.fixture(scope="module")
def frame_classifier(frames):
    train, _ = frames
    y = np.where(train["score"].to_numpy() > 2.5, "high", "low")
    y[::4] = "mid"
    est = KerasPipelineClassifier(sequential_mlp, frame_preprocessor(), epochs=2, random_state=0)
    return est.fit(train, y)


@pytest.fixture(scope="module")
def frame_regressor(frames):
    train, _ = frames
    y = train["score"].to_numpy() * 2.0 + 1.0
    est = KerasPipelineRegressor(functional_regressor, frame_preprocessor(), epochs=2,
                                 target_transformer=StandardScaler(), random_state=0)
    return est.fit(train, y)


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(100, 4)) * [1.0, 10.0, 100.0, 1.0]
    X[::7, 0] = np.nan
    X_test = rng.normal(size=(12, 4))
    X_test[:3, 0] = np.nan
    return X, (X[:, 1] > 0).astype(int), X_test


@pytest.fixture(scope="module")
def array_classifier(arrays):
    """A binary classifier (one sigmoid unit) on an array, given a keras.Model instance."""
    X, y, _ = arrays
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
    est = KerasPipelineClassifier(model, make_pipeline(SimpleImputer(), StandardScaler()),
                                  epochs=2, random_state=0)
    return est.fit(X, y)


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (40, 8, 8, 1))
    y = np.where(X.mean(axis=(1, 2, 3)) > 0.5, "bright", "dark")
    return X, y


@pytest.fixture(scope="module")
def image_classifier(images):
    X, y = images
    return KerasPipelineClassifier(tiny_cnn, None, epochs=2, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """to_onnx once per estimator: the written file and its onnxruntime session."""
    cache = {}

    def convert(est):
        if id(est) not in cache:
            path = tmp_path_factory.mktemp("onnx") / "model.onnx"
            to_onnx(est, path)
            session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            cache[id(est)] = path, session
        return cache[id(est)]

    return convert


def _run(session, X):
    return session.run(None, onnx_inputs(session, X))[0]


# -- outputs match the estimator -----------------------------------------------------------------
def test_frame_classifier_matches_predict_proba_with_missing_and_unseen_values(
        frame_classifier, frames, converted):
    _, test = frames
    _, session = converted(frame_classifier)
    expected = frame_classifier.predict_proba(test)
    got = _run(session, test)
    assert got.dtype == np.float64 and got.shape == expected.shape == (20, 3)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
    assert [o.name for o in session.get_outputs()] == ["probabilities"]


def test_the_held_out_rows_really_hold_unseen_and_missing_values(frame_classifier, frames):
    """The comparison above is worth something only if these rows reach the special cases."""
    _, test = frames
    ct = frame_classifier.preprocessor_
    city = ct.named_transformers_["city"][-1]
    assert not set(test["city"].dropna()) <= set(city.categories_[0])
    plan = ct.named_transformers_["plan"].transform(test[["plan"]]).ravel()
    assert {-1.0, -2.0} <= set(plan)
    assert test["age"].isna().any()


def test_frame_regressor_matches_predict(frame_regressor, frames, converted):
    _, test = frames
    _, session = converted(frame_regressor)
    expected = frame_regressor.predict(test)
    got = _run(session, test)
    assert got.shape == expected.shape == (20,)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
    assert [o.name for o in session.get_outputs()] == ["predictions"]


def test_array_classifier_with_imputer_matches_predict_proba(array_classifier, arrays, converted):
    _, _, X_test = arrays
    _, session = converted(array_classifier)
    got = _run(session, X_test)
    assert got.shape == (12, 2)  # one sigmoid unit -> [1 - p, p], as predict_proba
    np.testing.assert_allclose(got, array_classifier.predict_proba(X_test), rtol=0,
                               atol=TOLERANCE)


def test_image_arrays_match_predict_proba(image_classifier, images, converted):
    X, _ = images
    _, session = converted(image_classifier)
    np.testing.assert_allclose(_run(session, X[:8]), image_classifier.predict_proba(X[:8]),
                               rtol=0, atol=TOLERANCE)


def test_one_row_and_many_rows_give_the_same_answers(frame_classifier, frames, converted):
    _, test = frames
    _, session = converted(frame_classifier)
    whole = _run(session, test)
    for i in (0, 4, 19):
        np.testing.assert_allclose(_run(session, test.iloc[[i]]), whole[[i]], atol=1e-12)


def test_image_loader_images_input_matches_predict_proba(tmp_path, converted):
    rng = np.random.default_rng(4)
    paths, y = [], []
    for i in range(12):
        path = tmp_path / f"img{i}.png"
        tf.io.write_file(str(path), tf.io.encode_png(
            rng.integers(0, 255, (6, 6, 3)).astype(np.uint8)))
        paths.append(str(path))
        y.append("a" if i % 2 else "b")
    est = KerasPipelineClassifier(tiny_cnn, ImageLoader(size=(6, 6)), epochs=1,
                                  random_state=0).fit(np.array(paths, dtype=object), y)
    _, session = converted(est)
    assert [(i.name, i.type) for i in session.get_inputs()] == [("images", "tensor(float)")]
    decoded = np.stack([tf.io.decode_png(tf.io.read_file(p)).numpy() for p in paths[:4]])
    got = session.run(None, {"images": decoded.astype(np.float32)})[0]
    np.testing.assert_allclose(got, est.predict_proba(np.array(paths[:4], dtype=object)),
                               rtol=0, atol=TOLERANCE)
    with pytest.raises(ExportError, match="no operator that decodes PNG"):
        to_onnx(est, input="bytes")


# -- the declared input signature -------------------------------------------------------------------
def test_signature_declares_one_typed_input_per_column(frame_classifier, converted):
    path, _ = converted(frame_classifier)
    signature = onnx_signature(path)
    # fed by name (the file lists them sorted, not in the DataFrame's order)
    assert sorted(signature) == sorted(["age", "income", "city", "plan", "tier", "score", "size"])
    for name in ("age", "income", "tier", "score"):
        assert signature[name] == (np.dtype(np.float64), (None, 1))
    for name in ("city", "plan", "size"):
        assert signature[name] == (np.dtype(object), (None, 1))


def test_signature_of_an_array_estimator_is_one_features_input(array_classifier, converted):
    path, _ = converted(array_classifier)
    assert onnx_signature(str(path)) == {"features": (np.dtype(np.float64), (None, 4))}


def test_string_columns_are_compared_through_category_mapper(frame_classifier, converted):
    """Text never reaches an arithmetic Cast (onnxruntime failed there with 'stoll')."""
    path, _ = converted(frame_classifier)
    import onnx

    proto = onnx.load(str(path))
    kinds = {n.op_type for n in proto.graph.node}
    assert "CategoryMapper" in kinds
    strings = {i.name for i in proto.graph.input if i.type.tensor_type.elem_type == 8}
    assert not [n for n in proto.graph.node if n.op_type == "Cast" and set(n.input) & strings]


# -- several inputs and outputs -----------------------------------------------------------------------
def two_inputs_builder(meta):
    """A builder taking a dict of two inputs: "a" (a DataFrame, preprocessed) and "b"."""
    a = keras.Input(meta["input_shape_"]["a"], name="a")
    b = keras.Input(meta["input_shape_"]["b"], name="b")
    h = keras.layers.Dense(6, activation="relu")(keras.layers.Concatenate()([a, b]))
    return keras.Model({"a": a, "b": b}, keras.layers.Dense(3, activation="softmax")(h))


def two_heads(meta):
    x = keras.Input(meta["input_shape_"])
    h = keras.layers.Dense(4, activation="relu")(x)
    return keras.Model(x, {"kind": keras.layers.Dense(3, activation="softmax")(h),
                           "flag": keras.layers.Dense(1, activation="sigmoid")(h)})


def two_parts(n, seed):
    rng = np.random.default_rng(seed)
    a = pd.DataFrame({"x": rng.normal(size=n), "colour": rng.choice(["red", "blue"], n)})
    a.loc[::5, "colour"] = None
    return {"a": a, "b": rng.normal(size=(n, 2))}


@pytest.fixture(scope="module")
def multi_io():
    """(X, held-out X with an unseen and a missing colour, 3-class y, binary y)."""
    X, X_test = two_parts(60, 5), two_parts(10, 6)
    X_test["a"].loc[[0, 1], "colour"] = ["purple", None]
    kind = np.array(["lo", "mid", "hi"])[np.digitize(X["b"][:, 1], [-0.5, 0.5])]
    return X, X_test, kind, (X["a"]["x"].to_numpy() > 0).astype(int)


@pytest.fixture(scope="module")
def two_input_classifier(multi_io):
    X, _, kind, _ = multi_io
    encode = ColumnTransformer([
        ("colour", make_pipeline(SimpleImputer(strategy="constant", fill_value="none"),
                                 OneHotEncoder(handle_unknown="ignore")), ["colour"]),
        ("x", StandardScaler(), ["x"])])
    est = KerasPipelineClassifier(two_inputs_builder, preprocessor={"a": encode}, epochs=2,
                                  random_state=0)
    return est.fit(X, kind)


@pytest.fixture(scope="module")
def two_output_classifier(multi_io):
    X, _, kind, flag = multi_io
    est = KerasPipelineClassifier(two_heads, StandardScaler(), epochs=2, random_state=0)
    return est.fit(X["b"], {"kind": kind, "flag": flag})


@pytest.fixture(scope="module")
def two_output_regressor(multi_io):
    """A keras.Model instance with two inputs given as a list, and two outputs (y a list)."""
    X, _, _, _ = multi_io
    a, b = keras.Input((1,), name="a"), keras.Input((2,), name="b")
    h = keras.layers.Dense(4, activation="tanh")(keras.layers.Concatenate()([a, b]))
    model = keras.Model([a, b], [keras.layers.Dense(1, name="r1")(h),
                                 keras.layers.Dense(2, name="r2")(h)])
    Xr = {"a": X["a"][["x"]].to_numpy(), "b": X["b"]}
    targets = [X["b"][:, 0] * 3.0, X["b"] - 1.0]
    est = KerasPipelineRegressor(model, epochs=2, random_state=0)
    return est.fit(Xr, targets)


def test_two_inputs_match_predict_proba_with_unseen_and_missing_text(
        two_input_classifier, multi_io, converted):
    _, X_test, _, _ = multi_io
    path, session = converted(two_input_classifier)
    assert onnx_signature(path) == {
        "a.colour": (np.dtype(object), (None, 1)), "a.x": (np.dtype(np.float64), (None, 1)),
        "b": (np.dtype(np.float64), (None, 2))}
    expected = two_input_classifier.predict_proba(X_test)
    got = _run(session, X_test)
    assert got.dtype == np.float64 and got.shape == expected.shape == (10, 3)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
    assert [o.name for o in session.get_outputs()] == ["probabilities"]


def test_onnx_inputs_takes_a_multi_input_as_a_dict(two_input_classifier, multi_io, converted):
    _, X_test, _, _ = multi_io
    _, session = converted(two_input_classifier)
    from_dict, from_wrapper = onnx_inputs(session, X_test), onnx_inputs(session, MultiInput(X_test))
    assert sorted(from_dict) == sorted(from_wrapper) == ["a.colour", "a.x", "b"]
    assert list(from_dict["a.colour"][:2, 0]) == ["purple", ""]  # unseen; missing -> ""
    for name in from_dict:
        np.testing.assert_array_equal(from_dict[name], from_wrapper[name])


def test_onnx_inputs_names_what_a_several_inputs_x_lacks(two_input_classifier, multi_io,
                                                         converted):
    _, X_test, _, _ = multi_io
    _, session = converted(two_input_classifier)
    with pytest.raises(ValueError, match=r"lacks the ONNX input\(s\) \['b'\].*dict by input"):
        onnx_inputs(session, {"a": X_test["a"]})
    with pytest.raises(ValueError, match=r"lacks the ONNX input\(s\) \['a.x'\]"):
        onnx_inputs(session, {"a": X_test["a"].drop(columns="x"), "b": X_test["b"]})
    with pytest.raises(ValueError, match="dict by input name"):
        onnx_inputs(session, X_test["b"])
    with pytest.raises(ValueError, match="'b' is tensor\\(double\\).*not numbers"):
        onnx_inputs(session, {**X_test, "b": np.full((10, 2), "x", dtype=object)})


def test_onnx_signature_reads_no_file_the_model_names(tmp_path):
    """A file may keep tensors as external data at paths it names: reading its signature opens
    none of them (here the path does not exist, so following it would fail)."""
    import onnx
    from onnx import TensorProto, helper

    weight = helper.make_tensor("w", TensorProto.DOUBLE, [4, 1], [0.0] * 4)
    weight.data_location = TensorProto.EXTERNAL
    weight.ClearField("double_data")
    weight.external_data.add(key="location", value="elsewhere/secret.bin")  # beside the file
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["features", "w"], ["out"])], "g",
        [helper.make_tensor_value_info("features", TensorProto.DOUBLE, [None, 4])],
        [helper.make_tensor_value_info("out", TensorProto.DOUBLE, [None, 1])], [weight])
    path = tmp_path / "crafted.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    with pytest.raises(onnx.checker.ValidationError, match="elsewhere/secret.bin"):
        onnx.load(str(path))  # what following the path does
    signature = onnx_signature(path)
    assert list(signature) == ["features"]
    assert signature["features"][1] == (None, 4)


def test_onnx_inputs_names_an_array_of_the_wrong_shape(array_classifier, arrays, converted):
    _, _, X_test = arrays
    _, session = converted(array_classifier)
    assert onnx_inputs(session, X_test[:1])["features"].shape == (1, 4)  # one row, as at fit
    with pytest.raises(ValueError, match=r"'features' takes arrays of shape \(rows, 4\), but "
                                         r"the array given for it has shape \(12, 3\)"):
        onnx_inputs(session, X_test[:, :3])
    with pytest.raises(ValueError, match=r"has shape \(4,\)\. .*X\[:1\], not X\[0\]"):
        onnx_inputs(session, X_test[0])


def test_two_output_classifier_gives_one_output_per_head_in_predict_proba_order(
        two_output_classifier, multi_io, converted):
    _, X_test, _, _ = multi_io
    _, session = converted(two_output_classifier)
    # "kind" first, as the model declares them (tf2onnx would list them sorted: flag, kind)
    assert [o.name for o in session.get_outputs()] == ["probabilities.kind",
                                                       "probabilities.flag"]
    got = session.run(None, onnx_inputs(session, X_test["b"]))
    expected = two_output_classifier.predict_proba(X_test["b"])
    assert [g.shape for g in got] == [e.shape for e in expected] == [(10, 3), (10, 2)]
    for g, e in zip(got, expected):
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, e, rtol=0, atol=TOLERANCE)


def test_two_output_regressor_gives_predict_as_one_array(two_output_regressor, multi_io,
                                                         converted):
    _, X_test, _, _ = multi_io
    X = {"a": X_test["a"][["x"]].to_numpy(), "b": X_test["b"]}
    path, session = converted(two_output_regressor)
    assert onnx_signature(path) == {"a": (np.dtype(np.float64), (None, 1)),
                                    "b": (np.dtype(np.float64), (None, 2))}
    assert [o.name for o in session.get_outputs()] == ["predictions"]
    got, expected = _run(session, X), two_output_regressor.predict(X)
    assert got.dtype == np.float64 and got.shape == expected.shape == (10, 3)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)


def test_output_names_that_clash_once_made_valid_are_refused(two_output_classifier,
                                                             monkeypatch):
    from skkeras_prep.export.onnx_model import _output_names

    encoder = two_output_classifier.target_encoder_
    monkeypatch.setattr(encoder, "names_", ["a b", "a_b"])
    with pytest.raises(ExportError, match=r"same ONNX output names \['probabilities.a_b'\]"):
        _output_names(two_output_classifier)


# -- what is refused, and why ------------------------------------------------------------------------
def test_unfitted_estimator_is_refused():
    with pytest.raises(NotFittedError):
        to_onnx(KerasPipelineClassifier(MLP((4,))))


def test_a_graph_onnxruntime_would_reject_is_refused_at_export():
    """The last check behind the handlers: a string Equal left in opset 18 is not written."""
    import onnx
    from onnx import TensorProto, helper

    from skkeras_prep.export.onnx_model import _checked

    text = helper.make_tensor_value_info("t", TensorProto.STRING, [None, 1])
    graph = helper.make_graph(
        [helper.make_node("Equal", ["t", "t"], ["e"])], "g", [text],
        [helper.make_tensor_value_info("e", TensorProto.BOOL, [None, 1])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(ExportError, match="ONNX rejects"):
        _checked(proto, onnx, [])
    with pytest.raises(ExportError, match="two computed string tensors"):
        _checked(proto, onnx, ["Equal: an Equal of two computed string tensors"])


def test_an_untranslatable_preprocessor_is_refused_with_the_supported_list(arrays):
    X, y, _ = arrays
    est = KerasPipelineClassifier(MLP((4,)), QuantileTransformer(n_quantiles=10), epochs=1,
                                  random_state=0).fit(np.nan_to_num(X), y)
    with pytest.raises(ExportError, match="QuantileTransformer.*Supported preprocessors"):
        to_onnx(est)


def test_an_operator_onnx_lacks_is_refused_with_its_name(arrays):
    X, y, _ = arrays

    def with_digamma(meta):
        x = keras.Input(meta["input_shape_"])
        h = keras.layers.Lambda(lambda t: tf.math.digamma(tf.abs(t) + 1.0))(x)
        return keras.Model(x, keras.layers.Dense(1, activation="sigmoid")(h))

    est = KerasPipelineClassifier(with_digamma, StandardScaler(), epochs=1,
                                  random_state=0).fit(np.nan_to_num(X), y)
    with pytest.raises(ExportError, match="Digamma"):
        to_onnx(est)


def test_bytes_input_of_a_non_image_estimator_names_the_image_loader(array_classifier):
    with pytest.raises(ExportError, match="ImageLoader"):
        to_onnx(array_classifier, input="bytes")


@pytest.mark.parametrize("module", ["tf2onnx", "onnx"])
def test_missing_converter_names_the_onnx_extra(array_classifier, monkeypatch, module):
    monkeypatch.setitem(sys.modules, module, None)  # what an uninstalled package looks like
    with pytest.raises(ImportError, match=r"skkeras_prep\[onnx\]") as info:
        to_onnx(array_classifier)
    assert module in str(info.value)


def test_onnx_inputs_needs_a_frame_for_a_per_column_model(frame_classifier, frames, converted):
    train, _ = frames
    _, session = converted(frame_classifier)
    with pytest.raises(ValueError, match="pass a pandas DataFrame"):
        onnx_inputs(session, train.to_numpy())
    with pytest.raises(ValueError, match=r"lacks the column\(s\).*'city'"):
        onnx_inputs(session, train.drop(columns="city"))
    with pytest.raises(ValueError, match="'age' is float64.*not numbers"):
        onnx_inputs(session, train.assign(age="forty"))


def test_onnx_inputs_turns_missing_text_into_empty_strings(frame_classifier, frames, converted):
    _, test = frames
    _, session = converted(frame_classifier)
    feeds = onnx_inputs(session, test.assign(plan=test["plan"].astype(object)))
    assert feeds["city"].dtype == object and feeds["city"].shape == (20, 1)
    assert [feeds["city"][i, 0] for i in range(3)] == ["atlantis", "gotham", ""]
    assert feeds["plan"][4, 0] == "" and all(isinstance(v, str) for v in feeds["plan"].ravel())
    assert np.isnan(feeds["age"][6, 0])


@pytest.mark.slow
def test_serving_bench_runs_on_tiny_sizes(tmp_path):
    import os

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench import onnx_serving

    out = tmp_path / "onnx_serving.md"
    assert onnx_serving.main(["--smoke", "--out", str(out)]) == 0
    text = out.read_text()
    for contender in onnx_serving.CONTENDERS:
        assert text.count(f"| {contender} |") == 2  # one row per table (numbers, table)
