"""The ONNX export target: ``to_onnx(estimator, path)`` writes the exported model (raw
features in, ``predict_proba`` / ``predict`` out) as an ONNX file, to serve with onnxruntime
and without TensorFlow.

It converts ``keras_model.export_model(estimator)`` with tf2onnx, so the ONNX graph runs the
same translated preprocessing, in the same float64 order of operations. Two ops that tf2onnx
converts wrongly get their own handlers (``_compat.tf2onnx_op_handlers``): text is compared
through ai.onnx.ml ``CategoryMapper``, and ``tf.where`` becomes ONNX ``Where``.

Input signature (also ``onnx_signature(path)``; docs/persistence.md):

* fitted on an array: one input ``"features"``, float64, shape (batch, n_features_in_);
* fitted on a DataFrame: one input per column, named ``input_name(column)``, shape
  (batch, 1), float64 for numeric columns (NaN = missing) and string for text columns
  (``""`` = missing; an unseen category is any other string);
* N-D rows (image arrays) without a preprocessor: ``"features"``, float64,
  (batch,) + the row shape; with an ``ImageLoader``: ``"images"``, float32, (batch, h, w, c).

Output: ``"probabilities"`` (classifier, float64, what ``predict_proba`` returns) or
``"predictions"`` (regressor, float64, what ``predict`` returns).
"""

import numpy as np

from .._compat import tf2onnx_op_handlers
from .._targets import MultiOutputEncoder
from ._common import MISSING_STRING, ExportError
from .images import exports_images
from .keras_model import export_model, input_name

#: The ONNX opset written (the newest tf2onnx 1.17 knows) and that of ai.onnx.ml.
OPSET, ML_OPSET = 18, 2

_INSTALL = 'pip install "skkeras_prep[onnx]"'


def _onnx_modules():
    """(tf2onnx, onnx), or ImportError naming the extra that installs them."""
    try:
        import onnx
        import tf2onnx
    except ImportError as error:
        raise ImportError(
            f"to_onnx needs tf2onnx and onnx ({error.name} is missing). Install them with "
            f"{_INSTALL} (onnxruntime, also in that extra, serves the file)."
        ) from None
    return tf2onnx, onnx


def _refuse_what_onnx_cannot_hold(estimator, input):
    several_outputs = isinstance(getattr(estimator, "target_encoder_", None), MultiOutputEncoder)
    if getattr(estimator, "input_names_", None) is not None or several_outputs:
        raise ExportError(
            "to_onnx does not support estimators fitted with several inputs or outputs yet: it "
            "converts export_model(), which exports one input and one output. Serve such an "
            "estimator with its own predict."
        )
    if input == "bytes" and exports_images(estimator):
        raise ExportError(
            "to_onnx(input='bytes') is not possible: the opsets tf2onnx writes (up to 18) "
            "have no operator that decodes PNG, JPEG, GIF or BMP files, and onnxruntime "
            "1.32 does not implement opset 20's ImageDecoder (one image per call, and its "
            "decoding and resizing would differ from TensorFlow's). Export input='images' and "
            "decode the files in the client to arrays of the trained size, or serve encoded "
            "bytes with export_model(est, input='bytes') "
            "as a TensorFlow SavedModel."
        )


def _checked(proto, onnx, problems):
    """The converted model, or ExportError naming what tf2onnx could not convert."""
    unknown = sorted({f"{n.domain or 'ai.onnx'}:{n.op_type}" for n in proto.graph.node
                      if not onnx.defs.has(n.op_type, n.domain)})
    if problems or unknown:
        raise ExportError(
            "to_onnx cannot convert this model: "
            + "; ".join(problems + [f"no ONNX operator for {op}" for op in unknown])
            + ". Use only standard Keras layers in the model, or serve it as a TensorFlow "
            "SavedModel (export_model(est).export(path))."
        )
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        raise ExportError(f"to_onnx wrote a model that ONNX rejects: {error}") from None
    return proto


