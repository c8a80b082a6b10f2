"""Training-only augmentation: the estimators' ``augmentation`` parameter.

``augmentation`` is None, a Keras layer, a list of Keras layers, or a dict of
``ImageDataGenerator``-style options (``SUPPORTED_OPTIONS``), which ``option_layers``
translates into Keras ``Random*`` layers. ``for_fit`` turns it into one function of TensorFlow
ops, batch -> augmented batch, that ``_dataset.training_dataset`` maps over the training
batches, vectorised on the whole batch. Validation and early-stopping data, ``predict``,
``score`` and ``export_model`` never see it: it is not part of the model.

Copies and seeds. Each fit makes new layers (``from_config``): the user's layer objects are
never called, so their state never changes, and ``clone``/pickle/save see the same objects.
A copy whose seed was left unset gets a seed derived from the fit's seed and the layer's
position (no draw from Python's ``random``); layers without a ``seed`` in their config are
reseeded afterwards by ``_seeding.reseed_model``. Keras's ``Random*`` layers keep their state
in a ``SeedGenerator`` variable that advances at every call. The augmentation map therefore
runs sequentially (one batch after the other, behind the parallel gather map and before the
prefetch), so the state advances in step order and two fits with the same ``random_state``
augment every batch identically, whatever the threads do.
"""

import math
import numbers

import keras
import numpy as np

from ._inputs.named import one_input
from ._seeding import derived_seed, reseed_model

_AUGMENT = 3  # ``derived_seed`` kind of the augmentation layers
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
SUPPORTED_OPTIONS = (
    "rotation_range", "width_shift_range", "height_shift_range", "zoom_range", "shear_range",
    "horizontal_flip", "vertical_flip", "brightness_range", "channel_shift_range", "fill_mode",
)


