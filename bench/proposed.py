"""The library changes recommended by the benchmarks, applied by monkeypatching, so that
``skkeras_prep (proposed)`` can be measured side by side with the library as it is.

Nothing here is imported by the library; ``bench.cases`` calls ``apply()`` only in the worker
process of the ``skkeras_proposed`` contender. Each patch mirrors one recommended edit to
``skkeras_prep`` (see bench/FINDINGS.md for the diffs):

1. ``_dataset``: the ``tf.numpy_function`` callables reach the arrays through a holder that is
   emptied when the pipeline is done. TensorFlow keeps every Python function passed to
   ``tf.numpy_function`` in eager mode alive for the whole process (script_ops appends it to the
   global default graph's ``_py_funcs_used_in_graph``), so closures over the arrays kept every
   fit's transformed X, y and weights, and every large predict's X, alive forever.
2. ``_base._train``: build the optimizer (its slot variables) before ``model.fit``. Keras defers
   that to the first trace of the train function when no distribution strategy is set; the
   variables created inside the trace make ``tf.function`` trace a second time, and the 16
   ``cond`` branch functions of their lifted initialisers stay registered in the eager context
   for the life of the process.
3. ``_dataset._EpochOrder``: int32 permutations (same order as ``Generator.permutation``),
   built in place; half the bytes per row and no int64 temporary.
4. ``_validation.check_sample_weight``: unit weights as a zero-stride broadcast view instead
   of ``np.ones(n)``.
"""

import threading

import numpy as np

_state = threading.local()
APPLIED = False
# tf.data knobs of the training pipeline; None keeps the library's AUTOTUNE (experiments only)
MAP_PARALLEL = None
PREFETCH = None


class _Rows:
    """The arrays a pipeline gathers from, behind one reference that ``release`` drops."""

    def __init__(self, **arrays):
        self.__dict__.update(arrays)

    def release(self):
        self.__dict__.clear()


def _register(release):
    pending = getattr(_state, "pending", None)
    if pending is not None:
        pending.append(release)
    return release


def apply():
    """Patch the imported skkeras_prep in place (idempotent)."""
    global APPLIED
    if APPLIED:
        return
    import tensorflow as tf

    from skkeras_prep import _base, _dataset

    AUTOTUNE = _dataset.AUTOTUNE
    gather_rows = _dataset.gather_rows
    n_rows = _dataset.n_rows
    n_batches = _dataset.n_batches
    feature_shape = _dataset._feature_shape
    capped = getattr(_dataset, "_capped_batch_size", lambda X, b: b)

    class EpochOrder(_dataset._EpochOrder):
        """Keeps only the newest epoch's permutation (int32, built in place); a straggler
        batch from the previous epoch (parallel map workers can cross the boundary out of
        order) recomputes that permutation instead of keeping it cached."""

        def _permutation(self, epoch):
            order = np.arange(self.n, dtype=np.int32 if self.n < 2**31 else np.int64)
            np.random.default_rng([self.seed, epoch]).shuffle(order)  # == permutation(n)
            return order

        def indices(self, epoch, start, stop):
            if not self.shuffle:
                return slice(start, stop)
            with self._lock:
                newest = max(self._cache, default=-1)
                if epoch == newest:
                    order = self._cache[epoch]
                elif epoch > newest:
                    self._cache = {}  # drop the old one before making the new one
                    order = self._cache[epoch] = self._permutation(epoch)
                else:
                    order = None
            if order is None:
                order = self._permutation(epoch)
            return np.sort(order[start:stop])

    def training_dataset(X, y, sample_weight, *, batch_size, epochs, shuffle, seed):
        n = n_rows(X)
        per_epoch = n_batches(n, batch_size)
        y = np.asarray(y)
        rows = _Rows(X=X, y=y, w=np.asarray(sample_weight, dtype=np.float32),
                     order=EpochOrder(n, seed, shuffle))
        y_dtype = tf.as_dtype(y.dtype)

        def gather(step):
            epoch, batch = divmod(int(step), per_epoch)
            index = rows.order.indices(epoch, batch * batch_size, min(n, (batch + 1) * batch_size))
            return gather_rows(rows.X, index), rows.y[index], rows.w[index]

        x_shape, y_shape = feature_shape(X), (None,) + y.shape[1:]

        def load(step):
            xb, yb, wb = tf.numpy_function(gather, [step], [tf.float32, y_dtype, tf.float32])
            return tf.ensure_shape(xb, x_shape), tf.ensure_shape(yb, y_shape), tf.ensure_shape(wb, (None,))

        dataset = tf.data.Dataset.range(epochs * per_epoch)
        parallel = AUTOTUNE if MAP_PARALLEL is None else MAP_PARALLEL
        dataset = dataset.map(load, num_parallel_calls=parallel, deterministic=True)
        _register(rows.release)
        return dataset.prefetch(AUTOTUNE if PREFETCH is None else PREFETCH), per_epoch

    def evaluation_dataset(X, y, sample_weight, *, batch_size):
        n = n_rows(X)
        batch_size = capped(X, batch_size)
        y = np.asarray(y)
        rows = _Rows(X=X, y=y, w=np.asarray(sample_weight, dtype=np.float32))
        y_dtype = tf.as_dtype(y.dtype)

        def gather(batch):
            index = slice(int(batch) * batch_size, min(n, (int(batch) + 1) * batch_size))
            return gather_rows(rows.X, index), rows.y[index], rows.w[index]

        x_shape, y_shape = feature_shape(X), (None,) + y.shape[1:]

        def load(batch):
            xb, yb, wb = tf.numpy_function(gather, [batch], [tf.float32, y_dtype, tf.float32])
            return tf.ensure_shape(xb, x_shape), tf.ensure_shape(yb, y_shape), tf.ensure_shape(wb, (None,))

        dataset = tf.data.Dataset.range(n_batches(n, batch_size))
        _register(rows.release)
        return dataset.map(load, num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(AUTOTUNE)

    def prediction_batches(X, *, batch_size):
        n = n_rows(X)
        batch_size = capped(X, batch_size)
        if n <= batch_size:
            yield gather_rows(X, slice(0, n))
            return
        rows = _Rows(X=X)

        def gather(batch):
            return gather_rows(rows.X, slice(int(batch) * batch_size, min(n, (int(batch) + 1) * batch_size)))

        x_shape = feature_shape(X)

        def load(batch):
            return tf.ensure_shape(tf.numpy_function(gather, [batch], tf.float32), x_shape)

        dataset = tf.data.Dataset.range(n_batches(n, batch_size))
        dataset = dataset.map(load, num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(AUTOTUNE)
        try:
            yield from dataset
        finally:
            rows.release()

    original_train = _base._KerasPipelineBase._train

    def _train(self, model, *args, **kwargs):
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        outer = getattr(_state, "pending", None)
        _state.pending = []
        try:
            return original_train(self, model, *args, **kwargs)
        finally:
            for release in _state.pending:
                release()
            _state.pending = outer

    original_check_sample_weight = _base.check_sample_weight

    def check_sample_weight(sample_weight, n_samples):
        if sample_weight is None:
            return np.broadcast_to(np.float32(1.0), (n_samples,))
        return original_check_sample_weight(sample_weight, n_samples)

    _dataset._EpochOrder = EpochOrder
    _dataset.training_dataset = training_dataset
    _dataset.evaluation_dataset = evaluation_dataset
    _dataset.prediction_batches = prediction_batches
    _base._KerasPipelineBase._train = _train
    _base.check_sample_weight = check_sample_weight
    APPLIED = True
