"""The classifier's own behaviour: outputs, labels, model forms, routed parameters, seeds."""

import random

import keras
import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor
from skkeras_prep.models import MLP, output_units

FAST = dict(epochs=5, random_state=0)


def tiny_builder(meta, hidden_units=8):
    units, activation = output_units(meta)
    return keras.Sequential(
        [
            keras.Input(shape=meta["input_shape_"]),
            keras.layers.Dense(hidden_units, activation="relu"),
            keras.layers.Dense(units, activation=activation),
        ]
    )


@pytest.fixture(scope="module")
def fitted_binary(binary_data):
    X, y = binary_data
    return KerasPipelineClassifier(MLP((8,)), **FAST).fit(X, y)


def test_tags_make_it_a_classifier():
    assert is_classifier(KerasPipelineClassifier())
    assert not is_regressor(KerasPipelineClassifier())
    assert is_regressor(KerasPipelineRegressor())


def test_binary_outputs_have_sklearn_shapes(fitted_binary, binary_data):
    X, y = binary_data
    proba = fitted_binary.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    decision = fitted_binary.decision_function(X)
    assert decision.shape == (len(X),)
    pred = fitted_binary.predict(X)
    np.testing.assert_array_equal(pred, fitted_binary.classes_[(decision > 0).astype(int)])
    assert fitted_binary.model_.output_shape == (None, 1)  # one sigmoid unit by default


@pytest.mark.parametrize(
    "labels",
    [np.array(["no", "yes"]), np.array([3, 7, 9]), np.array(["cat", "dog", "emu", "fox"])],
    ids=["strings", "ints-3-7-9", "four-strings"],
)
def test_predict_returns_the_users_labels(labels):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = labels[np.arange(60) % len(labels)]
    X[:, 0] += np.arange(60) % len(labels) * 6  # well separated along the first feature
    clf = KerasPipelineClassifier(
        MLP((16,)), StandardScaler(), epochs=40, random_state=0, optimizer__learning_rate=0.01
    ).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.unique(labels))
    pred = clf.predict(X)
    assert set(pred) <= set(labels)
    assert pred.dtype == y.dtype
    assert clf.predict_proba(X).shape == (60, len(labels))
    assert clf.score(X, y) > 0.8


def test_fitted_attributes(fitted_binary):
    assert fitted_binary.n_features_in_ == 4
    assert isinstance(fitted_binary.history_, dict)
    assert all(isinstance(v, list) for v in fitted_binary.history_.values())
    assert len(fitted_binary.history_["loss"]) == fitted_binary.n_iter_ == 5
    assert isinstance(fitted_binary.model_, keras.Model)
    assert fitted_binary.preprocessor_ is None


# -- model forms ----------------------------------------------------------------------------
def test_builder_receives_meta_after_the_preprocessor(iris):
    X, y = iris
    seen = {}

    def builder(n_features_in_, n_classes_, classes_, target_type_, input_shape_, meta, n_outputs_):
        seen.update(meta)
        seen["direct"] = (n_features_in_, n_classes_)
        return tiny_builder(meta)

    clf = KerasPipelineClassifier(builder, PolynomialFeatures(degree=2), epochs=1, random_state=0)
    clf.fit(X, y)
    assert clf.n_features_in_ == 4  # raw width
    assert seen["n_features_in_"] == 15 == seen["direct"][0]  # width after the preprocessor
    assert seen["input_shape_"] == (15,)
    assert seen["n_classes_"] == 3 and seen["target_type_"] == "multiclass"
    np.testing.assert_array_equal(seen["classes_"], [0, 1, 2])


def test_routed_model_params_reach_the_builder(iris):
    X, y = iris
    clf = KerasPipelineClassifier(tiny_builder, model__hidden_units=5, epochs=1, random_state=0)
    clf.fit(X, y)
    assert clf.model_.layers[0].units == 5
    clf.set_params(model__hidden_units=7).fit(X, y)
    assert clf.model_.layers[0].units == 7


def test_builder_object_params_are_nested_params(iris):
    X, y = iris
    clf = KerasPipelineClassifier(MLP(hidden_layer_sizes=(4,)), epochs=1, random_state=0)
    assert clf.get_params()["model__hidden_layer_sizes"] == (4,)
    clf.set_params(model__hidden_layer_sizes=(6, 3))
    assert clf.model.hidden_layer_sizes == (6, 3)
    clf.fit(X, y)
    dense_units = [layer.units for layer in clf.model_.layers if hasattr(layer, "units")]
    assert dense_units == [6, 3, 3]


def test_keras_model_instance_is_copied_not_mutated(iris):
    X, y = iris
    user_model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3, activation="softmax")]
    )
    before = [w.copy() for w in user_model.get_weights()]
    clf = KerasPipelineClassifier(user_model, epochs=3, random_state=0).fit(X, y)
    assert clf.model_ is not user_model
    for a, b in zip(before, user_model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not user_model.compiled


def test_compiled_builder_is_used_as_compiled(iris):
    X, y = iris

    def compiled_builder(meta):
        model = tiny_builder(meta)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="sparse_categorical_crossentropy")
        return model

    clf = KerasPipelineClassifier(compiled_builder, epochs=2, random_state=0).fit(X, y)
    assert isinstance(clf.model_.optimizer, keras.optimizers.SGD)


def test_wrong_output_width_says_which_is_expected(iris):
    X, y = iris

    def two_units(meta):
        return keras.Sequential([keras.Input(meta["input_shape_"]), keras.layers.Dense(2, activation="softmax")])

    with pytest.raises(ValueError, match=r"width 2.*needs width 3"):
        KerasPipelineClassifier(two_units, epochs=1).fit(X, y)


