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
  (batch,) + the row shape; with an ``ImageLoader``: ``"images"``, float32, (batch, h, w, c);
* fitted on several inputs (a dict or ``MultiInput``): the inputs of each, named after it
  as ``export_model`` names them (``structure``): an array input ``"b"`` is one float64
  input ``"b"``, (batch,) + its row shape; a DataFrame input ``"a"`` one (batch, 1) input
  per column, ``"a.colour"`` (``input_name("a.colour")``). tf2onnx keeps these names as
  they are (dots included), so the ONNX names are the exported model's.

Outputs, float64: ``"probabilities"`` (classifier, what ``predict_proba`` returns) or
``"predictions"`` (regressor, what ``predict`` returns). A classifier with several outputs
has one output per model output, ``"probabilities.<output>"`` (``input_name`` of the output
name), in the order of ``predict_proba``'s list; a regressor with several outputs keeps one
``"predictions"``, (batch, total columns), as ``predict`` returns them.
"""

import numpy as np
from sklearn.base import is_classifier

from .._compat import tf2onnx_op_handlers
from .._inputs.named import read_given
from .._target_layout import head_names
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


def _output_names(estimator):
    """The ONNX output names, in the order of the exported model's outputs."""
    kind = "probabilities" if is_classifier(estimator) else "predictions"
    outputs = head_names(estimator.target_encoder_)  # None for one output
    if outputs is None or kind != "probabilities":
        return [kind]
    names = [f"{kind}.{input_name(name)}" for name in outputs]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise ExportError(
            f"The model outputs {outputs} give the same ONNX output names "
            f"{clashes} (characters other than letters, digits, '_', '.' and '-' become '_'). "
            "Rename the outputs so that they differ, and refit."
        )
    return names


def _order_outputs(proto, names):
    """Put the graph's outputs in the estimator's order (tf2onnx writes a dict's sorted)."""
    by_name = {o.name: o for o in proto.graph.output}
    ordered = [type(by_name[n])() for n in names]
    for copy, name in zip(ordered, names):
        copy.CopyFrom(by_name[name])
    del proto.graph.output[:]
    proto.graph.output.extend(ordered)


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
    ValueError) for what cannot be converted: encoded image bytes (ONNX cannot decode
    images), a preprocessor ``export_model`` cannot translate, or an operator of the model
    ONNX lacks.
    """
    tf2onnx, onnx = _onnx_modules()
    _refuse_what_onnx_cannot_hold(estimator, input)
    import tensorflow as tf

    model = export_model(estimator, input=input)
    outputs = _output_names(estimator)
    if isinstance(model.input, dict):
        signature = [{name: tf.TensorSpec(t.shape, t.dtype, name=name)
                      for name, t in model.input.items()}]
    else:
        signature = [tf.TensorSpec(model.input.shape, model.input.dtype, name=model.input.name)]

    @tf.function
    def serve(inputs):
        got = model(inputs)
        return dict(zip(outputs, got if isinstance(got, (list, tuple)) else [got], strict=True))

    problems = []
    proto, _ = tf2onnx.convert.from_function(
        serve, input_signature=signature, opset=OPSET,
        custom_op_handlers=tf2onnx_op_handlers(problems),
        extra_opset=[onnx.helper.make_opsetid("ai.onnx.ml", ML_OPSET)],
    )
    proto = _checked(proto, onnx, problems)
    _order_outputs(proto, outputs)
    if path is not None:
        onnx.save(proto, str(path))
    return proto


_NUMPY_TYPES = {"tensor(double)": np.float64, "tensor(float)": np.float32,
                "tensor(string)": object}


def onnx_signature(model):
    """{input name: (dtype, shape)} of an ONNX model (a path or ``ModelProto``): numpy dtypes
    (``object`` for strings) and shapes with ``None`` for the batch, e.g.
    ``{"age": (float64, (None, 1)), "city": (object, (None, 1))}``. A file's external data
    (weights it stores in other files, at paths it names) is not read: only its graph's
    declared inputs are."""
    _, onnx = _onnx_modules()
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model), load_external_data=False)
    proto = model
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
    """The feed dict of an onnxruntime ``session`` (of a ``to_onnx`` file) for raw rows, given
    as at fit: a DataFrame (one (n, 1) input per column: float64, or str with ``""`` for
    missing), an array (the one input, as float64 or float32), or for several inputs a dict /
    ``MultiInput`` by input name of those (``"b"`` for an array, ``"a.<column>"`` for a
    DataFrame's columns)."""
    inputs = {i.name: i for i in session.get_inputs()}
    return read_given(X, lambda one: _feeds(inputs, one), lambda parts: _named_feeds(inputs, parts))


def _feeds(inputs, X):
    if len(inputs) == 1 and not hasattr(X, "columns"):
        (name, input), = inputs.items()
        return {name: _array(X, input)}
    if not hasattr(X, "columns"):
        raise ValueError(
            f"This ONNX model takes several inputs ({list(inputs)}); pass a pandas DataFrame "
            "with the columns the estimator was fitted on, or, if it was fitted on several "
            "inputs, a dict by input name as at fit."
        )
    feeds = _frame_feeds(inputs, X)
    missing = [name for name in inputs if name not in feeds]
    if missing:
        raise ValueError(f"The DataFrame lacks the column(s) for ONNX input(s) {missing}.")
    return feeds


def _array(values, input):
    try:
        array = np.asarray(values, dtype=_NUMPY_TYPES[input.type])
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"ONNX input {input.name!r} is {input.type}, but the array given for it holds "
            f"values that are not numbers ({error}). Pass it as it was at fit."
        ) from None
    # the session's declared shape: a name or None for the rows (and any free axis), an int
    # for each fixed one; checked here, so that a wrong array is named before session.run
    declared = ["rows" if i == 0 or not isinstance(d, int) else d
                for i, d in enumerate(input.shape)]
    fits = array.ndim == len(declared) and all(
        not isinstance(d, int) or d == n for d, n in zip(declared, array.shape))
    if not fits:
        raise ValueError(
            f"ONNX input {input.name!r} takes arrays of shape ({', '.join(map(str, declared))}), "
            f"but the array given for it has shape {array.shape}. Pass the rows as at fit (one "
            "row: X[:1], not X[0])."
        )
    return array


def _frame_feeds(inputs, frame, prefix=""):
    """The feeds of the ONNX inputs among ``inputs`` named ``input_name(prefix + column)``
    for the columns of ``frame``."""
    feeds = {}
    for column in frame.columns:
        name = input_name(f"{prefix}{column}")
        if name not in inputs:
            continue
        if inputs[name].type == "tensor(string)":
            feeds[name] = _text(frame[column]).reshape(-1, 1)
        else:
            feeds[name] = _numbers(frame[column], name).reshape(-1, 1)
    return feeds


def _named_feeds(inputs, X):
    feeds = {}
    for key, part in X.items():
        if hasattr(part, "columns"):
            feeds.update(_frame_feeds(inputs, part, prefix=f"{key}."))
        elif input_name(key) in inputs:
            feeds[input_name(key)] = _array(part, inputs[input_name(key)])
    missing = [name for name in inputs if name not in feeds]
    if missing:
        raise ValueError(
            f"X lacks the ONNX input(s) {missing}. Pass X as at fit, a dict by input name: an "
            "array input 'b' feeds ONNX input 'b', a DataFrame input 'a' one input "
            "'a.<column>' per column."
        )
    return feeds
