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

__all__ = ["MLP", "output_units"]


def output_units(meta):
    """The output layer that fits the target: ``(units, activation)``.

    binary -> (1, "sigmoid"); multiclass -> (n_classes_, "softmax");
    multilabel-indicator -> (n_outputs_, "sigmoid"); continuous -> (n_outputs_, "linear").
    """
    target_type = meta["target_type_"]
    if target_type == "binary":
        return 1, "sigmoid"
    if target_type == "multiclass":
        return meta["n_classes_"], "softmax"
    if target_type == "multilabel-indicator":
        return meta["n_outputs_"], "sigmoid"
    return meta["n_outputs_"], "linear"


class MLP(BaseEstimator):
    """A multi-layer perceptron: Dense layers with optional dropout, then the output layer.

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
        x = inputs
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


def _layer_seeds(seed):
    """One seed per seeded layer, derived from ``meta["random_seed_"]``; None (Keras's default
    seeds) when the ``meta`` passed in has no seed."""
    from ._seeding import derived_seed

    position = 0
    while True:
        yield None if seed is None else derived_seed(seed, 2, position)
        position += 1
