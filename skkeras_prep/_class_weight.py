"""``class_weight`` of the classifier -> one weight per row, multiplied into the sample weights.

One output: a dict keyed by the user's labels, or ``"balanced"`` (scikit-learn's
``compute_sample_weight``).

Several outputs, as scikit-learn's multi-output classifiers (forests, trees) take it:

- ``"balanced"``: every output balanced;
- a list in the output order (as y's targets are given), one entry per output;
- a dict keyed by output name (y given as a dict or a named ``MultiOutput``); outputs it
  does not name are not weighted.

An entry is a dict keyed by that output's labels, ``"balanced"`` or None. A row's weight
is the product of its outputs' class weights (as scikit-learn computes it): the same weight
multiplies every output's loss, since a row has one sample weight.
"""

import numpy as np
from sklearn.utils.class_weight import compute_sample_weight

from ._target_layout import output_targets


def _check_labels(class_weight, classes, what="class_weight"):
    labels = set(np.asarray(classes).tolist())
    unknown = [k for k in class_weight if k not in labels]
    if unknown:
        raise ValueError(
            f"{what} has keys {unknown} that are not labels of y; the labels are "
            f"{np.asarray(classes).tolist()}."
        )


def _entry_weights(entry, target, classes, what):
    if entry is None:
        return None
    if isinstance(entry, str) and entry == "balanced":
        return compute_sample_weight("balanced", target)
    if not isinstance(entry, dict):
        raise ValueError(
            f"{what} must be a dict keyed by that output's labels, 'balanced' or None; got "
            f"{type(entry).__name__}."
        )
    _check_labels(entry, classes, what)
    return compute_sample_weight(entry, target)


def _per_output_entries(class_weight, names, keyed):
    """One entry per output (in head order) of a several-output class_weight."""
    if isinstance(class_weight, str):
        return [class_weight] * len(names)
    if isinstance(class_weight, list):
        if len(class_weight) != len(names):
            raise ValueError(
                f"class_weight is a list of {len(class_weight)}, but y has {len(names)} outputs; "
                "give one entry (a dict keyed by labels, 'balanced' or None) per output."
            )
        return list(class_weight)
    unknown = [k for k in class_weight if k not in names]
    if not keyed or unknown:
        where = (f"keyed by output name {names}" if keyed
                 else "keyed by output name only when y is a dict; y is a list, so give a list")
        hint = (", which look like labels: a row has one label per output. Give one entry per "
                "output, e.g. {output name: {label: weight}}"
                if keyed and len(unknown) == len(class_weight) else "")
        raise ValueError(
            "With several outputs, class_weight is 'balanced', a list with one entry per "
            f"output, or a dict {where}; got a dict with keys {list(class_weight)}{hint}."
        )
    return [class_weight.get(name) for name in names]


def _entries(class_weight, outputs, keyed):
    """One class_weight entry per output of ``outputs`` (``_target_layout.output_targets``):
    one output (labelled None) takes ``class_weight`` as its entry."""
    if outputs[0][0] is None:
        if isinstance(class_weight, list):
            raise ValueError(
                "class_weight is a list, which is for several outputs (one entry per output); "
                "with one output, pass a dict keyed by label or 'balanced'."
            )
        return [class_weight]
    return _per_output_entries(class_weight, [name for name, _, _ in outputs], keyed)


def row_weights(class_weight, y, encoder):
    """float32 weights per row for ``class_weight`` (its kind was checked at fit), or None.
    ``y`` is the checked target (for several outputs, a ``MultiOutput``) and ``encoder`` the
    fitted target encoder."""
    if class_weight is None:
        return None
    outputs, keyed = output_targets(encoder, y)
    weights = np.ones(len(outputs[0][2]), dtype=np.float64)
    for (name, head, target), entry in zip(outputs, _entries(class_weight, outputs, keyed)):
        what = "class_weight" if name is None else f"class_weight[{name!r}]"
        part = _entry_weights(entry, np.asarray(target), head.classes_, what)
        if part is not None:
            weights *= part
    return weights.astype(np.float32)
