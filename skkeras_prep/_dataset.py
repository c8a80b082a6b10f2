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

Lifetime: TensorFlow keeps every Python function given to ``tf.numpy_function`` outside a
``tf.function`` alive until the process ends (it is attached to the global default graph). The
gather functions therefore reach the arrays only through a ``_Rows`` holder, and the caller
empties it when the pipeline is done: ``training_dataset`` and ``evaluation_dataset`` register
the release on the ``contextlib.ExitStack`` they are given, and ``prediction_batches`` releases
when the generator ends. Without this, every fit kept its transformed X, y and weights alive.
"""

import threading

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE
# Training batches: gathered by this many parallel map calls, with this many ready batches
# buffered ahead. A gather (index, copy, cast) takes far less time than a training step, so
# two of each keep the model fed; AUTOTUNE buffered more batches for no gain in speed and
# about 10 MB more peak memory on 1,000,000 x 100 rows (bench/README.md).
TRAIN_MAP_PARALLELISM = 2
TRAIN_PREFETCH = 2


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


class _Rows:
    """The arrays one pipeline gathers from, behind a single reference that ``release`` drops."""

    def __init__(self, **arrays):
        self.__dict__.update(arrays)

    def release(self):
        self.__dict__.clear()


class _EpochOrder:
    """Seeded per-epoch permutations shared by the parallel map workers.

    Only the newest epoch's permutation is kept (int32 where the row count allows: 4 bytes a
    row). A straggling batch of the previous epoch, which parallel workers can reach after the
    next epoch started, recomputes its permutation instead of keeping it cached.
    """

    def __init__(self, n, seed, shuffle):
        self.n = n
        self.seed = seed
        self.shuffle = shuffle
        self._epoch = -1
        self._order = None
        self._lock = threading.Lock()

    def permutation(self, epoch):
        """The row order of ``epoch``; equal to ``default_rng([seed, epoch]).permutation(n)``."""
        order = np.arange(self.n, dtype=np.int32 if self.n < 2**31 else np.int64)
        np.random.default_rng([self.seed, epoch]).shuffle(order)
        return order

    def indices(self, epoch, start, stop):
        if not self.shuffle:
            return slice(start, stop)
        with self._lock:
            if epoch > self._epoch:
                self._order = None  # let the old permutation go before making the new one
                self._order = self.permutation(epoch)
                self._epoch = epoch
            order = self._order if epoch == self._epoch else None
        if order is None:
            order = self.permutation(epoch)
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


def _labelled_rows(X, y, sample_weight, y_dtype, stack, **extra):
    """The holder of X, y and weights for a pipeline of (x, y, w) batches; y is cast to
    ``y_dtype`` (default: its own) per batch, and the holder is emptied when ``stack``
    closes."""
    y = np.asarray(y)
    rows = _Rows(X=X, y=y, w=np.asarray(sample_weight, dtype=np.float32),
                 y_dtype=np.dtype(y.dtype if y_dtype is None else y_dtype), **extra)
    stack.callback(rows.release)
    return rows


def _labelled_batch(rows, index):
    return gather_rows(rows.X, index), rows.y[index].astype(rows.y_dtype), rows.w[index]


def _labelled_loader(gather, rows):
    """A ``tf.data`` map function: a step number -> ``gather(step)`` as (x, y, w) tensors of
    known shape. Shapes and types are read now, so the traced function holds no arrays."""
    types = [tf.float32, tf.as_dtype(rows.y_dtype), tf.float32]
    shapes = (_feature_shape(rows.X), (None,) + rows.y.shape[1:], (None,))

    def load(step):
        batch = tf.numpy_function(gather, [step], types)
        return tuple(tf.ensure_shape(tensor, shape) for tensor, shape in zip(batch, shapes))

    return load


def training_dataset(X, y, sample_weight, *, batch_size, epochs, shuffle, seed, stack,
                     y_dtype=None):
    """Batches (x, y, w) for ``epochs`` passes over the rows, and the number of batches in an
    epoch; see the module docstring. Each batch of y is cast to ``y_dtype`` (default: y's
    own), so targets can be stored compactly. The arrays are let go when ``stack`` (a
    ``contextlib.ExitStack``) closes."""
    n = n_rows(X)
    per_epoch = n_batches(n, batch_size)
    rows = _labelled_rows(X, y, sample_weight, y_dtype, stack, order=_EpochOrder(n, seed, shuffle))

    def gather(step):
        epoch, batch = divmod(int(step), per_epoch)
        index = rows.order.indices(epoch, batch * batch_size, min(n, (batch + 1) * batch_size))
        return _labelled_batch(rows, index)

    dataset = tf.data.Dataset.range(epochs * per_epoch)
    dataset = dataset.map(
        _labelled_loader(gather, rows), num_parallel_calls=TRAIN_MAP_PARALLELISM, deterministic=True
    )
    return dataset.prefetch(TRAIN_PREFETCH), per_epoch


def evaluation_dataset(X, y, sample_weight, *, batch_size, stack, y_dtype=None):
    """One ordered pass of (x, y, w) batches, for validation data; y is cast per batch as in
    ``training_dataset``; the arrays are let go when ``stack`` closes."""
    n = n_rows(X)
    batch_size = _capped_batch_size(X, batch_size)
    rows = _labelled_rows(X, y, sample_weight, y_dtype, stack)

    def gather(batch):
        start = int(batch) * batch_size
        return _labelled_batch(rows, slice(start, min(n, start + batch_size)))

    dataset = tf.data.Dataset.range(n_batches(n, batch_size))
    dataset = dataset.map(
        _labelled_loader(gather, rows), num_parallel_calls=AUTOTUNE, deterministic=True
    )
    return dataset.prefetch(AUTOTUNE)


def prediction_batches(X, *, batch_size):
    """Ordered float32 batches of X. One batch is returned directly; more stream via tf.data.
    Wide rows get smaller batches (``MAX_EVAL_BATCH_BYTES``)."""
    n = n_rows(X)
    batch_size = _capped_batch_size(X, batch_size)
    if n <= batch_size:
        yield gather_rows(X, slice(0, n))
        return
    rows = _Rows(X=X)

    def gather(batch):
        return gather_rows(rows.X, slice(int(batch) * batch_size, min(n, (int(batch) + 1) * batch_size)))

    x_shape = _feature_shape(X)

    def load(batch):
        return tf.ensure_shape(tf.numpy_function(gather, [batch], tf.float32), x_shape)

    dataset = tf.data.Dataset.range(n_batches(n, batch_size))
    dataset = dataset.map(load, num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(AUTOTUNE)
    try:
        yield from dataset
    finally:
        rows.release()
