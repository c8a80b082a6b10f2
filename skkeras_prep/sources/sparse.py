"""A scipy sparse matrix as a row source, stored as CSR and densified one batch at a time."""

import numpy as np
import scipy.sparse as sp

from .protocol import RowSource


class SparseSource(RowSource):
    """Rows of a 2-D sparse matrix; only the gathered batch is made dense."""

    def __init__(self, X):
        if not sp.issparse(X):
            raise TypeError(f"SparseSource needs a scipy sparse matrix, got {type(X).__name__}.")
        self.X = X.tocsr() if X.format != "csr" else X

    @staticmethod
    def accepts(X):
        return sp.issparse(X)

    @property
    def n_rows(self):
        return self.X.shape[0]

    @property
    def row_shape(self):
        return (self.X.shape[1],)

    def gather(self, index):
        rows = self.X[index]
        # cast the stored values first, so the one dense block made is the float32 batch
        return rows.astype(np.float32, copy=False).toarray()

    def take(self, rows):
        return SparseSource(self.X[rows])

    def as_numeric(self):
        if self.X.dtype.kind in "biuf":
            return self
        try:
            return SparseSource(self.X.astype(np.float64))
        except (TypeError, ValueError):
            return None

    def stored_values(self):
        return self.X.data  # the stored entries only: implicit zeros are always fine

    def columns_where(self, mask):
        return np.unique(self.X.indices[np.asarray(mask)])
