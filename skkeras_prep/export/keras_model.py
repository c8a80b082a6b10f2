"""The Keras-model export target: ``export_model(estimator)`` and the conversion of raw rows
into its inputs.

The model takes raw features, runs the translated preprocessor (``translators``), a copy of
``estimator.model_`` and the output head (``heads``), and returns what ``predict_proba``
(classifier) or ``predict`` (regressor) returns.
"""

import keras
import numpy as np
import tensorflow as tf
from sklearn.utils.validation import check_is_fitted

from .._build import one_output
from .._inputs.named import joined_exports, map_fitted, read_given
from ._common import MISSING_STRING, NUMBER, STRING, ExportError, input_name, is_missing
from .heads import output_head
from .images import exports_images, image_inputs
from .layers import JoinFeatures
from .structure import named_to_inputs, output_heads
from .translators import Block, input_kinds, merge, translate, width


def _input_names(columns):
    names = [input_name(c) for c in columns]
    clashes = sorted({c for c, n in zip(columns, names) if names.count(n) > 1})
    if clashes:
        raise ExportError(
            f"Columns {clashes} map to the same input name of the exported model (see "
            "skkeras_prep.export.input_name). Rename them so that they differ in letters or "
            "digits, and refit."
        )
    return names


def _make_inputs(fitted, preprocessor, name="features"):
    """Keras inputs for the raw features of one input (``fitted``: the estimator, or the
    record of one of several inputs), and the blocks they start as. Columns of a DataFrame
    input of several are named ``<input>.<column>``."""
    n = int(fitted.n_features_in_)
    kinds = input_kinds(preprocessor, n)
    names = getattr(fitted, "feature_names_in_", None)
    if names is None:
        if STRING in kinds:
            raise ExportError(
                "The estimator was fitted on an array with text columns. Fit it on a pandas "
                "DataFrame to export a model that takes text columns by name."
            )
        features = keras.Input(shape=(n,), dtype="float64", name=name)
        return features, [Block(features, NUMBER)]
    dtypes = {STRING: "string", NUMBER: "float64"}
    names = _input_names(names if name == "features" else [f"{name}.{c}" for c in names])
    inputs = {name: keras.Input(shape=(1,), dtype=dtypes[kind], name=name)
              for name, kind in zip(names, kinds)}
    return inputs, [Block(inputs[name], kind) for name, kind in zip(names, kinds)]


def preprocessing_layers(estimator, input=None):
    """(inputs, features): the Keras inputs for raw features, and the float32 tensor the
    translated ``preprocessor_`` makes of them (what ``estimator.model_`` receives).
    ``input`` picks the kind of input where there is a choice (``images.IMAGE_INPUTS``).
    Each input's layers are ``one_input_layers``; for several inputs, ``inputs`` is one flat
    dict and ``features`` a dict by input name (``_inputs.named.joined_exports``)."""
    check_is_fitted(estimator, "model_")
    if exports_images(estimator):
        return image_inputs(estimator, input)
    if input not in (None, "features"):
        raise ExportError(
            f"export_model(input={input!r}): this estimator exports its raw features only "
            "(input=None); 'images' and 'bytes' need an ImageLoader preprocessor."
        )
    made = map_fitted(estimator, lambda name, record, transformer, shape: one_input_layers(
        record, transformer, shape, name=name or "features"), ExportError)
    return joined_exports(made, ExportError)


def one_input_layers(fitted, preprocessor, row_shape, name="features"):
    """(inputs, features) of one input: its raw features through its translated
    ``preprocessor``; ``fitted`` is the estimator, or the record of one of several inputs."""
    if preprocessor is None and len(row_shape) > 1:
        # N-D rows (images) without a preprocessor: the model's input as it is, float64 like
        # the other exported inputs (cast to float32 as the model receives it).
        images = keras.Input(shape=row_shape, dtype="float64", name=name)
        return images, keras.layers.Identity(dtype="float32")(images)
    inputs, blocks = _make_inputs(fitted, preprocessor, name)
    if preprocessor is not None:
        blocks = translate(preprocessor, blocks)
    blocks = merge(blocks)
    if any(b.kind == STRING for b in blocks):
        raise ExportError("The preprocessor passes text columns through to the model; encode them.")
    total = sum(width(b) for b in blocks)
    if (total,) != row_shape:
        raise ExportError(
            f"The translated preprocessor gives {total} features but the model takes "
            f"{row_shape}; please report this as a bug."
        )
    return inputs, JoinFeatures()([b.tensor for b in blocks])


def _copy_model(model):
    """An independent copy of the trained model (shares no weights with the estimator)."""
    try:
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
    except Exception:  # a subclassed model without a config cannot be cloned: reuse it
        return model
    return copy


def export_model(estimator, input=None):
    """A ``keras.Model`` from raw features to ``predict_proba`` (classifier) or ``predict``
    (regressor) output, with the fitted preprocessor translated into Keras layers.

    Raises ``ExportError`` (a ValueError) naming what cannot be translated. The model holds a
    copy of the trained weights; it reads float64 numbers, and text columns as strings with
    ``""`` for a missing value (see ``frame_to_inputs``). An estimator with an
    ``ImageLoader`` preprocessor exports ``input="images"`` (default) or ``input="bytes"``
    (``export/images.py``).
    """
    inputs, features = preprocessing_layers(estimator, input)
    output = one_output(_copy_model(estimator.model_)(features))  # a list or dict of one
    name = f"{type(estimator).__name__}_export"
    return keras.Model(inputs, output_heads(estimator.target_encoder_, output, output_head),
                       name=name)


def _as_text(values):
    """Strings for a string input: missing values become ``MISSING_STRING``."""
    return np.array([MISSING_STRING if is_missing(v) else str(v) for v in values], dtype=object)


def frame_to_inputs(model, frame):
    """The inputs of an exported ``model`` for a pandas DataFrame: a dict of (n, 1) tensors,
    float64 for numeric inputs and strings (missing -> ``""``) for text inputs. An array is
    returned as one float64 tensor. Works for ``model(...)``, ``model.predict`` and the
    ``serve`` signature of a SavedModel written by ``model.export``. For a model exported
    from several inputs, ``frame`` is a dict or ``MultiInput`` by input name, as X was at
    fit (``structure.named_to_inputs``)."""
    return read_given(frame, lambda one: _frame_inputs(model, one),
                    lambda parts: named_to_inputs(model, parts, frame_to_inputs))


def _frame_inputs(model, frame):
    if not isinstance(model.input, dict):
        return tf.constant(np.asarray(frame, dtype=np.float64))
    columns = {input_name(c): c for c in frame.columns}
    missing = [name for name in model.input if name not in columns]
    if missing:
        raise ValueError(
            f"The DataFrame lacks the column(s) for input(s) {missing} of the exported model; "
            "pass the columns the estimator was fitted on."
        )
    inputs = {}
    for name, spec in model.input.items():
        column = frame[columns[name]].to_numpy()
        if spec.dtype == "string":
            inputs[name] = tf.constant(_as_text(column).reshape(-1, 1), dtype=tf.string)
        else:
            inputs[name] = tf.constant(_as_numbers(column, columns[name], name).reshape(-1, 1))
    return inputs


def _as_numbers(values, column, name):
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"The exported model reads column {column!r} as numbers (float64 input {name!r}), "
            f"but it holds values that are not numbers ({error}). Pass the column as it was "
            "at fit; a column that the preprocessor drops can hold any number, e.g. 0."
        ) from None
