"""The ``augmentation`` parameter (issue 11): training batches only, repeatable, copies of the
user's layers, ImageDataGenerator-style options, save/load, clone, pickle, search."""

import contextlib
import pickle

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import skkeras_prep
from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor, _dataset
from skkeras_prep._augment import SUPPORTED_OPTIONS, option_layers
from skkeras_prep._target_layout import Targets
from skkeras_prep.models import MLP
from skkeras_prep.sources import ArraySource, RowSource


@pytest.fixture(scope="module")
def images(digits):
    X, y = digits
    return (X[:200] / 16.0).reshape(-1, 8, 8, 1).astype("float32"), y[:200]


def _spread(y_true, y_pred):
    """How much the predictions differ between the rows of a batch (0 when all rows are equal)."""
    value = keras.ops.mean(keras.ops.std(y_pred, axis=0))
    return keras.ops.broadcast_to(value, keras.ops.shape(y_pred)[:1])


def _est(**params):
    return KerasPipelineClassifier(MLP(hidden_layer_sizes=(16,)), **{"epochs": 2, "random_state": 0, **params})


@pytest.fixture(scope="module")
def destroyed(images):
    """Trained on blanked images only: every training batch becomes zeros."""
    X, y = images
    return _est(augmentation=keras.layers.Rescaling(0.0), metrics=[_spread], validation_split=0.25).fit(X, y)


@pytest.fixture(scope="module")
def flipped(images):
    X, y = images
    layers = [keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.2)]
    return layers, _est(augmentation=layers).fit(X, y)


def test_augmentation_touches_training_batches_only(destroyed, images):
    X, _ = images
    history = destroyed.history_
    # training batches were all zeros, so the model gave every training row the same output
    assert max(history["_spread"]) < 1e-6
    # validation rows were not blanked: the outputs differ between rows
    assert min(history["val__spread"]) > 1e-4
    proba = destroyed.predict_proba(X)
    assert proba.std(axis=0).mean() > 1e-4  # predict does not blank either
    np.testing.assert_allclose(proba, destroyed.model_(X, training=False).numpy(), atol=1e-6)
    assert not any(isinstance(layer, keras.layers.Rescaling) for layer in destroyed.model_._flatten_layers())


def test_export_has_no_augmentation(destroyed, images):
    X, _ = images
    exported = destroyed.export_model()
    assert not any(isinstance(layer, keras.layers.Rescaling) for layer in exported._flatten_layers())
    np.testing.assert_allclose(exported(X.astype("float64")).numpy(), destroyed.predict_proba(X), atol=1e-5)


def test_augmentation_is_repeatable_and_changes_training(flipped, images):
    X, y = images
    layers, first = flipped
    assert _dataset.TRAIN_MAP_PARALLELISM > 1  # the gather map runs calls in parallel
    again = _est(augmentation=layers).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), first.predict_proba(X))
    plain = _est().fit(X, y)
    assert np.abs(plain.predict_proba(X) - first.predict_proba(X)).max() > 1e-4


def test_user_layers_are_not_touched(images):
    X, y = images
    layers = [keras.layers.RandomFlip("horizontal"), keras.layers.RandomZoom(0.2)]
    states = [g.state.numpy().copy() for layer in layers for g in layer._seed_generators]
    configs = [layer.get_config() for layer in layers]
    _est(augmentation=layers, epochs=1).fit(X, y)
    assert [g.state.numpy().tolist() for layer in layers for g in layer._seed_generators] == \
        [s.tolist() for s in states]
    assert [layer.get_config() for layer in layers] == configs
    assert not any(layer.built for layer in layers)


def test_clone_pickle_save_and_load(flipped, images, tmp_path):
    X, _ = images
    layers, est = flipped
    copy = clone(est)
    assert copy.augmentation is not layers
    assert [type(a) for a in copy.augmentation] == [type(b) for b in layers]
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(restored.predict_proba(X), est.predict_proba(X), atol=1e-6)
    path = tmp_path / "augmented.skkp"
    est.save(path)
    loaded = skkeras_prep.load(path)
    assert [layer.get_config()["name"] for layer in loaded.augmentation] == \
        [layer.get_config()["name"] for layer in layers]
    assert isinstance(loaded.augmentation[1], keras.layers.RandomRotation)
    np.testing.assert_allclose(loaded.predict_proba(X), est.predict_proba(X), atol=1e-6)


def test_options_dict_trains_and_saves(images, tmp_path):
    X, y = images
    options = {"rotation_range": 15, "width_shift_range": 0.1, "height_shift_range": 1, "zoom_range": 0.1,
               "shear_range": 5, "horizontal_flip": True, "brightness_range": (0.8, 1.2),
               "channel_shift_range": 0.05, "fill_mode": "constant"}
    est = KerasPipelineRegressor(MLP(hidden_layer_sizes=(8,)), epochs=1, random_state=0, augmentation=options)
    est.fit(X[:, :, :, 0], y.astype(float))  # (h, w) rows get a channel axis for the layers
    assert est.predict(X[:5, :, :, 0]).shape == (5,)
    est.save(tmp_path / "options.skkp")
    assert skkeras_prep.load(tmp_path / "options.skkp").augmentation == options


