"""Input checks for X, transformed X, sample weights and estimator parameters.

Every error says what was wrong and how to fix it. Nothing here needs TensorFlow.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_scalar
from sklearn.utils.validation import _num_samples, validate_data


def _is_frame(X):
    return hasattr(X, "columns") and hasattr(X, "iloc")


def align_frame_columns(estimator, X):
    """Reorder a DataFrame's columns to ``feature_names_in_``; name missing or extra ones."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None or not _is_frame(X):
        return X
    columns = [str(c) if not isinstance(c, str) else c for c in X.columns]
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


def _no_preprocessor_hint(message):
    """How to fix a missing-value or text-column error when there is no preprocessor."""
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


def check_X(estimator, X, *, reset, preprocessor):
    """Validate X and set or check ``n_features_in_`` / ``feature_names_in_``.

    Without a preprocessor X must be numeric and finite (sklearn's own checks). With one, X is
    passed on as it is (DataFrames keep their columns for a ColumnTransformer); only the
    shape, the row count and the feature count are checked here, the rest by the
    preprocessor and by ``check_transformed`` afterwards.
    """
    if X is None:
        raise ValueError("X is None; pass an array-like or DataFrame of shape (n_samples, n_features).")
    if not reset:
        X = align_frame_columns(estimator, X)
    if preprocessor is None:
        try:
            return validate_data(
                estimator,
                X,
                reset=reset,
                accept_sparse=("csr", "csc", "coo"),
                dtype="numeric",
                ensure_all_finite=True,
                ensure_min_samples=1,
            )
        except ValueError as error:
            hint = _no_preprocessor_hint(str(error))
            if hint is None:
                raise
            raise ValueError(f"{error} {hint}") from error
    if isinstance(X, str) or np.isscalar(X):
        raise ValueError(f"X must be 2-D array-like or a DataFrame, got {type(X).__name__}.")
    _check_not_1d(X)
    dtype = getattr(X, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind == "c":
        raise ValueError("Complex data not supported; X has a complex dtype.")
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    n = _num_samples(X)
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


def check_transformed(Xt, preprocessor):
    """Check the preprocessor's output: 2-D, numeric, finite. Returns an array or CSR matrix."""
    name = type(preprocessor).__name__
    if sp.issparse(Xt):
        data = Xt.data
        shape = Xt.shape
    else:
        if _is_frame(Xt):
            Xt = Xt.to_numpy()
        Xt = np.asarray(Xt)
        data = Xt
        shape = Xt.shape
    if len(shape) != 2:
        raise ValueError(f"The preprocessor {name} returned shape {shape}; it must return 2-D output.")
    if data.dtype.kind not in "biuf":
        try:
            data = data.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"The preprocessor {name} returned non-numeric values (dtype {data.dtype}). "
                "Encode text or category columns, e.g. with OneHotEncoder or OrdinalEncoder "
                "in a ColumnTransformer."
            ) from None
        if sp.issparse(Xt):
            Xt = Xt.astype(np.float64)
        else:
            Xt = data
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        if sp.issparse(Xt):
            coo = Xt.tocoo()
            columns = np.unique(coo.col[~np.isfinite(coo.data)])
        else:
            columns = np.flatnonzero(~np.isfinite(data).all(axis=0))
        shown = columns[:10].tolist()
        more = " ..." if columns.size > 10 else ""
        names = _output_names(preprocessor, shape[1])
        named = f" ({[str(names[c]) for c in shown]}{more})" if names is not None else ""
        raise ValueError(
            f"Input X contains NaN or infinity after preprocessing, in transformed column(s) "
            f"{shown}{more}{named}. Add a sklearn.impute.SimpleImputer to the preprocessor for "
            "missing values, or clean the data; infinite values must be replaced before fit."
        )
    return Xt


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
    return w.astype(np.float32)


def check_params(est):
    """Validate the constructor parameters common to both estimators (called at fit)."""
    check_scalar(est.epochs, "epochs", numbers.Integral, min_val=1)
    check_scalar(est.batch_size, "batch_size", numbers.Integral, min_val=1)
    check_scalar(est.validation_split, "validation_split", numbers.Real, min_val=0.0, max_val=1.0,
                 include_boundaries="left")
    check_scalar(est.n_iter_no_change, "n_iter_no_change", numbers.Integral, min_val=1)
    check_scalar(est.tol, "tol", numbers.Real, min_val=0.0)
    for flag in ("shuffle", "warm_start", "early_stopping"):
        if not isinstance(getattr(est, flag), (bool, np.bool_)):
            raise TypeError(f"{flag} must be True or False, got {getattr(est, flag)!r}.")
    if est.verbose not in (0, 1, 2) or isinstance(est.verbose, bool):
        raise ValueError(f"verbose must be 0 (silent), 1 (progress bar) or 2 (one line per epoch); got {est.verbose!r}.")
    if est.preprocessor is not None and not (
        hasattr(est.preprocessor, "fit") and hasattr(est.preprocessor, "transform")
    ):
        raise TypeError(
            f"preprocessor must be a scikit-learn transformer (with fit and transform), such "
            f"as StandardScaler() or a Pipeline; got {type(est.preprocessor).__name__}."
        )
    if est.metrics is not None and not isinstance(est.metrics, (list, tuple, dict)):
        raise TypeError(f"metrics must be a list of Keras metrics (e.g. ['accuracy']), got {est.metrics!r}.")
