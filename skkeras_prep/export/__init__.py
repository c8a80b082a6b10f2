"""Export a fitted estimator as one ``keras.Model`` that takes raw features.

``export_model(est)`` (also ``est.export_model()``) translates the fitted preprocessor into
small Keras layers built from TensorFlow ops, puts a copy of ``est.model_`` behind them and
ends with the step that turns model outputs into what ``predict_proba`` (classifier) or
``predict`` (regressor) returns. The result needs neither scikit-learn nor this estimator to
serve, and can be written as a TensorFlow SavedModel with ``exported.export(directory)``.

Inputs
    Fitted on an array: one float64 input ``"features"`` of shape (batch, n_features_in_).
    Fitted on a DataFrame: a dict with one input per column, shape (batch, 1), float64 for
    numeric columns and string for text columns, named by ``input_name(column)`` (the column
    name, with characters a SavedModel signature cannot hold replaced by '_'). A missing text
    value is the empty string ``""`` (``MISSING_STRING``); a missing number is NaN.
    ``frame_to_inputs`` converts a DataFrame.
    With an ``images.ImageLoader`` preprocessor: ``export_model(est)`` takes images of the
    trained size ``(batch, h, w, c)`` (uint8 or float, the loader's scale built in), and
    ``export_model(est, input="bytes")`` encoded image files as a ``(batch,)`` string tensor,
    decoded and resized in the model (``images`` module; docs/images.md).

Arithmetic runs in float64 in the same order of operations as scikit-learn, and the features
are cast to float32 just before the Keras model, as ``predict`` does.

Modules (each imports only those above it):

- ``_common``: ``ExportError``, column kinds, missing-value conventions (no TensorFlow);
- ``layers``: the Keras layers, registered as ``"skkeras_prep>" + class name``;
- ``translators``: the registry of scikit-learn transformer translators, from which
  ``SUPPORTED_TRANSFORMERS`` is generated (a new transformer is one entry there);
- ``heads``: model outputs -> estimator outputs, from the target encoder's ``export_head()``;
- ``images``: the image inputs (``"images"``, ``"bytes"``) of an ``ImageLoader`` estimator;
- ``structure``: the inputs and output heads of estimators fitted with several inputs or
  outputs (flat dict of inputs named ``<input>`` / ``<input>.<column>``; a list of
  probabilities, or one array of values);
- ``keras_model``: the export target ``export_model`` and ``frame_to_inputs`` (another target,
  say a different serving format, is one new module next to it);
- ``onnx_model``: the ONNX target ``to_onnx`` (export_model converted with tf2onnx, to serve
  with onnxruntime without TensorFlow), ``onnx_signature`` and ``onnx_inputs``.
"""

from ._common import MISSING_STRING, NUMBER, STRING, ExportError
from .heads import SUPPORTED_TARGET_TRANSFORMERS
from .keras_model import export_model, frame_to_inputs, input_name
from .layers import (
    Affine,
    Concat,
    FillMissing,
    FirstColumn,
    IsMissing,
    JoinFeatures,
    OneHot,
    Ordinal,
    ProbabilityOutput,
    SelectColumns,
)
from .onnx_model import onnx_inputs, onnx_signature, to_onnx
from .translators import SUPPORTED_TRANSFORMERS, TRANSLATORS, Block

__all__ = [
    "ExportError",
    "MISSING_STRING",
    "SUPPORTED_TARGET_TRANSFORMERS",
    "SUPPORTED_TRANSFORMERS",
    "export_model",
    "frame_to_inputs",
    "input_name",
    "onnx_inputs",
    "onnx_signature",
    "to_onnx",
]
