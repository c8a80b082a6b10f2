"""Exported models of estimators fitted with several inputs or outputs.

- **Several inputs.** Each input gets the inputs one input would get, named after it: an
  array input is one float64 input named as the input (``"a"``), a DataFrame input one
  input per column named ``<input>.<column>`` (``"b.colour"``). The exported model takes
  them as one flat dict (a SavedModel signature takes no nesting), and feeds the trained
  model the dict ``{input name: features}`` it was trained on (``keras_model`` maps its
  one-input layers over the input structure: ``_inputs.named.map_fitted``,
  ``joined_exports``). ``frame_to_inputs(model, X)`` turns X given as at fit (a dict of
  arrays / DataFrames) into that dict (``named_to_inputs``).
- **Several outputs.** Each output goes through its own target head. A classifier returns
  the list of per-output probabilities, in the estimator's output order, as
  ``predict_proba``; a regressor returns one (n, total columns) array, as ``predict``.
"""

import keras
import numpy as np
import tensorflow as tf

from .._target_layout import map_heads
from ._common import input_name


def output_heads(encoder, output, output_head):
    """The target heads on the model's ``output``, one per output (``output_head(head
    encoder, its output)``): one output's head; for several, a list of probabilities for a
    classifier, one float64 (n, total columns) tensor for a regressor."""
    def joined(heads):
        if encoder.kind == "classifier":
            return heads
        # float64 layers: a layer of the default policy would round the heads' float64 to float32
        columns = [keras.layers.Reshape((-1,) if len(h.shape) == 2 else (1,), dtype="float64")(h)
                   for h in heads]
        return keras.layers.Concatenate(axis=-1, dtype="float64")(columns)

    return map_heads(encoder, output, output_head, join=joined)


class _Inputs:
    """A stand-in model holding only the exported inputs of one named input."""

    def __init__(self, specs):
        self.input = specs


def named_to_inputs(model, X, frame_to_inputs):
    """The flat dict of inputs of a model exported from named inputs, for X given as at fit
    (``{input name: array or DataFrame}``)."""
    specs = model.input if isinstance(model.input, dict) else {}
    out = {}
    for name, part in X.items():
        if hasattr(part, "columns") and hasattr(part, "iloc"):
            prefix = input_name(f"{name}.x")[:-1]
            mine = {k: v for k, v in specs.items() if k.startswith(prefix)}
            renamed = part.rename(columns=lambda c, name=name: f"{name}.{c}")
            out.update(frame_to_inputs(_Inputs(mine), renamed))
        else:
            out[input_name(name)] = tf.constant(np.asarray(part, dtype=np.float64))
    missing = sorted(set(specs) - set(out))
    if missing:
        raise ValueError(
            f"X lacks the exported model's input(s) {missing}; pass X as a dict by input name "
            "as at fit."
        )
    return {k: out[k] for k in specs}
