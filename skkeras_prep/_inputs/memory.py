"""The adapters of inputs held in memory: dense arrays (and read-only memmaps, lists of
rows, lists of same-sized images), sparse matrices, DataFrames and image file paths.

They share how the preprocessor is fitted (in one go: ``fit_transform``, or ``partial_fit``
then ``transform`` for an incremental fit) and how its output becomes a checked row source
(``_validation.check_transformed``); a ``RowSource`` returned by ``transform`` is streamed as
it is. Each kind adds its own checks before the shared ones (``_validation.check_X``).
"""

import contextlib

from .._validation import (PATHS_HINT, align_frame_columns, check_transformed, check_X,
                           forget_frame, is_frame, record_frame, stack_images)
from ..sources import as_source
from ..sources.protocol import RowSource, streaming_rows_of
from .kind import InputKind


@contextlib.contextmanager
def nd_input_hint(preprocessor, X):
    """Re-raise a 2-D-only preprocessor's refusal of N-D X (scikit-learn: "Found array with
    dim 4 ...") with what to do instead."""
    try:
        yield
    except ValueError as error:
        ndim = len(getattr(X, "shape", ()))
        if ndim <= 2 or "dim" not in str(error):
            raise
        name = type(preprocessor).__name__
        raise ValueError(
            f"The preprocessor {name} takes 2-D input only, but X has {ndim} dimensions "
            f"(shape {tuple(X.shape)}). For images, pass preprocessor=None: the model gets the "
            "N-D rows as they are. Scale them yourself (X / 255, at fit and at predict), or "
            "in the model (model=a keras.Model whose first layer is "
            "keras.layers.Rescaling(1 / 255)); with a builder from skkeras_prep.models or a "
            "keras.Model, the estimator saves and loads without trusted=. A "
            "FunctionTransformer of a module-level function "
            "(def scale(X): return X / 255; not a lambda, which save refuses) accepts N-D "
            "arrays too, and loading it needs trusted=. To use "
            f"{name} on the flattened values, pass X.reshape(len(X), -1) and add a Reshape "
            f"layer to the model. ({error})"
        ) from error




def _changed_dtypes(record, X):
    """The DataFrame columns whose dtype differs from the one seen at fit."""
    seen = getattr(record, "_frame_dtypes", None)
    if not seen or not is_frame(X) or not X.columns.is_unique:
        return []
    return [(c, seen[c], str(X[c].dtype)) for c in X.columns if c in seen and str(X[c].dtype) != seen[c]]


def _explaining_dtype_changes(record, preprocessor, X, error):
    """``error``, raised by the fitted preprocessor on X, as an error naming the DataFrame
    columns that changed dtype since fit (chained); None where none changed."""
    changed = _changed_dtypes(record, X)
    if not changed:
        return None
    described = "; ".join(f"{c!r} was {old} at fit and is {new} now" for c, old, new in changed)
    message = (
        f"The preprocessor {type(preprocessor).__name__} failed on X because column(s) "
        f"changed dtype since fit: {described}. Pass each column with the dtype it had at "
        "fit (for text categories: X[column].astype(str)). The preprocessor's own error is "
        "chained below."
    )
    return (TypeError if isinstance(error, TypeError) else ValueError)(message)


def source_of(Xt, transformer):
    """The row source of a transformed X: checked as the transformer's output
    (``check_transformed``) where there is one; a ``RowSource`` it returned as it is."""
    if isinstance(Xt, RowSource):
        return Xt
    source = as_source(Xt)
    return source if transformer is None else check_transformed(source, transformer)


class InMemoryInput(InputKind):
    """X held in memory, of any kind ``check_X`` takes; the kinds below add their checks."""

    def check(self, record, *, reset, preprocessor):
        self._check_kind(record, reset=reset, preprocessor=preprocessor)
        self.X = check_X(record, self.X, reset=reset, preprocessor=preprocessor)

    def _check_kind(self, record, *, reset, preprocessor):
        if reset:  # not a DataFrame: forget the columns of an earlier fit's DataFrame
            forget_frame(record)

    def fit_rows(self, record, transformer, y, *, incremental, seed):
        if transformer is None:
            return source_of(self.X, None)
        # its transform may return a row source; a 2-D-only one refusing N-D X says what to do
        with nd_input_hint(transformer, self.X), streaming_rows_of(transformer):
            if incremental and hasattr(transformer, "partial_fit"):
                Xt = transformer.partial_fit(self.X, y).transform(self.X)
            else:
                Xt = transformer.fit_transform(self.X, y)
        return source_of(Xt, transformer)

    def rows(self, record, transformer, *, update_y=None):
        if transformer is None:
            return source_of(self.X, None)
        if update_y is not None and hasattr(transformer, "partial_fit"):
            transformer.partial_fit(self.X, update_y)
        try:
            with nd_input_hint(transformer, self.X), streaming_rows_of(transformer):
                Xt = transformer.transform(self.X)
        except (TypeError, ValueError) as error:
            better = _explaining_dtype_changes(record, transformer, self.X, error)
            if better is None:
                raise
            raise better from error
        return source_of(Xt, transformer)


class ArrayInput(InMemoryInput):
    """A numeric numpy array or read-only memmap: checked as it is."""


class RowsInput(InMemoryInput):
    """Any other array-like: a list of rows, a list (or object array) of same-sized image
    arrays (stacked into one array), an array of another dtype."""

    def _check_kind(self, record, *, reset, preprocessor):
        self.X = stack_images(self.X)  # a list (or object array) of images: one array
        super()._check_kind(record, reset=reset, preprocessor=preprocessor)


class SparseInput(InMemoryInput):
    """A scipy sparse matrix (CSR, CSC, COO); streamed in CSR rows (``sources.sparse``)."""


class FrameInput(InMemoryInput):
    """A pandas DataFrame: its columns are remembered at fit (names and dtypes) and put back
    in that order at predict; missing or extra columns are named."""

    def _check_kind(self, record, *, reset, preprocessor):
        if reset:
            record_frame(record, self.X)
        else:
            self.X = align_frame_columns(record, self.X)


class PathsInput(InMemoryInput):
    """A 1-D sequence of file paths: rows for a preprocessor that reads them
    (``skkeras_prep.images.ImageLoader``); without one, the model cannot take them."""

    def _check_kind(self, record, *, reset, preprocessor):
        if preprocessor is None:
            raise ValueError(PATHS_HINT)
        super()._check_kind(record, reset=reset, preprocessor=preprocessor)