def test_options_translate_to_keras_layers():
    made = option_layers({"rotation_range": 36, "width_shift_range": 2, "zoom_range": [0.5, 1.5],
                          "horizontal_flip": True, "vertical_flip": True}, (8, 10, 1), lambda i: 7 + i)
    kinds = [type(layer).__name__ for layer in made]
    assert kinds == ["RandomRotation", "RandomTranslation", "RandomZoom", "RandomFlip"]
    rotation, shift, zoom, flip = made
    assert rotation.get_config()["factor"] == (-0.1, 0.1)
    assert rotation.get_config()["fill_mode"] == "nearest"  # ImageDataGenerator's default
    assert shift.get_config()["width_factor"] == pytest.approx(0.2)  # 2 pixels of 10
    assert shift.get_config()["height_factor"] == 0.0
    assert zoom.get_config()["height_factor"] == (-0.5, 0.5)
    assert flip.get_config()["mode"] == "horizontal_and_vertical"
    assert [layer.get_config()["seed"] for layer in made] == [7, 8, 9, 10]


@pytest.mark.parametrize(
    "augmentation, error, match",
    [
        ({"rotation": 10}, ValueError, r"unknown option\(s\) \['rotation'\]; the supported keys are .*'fill_mode'"),
        ({"zoom_range": 2.0}, ValueError, r"augmentation\['zoom_range'\] must be"),
        ({"fill_mode": "mirror"}, ValueError, r"fill_mode'\] must be one of"),
        ({"horizontal_flip": "yes"}, ValueError, "must be True or False"),
        ([keras.layers.RandomFlip(), "flip"], TypeError, r"augmentation\[1\] is a str"),
        ([], ValueError, "empty list"),
    ],
    ids=["unknown-key", "zoom", "fill-mode", "flip-flag", "not-a-layer", "empty"],
)
def test_bad_augmentation(images, augmentation, error, match):
    X, y = images
    with pytest.raises(error, match=match):
        _est(augmentation=augmentation, epochs=1).fit(X, y)


def test_augmentation_on_tabular_rows_is_refused(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"augmentation needs image rows.*\(64,\) \(tabular data\)"):
        _est(augmentation={"horizontal_flip": True}, epochs=1).fit(X[:50], y[:50])


def test_wrong_kind_of_augmentation_is_refused_by_the_parameter_table(images):
    X, y = images
    with pytest.raises(ValueError, match="parameter 'augmentation' must be"):
        _est(augmentation="flip", epochs=1).fit(X, y)


def test_grid_search_over_augmentation(images):
    X, y = images
    search = GridSearchCV(
        _est(epochs=1), {"augmentation": [None, {"horizontal_flip": True}]}, cv=2, refit=False,
    ).fit(X[:100], y[:100])
    assert [p["augmentation"] for p in search.cv_results_["params"]] == [None, {"horizontal_flip": True}]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_supported_options_are_the_issue_list():
    assert set(SUPPORTED_OPTIONS) == {
        "rotation_range", "width_shift_range", "height_shift_range", "zoom_range", "shear_range",
        "horizontal_flip", "vertical_flip", "brightness_range", "channel_shift_range", "fill_mode"}


class _InOrder(RowSource):
    """Rows read only in order (as a chunked collection is)."""

    indexable = False

    def __init__(self, X):
        self.X = X

    @property
    def n_rows(self):
        return len(self.X)

    @property
    def row_shape(self):
        return self.X.shape[1:]

    def chunks(self, chunk_rows):
        for start in range(0, len(self.X), chunk_rows):
            yield start, self.X[start:start + chunk_rows].astype(np.float32)


@pytest.mark.parametrize("make_source", [ArraySource, _InOrder], ids=["indexed", "in-order"])
def test_pipelines_augment_training_x_only(make_source):
    X = np.arange(1, 1 + 12 * 4 * 4, dtype=np.float32).reshape(12, 4, 4, 1)
    y, w = np.arange(12), np.ones(12, dtype=np.float32)
    with contextlib.ExitStack() as stack:
        train, _ = _dataset.training_dataset(make_source(X), Targets(y), w, batch_size=5, epochs=1, shuffle=False,
                                             seed=0, stack=stack, augment=lambda x: -x)
        batches = list(train)
        assert all((x.numpy() < 0).all() for x, _, _ in batches)
        np.testing.assert_array_equal(np.concatenate([t.numpy() for _, t, _ in batches]), y)
        evaluation = _dataset.evaluation_dataset(ArraySource(X), Targets(y), w, batch_size=5, stack=stack)
        assert all((x.numpy() > 0).all() for x, _, _ in evaluation)
