"""Ready-made model builders whose parameters can be grid-searched.

A builder is a small scikit-learn-style object: its ``__init__`` stores hyper-parameters and
``build(meta)`` returns a new uncompiled ``keras.Model``. Used as the ``model`` parameter of an
estimator, its parameters appear as ``model__<name>`` in ``get_params`` and can be searched:

>>> from skkeras_prep import KerasPipelineClassifier
>>> from skkeras_prep.models import MLP
>>> est = KerasPipelineClassifier(MLP(hidden_layer_sizes=(32,)))
>>> est.set_params(model__dropout=0.1).get_params()["model__dropout"]
0.1

``meta`` holds ``n_features_in_`` (the width the model receives, after the preprocessor),
``input_shape_``, ``n_classes_``, ``n_outputs_``, ``classes_``, ``target_type_``,
``output_names_`` (for several outputs given as a dict: their names, with ``n_classes_`` and
``classes_`` as lists in that order; else None; ``input_shape_`` and ``n_features_in_`` are
dicts by input name for several inputs; docs/multi-io.md) and ``random_seed_``: an int drawn from the estimator's ``random_state`` (fresh when it is None).
A builder may pass seeds derived from it to its layers. That is optional: after the build,
every unseeded initializer, dropout and noise layer gets its own seed derived from
``random_state`` anyway (see ``docs/DESIGN.md``, "Seeds without global state"). What seeding
them in the builder adds is that Keras then draws no default seeds from Python's ``random``
while the layers are created, so the fit leaves that module's state exactly as it was.
"""

import numbers

from sklearn.base import BaseEstimator

from ._html_repr import DocLinkMixin

__all__ = ["CNN", "KerasApplication", "MLP", "output_units"]


def output_units(meta):
    """The output layer that fits the target: ``(units, activation)``.

    binary -> ``(1, "sigmoid")``; multiclass -> ``(n_classes_, "softmax")``;
    multilabel-indicator -> ``(n_outputs_, "sigmoid")``; continuous -> ``(n_outputs_, "linear")``.
    """
    target_type = meta["target_type_"]
    if target_type == "binary":
        return 1, "sigmoid"
    if target_type == "multiclass":
        return meta["n_classes_"], "softmax"
    if target_type == "multilabel-indicator":
        return meta["n_outputs_"], "sigmoid"
    return meta["n_outputs_"], "linear"


