"""Row sources: the inputs the estimators stream through ``tf.data`` (see ``protocol``).

``as_source(X)`` returns the adapter for ``X``: ``X`` itself when it already is a
``RowSource``, else the first adapter in ``ADAPTERS`` whose ``accepts(X)`` is true. A new input
kind adds its adapter class to ``ADAPTERS`` (before the catch-all dense arrays). Dask
collections (``dask.DaskSource``) are recognised first, without importing dask.
"""

import numpy as np

from .arrays import ArraySource
from .dask import DaskSource, is_dask_collection
from .images import ImageFileSource
from .protocol import RowSource, RowSubset
from .sparse import SparseSource

#: Adapters tried in order by ``as_source``; dense arrays come last and accept array-likes.
ADAPTERS = [SparseSource, ArraySource]


def as_source(X):
    """The row source for ``X``: a ``RowSource`` as it is, or an adapter around ``X``."""
    if isinstance(X, RowSource):
        return X
    if type(X) is np.ndarray:  # the common case (what most transformers return), at once
        return ArraySource(X)
    if is_dask_collection(X):  # before pandas and array-likes: a dask DataFrame has both looks
        return DaskSource.of_collection(X)
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):  # pandas
        X = X.to_numpy()
    for adapter in ADAPTERS:
        if adapter.accepts(X):
            return adapter(X)
    return ArraySource(np.asarray(X))


__all__ = [
    "ADAPTERS", "ArraySource", "DaskSource", "ImageFileSource", "RowSource", "RowSubset",
    "SparseSource", "as_source",
]
