"""The Keras layers of an exported model: small float64 layers made of TensorFlow ops, with
JSON configs and no weights.

Each layer is registered with Keras as ``"skkeras_prep>" + class name``. A ``.keras`` file of
an exported model stores these names, and importing ``skkeras_prep.export`` registers them
again before ``keras.saving.load_model`` reads the file. Renaming a class or changing its
config keys would break files written by earlier versions
(``tests/fixtures/export_v01.keras`` was written by version 0.1).
"""

import keras
import numpy as np
import tensorflow as tf

from .._targets import BINARY_COLUMN, INDICATOR
from ..sources.images import ImageSettings, decode_images
from ._common import floats

_PACKAGE = "skkeras_prep"  # the package part of the registered names; never change it


# -- tensor helpers --------------------------------------------------------------------------
def _tensor(values, dtype):
    if dtype == tf.string:
        return tf.constant([str(v) for v in values], dtype=tf.string)
    return tf.constant([np.nan if v is None else v for v in values], dtype=dtype)


def _nan_if_none(value):
    return tf.constant(np.nan if value is None else value, tf.float64)


def _missing_mask(x, missing):
    """True where x holds the missing marker: a string, NaN (``missing=None``) or a number."""
    if x.dtype == tf.string:
        return tf.equal(x, missing)
    if missing is None:
        return tf.math.is_nan(x)
    return tf.equal(x, tf.cast(missing, x.dtype))


def _category_match(column, categories):
    """(batch, len(categories)) booleans: column value == category."""
    return tf.equal(column[:, None], _tensor(categories, column.dtype)[None, :])