class MLP(DocLinkMixin, BaseEstimator):
    """A multi-layer perceptron: Dense layers with optional dropout, then the output layer.

    N-D rows (images ``(h, w)`` or ``(h, w, c)``) are flattened first.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Units of each hidden layer, as in scikit-learn's ``MLPClassifier``.
    activation : str, default="relu"
        Activation of the hidden layers (any Keras activation name).
    dropout : float, default=0.0
        Dropout rate after each hidden layer (0 disables it).
    l2 : float, default=0.0
        L2 penalty on the hidden and output kernels.

    Examples
    --------
    >>> from skkeras_prep.models import MLP
    >>> MLP(hidden_layer_sizes=(64, 32), dropout=0.2)
    MLP(dropout=0.2, hidden_layer_sizes=(64, 32))
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", dropout=0.0, l2=0.0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.l2 = l2

    def _check(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral):
            sizes = (sizes,)
        sizes = tuple(sizes)
        if not all(isinstance(s, numbers.Integral) and s > 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}."
            )
        if not (isinstance(self.dropout, numbers.Real) and 0 <= self.dropout < 1):
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}.")
        if not (isinstance(self.l2, numbers.Real) and self.l2 >= 0):
            raise ValueError(f"l2 must be a non-negative number, got {self.l2!r}.")
        return sizes

    def build(self, meta):
        """Return a new, uncompiled ``keras.Model`` for the data described by ``meta``."""
        import keras

        sizes = self._check()
        seeds = _layer_seeds(meta.get("random_seed_"))
        regularizer = keras.regularizers.L2(self.l2) if self.l2 else None
        inputs = keras.Input(shape=tuple(meta["input_shape_"]))
        x = keras.layers.Flatten()(inputs) if len(meta["input_shape_"]) > 1 else inputs
        for units in sizes:
            x = keras.layers.Dense(
                int(units), activation=self.activation, kernel_regularizer=regularizer,
                kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
            )(x)
            if self.dropout:
                x = keras.layers.Dropout(self.dropout, seed=next(seeds))(x)
        units, activation = output_units(meta)
        outputs = keras.layers.Dense(
            units, activation=activation, kernel_regularizer=regularizer,
            kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
        )(x)
        return keras.Model(inputs, outputs)


def _positive_ints(value, name, *, allow_empty=True):
    values = (value,) if isinstance(value, numbers.Integral) else tuple(value)
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in values) or (
        not values and not allow_empty
    ):
        raise ValueError(f"{name} must be positive integers, got {value!r}.")
    return tuple(int(v) for v in values)


def _check_rate(value, name):
    if isinstance(value, bool) or not (isinstance(value, numbers.Real) and 0 <= value < 1):
        raise ValueError(f"{name} must be in [0, 1), got {value!r}.")


def _image_input(meta, builder):
    """``keras.Input`` for image rows and the tensor the convolutions take: rows ``(h, w)``
    get a channel axis; rows of another rank are refused."""
    import keras

    shape = tuple(meta["input_shape_"])
    if len(shape) not in (2, 3):
        raise ValueError(
            f"{builder} needs image rows of shape (h, w) or (h, w, c); the rows have shape "
            f"{shape}. Pass X as an array of shape (n, h, w[, c]) (or use MLP for tabular data)."
        )
    inputs = keras.Input(shape=shape)
    x = keras.layers.Reshape(shape + (1,))(inputs) if len(shape) == 2 else inputs
    return inputs, x


def _image_head(inputs, x, meta, dropout, seeds):
    """The end of an image builder: dropout (if any), then the output layer ``meta`` asks for,
    each seeded from ``seeds`` in that order; the ``keras.Model`` from ``inputs``."""
    import keras

    if dropout:
        x = keras.layers.Dropout(dropout, seed=next(seeds))(x)
    units, activation = output_units(meta)
    outputs = keras.layers.Dense(
        units, activation=activation,
        kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
    )(x)
    return keras.Model(inputs, outputs)


class CNN(DocLinkMixin, BaseEstimator):
    """A small convolutional network for image rows ``(h, w)`` or ``(h, w, c)``.

    Each entry of ``filters`` is one block: a 3x3 (``kernel_size``) convolution with "same"
    padding and ReLU, optional batch normalisation, then 2x2 pooling (skipped once the image
    is smaller than 2 pixels on a side). Then the feature maps are flattened, followed by the
    ``dense`` layers (ReLU), dropout, and the output layer (``output_units``). The kernels
    and the dropout are seeded from ``meta["random_seed_"]``. Inputs are used as they come:
    scale them first (e.g. X / 255, or ``ImageLoader``'s ``scale``).

    Parameters
    ----------
    filters : tuple of int, default=(32, 64)
        Filters of each convolution block.
    kernel_size : int, default=3
        Side of the square convolution kernels.
    pooling : {"max", "avg", None}, default="max"
        The 2x2 pooling after each block, or none.
    dense : tuple of int, default=(128,)
        Units of the dense layers after flattening.
    dropout : float in [0, 1), default=0.25
        Dropout rate before each dense layer and before the output layer.
    batch_norm : bool, default=False
        Batch normalisation after each convolution.

    Examples
    --------
    >>> from skkeras_prep.models import CNN
    >>> CNN(filters=(16, 32), dense=(64,))
    CNN(dense=(64,), filters=(16, 32))
    """

    def __init__(self, filters=(32, 64), kernel_size=3, pooling="max", dense=(128,), dropout=0.25,
                 batch_norm=False):
        self.filters = filters
        self.kernel_size = kernel_size
        self.pooling = pooling
        self.dense = dense
        self.dropout = dropout
        self.batch_norm = batch_norm

    def _check(self):
        filters = _positive_ints(self.filters, "filters")
        dense = _positive_ints(self.dense, "dense")
        (kernel,) = _positive_ints(self.kernel_size, "kernel_size")
        if self.pooling not in ("max", "avg", None):
            raise ValueError(f"pooling must be 'max', 'avg' or None, got {self.pooling!r}.")
        _check_rate(self.dropout, "dropout")
        if not isinstance(self.batch_norm, bool):
            raise ValueError(f"batch_norm must be True or False, got {self.batch_norm!r}.")
        return filters, dense, kernel

    def build(self, meta):
        """Return a new, uncompiled ``keras.Model`` for the image rows described by ``meta``."""
        import keras

        filters, dense, kernel = self._check()
        seeds = _layer_seeds(meta.get("random_seed_"))
        inputs, x = _image_input(meta, "CNN")
        pool = {"max": keras.layers.MaxPooling2D, "avg": keras.layers.AveragePooling2D}.get(self.pooling)
        for n_filters in filters:
            x = keras.layers.Conv2D(
                n_filters, kernel, padding="same", activation=None if self.batch_norm else "relu",
                kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
            )(x)
            if self.batch_norm:
                x = keras.layers.Activation("relu")(keras.layers.BatchNormalization()(x))
            if pool is not None and min(x.shape[1], x.shape[2]) >= 2:
                x = pool(2)(x)
        x = keras.layers.Flatten()(x)
        for units in dense:
            if self.dropout:
                x = keras.layers.Dropout(self.dropout, seed=next(seeds))(x)
            x = keras.layers.Dense(
                units, activation="relu",
                kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
            )(x)
        return _image_head(inputs, x, meta, self.dropout, seeds)


# How each keras.applications family wants its input, from pixel values in [0, 255]:
# "raw" (the model scales itself: MobileNetV3, EfficientNet, ConvNeXt, RegNet), "tf" ([-1, 1]),
# "torch" ([0, 1], then ImageNet mean and standard deviation per channel).
_APPLICATION_INPUTS = {
    "MobileNetV3Small": "raw", "MobileNetV3Large": "raw",
    **{f"EfficientNetB{i}": "raw" for i in range(8)},
    **{f"EfficientNetV2{v}": "raw" for v in ("B0", "B1", "B2", "B3", "S", "M", "L")},
    **{f"ConvNeXt{v}": "raw" for v in ("Tiny", "Small", "Base", "Large", "XLarge")},
    "MobileNet": "tf", "MobileNetV2": "tf", "InceptionV3": "tf", "InceptionResNetV2": "tf",
    "Xception": "tf", "NASNetMobile": "tf", "NASNetLarge": "tf",
    "ResNet50V2": "tf", "ResNet101V2": "tf", "ResNet152V2": "tf",
    "DenseNet121": "torch", "DenseNet169": "torch", "DenseNet201": "torch",
}
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class KerasApplication(DocLinkMixin, BaseEstimator):
    """A ``keras.applications`` backbone (without its top) under a fitted head.

    The model is: input -> rescaling from ``input_range`` to what the backbone expects ->
    backbone (global average pooling) -> dropout -> output layer (``output_units``).
    Grayscale rows (one channel, or ``(h, w)``) are repeated to three channels.

    Parameters
    ----------
    name : str, default="MobileNetV3Small"
        A ``keras.applications`` model whose input scaling is known here (the keys of
        ``KerasApplication.supported``; the ResNet/VGG "caffe" family is not).
    weights : None, "imagenet" or str path, default=None
        None: random weights (seeded from ``random_state``); "imagenet": Keras downloads them
        (needs the network once, then Keras's cache); a path: a local weights file for the
        backbone without its top (``.weights.h5``), such as one saved by
        ``backbone.save_weights``. Loaded weights are kept as they are (not reseeded).
    trainable : bool, default=False
        False freezes the backbone (its batch-norm layers then run in inference mode); only
        the head trains.
    dropout : float in [0, 1), default=0.2
        Dropout before the output layer.
    input_range : (float, float), default=(0.0, 1.0)
        The range of the pixel values the model receives: (0, 1) for images scaled by 1/255
        (``ImageLoader``'s default ``scale``), (0, 255) for raw pixel values. The builder
        maps it to the backbone's own expected input (0-255 for MobileNetV3 and EfficientNet,
        which preprocess themselves; [-1, 1] for MobileNetV2, Inception, Xception; ImageNet
        mean/std for DenseNet).
    bn_momentum : "auto" or float in [0, 1), default="auto"
        The momentum of the backbone's batch-normalization moving statistics (mean and
        variance), which ``predict`` uses. "auto": 0.9 when ``weights=None``, the backbone's
        own (0.99 or 0.999) for loaded weights. With 0.99 or 0.999 the moving statistics of a
        randomly initialised backbone still describe its first weights after a short fit, so
        ``predict`` scores near chance although the training loss fell (MobileNetV2 on digits:
        0.1 accuracy; 0.9 gives a usable model, bench/README.md "KerasApplication from
        scratch"). Lower momentum follows recent batches more closely. Only matters when the
        backbone trains (``trainable=True``). This changes results for ``weights=None``: before
        this parameter it kept the backbone's own momentum (``bn_momentum=0.999`` restores
        it for MobileNetV2).

    Examples
    --------
    >>> from skkeras_prep.models import KerasApplication
    >>> KerasApplication("MobileNetV2", input_range=(0, 255))
    KerasApplication(input_range=(0, 255), name='MobileNetV2')
    """

    supported = tuple(sorted(_APPLICATION_INPUTS))

    def __init__(self, name="MobileNetV3Small", weights=None, trainable=False, dropout=0.2,
                 input_range=(0.0, 1.0), bn_momentum="auto"):
        self.name = name
        self.weights = weights
        self.trainable = trainable
        self.dropout = dropout
        self.input_range = input_range
        self.bn_momentum = bn_momentum

    def _check(self):
        if self.name not in _APPLICATION_INPUTS:
            raise ValueError(
                f"KerasApplication name {self.name!r} is not supported; use one of "
                f"{list(self.supported)}, or write a builder function for others."
            )
        if not (self.weights is None or isinstance(self.weights, str) or hasattr(self.weights, "__fspath__")):
            raise ValueError(
                f"weights must be None, 'imagenet' or the path of a weights file, got {self.weights!r}."
            )
        if self.weights not in (None, "imagenet"):
            import os

            if not os.path.isfile(self.weights):
                raise ValueError(f"weights file {str(self.weights)!r} does not exist.")
        if not isinstance(self.trainable, bool):
            raise ValueError(f"trainable must be True or False, got {self.trainable!r}.")
        _check_rate(self.dropout, "dropout")
        if not (isinstance(self.bn_momentum, str) and self.bn_momentum == "auto"):
            momentum = self.bn_momentum
            if isinstance(momentum, bool) or not (isinstance(momentum, numbers.Real) and 0 <= momentum < 1):
                raise ValueError(f"bn_momentum must be 'auto' or a number in [0, 1), got {momentum!r}.")
        low, high = (float(v) for v in self.input_range)
        if not high > low:
            raise ValueError(f"input_range must be (low, high) with high > low, got {self.input_range!r}.")
        return low, high

    def _rescaled(self, x, low, high):
        """Layers mapping pixel values in [low, high] to the backbone's expected input."""
        import keras

        mode = _APPLICATION_INPUTS[self.name]
        target_low, target_high = {"raw": (0.0, 255.0), "tf": (-1.0, 1.0), "torch": (0.0, 1.0)}[mode]
        scale = (target_high - target_low) / (high - low)
        if scale != 1.0 or target_low != low:
            x = keras.layers.Rescaling(scale, offset=target_low - low * scale)(x)
        if mode == "torch":
            x = keras.layers.Normalization(
                mean=list(_IMAGENET_MEAN), variance=[s * s for s in _IMAGENET_STD]
            )(x)
        return x

    def build(self, meta):
        """Return a new, uncompiled ``keras.Model`` for the image rows described by ``meta``."""
        import keras

        low, high = self._check()
        seeds = _layer_seeds(meta.get("random_seed_"))
        inputs, x = _image_input(meta, "KerasApplication")
        if x.shape[-1] == 1:
            x = keras.layers.Concatenate()([x, x, x])
        elif x.shape[-1] != 3:
            raise ValueError(
                f"KerasApplication needs 1 or 3 channels; the rows have shape {tuple(meta['input_shape_'])}."
            )
        x = self._rescaled(x, low, high)
        weights = None if self.weights is None else str(self.weights) if self.weights != "imagenet" else "imagenet"
        backbone = getattr(keras.applications, self.name)(
            include_top=False, weights=weights, input_shape=tuple(x.shape[1:]), pooling="avg",
        )
        if weights is not None:
            _keep_weights(backbone)
        momentum = self.bn_momentum if self.bn_momentum != "auto" else (0.9 if weights is None else None)
        if momentum is not None:
            _set_bn_momentum(backbone, float(momentum))
        backbone.trainable = self.trainable
        x = backbone(x, training=False) if not self.trainable else backbone(x)
        return _image_head(inputs, x, meta, self.dropout, seeds)


def _set_bn_momentum(model, momentum):
    """Set the moving-statistics momentum of every batch-normalization layer of ``model``
    (a public constructor argument, read by the layer at each training call)."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


def _keep_weights(model):
    """Give every seedless random initializer of ``model``'s layers an explicit seed, so
    that the estimator's reseeding (``_seeding.reseed_model``, which redraws only weights
    whose initializer has no seed) keeps loaded weights."""
    import keras

    from ._compat import keras_layers

    for layer in keras_layers(model):
        for attr, value in list(vars(layer).items()):
            if attr.endswith("_initializer") and isinstance(value, keras.initializers.Initializer):
                config = value.get_config()
                if "seed" in config and config["seed"] is None:
                    setattr(layer, attr, type(value).from_config({**config, "seed": 0}))


def _layer_seeds(seed):
    """One seed per seeded layer, derived from ``meta["random_seed_"]``; None (Keras's default
    seeds) when the ``meta`` passed in has no seed."""
    from ._seeding import derived_seed

    position = 0
    while True:
        yield None if seed is None else derived_seed(seed, 2, position)
        position += 1
