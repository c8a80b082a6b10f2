"""User-defined Keras objects at module level, as a scikeras user's code defines them, for
the pickling tests of tests/test_scikeras_forms.py (imported by name, so pickle finds them)."""

import keras
from keras import ops


class CustomLoss(keras.losses.Loss):
    """Mean squared error, not registered with Keras."""

    def call(self, y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)


@keras.saving.register_keras_serializable(package="scikeras_user_objects")
class RegisteredLoss(CustomLoss):
    """The same loss, registered."""


class CustomMetric(keras.metrics.Mean):
    """Mean absolute error as a metric class, not registered."""

    def __init__(self, name="custom_metric", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(ops.abs(ops.cast(y_true, y_pred.dtype) - y_pred),
                                    sample_weight=sample_weight)


class LinearModel(keras.Model):
    """A subclassed model: one Dense layer."""

    def __init__(self, units=1, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = keras.layers.Dense(units)

    def build(self, input_shape):
        self.dense.build(input_shape)
        super().build(input_shape)

    def call(self, x):
        return self.dense(x)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def subclassed_builder(meta):
    return LinearModel(1)


class Scale:
    """A plain object a loss takes as an argument (made by nested routing)."""

    def __init__(self, factor=1.0):
        self.factor = factor


class ScaledLoss(keras.losses.Loss):
    """Mean squared error times ``scale.factor``: a loss whose argument is an object."""

    def __init__(self, scale=None, name="scaled_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.scale = scale or Scale()

    def call(self, y_true, y_pred):
        return self.scale.factor * ops.mean(ops.square(y_true - y_pred), axis=-1)


def squared_error(y_true, y_pred):
    """A loss given as a plain function (not registered with Keras)."""
    return ops.mean(ops.square(ops.cast(y_true, y_pred.dtype) - y_pred), axis=-1)


def absolute_error(y_true, y_pred):
    """A metric given as a plain function (not registered with Keras)."""
    return ops.mean(ops.abs(ops.cast(y_true, y_pred.dtype) - y_pred), axis=-1)