def to_onnx(estimator, path=None, *, input=None):
    """Convert a fitted estimator, preprocessing included, into an ONNX model; write it to
    ``path`` when given. Returns the ``onnx.ModelProto``.

    The inputs and output are those of ``export_model(estimator)`` (see the module docstring
    and ``onnx_signature``). Needs tf2onnx and onnx (``pip install "skkeras_prep[onnx]"``);
    serve the file with onnxruntime, no TensorFlow needed. Raises ``ExportError`` (a
    ValueError) for what cannot be converted: several inputs or outputs, encoded image bytes
    (ONNX cannot decode images), a preprocessor ``export_model`` cannot translate, or an
    operator of the model ONNX lacks.
    """
    tf2onnx, onnx = _onnx_modules()
    _refuse_what_onnx_cannot_hold(estimator, input)
    import tensorflow as tf

    model = export_model(estimator, input=input)
    output = "probabilities" if hasattr(estimator, "classes_") else "predictions"
    if isinstance(model.input, dict):
        signature = [{name: tf.TensorSpec(t.shape, t.dtype, name=name)
                      for name, t in model.input.items()}]
    else:
        signature = [tf.TensorSpec(model.input.shape, model.input.dtype, name=model.input.name)]

    @tf.function
    def serve(inputs):
        return {output: model(inputs)}

    problems = []
    proto, _ = tf2onnx.convert.from_function(
        serve, input_signature=signature, opset=OPSET,
        custom_op_handlers=tf2onnx_op_handlers(problems),
        extra_opset=[onnx.helper.make_opsetid("ai.onnx.ml", ML_OPSET)],
    )
    proto = _checked(proto, onnx, problems)
    if path is not None:
        onnx.save(proto, str(path))
    return proto


_NUMPY_TYPES = {"tensor(double)": np.float64, "tensor(float)": np.float32,
                "tensor(string)": object}


def onnx_signature(model):
    """{input name: (dtype, shape)} of an ONNX model (a path or ``ModelProto``): numpy dtypes
    (``object`` for strings) and shapes with ``None`` for the batch, e.g.
    ``{"age": (float64, (None, 1)), "city": (object, (None, 1))}``."""
    _, onnx = _onnx_modules()
    proto = onnx.load(str(model)) if not isinstance(model, onnx.ModelProto) else model
    signature = {}
    for value in proto.graph.input:
        tensor = value.type.tensor_type
        dims = tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)
        signature[value.name] = (onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type), dims)
    return signature


def _text(column):
    """A text column (a pandas Series) as str objects, ``""`` where missing; no Python loop
    per value when the column already holds strings (a server converts every request)."""
    import pandas as pd

    values = column.to_numpy(dtype=object, na_value=MISSING_STRING)  # None, NaN, NA -> ""
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        values = np.array([str(v) for v in values], dtype=object)
    return values


def _numbers(column, name):
    try:
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"ONNX input {name!r} is float64, but column {column.name!r} holds values that are "
            f"not numbers ({error}). Pass the column as it was at fit."
        ) from None


def onnx_inputs(session, X):
    """The feed dict of an onnxruntime ``session`` (of a ``to_onnx`` file) for raw rows: a
    DataFrame (one (n, 1) input per column: float64, or str with ``""`` for missing) or an
    array (the one input, as float64 or float32)."""
    inputs = session.get_inputs()
    if len(inputs) == 1 and not hasattr(X, "columns"):
        return {inputs[0].name: np.asarray(X, dtype=_NUMPY_TYPES[inputs[0].type])}
    if not hasattr(X, "columns"):
        raise ValueError(
            f"This ONNX model takes one input per column ({[i.name for i in inputs]}); pass a "
            "pandas DataFrame with the columns the estimator was fitted on."
        )
    columns = {input_name(c): c for c in X.columns}
    missing = [i.name for i in inputs if i.name not in columns]
    if missing:
        raise ValueError(f"The DataFrame lacks the column(s) for ONNX input(s) {missing}.")
    feeds = {}
    for i in inputs:
        column = X[columns[i.name]]
        if i.type == "tensor(string)":
            feeds[i.name] = _text(column).reshape(-1, 1)
        else:
            feeds[i.name] = _numbers(column, i.name).reshape(-1, 1)
    return feeds
