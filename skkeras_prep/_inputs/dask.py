"""The adapter of a dask array or DataFrame: data larger than memory (docs/scaling.md).

X stays lazy: it is checked without computing anything (its kind, dtypes, columns), split
into row blocks (``sources.dask.DaskRows``), and y and the sample weights are computed into
memory at the start of a fit. The preprocessor is fitted over the blocks, in one
``partial_fit`` pass where it has one, else on a uniform random sample of
``preprocessor_sample_size`` rows; the row source (``sources.dask.DaskSource``) transforms
and checks each block as it streams. Predictions are lazy dask arrays with known chunk sizes
(the method mapped over the blocks); ``score`` computes them with y.

A dask X is one input: several named inputs must be held in memory (``named``).
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import align_frame_columns, is_frame, record_frame
from ..sources.dask import DaskRows, DaskSource, check_collection, compute, map_rows
from .kind import InputKind
from .memory import ArrayInput, FrameInput


def check_collection_X(estimator, X, *, reset, preprocessor):
    """``check_X`` for a dask collection, computing nothing: its kind (``sources.dask``), the
    feature count and column names (set at fit, compared later), and, without a
    preprocessor, a numeric dtype. Values are checked block by block as they stream."""
    check_collection(X, allowed=("array", "frame"))
    if not reset:
        X = align_frame_columns(estimator, X)
    # scikit-learn reads feature names from in-memory frames only: an empty pandas frame with
    # the dask frame's columns and dtypes stands in for it (nothing computed)
    empty = _empty_frame(X) if is_frame(X) else X
    if reset:
        record_frame(estimator, empty)
    dtypes = list(X.dtypes) if is_frame(X) else [X.dtype]
    if preprocessor is None:
        # pandas extension dtypes (strings, categories) have a kind too: "O"
        text = [str(c) for c, d in zip(getattr(X, "columns", ["X"]), dtypes) if getattr(d, "kind", "O") not in "biuf"]
        if text:
            raise ValueError(
                f"X has non-numeric column(s) {text[:10]} and there is no preprocessor. Pass one "
                "that encodes them, e.g. preprocessor=ColumnTransformer([(\"cat\", "
                "OneHotEncoder(handle_unknown=\"ignore\"), columns)], remainder=StandardScaler())."
            )
    elif any(getattr(d, "kind", "O") == "c" for d in dtypes):
        raise ValueError("Complex data not supported; X has a complex dtype.")
    validate_data(estimator, empty, reset=reset, skip_check_array=True)
    return X


def _empty_frame(X):
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in X.dtypes.items()}, columns=X.columns)


def _block_input(block):
    return FrameInput(block) if is_frame(block) else ArrayInput(block)


class DaskInput(InputKind):
    """A dask array or DataFrame, read block by block; its record is the estimator."""

    lazy = True

    def __init__(self, X):
        super().__init__(X)
        self.blocks = None  # DaskRows, once in_memory has split X

    @property
    def n_rows(self):
        return self.blocks.n_rows

    def in_memory(self, y, sample_weight):
        self.blocks, y, sample_weight = DaskRows.of(self.X, y, sample_weight)
        return y, sample_weight

    def description(self):
        return tuple(self.X.shape), getattr(self.X, "dtype", None)

    def check(self, record, *, reset, preprocessor):
        self.X = check_collection_X(record, self.X, reset=reset, preprocessor=preprocessor)

    def fit_rows(self, record, transformer, y, *, incremental, seed):
        if transformer is not None:
            if hasattr(transformer, "partial_fit"):
                self._partial_fit(transformer, y)
            else:
                sample, which = self.blocks.sample(record.preprocessor_sample_size, [seed, 1])
                transformer.fit(sample, y[which])
        return self._source(record, transformer)

    def rows(self, record, transformer, *, update_y=None):
        if transformer is not None and update_y is not None and hasattr(transformer, "partial_fit"):
            self._partial_fit(transformer, update_y)
        return self._source(record, transformer)

    def _partial_fit(self, transformer, y):
        for start, block in self.blocks.blocks():
            transformer.partial_fit(block, y[start:start + len(block)])

    def _source(self, record, transformer):
        """Each block transformed by the fitted ``transformer`` and checked as it streams (no
        transformer: checked like X); ``shuffle_window_chunks`` blocks are shuffled together.
        The first rows of the first block are transformed now, for the row shape and an early
        error."""
        transform_block = _BlockRows(record, transformer)
        (_, first), = self.blocks.blocks([0])
        probe = transform_block(first[:2])
        return DaskSource(self.blocks, transform_block, probe.shape[1:],
                          window_chunks=record.shuffle_window_chunks)

    def predict(self, estimator, inputs, method, finish, call_kwargs):
        """``estimator.<method>`` over X as a lazy dask array, block by block; ``finish`` is
        applied to the model's output on one zero row, for the result's shape and dtype."""
        check_is_fitted(estimator, "model_")
        self.check(estimator, reset=False, preprocessor=estimator.preprocessor_)
        zero = np.zeros((1,) + tuple(estimator.input_shape_), np.float32)
        template = finish(estimator._call_model(zero))
        if isinstance(template, list):  # several outputs' arrays: one array each, sliced
            # from one mapped array (compute them together: dask.compute(*result))
            widths = [np.asarray(t).shape[1] for t in template]
            joined = map_rows(self.X, _BlockMethod(estimator, method, joined=True),
                              np.concatenate([np.asarray(t) for t in template], axis=1))
            bounds = np.cumsum([0] + widths)
            return [joined[:, a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        return map_rows(self.X, _BlockMethod(estimator, method), np.asarray(template))

    def score(self, estimator, inputs, scorer, y, sample_weight, kwargs):
        """A float: the lazy predictions, y and the weights computed together."""
        predictions, y, sample_weight = compute(estimator.predict(self.X), y, sample_weight)
        return float(scorer(np.asarray(y), predictions, sample_weight=sample_weight, **kwargs))

    def head(self, n):
        return None


class _BlockRows:
    """One computed block -> its checked float rows: through the fitted preprocessor, or
    checked like X without one."""

    def __init__(self, record, transformer):
        self.record = record
        self.transformer = transformer

    def __call__(self, block):
        part = _block_input(block)
        part.check(self.record, reset=False, preprocessor=self.transformer)
        source = part.rows(self.record, self.transformer)
        values = source.stored_values()
        if values is None:
            raise TypeError(
                f"The preprocessor {type(self.transformer).__name__} returned a row source "
                f"({type(source).__name__}); with dask input it must return arrays."
            )
        return source.X


class _BlockMethod:
    """``estimator.<method>(block)`` as a numpy array: the function a lazy prediction maps over
    the blocks (a class, so a distributed scheduler can pickle it with the estimator)."""

    def __init__(self, estimator, method, joined=False):
        self.estimator = estimator
        self.method = method
        self.joined = joined  # several outputs' arrays side by side

    def __call__(self, block):
        out = getattr(self.estimator, self.method)(block)
        if self.joined:
            return np.concatenate([np.asarray(part) for part in out], axis=1)
        return np.asarray(out)
