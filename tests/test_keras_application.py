"""KerasApplication's batch-norm momentum (issue 25) and a backbone loaded from a local weights
file (the pretrained path, without the network): tiny 32x32 images, one epoch."""

import keras
import numpy as np
import pytest

from skkeras_prep import KerasPipelineClassifier
from skkeras_prep.models import KerasApplication


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.random((16, 32, 32, 1)).astype("float32"), np.arange(16) % 2


def _fit(application, images):
    X, y = images
    return KerasPipelineClassifier(application, epochs=1, batch_size=8, random_state=0).fit(X, y)


def _backbone(est):
    return next(layer for layer in est.model_.layers if isinstance(layer, keras.Model))


def _momenta(model):
    return {layer.momentum for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}


@pytest.fixture(scope="module")
def saved_backbone(tmp_path_factory):
    """A MobileNetV2 backbone's weights in a local ``.weights.h5`` file, as a user would save
    pretrained weights for a machine without the network."""
    backbone = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3),
                                              pooling="avg")
    path = str(tmp_path_factory.mktemp("weights") / "backbone.weights.h5")
    backbone.save_weights(path)
    return path, backbone


def test_from_scratch_uses_a_short_fit_momentum_by_default(images):
    est = _fit(KerasApplication("MobileNetV2"), images)  # frozen: the cheapest fit to check
    assert _momenta(_backbone(est)) == {0.9}
    assert est.predict_proba(images[0]).shape == (16, 2)


def _built_backbone(application):
    """The backbone of the model ``application.build`` returns (what a fit trains), built for
    32x32 RGB rows and a binary target, without the cost of a fit."""
    model = application.build({"input_shape_": (32, 32, 3), "target_type_": "binary", "random_seed_": 0})
    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


def test_an_explicit_momentum_is_used_and_searchable():
    est = KerasPipelineClassifier(KerasApplication("MobileNetV2", trainable=True))
    est.set_params(model__bn_momentum=0.999)
    assert _momenta(_built_backbone(est.model)) == {0.999}


def test_loaded_weights_keep_the_backbones_momentum_and_values(images, saved_backbone):
    """A local weights file is loaded and kept (not reseeded), trainable=False freezes the
    backbone, its batch-norm momentum stays the architecture's own (0.999 for MobileNetV2),
    and input in [0, 1] is rescaled to MobileNetV2's [-1, 1]."""
    path, saved = saved_backbone
    est = _fit(KerasApplication("MobileNetV2", weights=path), images)
    inner = _backbone(est)
    assert not inner.trainable_weights
    assert _momenta(inner) == {0.999}
    for fitted, original in zip(inner.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(fitted, original)
    rescaling = next(layer for layer in est.model_.layers if isinstance(layer, keras.layers.Rescaling))
    assert (rescaling.scale, rescaling.offset) == pytest.approx((2.0, -1.0))
    tuned = _built_backbone(KerasApplication("MobileNetV2", weights=path, trainable=True, bn_momentum=0.8))
    assert _momenta(tuned) == {0.8}


@pytest.mark.parametrize("value", [1.0, -0.1, "fast", True, None])
def test_bad_momentum_is_refused_with_the_valid_range(images, value):
    with pytest.raises(ValueError, match=r"bn_momentum must be 'auto' or a number in \[0, 1\), got"):
        _fit(KerasApplication("MobileNetV2", bn_momentum=value), images)


@pytest.mark.slow
def test_mobilenet_from_scratch_learns_digits_as_images(digits):
    """The issue's case, smaller: MobileNetV2 trained from random weights on digits upscaled to
    32x32x3 scores far above chance (0.1) in inference mode; with MobileNetV2's own momentum
    (0.999) it stayed at chance after a fit this short (bench/application_scratch.py)."""
    from sklearn.model_selection import train_test_split

    X, y = digits
    X = (X / 16.0).reshape(-1, 8, 8, 1).repeat(4, axis=1).repeat(4, axis=2).repeat(3, axis=3).astype("float32")
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=800, test_size=300, stratify=y,
                                                        random_state=0)
    est = KerasPipelineClassifier(KerasApplication("MobileNetV2", trainable=True), epochs=5, random_state=0)
    assert est.fit(X_train, y_train).score(X_test, y_test) > 0.5