class RandomBrightnessFactor(keras.layers.Layer):
    """Multiply each image by a factor drawn from [lower, upper] (``brightness_range``)."""

    def __init__(self, lower, upper, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.lower, self.upper, self.seed = float(lower), float(upper), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        shape = (keras.ops.shape(images)[0],) + (1,) * (len(images.shape) - 1)
        factor = keras.random.uniform(shape, self.lower, self.upper, seed=self.seed_generator)
        return images * factor

    def get_config(self):
        return {**super().get_config(), "lower": self.lower, "upper": self.upper, "seed": self.seed}


class RandomChannelShift(keras.layers.Layer):
    """Add a value drawn from [-intensity, intensity] to each channel of each image
    (``channel_shift_range``, in the units of the pixel values)."""

    def __init__(self, intensity, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.intensity, self.seed = float(intensity), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        shape = (keras.ops.shape(images)[0],) + (1,) * (len(images.shape) - 2) + (images.shape[-1],)
        shift = keras.random.uniform(shape, -self.intensity, self.intensity, seed=self.seed_generator)
        return images + shift

    def get_config(self):
        return {**super().get_config(), "intensity": self.intensity, "seed": self.seed}


def _number(options, key, *, upper=None):
    value = options[key]
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0 or (
        upper is not None and value > upper
    ):
        limit = f" and <= {upper}" if upper is not None else ""
        raise ValueError(f"augmentation[{key!r}] must be a number >= 0{limit}; got {value!r}.")
    return float(value)


def _pair(options, key):
    value = options[key]
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = float(value)
        if not 0 <= value < 1:
            raise ValueError(f"augmentation[{key!r}] must be in [0, 1) or a pair [lower, upper]; got {value!r}.")
        return 1.0 - value, 1.0 + value
    if (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
            and 0 < value[0] <= value[1]):
        return float(value[0]), float(value[1])
    raise ValueError(
        f"augmentation[{key!r}] must be a number in [0, 1) or a pair [lower, upper] with "
        f"0 < lower <= upper; got {value!r}."
    )


def _shift(options, key, size):
    """A shift as a fraction of the side: fractions below 1, pixels from 1 on (as in
    ``ImageDataGenerator``)."""
    value = _number(options, key)
    return value if value < 1 else value / size


def option_layers(options, row_shape, seed_of):
    """Keras layers for a dict of ``ImageDataGenerator``-style options, applied in its order:
    rotation, shift, shear, zoom, flips, brightness, channel shift. ``seed_of(i)`` gives the
    seed of the i-th layer."""
    unknown = sorted(set(options) - set(SUPPORTED_OPTIONS), key=str)
    if unknown:
        raise ValueError(
            f"augmentation has unknown option(s) {unknown}; the supported keys are "
            f"{list(SUPPORTED_OPTIONS)}. Pass Keras layers (e.g. [keras.layers.RandomFlip("
            "'horizontal')]) for anything else."
        )
    fill = options.get("fill_mode", "nearest")
    if fill not in FILL_MODES:
        raise ValueError(f"augmentation['fill_mode'] must be one of {list(FILL_MODES)}; got {fill!r}.")
    height, width = row_shape[0], row_shape[1]
    made = []

    def add(cls, **kwargs):
        made.append(cls(seed=seed_of(len(made)), **kwargs))

    if options.get("rotation_range"):
        add(keras.layers.RandomRotation, factor=_number(options, "rotation_range", upper=360) / 360,
            fill_mode=fill)
    shifts = [_shift(options, k, n) if options.get(k) else 0.0
              for k, n in (("height_shift_range", height), ("width_shift_range", width))]
    if any(shifts):
        add(keras.layers.RandomTranslation, height_factor=shifts[0], width_factor=shifts[1],
            fill_mode=fill)
    if options.get("shear_range"):
        degrees = _number(options, "shear_range", upper=89)
        add(keras.layers.RandomShear, x_factor=math.tan(math.radians(degrees)),
            y_factor=math.tan(math.radians(degrees)), fill_mode=fill)
    if options.get("zoom_range"):
        lower, upper = _pair(options, "zoom_range")
        add(keras.layers.RandomZoom, height_factor=(lower - 1, upper - 1),
            width_factor=(lower - 1, upper - 1), fill_mode=fill)
    flips = [name for name, key in (("horizontal", "horizontal_flip"), ("vertical", "vertical_flip"))
             if options.get(key)]
    for key in ("horizontal_flip", "vertical_flip"):
        if not isinstance(options.get(key, False), (bool, np.bool_)):
            raise ValueError(f"augmentation[{key!r}] must be True or False; got {options[key]!r}.")
    if flips:
        add(keras.layers.RandomFlip, mode="_and_".join(flips))
    if options.get("brightness_range") is not None:
        lower, upper = _pair(options, "brightness_range")
        add(RandomBrightnessFactor, lower=lower, upper=upper)
    if options.get("channel_shift_range"):
        add(RandomChannelShift, intensity=_number(options, "channel_shift_range"))
    return made


def _copy(layer, seed):
    """A new layer with ``layer``'s configuration; an unset seed becomes ``seed``."""
    config = layer.get_config()
    if "seed" in config and config["seed"] is None:
        config = {**config, "seed": seed}
        return type(layer).from_config(config)
    copy = type(layer).from_config(config)
    reseed_model(copy, seed)
    return copy


def user_layers(augmentation):
    """The user's layers as a list, each checked to be a Keras layer."""
    layers = list(augmentation) if isinstance(augmentation, (list, tuple)) else [augmentation]
    if not layers:
        raise ValueError("augmentation is an empty list; pass None for no augmentation.")
    for i, layer in enumerate(layers):
        if not isinstance(layer, keras.layers.Layer):
            raise TypeError(
                f"augmentation[{i}] is a {type(layer).__name__}; augmentation must be None, a "
                "Keras layer, a list of Keras layers or a dict of ImageDataGenerator-style "
                f"options ({list(SUPPORTED_OPTIONS)})."
            )
    return layers


def for_fit(augmentation, row_shape, seed):
    """The ``augmentation`` of one fit (the estimator's parameter, not None: the estimator
    asks only when there is one) as a function batch -> batch of TensorFlow ops.

    ``row_shape`` is the shape of one row as the model receives it: images ``(h, w)`` or
    ``(h, w, c)``. Rows of shape ``(h, w)`` get a channel axis for the layers and lose it
    after. Tabular rows (one axis) are refused."""
    row_shape = tuple(one_input(
        row_shape, "augmentation is not supported for X with several inputs {names}; pass "
        "augmentation=None, and put augmentation layers inside the model (they are active "
        "in training only)."))
    if len(row_shape) < 2:
        raise ValueError(
            f"augmentation needs image rows, of shape (h, w) or (h, w, c), but the rows have "
            f"shape {row_shape} (tabular data). Pass augmentation=None, or pass images as an "
            "array of shape (n, h, w[, c]) (or with skkeras_prep.images.ImageLoader)."
        )

    def seed_of(i):
        return derived_seed(seed, _AUGMENT, i)

    if isinstance(augmentation, dict):
        layers = option_layers(augmentation, row_shape, seed_of)
    else:
        layers = [_copy(layer, seed_of(i)) for i, layer in enumerate(user_layers(augmentation))]
    if not layers:
        return None
    add_channel = len(row_shape) == 2

    def augment(batch):
        x = batch[..., None] if add_channel else batch
        for layer in layers:
            x = layer(x, training=True)
        x = keras.ops.cast(x, batch.dtype)
        return x[..., 0] if add_channel else x

    return augment
