"""What every input adapter does: the interface the dispatcher's structure (``named``) calls.

One adapter class per kind of input (``memory``: arrays and memmaps, sparse matrices,
DataFrames, image file paths; ``dask``: dask arrays and DataFrames). An adapter holds one X
and owns, for its kind:

* the checks (``check``), against a *record*: the estimator for a single X, or the record of
  one of several named inputs (``named.InputRecord``), where ``n_features_in_``, feature names
  and DataFrame columns are kept;
* fitting the preprocessor on it (``fit_rows``: in one go, or by ``partial_fit`` over blocks,
  or on a sample) and turning it into a row source (``rows``, for the fitted preprocessor);
* predicting on it (``predict``: eager here, lazy for dask) and its ``score``.
"""

import functools

import numpy as np


class InputKind:
    """One X of one kind; subclasses fill in what their kind needs."""

    #: Whether predictions are lazy (computed when asked), not arrays.
    lazy = False

    def __init__(self, X):
        self.X = X

    # -- rows, targets ---------------------------------------------------------------------
    @functools.cached_property
    def n_rows(self):
        """The number of rows (counted once: the checks keep them)."""
        from .._compat import sklearn_num_samples

        return sklearn_num_samples(self.X)

    def in_memory(self, y, sample_weight):
        """y and the weights as arrays in memory (a lazy kind computes them)."""
        return y, sample_weight

    def description(self):
        """(shape, dtype) of X as given, for scikeras's ``X_shape_`` / ``X_dtype_``."""
        shape = getattr(self.X, "shape", None)
        return tuple(shape) if shape is not None else (self.n_rows,), getattr(self.X, "dtype", None)

    # -- the kind's checks -----------------------------------------------------------------
    def check(self, record, *, reset, preprocessor):
        """Check X (set ``record``'s ``n_features_in_``... at fit, compare them later)."""
        raise NotImplementedError

    # -- preprocessing and rows ------------------------------------------------------------
    def fit_rows(self, record, transformer, y, *, incremental, seed):
        """Fit ``transformer`` (a clone, or None) on X and return X's row source."""
        raise NotImplementedError

    def rows(self, record, transformer, *, update_y=None):
        """X's row source through the fitted ``transformer`` (None: X as it is); with
        ``update_y``, an incremental transformer is updated first (``partial_fit``)."""
        raise NotImplementedError

    # -- prediction and score --------------------------------------------------------------
    def predict(self, estimator, inputs, method, finish, call_kwargs):
        """``estimator.<method>`` on ``inputs`` (the structure holding this X): ``finish``
        (raw model outputs -> the method's result) of the model's outputs, computed now."""
        return finish(estimator._model_output(inputs, call_kwargs))

    def score(self, estimator, inputs, scorer, y, sample_weight, kwargs):
        """``scorer(y, estimator.predict(X), sample_weight=..., **kwargs)``."""
        return scorer(y, estimator.predict(inputs.as_given()), sample_weight=sample_weight,
                      **kwargs)

    def head(self, n):
        """The first ``n`` rows of X as the same kind, or None where they are not in memory."""
        from sklearn.utils import _safe_indexing

        return _safe_indexing(self.X, np.arange(min(n, self.n_rows)))
