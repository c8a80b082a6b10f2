"""Checks of X, of the preprocessor's output and of sample weights.

What is allowed is decided here; which checks an input gets, and when, is its adapter's
(``_inputs``). Nothing here applies the preprocessor, reads a row source or needs TensorFlow.
Every error says what was wrong and how to fix it.
"""

import collections.abc
import numbers
import os
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils import get_tags
from sklearn.utils.validation import validate_data

from ._compat import sklearn_num_samples
from .exceptions import SkKerasPrepWarning

# The model computes in float32: larger magnitudes become infinite when a batch is cast.
FLOAT32_MAX = float(np.finfo(np.float32).max)
# float32 holds every integer exactly only up to 2**24; larger inputs without a preprocessor
# also put a network far outside the range its initialisation assumes.
LARGE_INPUT = float(2**24)
# Weighted losses and their squared gradients (Adam) must stay inside float32.
MAX_SAMPLE_WEIGHT = 1e15


def is_frame(X):
    return hasattr(X, "columns") and hasattr(X, "iloc")


def record_frame(estimator, X):
    """Remember a fit DataFrame's columns and dtypes (private, set with n_features_in_).

    scikit-learn's ``feature_names_in_`` exists only for string column names; with integer
    names, a DataFrame whose columns come in another order at predict would be read by
    position and give wrong predictions silently. The dtypes name a column whose dtype
    changed when the preprocessor fails on it at predict."""
    if is_frame(X):
        estimator._frame_columns = list(X.columns)
        estimator._frame_dtypes = {c: str(X[c].dtype) for c in X.columns} if X.columns.is_unique else {}
    else:
        forget_frame(estimator)


def forget_frame(estimator):
    """At the fit of an X that is not a DataFrame: forget an earlier fit's columns."""
    estimator.__dict__.pop("_frame_columns", None)
    estimator.__dict__.pop("_frame_dtypes", None)


