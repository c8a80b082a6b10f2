"""Images as N-D arrays (issue 11): X of shape (n, h, w[, c]), models.CNN, models.KerasApplication,
and the errors for images of mixed sizes, 2-D-only transformers and builders of the wrong shape."""

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import skkeras_prep
from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor
from skkeras_prep.models import CNN, MLP, KerasApplication


@pytest.fixture(scope="module")
def images(digits):
    X, y = digits
    return (X[:240] / 16.0).reshape(-1, 8, 8, 1).astype("float32"), y[:240]


@pytest.fixture(scope="module")
def fitted_mlp(images):
    X, y = images
    return KerasPipelineClassifier(epochs=2, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def fitted_cnn(images):
    X, y = images
    return KerasPipelineClassifier(CNN(filters=(8,), dense=(16,)), epochs=2, random_state=0).fit(X, y)


def test_nd_array_fits_with_the_default_mlp(fitted_mlp, images):
    X, y = images
    assert fitted_mlp.input_shape_ == (8, 8, 1)
    assert fitted_mlp.n_features_in_ == 8  # X.shape[1], as scikit-learn's validate_data sets it
    assert any(isinstance(layer, keras.layers.Flatten) for layer in fitted_mlp.model_.layers)
    proba = fitted_mlp.predict_proba(X[:5])
    assert proba.shape == (5, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


def test_builder_sees_flat_width_and_row_shape(images):
    X, y = images
    seen = {}

    def builder(n_features_in_, input_shape_, meta):
        seen.update(width=n_features_in_, shape=input_shape_)
        return MLP(hidden_layer_sizes=(4,)).build(meta)

    KerasPipelineRegressor(builder, epochs=1, random_state=0).fit(X[:40, :, :, 0], y[:40].astype(float))
    assert seen == {"width": 64, "shape": (8, 8)}


def test_three_dimensional_rows_and_a_list_of_images(images):
    X, y = images
    est = KerasPipelineClassifier(MLP(hidden_layer_sizes=(8,)), epochs=1, random_state=0)
    from_array = clone(est).fit(X[:60, :, :, 0], y[:60])
    from_list = clone(est).fit(list(X[:60, :, :, 0]), y[:60])
    assert from_list.input_shape_ == from_array.input_shape_ == (8, 8)
    np.testing.assert_array_equal(from_list.predict_proba(X[:10, :, :, 0]),
                                  from_array.predict_proba(X[:10, :, :, 0]))


def test_rows_of_another_shape_at_predict_are_refused(fitted_mlp, images):
    X, _ = images
    with pytest.raises(ValueError, match=r"rows of shape \(7, 8, 1\).*fitted on rows of shape \(8, 8, 1\)"):
        fitted_mlp.predict(X[:, :7])
    with pytest.raises(ValueError, match=r"rows of shape \(64,\).*\(8, 8, 1\)"):
        fitted_mlp.predict(X.reshape(len(X), -1))


def test_images_of_mixed_sizes_are_refused(images):
    _, y = images
    X = [np.zeros((8, 8, 1)), np.zeros((8, 8, 1)), np.zeros((10, 9, 1))] * 4
    with pytest.raises(ValueError, match=r"images of different sizes.*row 2 has shape \(10, 9, 1\).*ImageLoader"):
        KerasPipelineClassifier(epochs=1).fit(X, y[:12])
    objects = np.empty(len(X), dtype=object)
    objects[:] = X
    with pytest.raises(ValueError, match="images of different sizes"):
        KerasPipelineClassifier(epochs=1).fit(objects, y[:12])


def test_two_dimensional_transformer_on_images_says_what_to_do(images):
    X, y = images
    with pytest.raises(ValueError, match=r"StandardScaler takes 2-D input only.*4 dimensions.*preprocessor=None"):
        KerasPipelineClassifier(preprocessor=StandardScaler(), epochs=1).fit(X, y)


def test_the_scaling_advice_for_images_is_one_that_saves(images, tmp_path):
    # issue 25: the advice was FunctionTransformer(lambda X: X / 255), which save refuses
    X, y = images
    with pytest.raises(ValueError, match=r"Rescaling\(1 / 255\).*without trusted=.*module-level function.*not a lambda") as info:
        KerasPipelineClassifier(preprocessor=StandardScaler(), epochs=1).fit(X, y)
    assert "FunctionTransformer(lambda" not in str(info.value)
    # the advice works: the model scales raw pixel values, and the file needs no trusted=
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Rescaling(1 / 16),
                              keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    est = KerasPipelineClassifier(model, epochs=1, random_state=0).fit(X * 16, y)
    est.save(tmp_path / "scaled.skkeras")
    loaded = skkeras_prep.load(tmp_path / "scaled.skkeras")
    np.testing.assert_array_equal(loaded.predict_proba(X * 16), est.predict_proba(X * 16))


def test_nd_preprocessor_output_is_streamed(images):
    X, y = images
    est = KerasPipelineClassifier(CNN(filters=(4,), dense=(8,)), preprocessor=FunctionTransformer(np.sqrt),
                                  epochs=1, random_state=0).fit(X * 16, y)
    assert est.input_shape_ == (8, 8, 1)
    assert est.predict(X[:3] * 16).shape == (3,)


def _fixed_input_builder(meta):
    inputs = keras.Input(shape=(28, 28, 1))
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def _unreduced_builder(meta):
    inputs = keras.Input(shape=meta["input_shape_"])
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(inputs))


@pytest.mark.parametrize(
    "builder, match",
    [
        (_fixed_input_builder, r"takes inputs of shape \(28, 28, 1\).*have shape \(8, 8, 1\).*input_shape_"),
        (_unreduced_builder, r"output has shape \(None, 8, 8, 10\).*must be \(batch, width\).*Flatten"),
    ],
    ids=["input-shape", "nd-output"],
)
def test_builder_that_does_not_fit_the_images(images, builder, match):
    X, y = images
    with pytest.raises(ValueError, match=match):
        KerasPipelineClassifier(builder, epochs=1).fit(X, y)


def test_cnn_fits_and_is_repeatable(fitted_cnn, images):
    X, y = images
    assert any(isinstance(layer, keras.layers.Conv2D) for layer in fitted_cnn.model_.layers)
    again = clone(fitted_cnn).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), fitted_cnn.predict_proba(X))
    assert fitted_cnn.history_["loss"][1] < fitted_cnn.history_["loss"][0]


