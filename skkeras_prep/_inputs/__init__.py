"""The input adapters and their dispatcher: the one place that asks what kind X is.

``dispatch(X)`` returns X as a structure of named inputs (``named.NamedInputs``; a single X
is the structure of one unnamed entry), each entry an adapter of its kind:

=========================================  ============================
X (each input of a dict / ``MultiInput``)  adapter
=========================================  ============================
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
from ..sources.dask import is_dask_collection
from ..sources.protocol import explaining_errors
from .dask import DaskInput
from .memory import ArrayInput, FrameInput, PathsInput, RowsInput, SparseInput
from .named import (NamedInputs, input_shape, map_inputs, per_input_params, set_per_input_params,
                    whole_transformer, width_of)

__all__ = ["dispatch", "input_shape", "map_inputs", "per_input_params", "reading",
           "set_per_input_params", "whole_transformer", "width_of"]


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
    """X as ``NamedInputs``, each input the adapter of its kind (the structure reads X:
    ``NamedInputs.of``). Refuses an X without rows (None, an iterator) with what to pass."""
    if _numeric_array(X):  # the common case, at once
        return NamedInputs({None: ArrayInput(X)})
    check_present(X)
    return NamedInputs.of(X, _adapter)


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