# -- layers ----------------------------------------------------------------------------------
class _ExportLayer(keras.layers.Layer):
    """Base of the export layers: float64 arithmetic, JSON configs, no weights."""

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float64")
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({k: getattr(self, k) for k in self._config_keys})
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class SelectColumns(_ExportLayer):
    """Columns ``indices`` of a 2-D tensor (numbers or strings)."""

    _config_keys = ("indices",)

    def __init__(self, indices, **kwargs):
        super().__init__(**kwargs)
        self.indices = [int(i) for i in indices]

    def call(self, x):
        return tf.gather(x, self.indices, axis=1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Concat(_ExportLayer):
    """Column-wise concatenation of tensors of one dtype (numbers or strings)."""

    _config_keys = ()

    def call(self, parts):
        return tf.concat(list(parts), axis=1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Affine(_ExportLayer):
    """``(x - subtract) / divide * multiply + add``, then clipped to [low, high]; a None
    vector skips its step, so each scaler runs in scikit-learn's order of operations."""

    _config_keys = ("subtract", "divide", "multiply", "add", "low", "high")

    def __init__(self, subtract=None, divide=None, multiply=None, add=None, low=None, high=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.subtract, self.divide = floats(subtract), floats(divide)
        self.multiply, self.add = floats(multiply), floats(add)
        self.low, self.high = low, high

    def call(self, x):
        x = tf.cast(x, tf.float64)
        if self.subtract is not None:
            x = x - _tensor(self.subtract, tf.float64)
        if self.divide is not None:
            x = x / _tensor(self.divide, tf.float64)
        if self.multiply is not None:
            x = x * _tensor(self.multiply, tf.float64)
        if self.add is not None:
            x = x + _tensor(self.add, tf.float64)
        if self.low is not None:
            x = tf.clip_by_value(x, float(self.low), float(self.high))
        return x


@keras.saving.register_keras_serializable(package=_PACKAGE)
class FillMissing(_ExportLayer):
    """Replace the missing marker in each column by that column's fill value."""

    _config_keys = ("fill", "missing")

    def __init__(self, fill, missing=None, **kwargs):
        super().__init__(**kwargs)
        self.fill, self.missing = list(fill), missing

    def call(self, x):
        fill = _tensor(self.fill, x.dtype)[None, :]
        return tf.where(_missing_mask(x, self.missing), fill, x)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class IsMissing(_ExportLayer):
    """1.0 where a value is missing, else 0.0 (scikit-learn's MissingIndicator)."""

    _config_keys = ("missing",)

    def __init__(self, missing=None, **kwargs):
        super().__init__(**kwargs)
        self.missing = missing

    def call(self, x):
        return tf.cast(_missing_mask(x, self.missing), tf.float64)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class OneHot(_ExportLayer):
    """One 0/1 column per category of each input column; an unseen value gives all zeros.
    ``has_missing[j]`` adds a last column for the missing marker."""

    _config_keys = ("categories", "has_missing", "missing")

    def __init__(self, categories, has_missing, missing=None, **kwargs):
        super().__init__(**kwargs)
        self.categories, self.has_missing, self.missing = categories, has_missing, missing

    def call(self, x):
        parts = []
        for j, categories in enumerate(self.categories):
            column = x[:, j]
            if categories:
                parts.append(tf.cast(_category_match(column, categories), tf.float64))
            if self.has_missing[j]:
                parts.append(tf.cast(_missing_mask(column, self.missing), tf.float64)[:, None])
        return tf.concat(parts, axis=1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Ordinal(_ExportLayer):
    """The index of each value among its column's categories; ``unknown_value`` for an unseen
    value and ``encoded_missing_value`` for the missing marker (None in the config is NaN)."""

    _config_keys = (
        "categories", "has_missing", "missing", "unknown_value", "encoded_missing_value",
    )

    def __init__(self, categories, has_missing, missing=None, unknown_value=None,
                 encoded_missing_value=None, **kwargs):
        super().__init__(**kwargs)
        self.categories, self.has_missing, self.missing = categories, has_missing, missing
        self.unknown_value, self.encoded_missing_value = unknown_value, encoded_missing_value

    def _encode(self, column, categories, has_missing):
        value = tf.fill(tf.shape(column), _nan_if_none(self.unknown_value))
        if categories:
            match = _category_match(column, categories)
            index = tf.cast(tf.argmax(tf.cast(match, tf.int32), axis=1), tf.float64)
            value = tf.where(tf.reduce_any(match, axis=1), index, value)
        if has_missing:
            encoded = _nan_if_none(self.encoded_missing_value)
            value = tf.where(_missing_mask(column, self.missing), encoded, value)
        return value

    def call(self, x):
        columns = [
            self._encode(x[:, j], categories, self.has_missing[j])
            for j, categories in enumerate(self.categories)
        ]
        return tf.stack(columns, axis=1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class JoinFeatures(_ExportLayer):
    """The preprocessed float64 blocks, concatenated and cast to float32 for the model."""

    _config_keys = ()

    def call(self, parts):
        return tf.cast(tf.concat([tf.cast(p, tf.float64) for p in parts], axis=1), tf.float32)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ProbabilityOutput(_ExportLayer):
    """Model outputs -> ``predict_proba``: clipped to [0, 1]; one sigmoid unit -> [1 - p, p];
    softmax rows renormalised; multilabel columns kept."""

    _config_keys = ("layout",)

    def __init__(self, layout, **kwargs):
        super().__init__(**kwargs)
        self.layout = layout

    def call(self, output):
        p = tf.clip_by_value(tf.cast(output, tf.float64), 0.0, 1.0)
        if self.layout == BINARY_COLUMN:
            return tf.concat([1.0 - p, p], axis=1)
        if self.layout == INDICATOR:
            return p
        total = tf.reduce_sum(p, axis=1, keepdims=True)
        return p / tf.where(total == 0.0, tf.ones_like(total), total)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class LogitsToProbabilities(_ExportLayer):
    """Logits -> probabilities (``activation``: "sigmoid" or "softmax"), for a model trained
    with a loss that reads logits (``from_logits=True``)."""

    _config_keys = ("activation",)

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activation

    def call(self, output):
        logits = tf.cast(output, tf.float64)
        if self.activation == "sigmoid":
            return tf.math.sigmoid(logits)
        return tf.nn.softmax(logits, axis=-1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class FirstColumn(_ExportLayer):
    """(batch, 1) -> (batch,), for a regressor fitted on a 1-D y."""

    _config_keys = ()

    def call(self, x):
        return x[:, 0]


# -- image inputs (an ImageLoader preprocessor) ------------------------------------------------
class _ImageLayer(_ExportLayer):
    """Base of the image input layers: float32, as ``ImageLoader`` computes."""

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ScaleImages(_ImageLayer):
    """Images of the trained size (uint8 or float) -> float32 images times ``scale``."""

    _config_keys = ("scale",)

    def __init__(self, scale=None, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, images):
        images = tf.cast(images, tf.float32)
        if self.scale is None or self.scale == 1:
            return images
        return images * tf.constant(self.scale, tf.float32)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class DecodeImages(_ImageLayer):
    """Encoded image files (a (batch,) tf.string of PNG, JPEG, GIF or BMP bytes) -> float32
    images decoded, resized and scaled with the ops ``ImageLoader`` uses in training
    (``sources.images.decode_images``)."""

    _config_keys = ("size", "channels", "interpolation", "crop_to_aspect_ratio", "scale")

    def __init__(self, size, channels, interpolation="bilinear", crop_to_aspect_ratio=False,
                 scale=None, **kwargs):
        super().__init__(**kwargs)
        self.size = [int(v) for v in size]
        self.channels = int(channels)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.scale = scale

    def call(self, encoded):
        settings = ImageSettings(tuple(self.size), self.channels, self.interpolation,
                                 self.crop_to_aspect_ratio, self.scale)
        return decode_images(tf.reshape(encoded, [-1]), settings, contents=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size[0], self.size[1], self.channels)