def align_frame_columns(estimator, X):
    """Reorder a DataFrame's columns to those seen at fit (``feature_names_in_``, or the
    fit DataFrame's own column names); name missing or extra ones."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        names = getattr(estimator, "_frame_columns", None)
    if names is None or not is_frame(X):
        return X
    if getattr(estimator, "feature_names_in_", None) is not None:
        columns = [str(c) if not isinstance(c, str) else c for c in X.columns]
    else:
        columns = list(X.columns)
    if list(columns) == list(names):
        return X
    missing = [c for c in names if c not in set(columns)]
    extra = [c for c in columns if c not in set(names)]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {missing}")
        if extra:
            parts.append(f"unexpected column(s) {extra}")
        raise ValueError(
            f"X has {' and '.join(parts)}. Pass a DataFrame with the columns seen at fit: "
            f"{list(names)} (any order)."
        )
    return X[list(names)]


def _check_not_1d(X):
    shape = getattr(X, "shape", None)
    if shape is None and isinstance(X, (list, tuple)):
        shape = np.shape(np.asarray(X, dtype=object)) if len(X) else (0,)
    if shape is not None and len(shape) < 2:
        raise ValueError(
            f"Expected 2D array, got {len(shape)}D array instead (shape {tuple(shape)}). "
            "Reshape your data either using array.reshape(-1, 1) if your data has a single "
            "feature or array.reshape(1, -1) if it contains a single sample."
        )


def _image_list_shapes(X):
    """The shapes of the rows of X when X is a list, tuple or 1-D object array of arrays of
    rank >= 2 (images kept one array each); otherwise None."""
    if isinstance(X, np.ndarray):
        if X.dtype.kind != "O" or X.ndim != 1:
            return None
        items = X
    elif isinstance(X, (list, tuple)):
        items = X
    else:
        return None
    if not len(items) or not all(isinstance(item, np.ndarray) and item.ndim >= 2 for item in items):
        return None
    return [item.shape for item in items]


def stack_images(X):
    """A list (or object array) of same-sized image arrays as one array ``(n, h, w[, c])``;
    images of different sizes get an error that says how to make them one size. Anything
    else is returned unchanged."""
    shapes = _image_list_shapes(X)
    if shapes is None:
        return X
    first = shapes[0]
    other = next((i for i, shape in enumerate(shapes) if shape != first), None)
    if other is not None:
        sizes = sorted({tuple(shape) for shape in shapes})
        shown = ", ".join(str(s) for s in sizes[:5]) + (" ..." if len(sizes) > 5 else "")
        raise ValueError(
            f"X holds images of different sizes ({len(sizes)} sizes: {shown}); row 0 has shape "
            f"{first} and row {other} has shape {shapes[other]}. The model needs one input "
            "size: resize the images to one size first, or pass their file paths with "
            "preprocessor=skkeras_prep.images.ImageLoader(size=(h, w)), which resizes each "
            "image as it is read."
        )
    return np.stack(X)


def _check_row_shape(estimator, X):
    """At predict without a preprocessor: N-D rows must have the shape seen at fit."""
    expected = getattr(estimator, "input_shape_", None)
    shape = getattr(X, "shape", None)
    if expected is None or shape is None or len(shape) < 2:
        return
    if len(expected) > 1 or len(shape) > 2:
        if tuple(shape[1:]) != tuple(expected):
            raise ValueError(
                f"X has rows of shape {tuple(shape[1:])} (X.shape = {tuple(shape)}), but the "
                f"estimator was fitted on rows of shape {tuple(expected)}. Pass X of shape "
                f"(n_samples,) + {tuple(expected)}."
            )


def first_input_tags(preprocessor):
    """The input tags of the step that receives X (a Pipeline's first step), or None for a
    third-party transformer without tags."""
    steps = getattr(preprocessor, "steps", None)
    if isinstance(steps, list) and steps:
        return first_input_tags(steps[0][1])
    try:
        return get_tags(preprocessor).input_tags
    except Exception:
        return None


def takes_1d(preprocessor):
    """Whether the preprocessor declares that it takes 1-D X (``input_tags.one_d_array``),
    as ``skkeras_prep.images.ImageLoader`` does for file paths; a Pipeline's first step
    decides."""
    tags = first_input_tags(preprocessor)
    return tags is not None and bool(tags.one_d_array)


def _is_1d(X):
    """Whether X is one-dimensional: a 1-D array or Series, or a list of scalars or paths."""
    shape = getattr(X, "shape", None)
    if shape is not None:
        return len(shape) == 1
    return isinstance(X, (list, tuple)) and all(
        isinstance(v, (str, bytes, os.PathLike)) or np.ndim(v) == 0 for v in X)


def looks_like_paths(X):
    """Whether X is a non-empty 1-D sequence whose first item is a file path (str or path-like)."""
    if isinstance(X, np.ndarray):
        if X.ndim != 1 or X.dtype.kind not in "OU" or not len(X):
            return False
    elif not isinstance(X, (list, tuple)) or not X:
        return False
    return isinstance(X[0], (str, os.PathLike))


PATHS_HINT = (
    "X looks like a list of image file paths. Pass preprocessor="
    "skkeras_prep.images.ImageLoader(size=(height, width)) to read them (docs/images.md)."
)


def _no_preprocessor_hint(message):
    """How to fix a missing-value or text-column error when there is no preprocessor."""
    if "inhomogeneous" in message:
        return (
            "X holds rows (images) of different shapes, and an array needs one shape. Resize "
            "them to one size first, or pass their file paths with preprocessor="
            "skkeras_prep.images.ImageLoader(size=(height, width)), which resizes each image."
        )
    if "NaN" in message or "infinity" in message:
        return (
            "Without a preprocessor X must be numeric and finite: pass e.g. "
            "preprocessor=make_pipeline(SimpleImputer(), StandardScaler()) to fill missing "
            "values (infinite values must be replaced before fit)."
        )
    if "could not convert" in message:
        return (
            "Without a preprocessor X must be numeric: encode text or category columns with "
            "preprocessor=ColumnTransformer([...]) using OneHotEncoder(handle_unknown='ignore') "
            "or OrdinalEncoder."
        )
    return None


def _magnitude(data):
    """The largest absolute value of a numeric array (0 when empty), in two passes that
    allocate nothing (max and min)."""
    if data.size == 0:
        return 0.0
    return max(abs(float(data.max())), abs(float(data.min())))


def _scanned(data):
    """Whether an array could hold values beyond float32's range or its exact integers:
    float32 and narrower inputs cannot, and are not scanned (the common fast path)."""
    kind, size = data.dtype.kind, data.dtype.itemsize
    return (kind == "f" and size > 4) or (kind in "iu" and size >= 4)


def check_float32_range(data, what, advice):
    """Refuse values that the float32 cast of each batch would turn into infinity."""
    if _scanned(data) and data.dtype.kind == "f":
        largest = _magnitude(data)
        if largest > FLOAT32_MAX:
            raise ValueError(
                f"{what} has values up to {largest:.3g}, beyond the range of float32 (about "
                f"3.4e38), the precision the model computes in: they would become infinite. "
                f"{advice}"
            )


def _column_problems(X):
    """Columns of a 2-D object array that are not numbers, and those with missing values."""
    text, missing = [], []
    for j in range(X.shape[1]):
        try:
            column = X[:, j].astype(np.float64)
        except (TypeError, ValueError):
            text.append(j)
            continue
        if np.isnan(column).any():
            missing.append(j)
    return text, missing


def _as_numeric(X):
    """An object array (a list of mixed rows) as float64, or a clear error naming the
    columns that are not numbers and those with missing values."""
    try:
        X = X.astype(np.float64)
    except (TypeError, ValueError) as error:
        text, missing = _column_problems(X) if X.ndim == 2 else ([], [])
        where = f" in column(s) {text[:10]}" if text else ""
        gaps = f" and missing values (None or NaN) in column(s) {missing[:10]}" if missing else ""
        raise ValueError(
            f"X contains values that are not numbers{where} ({error}){gaps}, and there is no "
            "preprocessor. Without a preprocessor X must be numeric: encode text or category "
            "columns with preprocessor=ColumnTransformer([('categories', OneHotEncoder("
            "handle_unknown='ignore'), <those columns>)], remainder='passthrough'), and fill "
            "missing values with a SimpleImputer."
        ) from None
    if not np.isfinite(X).all():
        raise ValueError("Input X contains NaN or infinity (None counts as NaN). " + _no_preprocessor_hint("NaN"))
    return X


def check_not_iterator(data, what):
    """Refuse a generator or other one-pass iterator, which array checks take for a scalar."""
    if isinstance(data, collections.abc.Iterator):
        raise ValueError(
            f"{what} is a {type(data).__name__} (an iterator), which has no length and can be "
            f"read only once. Pass the rows as an array, a list or a DataFrame, e.g. "
            f"{what} = np.asarray(list({what})). For rows that do not fit in memory, pass a "
            "dask array or DataFrame, or call partial_fit once per chunk (docs/scaling.md)."
        )


def check_present(X):
    """Refuse an X that holds no rows to check: None, or a one-pass iterator."""
    if X is None:
        raise ValueError("X is None; pass an array-like or DataFrame of shape (n_samples, n_features).")
    check_not_iterator(X, "X")


def check_X(estimator, X, *, reset, preprocessor):
    """Validate X and set or check ``n_features_in_`` / ``feature_names_in_`` on
    ``estimator`` (the estimator, or the record of one of several inputs).

    X may have any rank >= 2: ``(n, h, w)`` or ``(n, h, w, c)`` images too.
    ``n_features_in_`` is then ``X.shape[1]``, as scikit-learn's ``validate_data`` sets it; the
    whole row shape is checked at predict (without a preprocessor) against ``input_shape_``.

    Without a preprocessor X must be numeric, finite and inside float32's range (sklearn's
    own checks, then ours); at fit, values beyond 2**24 get a warning. With one, X is passed
    on as it is (DataFrames keep their columns for a ColumnTransformer); only the shape, the
    row count and the feature count are checked here, the rest by the preprocessor and by
    ``check_transformed`` afterwards. What is particular to a kind of X (a DataFrame's
    columns, a list of images, file paths) its adapter checks first (``_inputs``).
    """
    if preprocessor is None:  # an X without rows (None, an iterator): refused by dispatch
        return _check_numeric_X(estimator, X, reset)
    return _check_X_for_preprocessor(estimator, X, reset, preprocessor)


def _check_numeric_X(estimator, X, reset):
    """``check_X`` without a preprocessor: the model takes X as it is."""
    if not reset:
        _check_row_shape(estimator, X)
    try:
        X = validate_data(
            estimator, X, reset=reset, accept_sparse=("csr", "csc", "coo"), dtype="numeric",
            allow_nd=True, ensure_all_finite=True, ensure_min_samples=1,
        )
    except ValueError as error:
        hint = _no_preprocessor_hint(str(error))
        if hint is None:
            raise
        raise ValueError(f"{error} {hint}") from error
    data = X.data if sp.issparse(X) else X
    if data.dtype.kind == "O":
        X = data = _as_numeric(X)
    check_float32_range(
        data, "X", "Rescale X before passing it (for example divide it by a power of ten)."
    )
    if reset and _scanned(data) and _magnitude(data) > LARGE_INPUT:
        warnings.warn(
            f"X has values up to {_magnitude(data):.3g} and there is no preprocessor. The "
            "model computes in float32, which holds integers exactly only up to 2**24 "
            "(about 1.7e7), and a network trains poorly on inputs this large (huge loss, "
            "saturated outputs). Scale X, e.g. preprocessor=StandardScaler().",
            SkKerasPrepWarning,
            stacklevel=6,
        )
    return X


def _check_X_for_preprocessor(estimator, X, reset, preprocessor):
    """``check_X`` with a preprocessor: the shape, row and feature counts only."""
    if isinstance(X, str) or np.isscalar(X):
        raise ValueError(f"X must be 2-D array-like or a DataFrame, got {type(X).__name__}.")
    if takes_1d(preprocessor) and _is_1d(X):
        if reset:  # 1-D X has no feature count; drop one left by an earlier fit
            estimator.__dict__.pop("n_features_in_", None)
    else:
        _check_not_1d(X)
    dtype = getattr(X, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind == "c":
        raise ValueError("Complex data not supported; X has a complex dtype.")
    shape = getattr(X, "shape", None)
    expected = getattr(estimator, "n_features_in_", None)
    if not reset and shape is not None and len(shape) > 2 and expected is not None and shape[1] != expected:
        raise ValueError(
            f"X has shape {tuple(shape)} ({len(shape)}-D), but the estimator was fitted on X "
            f"with {expected} feature(s) along axis 1. Pass X with the layout seen at fit "
            f"(2-D: X.reshape(len(X), -1) if the values are the same features)."
        )
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    n = sklearn_num_samples(X)
    if n == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={getattr(X, 'shape', None)}) while a minimum "
            "of 1 is required."
        )
    return X


def _output_names(preprocessor, width):
    """The preprocessor's output feature names, or None where it cannot give them."""
    try:
        names = np.asarray(preprocessor.get_feature_names_out())
    except Exception:  # no get_feature_names_out, or one that cannot name these columns
        return None
    return names if names.shape == (width,) else None


