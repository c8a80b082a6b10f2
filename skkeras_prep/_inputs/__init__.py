"""The input adapters and their dispatcher: the one place that asks what kind X is.

``dispatch(X)`` returns X as a structure of named inputs (``named.NamedInputs``; a single X
is the structure of one unnamed entry), each entry an adapter of its kind:

=========================================  ============================
X                                          adapter
=========================================  ============================
a dict or ``MultiInput``                   one entry per input
a dask array or DataFrame                  ``dask.DaskInput``
a scipy sparse matrix                      ``memory.SparseInput``
a pandas DataFrame                         ``memory.FrameInput``
a 1-D sequence of file paths               ``memory.PathsInput``
a numeric numpy array or memmap            ``memory.ArrayInput``
anything else (lists, other arrays)        ``memory.RowsInput``
=========================================  ============================

The estimator calls the structure only (``kind.InputKind`` lists what every adapter does);
the row sources the adapters make are read by ``_dataset`` (``reading`` puts a source's own
explanation on an error raised while it streams).
"""

import contextlib

import numpy as np
import scipy.sparse as sp

from .._validation import check_present, is_frame, looks_like_paths
from ..multi_io import MultiInput, is_multi_input
from ..sources import input_shape, input_width, width_of
from ..sources.dask import is_dask_collection
from ..sources.protocol import explaining_errors
from .dask import DaskInput
from .memory import ArrayInput, FrameInput, PathsInput, RowsInput, SparseInput
from .named import NamedInputs

__all__ = ["dispatch", "input_shape", "input_width", "reading", "width_of"]


def _numeric_array(X):
    return isinstance(X, np.ndarray) and X.dtype.kind in "biufc"


def _adapter(X):
    """The adapter of one input, by its kind."""
    if _numeric_array(X):
        return ArrayInput(X)
    if is_dask_collection(X):  # before pandas and array-likes: a dask DataFrame has both looks
        return DaskInput(X)
    if sp.issparse(X):
        return SparseInput(X)
    if is_frame(X):
        return FrameInput(X)
    if looks_like_paths(X):
        return PathsInput(X)
    return RowsInput(X)


def dispatch(X):
    """X as ``NamedInputs``: one entry per input of a dict or ``MultiInput``, else one
    unnamed entry. Refuses an X without rows (None, an iterator) with what to pass."""
    if _numeric_array(X):  # the common case, at once
        return NamedInputs({None: ArrayInput(X)})
    check_present(X)
    if is_multi_input(X):
        X = MultiInput(X)
        lazy = [name for name, part in X.items() if is_dask_collection(part)]
        if lazy:
            raise TypeError(
                f"Input(s) {lazy} are dask collections; several inputs must be held in memory "
                "(numpy arrays, sparse matrices or DataFrames). Compute them first, or pass "
                "one dask input."
            )
        return NamedInputs({name: _adapter(part) for name, part in X.items()})
    return NamedInputs({None: _adapter(X)})


@contextlib.contextmanager
def reading(source):
    """Around training on or predicting from ``source``: an error raised while it streams is
    re-raised as the source explains it (``sources.protocol.explaining_errors``: e.g. an
    image file that fails to decode in the graph), or as the error a streamed block raised
    itself (``source.failure``) instead of TensorFlow's wrapped copy of it."""
    with explaining_errors(source):
        try:
            yield
        except Exception:
            failure = getattr(source, "failure", None)
            if failure is None:
                raise
            raise failure from None
