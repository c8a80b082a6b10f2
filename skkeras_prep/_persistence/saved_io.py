"""What a saved file holds for an estimator fitted with several inputs or outputs, and the
checks of it on load (``saving`` and ``loading`` call these; docs/persistence.md, "File format").

- Such a file (named inputs or outputs; a dict X of one input is named too) has format
  version ``NAMED_IO_VERSION`` (2); a file of one unnamed input and one output keeps
  version 1, so that older releases, which read version 1 only, keep reading it and refuse
  the others with their "written by a newer skkeras_prep" error.
- The per-input records of the checks (``_inputs.named.InputRecord``: ``n_features_in_``,
  ``feature_names_in_``, a DataFrame input's columns and dtypes) are private attributes of
  the estimator, so the state stores them as plain values (``input_records``), and load
  rebuilds them after checking their names and kinds.
- A loaded estimator's inputs (``check_loaded_inputs``, one or several) and several
  outputs (``check_loaded_heads``) must agree with its model.
"""

import numpy as np

from .._inputs.named import InputRecord, check_loaded_inputs, fitted_names
from .._target_layout import check_loaded_heads, heads_are_named

__all__ = ["check_loaded_heads", "check_loaded_inputs", "format_version", "input_records",
           "named_outputs", "restore_input_records"]

SINGLE_IO_VERSION = 1
NAMED_IO_VERSION = 2

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


def format_version(estimator):
    """The format version of the file ``estimator`` is saved in."""
    if fitted_names(estimator) is not None or named_outputs(estimator):
        return NAMED_IO_VERSION
    return SINGLE_IO_VERSION


def input_records(estimator):
    """``{input name: {attribute: value}}`` for an estimator fitted on named inputs, else
    None (the value a saved file's state stores)."""
    records = getattr(estimator, "_input_records", None)
    if fitted_names(estimator) is None or records is None:
        return None
    return {
        name: {key: value for key, value in vars(record).items() if key in _RECORD_FIELDS}
        for name, record in records.items()
    }


def restore_input_records(estimator, saved, refuse):
    """Rebuild the per-input records from the state's ``input_records``; ``refuse(why)``
    returns the error to raise for a file whose records are malformed."""
    names = fitted_names(estimator)
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