def _named_columns(columns, preprocessor, width):
    shown = columns[:10].tolist()
    more = " ..." if columns.size > 10 else ""
    names = _output_names(preprocessor, width)
    named = f" ({[str(names[c]) for c in shown]}{more})" if names is not None else ""
    return f"{shown}{more}{named}"


def check_transformed(source, preprocessor):
    """``source``, the row source of the preprocessor's output (``sources.as_source``),
    checked: numeric, finite, within float32's range; rows of any shape. What is allowed is
    decided here; how the values are found and which columns hold them is the source's own
    (dense arrays and sparse matrices store them differently). Returns the numeric source."""
    name = type(preprocessor).__name__
    numeric = source.as_numeric()
    if numeric is None:
        raise ValueError(
            f"The preprocessor {name} returned non-numeric values (dtype "
            f"{source.stored_values().dtype}). Encode text or category columns, e.g. with "
            "OneHotEncoder or OrdinalEncoder in a ColumnTransformer."
        )
    source, data = numeric, numeric.stored_values()
    width = int(np.prod(numeric.row_shape))
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        columns = source.columns_where(~np.isfinite(data))
        raise ValueError(
            f"Input X contains NaN or infinity after preprocessing, in transformed column(s) "
            f"{_named_columns(columns, preprocessor, width)}. Add a sklearn.impute.SimpleImputer "
            "to the preprocessor for missing values, or clean the data; infinite values must be "
            "replaced before fit."
        )
    if _scanned(data) and data.dtype.kind == "f" and _magnitude(data) > FLOAT32_MAX:
        columns = source.columns_where(np.abs(data) > FLOAT32_MAX)
        shown = _named_columns(columns, preprocessor, width).replace(" ...", "")
        raise ValueError(
            f"The preprocessor {name} returned values up to {_magnitude(data):.3g} in transformed "
            f"column(s) {shown}, beyond the range of float32 (about 3.4e38), the "
            "precision the model computes in: they would become infinite. Rescale those input "
            "columns (e.g. with a StandardScaler in the preprocessor), or divide them by a "
            "power of ten before fit."
        )
    return source