def test_cnn_parameters_are_searchable(images):
    X, y = images
    est = KerasPipelineClassifier(CNN(), epochs=1, random_state=0)
    est.set_params(model__filters=(4, 8), model__pooling="avg", model__batch_norm=True,
                   model__dense=(), model__dropout=0.0)
    assert est.get_params()["model__filters"] == (4, 8)
    est.fit(X[:, :, :, 0], y)  # (h, w) rows get a channel axis
    convs = [layer for layer in est.model_.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [4, 8]
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in est.model_.layers)
    assert any(isinstance(layer, keras.layers.AveragePooling2D) for layer in est.model_.layers)


@pytest.mark.parametrize(
    "params, match",
    [({"pooling": "median"}, "pooling must be"), ({"filters": (8, 0)}, "filters must be positive"),
     ({"dropout": 1.0}, r"dropout must be in \[0, 1\)")],
)
def test_cnn_bad_parameters(images, params, match):
    X, y = images
    with pytest.raises(ValueError, match=match):
        KerasPipelineClassifier(CNN(**params), epochs=1).fit(X, y)


def test_cnn_on_tabular_rows_is_refused(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"CNN needs image rows.*\(64,\)"):
        KerasPipelineClassifier(CNN(), epochs=1).fit(X[:50], y[:50])


def test_save_and_load_an_image_estimator(fitted_cnn, images, tmp_path):
    X, _ = images
    path = tmp_path / "cnn.skkp"
    fitted_cnn.save(path)
    loaded = skkeras_prep.load(path)
    assert isinstance(loaded.model, CNN) and loaded.input_shape_ == (8, 8, 1)
    np.testing.assert_allclose(loaded.predict_proba(X), fitted_cnn.predict_proba(X), atol=1e-6)


def test_export_of_an_image_array_estimator(fitted_cnn, images):
    X, _ = images
    exported = fitted_cnn.export_model()
    np.testing.assert_allclose(exported(X[:20].astype("float64")).numpy(), fitted_cnn.predict_proba(X[:20]),
                               atol=1e-5)


def test_keras_application_unknown_name(images):
    X, y = images
    with pytest.raises(ValueError, match=r"'NoSuchNet' is not supported; use one of .*MobileNetV3Small"):
        KerasPipelineClassifier(KerasApplication("NoSuchNet"), epochs=1).fit(X, y)


def test_keras_application_missing_weights_file(images, tmp_path):
    X, y = images
    with pytest.raises(ValueError, match="weights file .*does not exist"):
        KerasPipelineClassifier(KerasApplication(weights=str(tmp_path / "none.h5")), epochs=1).fit(X, y)


@pytest.mark.slow
def test_keras_application_frozen_local_weights(tmp_path):
    """A local weights file is loaded and kept (not reseeded), trainable=False freezes the
    backbone, and input in [0, 1] is rescaled to MobileNetV3's 0-255."""
    backbone = keras.applications.MobileNetV3Small(include_top=False, weights=None, input_shape=(32, 32, 3),
                                                    pooling="avg")
    path = str(tmp_path / "backbone.weights.h5")
    backbone.save_weights(path)
    rng = np.random.default_rng(0)
    X, y = rng.random((16, 32, 32, 1)).astype("float32"), np.arange(16) % 2
    est = KerasPipelineClassifier(KerasApplication(weights=path), epochs=1, batch_size=8, random_state=0).fit(X, y)
    inner = next(layer for layer in est.model_.layers if isinstance(layer, keras.Model))
    assert not inner.trainable_weights
    for fitted, saved in zip(inner.get_weights(), backbone.get_weights()):
        np.testing.assert_array_equal(fitted, saved)
    rescaling = next(layer for layer in est.model_.layers if isinstance(layer, keras.layers.Rescaling))
    assert rescaling.scale == pytest.approx(255.0)
    assert est.predict_proba(X).shape == (16, 2)