def test_binary_accepts_a_two_unit_softmax(binary_data):
    X, y = binary_data

    def softmax2(meta):
        return keras.Sequential([keras.Input(meta["input_shape_"]), keras.layers.Dense(2, activation="softmax")])

    clf = KerasPipelineClassifier(softmax2, epochs=30, random_state=0, optimizer__learning_rate=0.05)
    clf.fit(X, y)
    assert clf.predict_proba(X).shape == (len(X), 2)
    assert clf.decision_function(X).shape == (len(X),)
    assert clf.score(X, y) > 0.8


def test_logits_output_without_a_logits_loss_is_refused_with_advice(binary_data):
    X, y = binary_data

    def logits(meta):
        return keras.Sequential([keras.Input(meta["input_shape_"]), keras.layers.Dense(2)])

    clf = KerasPipelineClassifier(
        logits, loss="sparse_categorical_crossentropy", epochs=3, random_state=0
    ).fit(X * 10, y)
    with pytest.raises(ValueError, match="softmax.*from_logits=True"):
        clf.predict_proba(X * 10)


# -- routed parameters ----------------------------------------------------------------------
def test_routed_params_survive_get_set_clone():
    clf = KerasPipelineClassifier(optimizer__learning_rate=0.01, loss__label_smoothing=0.1)
    params = clf.get_params()
    assert params["optimizer__learning_rate"] == 0.01
    assert params["loss__label_smoothing"] == 0.1
    clf.set_params(optimizer__learning_rate=0.2, callbacks__patience=3)
    twin = clone(clf)
    assert twin.get_params()["optimizer__learning_rate"] == 0.2
    assert twin.get_params()["callbacks__patience"] == 3
    assert "optimizer__learning_rate=0.2" in repr(twin)


def test_unknown_parameter_lists_the_valid_prefixes(iris):
    X, y = iris
    with pytest.raises(ValueError, match="model__.*optimizer__.*loss__.*callbacks__"):
        KerasPipelineClassifier(optimiser__lr=0.1).fit(X, y)
    with pytest.raises(ValueError, match="routed prefixes"):
        KerasPipelineClassifier().set_params(learning_rate=0.1)


def test_optimizer_settings_take_effect_and_user_instance_is_not_mutated(iris):
    X, y = iris
    user_opt = keras.optimizers.Adam(learning_rate=0.003)
    clf = KerasPipelineClassifier(tiny_builder, optimizer=user_opt, optimizer__learning_rate=0.02, epochs=2)
    clf.fit(X, y)
    assert clf.model_.optimizer is not user_opt
    assert np.isclose(float(clf.model_.optimizer.learning_rate), 0.02)
    assert np.isclose(float(user_opt.learning_rate), 0.003)
    assert int(user_opt.iterations) == 0

    clf = KerasPipelineClassifier(tiny_builder, optimizer="sgd", optimizer__learning_rate=0.3, epochs=1).fit(X, y)
    assert isinstance(clf.model_.optimizer, keras.optimizers.SGD)
    assert np.isclose(float(clf.model_.optimizer.learning_rate), 0.3)


def test_loss_params_build_a_configured_loss(iris):
    X, y = iris
    clf = KerasPipelineClassifier(
        tiny_builder, loss="categorical_crossentropy", loss__label_smoothing=0.2, epochs=1
    ).fit(X, y)
    assert isinstance(clf.model_.loss, keras.losses.CategoricalCrossentropy)
    assert clf.model_.loss.get_config()["label_smoothing"] == pytest.approx(0.2)
    assert clf.predict_proba(X).shape == (150, 3)  # one-hot targets were used for it


def test_predictions_are_bit_identical_whatever_the_row_order_and_batch_size(digits):
    # Without padding each batch to whole row blocks, float32 kernels gave rows in a last,
    # partial block last-bit differences, so order and batch size changed predictions.
    X, y = digits
    clf = KerasPipelineClassifier(MLP((32,)), preprocessor=StandardScaler(), epochs=1,
                                  random_state=1).fit(X, y)
    full = clf.predict_proba(X)
    order = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_array_equal(clf.predict_proba(X[order]), full[order])
    for n in (1, 5, 50, 123):
        np.testing.assert_array_equal(clf.predict_proba(X[:n]), full[:n])


# -- seeds ----------------------------------------------------------------------------------
def test_random_state_gives_identical_fits_without_global_seeding(iris):
    X, y = iris
    random.seed(123)
    expected_next = random.random()
    random.seed(123)
    kwargs = dict(model=MLP((16,), dropout=0.2), preprocessor=StandardScaler(), epochs=4)
    a = KerasPipelineClassifier(random_state=7, **kwargs).fit(X, y).predict_proba(X)
    b = KerasPipelineClassifier(random_state=7, **kwargs).fit(X, y).predict_proba(X)
    c = KerasPipelineClassifier(random_state=8, **kwargs).fit(X, y).predict_proba(X)
    assert random.random() == expected_next  # the caller's random state is untouched
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    from tensorflow.python.framework import config as tf_config  # no public getter in TF 2.21

    assert not tf_config.is_op_determinism_enabled()


def test_no_random_state_gives_different_fits(iris):
    X, y = iris
    a = KerasPipelineClassifier(tiny_builder, epochs=2).fit(X, y).predict_proba(X)
    b = KerasPipelineClassifier(tiny_builder, epochs=2).fit(X, y).predict_proba(X)
    assert not np.allclose(a, b)