def check_sample_weight(sample_weight, n_samples):
    """Validated float32 weights of shape (n_samples,). None gives unit weights as a read-only
    broadcast view, which costs no memory whatever the number of rows."""
    if sample_weight is None:
        return np.broadcast_to(np.float32(1.0), (n_samples,))
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "biuf":
        raise ValueError(f"sample_weight must be numeric, got dtype {w.dtype}.")
    w = w.astype(np.float64)
    if w.ndim != 1:
        raise ValueError(f"Sample weights must be 1D array or scalar; got shape {w.shape}.")
    if w.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight.shape == {w.shape}, expected ({n_samples},): one weight per row of X."
        )
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinity; weights must be finite.")
    if (w < 0).any():
        raise ValueError("Negative values in sample_weight are not allowed; weights must be >= 0.")
    if not w.any():
        raise ValueError("All sample weights are zero; at least one row needs a positive weight.")
    check_weight_range(w, "sample_weight")
    return w.astype(np.float32)


def check_weight_range(w, what):
    """Refuse row weights so large that the weighted loss or its squared gradients (Adam)
    overflow float32 and training diverges for a reason that is not the model's."""
    largest = float(np.max(w, initial=0.0))
    if largest > MAX_SAMPLE_WEIGHT:
        raise ValueError(
            f"{what} has values up to {largest:.3g}; weights above {MAX_SAMPLE_WEIGHT:.0e} make "
            "the weighted loss or its gradients overflow float32, the precision the model "
            "computes in. What matters is how the weights compare: divide them by their mean "
            "(sample_weight / sample_weight.mean())."
        )
