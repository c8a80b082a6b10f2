"""Several outputs: targets and per-output values given by output name or in output order.

Nothing here needs TensorFlow. ``_targets.MultiOutputEncoder`` splits a y of several outputs
with ``split_targets`` and reads a per-output parameter (the loss, ``from_logits``) with
``per_output``.
"""

from .multi_io import MultiOutput


def split_targets(y, what="y"):
    """``(keys or None, list of target arrays)`` of a multi-output y: a dict or ``MultiOutput``
    keyed by output name, or a list/tuple in the model's output order (keys None); every
    target must have the same number of rows."""
    if isinstance(y, MultiOutput):
        keys, targets = (None if y.positional else y.names), list(y.data.values())
    elif isinstance(y, dict):
        bad = [k for k in y if not isinstance(k, str)]
        if bad:
            raise TypeError(f"{what} is a dict whose keys must be output names (strings); got {bad!r}.")
        keys, targets = list(y), list(y.values())
    else:
        keys, targets = None, list(y)
    lengths = [len(t) for t in targets]
    if len(set(lengths)) > 1:
        shown = dict(zip(keys or [str(i) for i in range(len(targets))], lengths))
        raise ValueError(
            f"The targets have different numbers of rows: {shown}. Every output needs one "
            "target row per sample."
        )
    return keys, targets


def per_output(value, names, what):
    """``value`` for each output: a dict by output name, a list in output order, or one
    value for all."""
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        missing = [k for k in names if k not in value]
        if unknown or missing:
            raise ValueError(
                f"{what} is a dict keyed {list(value)}, but the model's outputs are "
                f"{names}; give one {what} per output (or {what}=None for the defaults)."
            )
        return [value[name] for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(
                f"{what} is a list of {len(value)}, but the model has {len(names)} outputs "
                f"{names}; give one {what} per output."
            )
        return list(value)
    return [value] * len(names)


def target_dtypes(y):
    """The dtype of y as given (scikeras's ``y_dtype_``): one per output, by name, for a
    ``MultiOutput``."""
    import numpy as np

    if isinstance(y, MultiOutput):
        return {name: np.asarray(t).dtype for name, t in y.data.items()}
    return np.asarray(y).dtype
