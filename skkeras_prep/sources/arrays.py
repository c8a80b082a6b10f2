"""Dense arrays as a row source: numpy arrays of any rank >= 2 (a read-only memmap too).

Rows stay where they are; only the gathered batch is converted to float32, so a large array
or a memmap is never copied whole.
"""

import numpy as np

from .protocol import RowSource


class ArraySource(RowSource):
    """Rows of a dense array ``X`` of shape ``(n_rows,) + row_shape``."""

    def __init__(self, X):
        X = np.asarray(X) if not isinstance(X, np.ndarray) else X
        if X.ndim < 2:
            raise ValueError(
                f"A dense row source needs an array of shape (n_rows, ...); got shape {X.shape}."
            )
        self.X = X

    @staticmethod
    def accepts(X):
        return isinstance(X, np.ndarray) or hasattr(X, "__array__")

    @property
    def n_rows(self):
        return self.X.shape[0]

    @property
    def row_shape(self):
        return tuple(self.X.shape[1:])

    def gather(self, index):
        return np.asarray(self.X[index], dtype=np.float32)

    def take(self, rows):
        return ArraySource(self.X[rows])

    def as_numeric(self):
        if self.X.dtype.kind in "biuf":
            return self
        try:
            return ArraySource(self.X.astype(np.float64))
        except (TypeError, ValueError):
            return None

    def stored_values(self):
        return self.X

    def columns_where(self, mask):
        return np.flatnonzero(np.asarray(mask).reshape(len(mask), -1).any(axis=0))
