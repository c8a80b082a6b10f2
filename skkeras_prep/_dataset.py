"""The one module that builds ``tf.data`` pipelines.

Rows stay where they are (a numpy array, a read-only memmap, a scipy CSR matrix) and each batch
is gathered by index inside a parallel, prefetched ``tf.data`` map:

* training: ``Dataset.range(epochs * n_batches)`` -> gather(step). Step ``s`` is batch
  ``s % n_batches`` of epoch ``s // n_batches``; the epoch's order is a permutation drawn from
  ``numpy.random.default_rng([seed, epoch])``. The dataset is consumed with
  ``steps_per_epoch=n_batches``, so Keras keeps one iterator for the whole fit instead of
  rebuilding one each epoch, and two fits with the same seed see the same batches.
* prediction: contiguous slices in order, no shuffle.

Only the batch is converted to float32 (and densified, for sparse input), so the data is never
copied whole. Gathered indices are sorted within a batch for memory locality; the order of rows
inside a batch does not change a mean-reduced loss.
"""

import threading

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def as_row_store(X):
    """Make X a store rows can be gathered from cheaply: ndarray or CSR (no dense copies)."""
    if sp.issparse(X):
        return X.tocsr() if X.format != "csr" else X
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
        X = X.to_numpy()
    return np.asarray(X)


def n_rows(X):
    return X.shape[0]


def gather_rows(X, index):
    """Rows ``index`` (an int array or a slice) of X as a dense float32 array."""
    rows = X[index]
    if sp.issparse(rows):
        # cast the stored values first, so the one dense block made is the float32 batch
        return rows.astype(np.float32, copy=False).toarray()
    return np.asarray(rows, dtype=np.float32)


class _EpochOrder:
    """Seeded per-epoch permutations, computed once per epoch and shared by the map workers."""

    def __init__(self, n, seed, shuffle):
        self.n = n
        self.seed = seed
        self.shuffle = shuffle
        self._cache = {}
        self._lock = threading.Lock()

    def indices(self, epoch, start, stop):
        if not self.shuffle:
            return slice(start, stop)
        with self._lock:
            order = self._cache.get(epoch)
            if order is None:
                order = np.random.default_rng([self.seed, epoch]).permutation(self.n)
                self._cache = {e: o for e, o in self._cache.items() if e >= epoch - 1}
                self._cache[epoch] = order
        return np.sort(order[start:stop])


def n_batches(n, batch_size):
    return max(1, -(-n // batch_size))


# Evaluation and prediction batches (whose size does not change the result) hold at most this
# many bytes once dense: 8192 rows of 50,000 sparse columns would otherwise be 1.6 GB each.
MAX_EVAL_BATCH_BYTES = 64 * 2**20


def _capped_batch_size(X, batch_size):
    row_bytes = 4 * int(np.prod(X.shape[1:], dtype=np.int64))
    return max(1, min(batch_size, MAX_EVAL_BATCH_BYTES // max(row_bytes, 1)))


def _feature_shape(X):
    return (None,) + tuple(X.shape[1:])


def training_dataset(X, y, sample_weight, *, batch_size, epochs, shuffle, seed):
    """Batches (x, y, w) for ``epochs`` passes over the rows; see the module docstring."""
    n = n_rows(X)
    per_epoch = n_batches(n, batch_size)
    order = _EpochOrder(n, seed, shuffle)
    y = np.asarray(y)
    w = np.asarray(sample_weight, dtype=np.float32)
    y_dtype = tf.as_dtype(y.dtype)

    def gather(step):
        epoch, batch = divmod(int(step), per_epoch)
        index = order.indices(epoch, batch * batch_size, min(n, (batch + 1) * batch_size))
        return gather_rows(X, index), y[index], w[index]

    x_shape, y_shape = _feature_shape(X), (None,) + y.shape[1:]

    def load(step):
        xb, yb, wb = tf.numpy_function(gather, [step], [tf.float32, y_dtype, tf.float32])
        return tf.ensure_shape(xb, x_shape), tf.ensure_shape(yb, y_shape), tf.ensure_shape(wb, (None,))

    dataset = tf.data.Dataset.range(epochs * per_epoch)
    dataset = dataset.map(load, num_parallel_calls=AUTOTUNE, deterministic=True)
    return dataset.prefetch(AUTOTUNE), per_epoch


def evaluation_dataset(X, y, sample_weight, *, batch_size):
    """One ordered pass of (x, y, w) batches, for validation data."""
    n = n_rows(X)
    batch_size = _capped_batch_size(X, batch_size)
    y = np.asarray(y)
    w = np.asarray(sample_weight, dtype=np.float32)
    y_dtype = tf.as_dtype(y.dtype)

    def gather(batch):
        index = slice(int(batch) * batch_size, min(n, (int(batch) + 1) * batch_size))
        return gather_rows(X, index), y[index], w[index]

    x_shape, y_shape = _feature_shape(X), (None,) + y.shape[1:]

    def load(batch):
        xb, yb, wb = tf.numpy_function(gather, [batch], [tf.float32, y_dtype, tf.float32])
        return tf.ensure_shape(xb, x_shape), tf.ensure_shape(yb, y_shape), tf.ensure_shape(wb, (None,))

    dataset = tf.data.Dataset.range(n_batches(n, batch_size))
    return dataset.map(load, num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(AUTOTUNE)


def prediction_batches(X, *, batch_size):
    """Ordered float32 batches of X. One batch is returned directly; more stream via tf.data.
    Wide rows get smaller batches (``MAX_EVAL_BATCH_BYTES``)."""
    n = n_rows(X)
    batch_size = _capped_batch_size(X, batch_size)
    if n <= batch_size:
        yield gather_rows(X, slice(0, n))
        return

    def gather(batch):
        return gather_rows(X, slice(int(batch) * batch_size, min(n, (int(batch) + 1) * batch_size)))

    x_shape = _feature_shape(X)

    def load(batch):
        return tf.ensure_shape(tf.numpy_function(gather, [batch], tf.float32), x_shape)

    dataset = tf.data.Dataset.range(n_batches(n, batch_size))
    dataset = dataset.map(load, num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(AUTOTUNE)
    yield from dataset
