"""Checks of targets (y) before a target encoder uses them, each error naming the fix.

Nothing here needs TensorFlow. ``_targets`` calls these on the y given to ``fit``, ``partial_fit``
and ``score``, and on what a model returns before it becomes probabilities.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import DataConversionWarning


def as_target_array(y):
    """Turn a list, Series, categorical, sparse indicator or array target into a numpy array.

    A categorical becomes an array of its categories' own dtype (int categories stay ints;
    an object array of ints would be an 'unknown' target type for scikit-learn)."""
    if sp.issparse(y):
        y = y.toarray()  # a sparse label indicator matrix: n_samples x n_labels, small
    y = np.asarray(y)
    if y.dtype.kind == "c":
        raise ValueError("Complex data not supported: y has a complex dtype; pass real values.")
    check_target_columns(y)
    return y


def check_target_columns(y):
    """Refuse a y with rows but no target column (shape ``(n, 0)``), which scikit-learn's
    checks report as a fault of the target transformer or as an unknown label type."""
    shape = np.shape(y)
    if len(shape) >= 2 and 0 in shape[1:]:
        raise ValueError(
            f"y has shape {shape}: it has no target column. Pass one target per row of X, "
            "as an array of shape (n_samples,), or (n_samples, n_outputs) with at least one "
            "column."
        )


def check_label_values(y):
    """Refuse missing (None, NaN) or mixed-type labels in an object array, naming rows."""
    if y.dtype.kind != "O" or y.ndim != 1:
        return
    missing = np.flatnonzero([v is None or (isinstance(v, float) and v != v) for v in y])
    if missing.size:
        raise ValueError(
            f"y contains missing labels (None or NaN) at {missing.size} row(s), first "
            f"{missing[:5].tolist()}. Drop those rows, or fill them with a label of their own, "
            "before fit."
        )
    kinds = sorted({"str" if isinstance(v, str) else "number" if isinstance(v, (int, float, np.number))
                    else type(v).__name__ for v in y})
    if len(kinds) > 1:
        raise ValueError(
            f"y mixes label types ({', '.join(kinds)}); labels must all be strings or all "
            "numbers. Convert them, e.g. y.astype(str)."
        )


def known_classes(y, classes=None):
    """The sorted classes of labels ``y``: its own, or ``classes`` (which must hold every
    label of y); at least two."""
    if classes is None:
        classes = np.unique(y)
    else:
        classes = np.unique(np.asarray(classes))
        unseen = np.setdiff1d(np.unique(y), classes)
        if unseen.size:
            raise ValueError(
                f"y contains labels {unseen.tolist()} that are not in classes="
                f"{classes.tolist()}; pass every label in `classes`."
            )
    if classes.size < 2:
        raise ValueError(
            f"The target has only one class ({classes.tolist()}); a classifier needs at "
            "least 2 classes. Check the labels, or the row filter that produced them."
        )
    return classes


def check_finite_target(y):
    if not np.isfinite(y).all():
        raise ValueError(
            "y contains NaN or infinity. Drop or impute those rows before fit; a regressor "
            "needs a finite target for every row."
        )


def ravel_column(y):
    """A column vector y as 1-D, with scikit-learn's warning (at the caller's caller's
    caller: the user's ``fit``)."""
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change the "
            "shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning,
            stacklevel=4,
        )
        return y.ravel()
    return y


def check_probabilities(out):
    """Refuse model outputs that are not probabilities (after any logits activation)."""
    if out.size and (not np.all(np.isfinite(out)) or out.min() < -1e-6 or out.max() > 1 + 1e-6):
        raise ValueError(
            "The model's outputs are not probabilities (values outside [0, 1] or not "
            "finite). End the model with a 'sigmoid' (binary, multilabel) or 'softmax' "
            "(multiclass) activation, or, if it returns logits, train it with a loss that "
            "says so (loss__from_logits=True or a loss object with from_logits=True)."
        )


def check_float32_range(y, encoded, transformer):
    """Refuse encoded regression targets outside float32's range (the model's precision),
    saying whether the ``transformer`` (or None) could not bring ``y`` into it."""
    if transformer is not None:
        if not (np.abs(encoded) <= np.finfo(np.float32).max).all():  # NaN, infinite or too large
            largest = np.abs(np.asarray(y, dtype=np.float64)).max()
            raise ValueError(
                f"The target_transformer {type(transformer).__name__} could not "
                "bring y into float32's range (the model's precision): y has values up to "
                f"{largest:.3g}, too large to standardise in float64 (their squares "
                "overflow), and it returned NaN, infinite or still huge values. Divide y "
                "by a power of ten before fit (and multiply the predictions back)."
            )
    elif np.abs(encoded).max(initial=0.0) > np.finfo(np.float32).max:
        raise ValueError(
            f"y has values up to {np.abs(encoded).max():.3g}, too large for float32 (the model's "
            "precision). Standardise it with target_transformer='auto' (the default; "
            "target_transformer=None trains on y as it is), or divide y by a power of ten."
        )
