"""A loss or metric of the user's own that fails on what Keras gives it is named, with its
line and what it receives, instead of TensorFlow's message about an op."""

import keras
import numpy as np
import pytest

from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor, MultiOutput
from skkeras_prep._compat import keras_user_losses_and_metrics


@pytest.fixture(scope="module")
def data():
    X = np.random.RandomState(0).randn(40, 3).astype("float32")
    return X, (X[:, 0] > 0).astype(int)


def int_minus_float(y_true, y_pred):
    return keras.ops.mean(keras.ops.abs(y_true - y_pred))  # int32 labels - float32: TypeError


def float_index(y_true, y_pred):
    return keras.ops.mean(keras.ops.take(y_pred, y_true))  # float32 indices: TypeError


def two_units(meta):
    inp = keras.Input((3,))
    return keras.Model(inp, keras.layers.Dense(2, activation="softmax")(inp))


def compiled_with_metric(meta):
    model = two_units(meta)
    model.compile(loss="sparse_categorical_crossentropy", metrics=[int_minus_float])
    return model


def sequential(meta):
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])


@pytest.mark.parametrize("how", ["metrics parameter", "compiled by the builder", "model.fit path"])
def test_a_failing_metric_is_named_with_its_line_and_what_it_gets(data, how):
    X, y = data
    kwargs = dict(loss="sparse_categorical_crossentropy", metrics=[int_minus_float])
    if how == "compiled by the builder":
        kwargs = {}
    est = KerasPipelineClassifier(compiled_with_metric if kwargs == {} else two_units, epochs=1,
                                  random_state=0, verbose=1 if how == "model.fit path" else 0,
                                  **kwargs)
    with pytest.raises(TypeError, match="metric 'int_minus_float'") as info:
        est.fit(X, y)
    message = str(info.value)
    assert __file__ in message and "y_true is int32 of shape (batch,)" in message
    assert "keras.ops.cast(y_true, y_pred.dtype)" in message
    assert "Sub" in str(info.value.__cause__)  # TensorFlow's own error, chained


def test_a_failing_loss_of_a_sequential_regressor_is_named(data):
    X, y = data
    est = KerasPipelineRegressor(sequential, loss=float_index, epochs=1, random_state=0)
    with pytest.raises(TypeError, match="loss 'float_index'.*y_true is float32"):
        est.fit(X, y.astype(float))


def test_a_failing_metric_of_one_output_among_several_says_what_each_output_gets(data):
    X, y = data

    def build(meta):
        inp = keras.Input((3,))
        return keras.Model(inp, {"a": keras.layers.Dense(2, activation="softmax", name="a")(inp),
                                 "b": keras.layers.Dense(1, name="b")(inp)})

    est = KerasPipelineClassifier(build, metrics={"a": [int_minus_float], "b": []}, epochs=1,
                                  random_state=0)
    with pytest.raises(TypeError, match="metric 'int_minus_float'") as info:
        est.fit(X, MultiOutput({"a": y, "b": 1 - y}))
    assert "for output 'a'" in str(info.value) and "for output 'b'" in str(info.value)


def test_an_error_of_the_users_layer_is_left_as_it_is(data):
    X, y = data

    class Broken(keras.layers.Layer):
        def call(self, x):
            raise ValueError("my layer is broken")

    def build(meta):
        inp = keras.Input((3,))
        return keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(Broken()(inp)))

    with pytest.raises(ValueError, match="^my layer is broken$|Exception encountered"):
        KerasPipelineClassifier(build, epochs=1).fit(X, y)


def test_the_losses_and_metrics_a_model_was_compiled_with_are_where_they_were():
    """``_compat.keras_user_losses_and_metrics`` reads them as given to ``compile``
    (Keras 3.15.1)."""
    model = two_units(None)
    model.compile(loss=int_minus_float, metrics=[float_index, "accuracy"],
                  weighted_metrics=[int_minus_float])
    losses, metrics = keras_user_losses_and_metrics(model)
    assert losses is int_minus_float
    assert metrics == [[float_index, "accuracy"], [int_minus_float]]


def test_a_failing_loss_class_of_the_users_is_named(data):
    X, y = data

    class IndexLoss(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return keras.ops.take(y_pred, y_true)

    est = KerasPipelineRegressor(sequential, loss=IndexLoss(), epochs=1, random_state=0)
    with pytest.raises(TypeError, match="loss 'call'"):
        est.fit(X, y.astype(float))
