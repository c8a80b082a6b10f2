"""What a saved file holds for an estimator fitted with several inputs or outputs, and the
checks of it on load (``saving`` and ``loading`` call these; docs/persistence.md, "File format").

- Such a file has format version ``SEVERAL_IO_VERSION`` (2); a file of one input and one
  output keeps version 1, so that older releases, which read version 1 only, keep reading
  it and refuse the others with their "written by a newer skkeras_prep" error.
- The per-input records of the checks (``_inputs.named.InputRecord``: ``n_features_in_``,
  ``feature_names_in_``, a DataFrame input's columns and dtypes) are private attributes of
  the estimator, so the state stores them as plain values (``input_records``), and load
  rebuilds them after checking their names and kinds.
- A loaded estimator's inputs and outputs must agree with its model (``check_consistency``).
"""

import numpy as np

from .._target_layout import check_loaded_heads, heads_are_named

SINGLE_IO_VERSION = 1
SEVERAL_IO_VERSION = 2

# The record attributes that are saved, and the kinds of value each may hold.
_RECORD_FIELDS = {
    "n_features_in_": (int, np.integer),
    "feature_names_in_": (np.ndarray,),
    "_frame_columns": (list,),
    "_frame_dtypes": (dict,),
}


def named_outputs(estimator):
    """Whether the estimator's target encoder has one named head per output."""
    return heads_are_named(getattr(estimator, "target_encoder_", None))


def several_inputs(estimator):
    return getattr(estimator, "input_names_", None) is not None


def format_version(estimator):
    """The format version of the file ``estimator`` is saved in."""
    if several_inputs(estimator) or named_outputs(estimator):
        return SEVERAL_IO_VERSION
    return SINGLE_IO_VERSION


def input_records(estimator):
    """``{input name: {attribute: value}}`` for an estimator fitted on several inputs, else
    None (the value stored in the state)."""
    records = getattr(estimator, "_input_records", None)
    if not several_inputs(estimator) or records is None:
        return None
    return {
        name: {key: value for key, value in vars(record).items() if key in _RECORD_FIELDS}
        for name, record in records.items()
    }


def restore_input_records(estimator, saved, refuse):
    """Rebuild the per-input records from the state's ``input_records``; ``refuse(why)``
    returns the error to raise for a file whose records are malformed."""
    from .._inputs.named import InputRecord

    names = getattr(estimator, "input_names_", None)
    if saved is None and names is None:
        return
    if type(saved) is not dict or not isinstance(names, list) or sorted(saved) != sorted(names):
        raise refuse(f"its input records {sorted(saved) if type(saved) is dict else saved!r} "
                     f"do not match its inputs {names!r}")
    records = {}
    for name, fields in saved.items():
        if type(fields) is not dict or not all(
            key in _RECORD_FIELDS and isinstance(value, _RECORD_FIELDS[key])
            for key, value in fields.items()
        ):
            raise refuse(f"the record of input {name!r} holds unexpected fields")
        record = InputRecord()
        vars(record).update(fields)
        records[name] = record
    estimator._input_records = records


def _declared_input_shapes(model):
    """{input name: row shape} the model declares (keys of a dict of inputs, else the input
    tensors' names); {} for a subclassed model that declares none."""
    try:
        inputs = model.input
    except (AttributeError, ValueError):  # a subclassed model never called on a structure
        return {}
    if isinstance(inputs, dict):
        return {k: tuple(t.shape)[1:] for k, t in inputs.items()}
    inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    return {getattr(t, "name", None): tuple(t.shape)[1:] for t in inputs}


def _check_input_shapes(estimator, model, refuse):
    names = estimator.input_names_
    shapes = getattr(estimator, "input_shape_", None)
    if not (isinstance(shapes, dict) and sorted(shapes) == sorted(names) and all(
        isinstance(s, tuple) and s and all(type(d) is int and d > 0 for d in s)
        for s in shapes.values()
    )):
        raise refuse(f"its input shapes {shapes!r} do not match its inputs {names!r}")
    declared = _declared_input_shapes(model)
    for name, shape in shapes.items():
        if name in declared and declared[name] != shape:
            raise refuse(f"its model's input {name!r} takes shape {declared[name]}, but the "
                         f"estimator was fitted on shape {shape}")


def check_consistency(estimator, refuse):
    """The inputs and outputs of a loaded estimator fitted with several of them agree with
    its model: the input shapes with the model's inputs, each output's width with its
    target head, and the classes with the heads'. ``refuse(why)`` makes the error raised.
    For one output (several inputs), returns the model's output width for the caller's
    single-output checks; else None."""
    from .._build import output_width

    model = estimator.model_
    if several_inputs(estimator):
        _check_input_shapes(estimator, model, refuse)
    try:
        widths = output_width(model, estimator.input_shape_)
    except Exception as exc:  # whatever the file's model raises: the file is refused
        raise refuse(f"its model's output cannot be checked ({exc})") from None
    checked = check_loaded_heads(getattr(estimator, "target_encoder_", None), widths,
                                 getattr(estimator, "classes_", None), refuse)
    return None if checked else widths
