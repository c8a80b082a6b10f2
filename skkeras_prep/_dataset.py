"""The one module that builds ``tf.data`` pipelines.

Rows come from a row source (``skkeras_prep.sources``: a numpy array, a read-only memmap, a
scipy CSR matrix, or any other ``RowSource``) and stay where they are. Each batch is gathered by
index inside a parallel, prefetched ``tf.data`` map (and decoded there, for a source with a
``graph_decoder``):

* training: ``Dataset.range(epochs * n_batches)`` -> gather(step). Step ``s`` is batch
  ``s % n_batches`` of epoch ``s // n_batches``; the epoch's order is a permutation drawn from
  ``numpy.random.default_rng([seed, epoch])``. The dataset is consumed with
  ``steps_per_epoch=n_batches``, so Keras keeps one iterator for the whole fit instead of
  rebuilding one each epoch, and two fits with the same seed see the same batches.
* prediction: contiguous slices in order, no shuffle.
* sources read in order (``indexable = False``): chunks in order, rows shuffled within a
  window of ``SEQUENTIAL_WINDOW_CHUNKS`` chunks (or the source's ``window_chunks``), the
  epoch's batches made across chunk edges; validation batches in order, chunk by chunk.

Every source is read through its ``parts`` (``{None: source}`` for one input, ``{input name:
source}`` for several): one ``tf.numpy_function`` gathers one array per part, then y and w, and
the model gets a bare tensor for one unnamed part, else a dict by input name. Targets come as
one ``_target_layout.Targets``, whose heads cut each batch into what Keras compares with the
outputs (the batch itself for one output, a dict by output name for several). So nothing here
asks how many inputs or outputs there are.

Only the batch is converted to float32 (and densified, for sparse input) by the source's
``gather``, so the data is never copied whole. Gathered indices are sorted within a batch for memory locality; the order of rows
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
import tensorflow as tf

from ._target_layout import split_batch

AUTOTUNE = tf.data.AUTOTUNE
# The map functions below are TensorFlow ops only, with no Python control flow on tensors, so
# tf.data is told not to run AutoGraph on them (``_ops_only``). Converting them cost the first
# fit of an image folder about 1.4 s of a 3.8 s fit (cProfile), most of it parsing source.
# The augmentation map is converted as before: it runs the user's layers.
_ops_only = tf.autograph.experimental.do_not_convert
# Training batches: gathered by this many parallel map calls, with this many ready batches
# buffered ahead. A gather (index, copy, cast) takes far less time than a training step, so
# two of each keep the model fed; AUTOTUNE buffered more batches for no gain in speed and
# about 10 MB more peak memory on 1,000,000 x 100 rows (bench/README.md).
TRAIN_MAP_PARALLELISM = 2
TRAIN_PREFETCH = 2
# Sources read in order: rows are shuffled within a window of this many chunks of
# SEQUENTIAL_CHUNK_ROWS rows.
SEQUENTIAL_CHUNK_ROWS = 8192
SEQUENTIAL_WINDOW_CHUNKS = 4


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


def _capped_batch_size(source, batch_size):
    return max(1, min(batch_size, MAX_EVAL_BATCH_BYTES // max(source.row_bytes, 1)))


def _model_input(source):
    """A function of TensorFlow ops: a gathered batch -> the model's input, decoded in the
    graph where the source says so, with its static shape set. It holds the decoder and the
    row shape only, never the source, so a traced pipeline keeps no rows alive."""
    decode = source.graph_decoder()
    shape = (None,) + tuple(source.row_shape)

    def to_input(batch):
        return tf.ensure_shape(batch if decode is None else decode(batch), shape)

    return to_input


def _gathered_spec(source):
    return tf.as_dtype(source.batch_dtype), (None,) + tuple(source.gathered_shape)


def _gathered_specs(source):
    """(dtype, shape) of the array ``gather`` returns for each of the source's parts."""
    return [_gathered_spec(part) for part in source.parts.values()]


def _structure(names, values):
    """Values by part: the value itself for one unnamed part, else a dict by name."""
    return values[0] if names == [None] else dict(zip(names, values))


def _model_inputs(source):
    """Like ``_model_input``, for the list of gathered tensors (one per part): the model's
    input tensor for one unnamed part, else the dict ``{input name: tensor}``."""
    converters = [_model_input(part) for part in source.parts.values()]
    names = list(source.parts)
    return lambda batch: _structure(names, [convert(t) for convert, t in zip(converters, batch)])


def _model_targets(targets):
    """A batch of encoded targets -> what Keras compares with the outputs (``Targets.split``,
    with TensorFlow's cast). It holds the heads only, never the targets' values."""
    heads = targets.heads
    return lambda y: split_batch(heads, y, tf.cast)


def _gather_parts(source, index):
    """Rows ``index`` of every part of ``source``: one array per input."""
    return tuple(part.gather(index) for part in source.parts.values())


def _labelled_rows(source, targets, sample_weight, stack, **extra):
    """The holder of the source, the targets (``_target_layout.Targets``) and the weights for
    a pipeline of (x, y, w) batches; emptied when ``stack`` closes."""
    rows = _Rows(X=source, y=targets, w=np.asarray(sample_weight, dtype=np.float32), **extra)
    stack.callback(rows.release)
    return rows


def _labelled_batch(rows, index):
    """The gathered input(s) (one array per input), then y and w, as one flat tuple."""
    return (*_gather_parts(rows.X, index), rows.y.batch(index), rows.w[index])


def _labelled_loader(gather, rows):
    """A ``tf.data`` map function: a step number -> ``gather(step)`` as (x, y, w) tensors of
    known shape. Shapes, types, the decoders and the target heads are read now, so the traced
    function holds no arrays. x and y are structures (``_model_inputs``, ``_model_targets``)."""
    x_specs = _gathered_specs(rows.X)
    k = len(x_specs)
    types = [t for t, _ in x_specs] + [tf.as_dtype(rows.y.dtype), tf.float32]
    shapes = [s for _, s in x_specs] + [(None,) + rows.y.row_shape, (None,)]
    to_input = _model_inputs(rows.X)
    to_targets = _model_targets(rows.y)

    @_ops_only
    def load(step):
        batch = [tf.ensure_shape(t, s) for t, s in zip(tf.numpy_function(gather, [step], types), shapes)]
        return (to_input(batch[:k]), to_targets(batch[k]), batch[k + 1])

    return load


def _augmented(dataset, augment):
    """``augment`` (a function of TensorFlow ops, batch -> batch; ``_augment.for_fit``) mapped
    over the x of each batch, one batch after the other: its random layers advance their seed
    state in step order, so the same seed gives the same augmented batches."""
    if augment is None:
        return dataset
    return dataset.map(lambda x, t, w: (augment(x), t, w))


def training_dataset(source, targets, sample_weight, *, batch_size, epochs, shuffle, seed, stack,
                     augment=None):
    """Batches (x, y, w) for ``epochs`` passes over the rows of ``source``, and the number of
    batches in an epoch; see the module docstring. Each batch of ``targets`` (a
    ``_target_layout.Targets``) is cast to its dtype, so targets can be stored compactly, and
    cut as its heads say. ``augment`` (or None) transforms each training batch's x (never
    validation or prediction batches). The arrays are let go when ``stack`` (a
    ``contextlib.ExitStack``) closes."""
    n = source.n_rows
    per_epoch = n_batches(n, batch_size)
    if not source.indexable:
        return _sequential_training_dataset(
            source, targets, sample_weight, batch_size=batch_size, epochs=epochs,
            shuffle=shuffle, seed=seed, stack=stack, augment=augment,
        ), per_epoch
    rows = _labelled_rows(source, targets, sample_weight, stack,
                          order=_EpochOrder(n, seed, shuffle))

    def gather(step):
        epoch, batch = divmod(int(step), per_epoch)
        index = rows.order.indices(epoch, batch * batch_size, min(n, (batch + 1) * batch_size))
        return _labelled_batch(rows, index)

    # Decoding in the graph (image files) costs far more than a gather: let tf.data tune
    # the number of parallel calls (measured: 0.8x Keras's image pipeline with 2, 1.0x with
    # AUTOTUNE; bench/images_throughput.py).
    parallel = TRAIN_MAP_PARALLELISM if source.graph_decoder() is None else AUTOTUNE
    dataset = tf.data.Dataset.range(epochs * per_epoch)
    dataset = dataset.map(
        _labelled_loader(gather, rows), num_parallel_calls=parallel, deterministic=True
    )
    return _augmented(dataset, augment).prefetch(TRAIN_PREFETCH), per_epoch


# Rows trained from memory by the compiled epoch loop (``in_memory_batches``) at most: the
# transformed rows as float32, and the epochs' row orders (int32).
MAX_IN_MEMORY_BYTES = 64 * 2**20
MAX_IN_MEMORY_ORDER = 4 * 2**20


def in_memory_batches(source, targets, sample_weight, *, batch_size, epochs, shuffle, seed):
    """The training batches of ``training_dataset`` as whole arrays, for small data: (x, y,
    w, order, batch_size), where row ``order[e, b * batch_size:(b + 1) * batch_size]`` of x,
    y and w make batch b of epoch e, exactly the rows, order and dtypes the pipeline gathers.
    x and y are structures as the pipeline's are: an array for one input (output), a dict by
    name for several (``_structure``; y cut and cast by ``Targets.split``).
    None for rows that are not a dense array (sparse rows stay sparse and are densified one
    batch at a time; rows read in order or decoded in the graph), or too large
    (``MAX_IN_MEMORY_BYTES``, ``MAX_IN_MEMORY_ORDER``)."""
    from .sources.arrays import ArraySource

    n = source.n_rows
    parts = source.parts
    if (not all(isinstance(p, ArraySource) and p.graph_decoder() is None for p in parts.values())
            or n * max(source.row_bytes, 1) > MAX_IN_MEMORY_BYTES
            or n * epochs > MAX_IN_MEMORY_ORDER):
        return None
    x = _structure(list(parts), [np.asarray(part.gather(slice(0, n))) for part in parts.values()])
    y = targets.split(targets.values.astype(targets.dtype, copy=False), lambda a, d: a.astype(d))
    w = np.asarray(sample_weight, dtype=np.float32)
    per_epoch = n_batches(n, batch_size)
    if per_epoch == 1:
        # one batch holds every row, and a batch's rows are gathered in row order (see
        # ``_EpochOrder.indices``): every epoch is ``arange(n)``, shuffled or not, so the
        # epochs' permutations (about 1 ms a fit for 50 epochs) need not be drawn
        return x, y, w, np.tile(np.arange(n, dtype=np.int32), (epochs, 1)), batch_size
    order = np.empty((epochs, n), dtype=np.int32)
    epoch_order = _EpochOrder(n, seed, shuffle)
    for epoch in range(epochs):
        for batch in range(per_epoch):
            start, stop = batch * batch_size, min(n, (batch + 1) * batch_size)
            order[epoch, start:stop] = np.arange(n)[epoch_order.indices(epoch, start, stop)]
    return x, y, w, order, batch_size


def _windows(source):
    """(first row, rows) of consecutive windows of chunks: the source's ``window_chunks``
    (a dask source: the estimator's ``shuffle_window_chunks``), else ``SEQUENTIAL_WINDOW_CHUNKS``.
    A window is filled in place, chunk by chunk, each chunk let go once copied: filling one
    holds the window and one chunk, where joining the chunks at the end held them twice. The
    caller lets go of a window before asking for the next (``_sequential_batches``), so one
    window is held at a time, not the one being served and the one filling beside it."""
    window = getattr(source, "window_chunks", None) or SEQUENTIAL_WINDOW_CHUNKS
    buffer, filled, count, first = None, 0, 0, None
    for start, chunk in source.chunks(SEQUENTIAL_CHUNK_ROWS):
        chunk = np.asarray(chunk)
        if buffer is None:
            buffer, first = np.empty((window * len(chunk),) + chunk.shape[1:], chunk.dtype), start
        if filled + len(chunk) > len(buffer):  # chunks of unequal sizes: grow the window
            buffer = _grown(buffer, filled, filled + len(chunk) * (window - count))
        buffer[filled:filled + len(chunk)] = chunk
        filled, count, chunk = filled + len(chunk), count + 1, None
        if count == window:
            rows, buffer, filled, count = buffer[:filled], None, 0, 0
            yield first, rows
            rows = None
    if buffer is not None:
        yield first, buffer[:filled]


def _grown(buffer, filled, size):
    """A window buffer of ``size`` rows holding the first ``filled`` rows of ``buffer``."""
    grown = np.empty((size,) + buffer.shape[1:], buffer.dtype)
    grown[:filled] = buffer[:filled]
    return grown


def _joined(parts):
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _sequential_batches(rows, epochs, batch_size, shuffle, seed):
    """(x, y, w) numpy batches of a source read in order: per epoch, chunks in order, rows
    shuffled within a window of chunks; a batch may span windows, so every epoch has exactly
    ``n_batches(n, batch_size)`` batches.

    The rows served are the rows carried over from the last window (fewer than a batch)
    followed by this window's rows in a seeded permuted order; each batch is gathered from
    the window on its own, so the window is never copied whole."""
    for epoch in range(epochs):
        rng = np.random.default_rng([seed, epoch])
        carry_x = carry_i = None
        for first, x in _windows(rows.X):
            order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
            held = 0 if carry_x is None else len(carry_x)

            def served(lo, hi):  # rows lo..hi of (carried rows + this window in order)
                xs, index = [], []
                if lo < held:
                    xs.append(carry_x[lo:min(hi, held)])
                    index.append(carry_i[lo:min(hi, held)])
                if hi > held:
                    positions = order[max(lo - held, 0):hi - held]
                    xs.append(x[positions])
                    index.append(first + positions)
                return _joined(xs), _joined(index)

            total = held + len(x)
            usable = total - total % batch_size
            for start in range(0, usable, batch_size):
                batch, part = served(start, start + batch_size)
                yield batch, rows.y.batch(part), rows.w[part]
            carry_x, carry_i = served(usable, total)
            del x  # before the next window is filled (``_windows``)
        if carry_x is not None and len(carry_x):
            yield carry_x, rows.y.batch(carry_i), rows.w[carry_i]


def _sequential_training_dataset(source, targets, sample_weight, *, batch_size, epochs, shuffle,
                                 seed, stack, augment):
    rows = _labelled_rows(source, targets, sample_weight, stack)
    return _sequential_dataset(
        rows, lambda: _sequential_batches(rows, epochs, batch_size, shuffle, seed), augment)


def _sequential_dataset(rows, batches, augment=None):
    """A ``tf.data`` pipeline of the (x, y, w) numpy batches that ``batches()`` yields
    (``augment``: training batches only; y cut as the targets' heads say). A source read in
    order is one part: parts of several inputs must be indexable, to be aligned row by row."""
    source = rows.X
    x_type, x_shape = _gathered_spec(source)
    signature = (
        tf.TensorSpec(x_shape, x_type),
        tf.TensorSpec((None,) + rows.y.row_shape, tf.as_dtype(rows.y.dtype)),
        tf.TensorSpec((None,), tf.float32),
    )
    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
    to_input = _model_input(source)
    to_targets = _model_targets(rows.y)
    dataset = dataset.map(_ops_only(lambda x, t, w: (to_input(x), to_targets(t), w)),
                          num_parallel_calls=AUTOTUNE)
    return _augmented(dataset, augment).prefetch(TRAIN_PREFETCH)


def _sequential_evaluation_batches(rows, batch_size):
    """(x, y, w) numpy batches of a source read in order, in order, made across chunk edges,
    so there are exactly ``n_batches(n, batch_size)`` of them."""
    carry, first = None, 0
    for _, chunk in rows.X.chunks(batch_size):
        x = np.asarray(chunk) if carry is None else np.concatenate([carry, np.asarray(chunk)])
        usable = len(x) - len(x) % batch_size
        for offset in range(0, usable, batch_size):
            part = slice(first + offset, first + offset + batch_size)
            yield x[offset:offset + batch_size], rows.y.batch(part), rows.w[part]
        carry, first = x[usable:], first + usable
    if carry is not None and len(carry):
        part = slice(first, first + len(carry))
        yield carry, rows.y.batch(part), rows.w[part]


def evaluation_dataset(source, targets, sample_weight, *, batch_size, stack):
    """One ordered pass of (x, y, w) batches, for validation data; ``targets`` are cast and
    cut per batch as in ``training_dataset``; the arrays are let go when ``stack`` closes. A
    source read in order is read chunk by chunk."""
    n = source.n_rows
    batch_size = _capped_batch_size(source, batch_size)
    rows = _labelled_rows(source, targets, sample_weight, stack)
    if not source.indexable:  # a known length: Keras then runs every batch, with no warning
        dataset = _sequential_dataset(
            rows, lambda: _sequential_evaluation_batches(rows, batch_size))
        return dataset.apply(tf.data.experimental.assert_cardinality(n_batches(n, batch_size)))

    def gather(batch):
        start = int(batch) * batch_size
        return _labelled_batch(rows, slice(start, min(n, start + batch_size)))

    dataset = tf.data.Dataset.range(n_batches(n, batch_size))
    dataset = dataset.map(
        _labelled_loader(gather, rows), num_parallel_calls=AUTOTUNE, deterministic=True
    )
    return dataset.prefetch(AUTOTUNE)


def prediction_batches(source, *, batch_size):
    """Ordered float32 batches of the source's rows, as the model receives them (an array for
    one unnamed part, a dict by input name for several). One batch is returned directly; more
    stream via tf.data. Wide rows get smaller batches (``MAX_EVAL_BATCH_BYTES``)."""
    n = source.n_rows
    batch_size = _capped_batch_size(source, batch_size)
    parts = source.parts
    if not source.indexable:  # one part (see ``_sequential_dataset``), read chunk by chunk
        decodes, to_input = source.graph_decoder() is not None, _model_input(source)
        for _, chunk in source.chunks(batch_size):
            yield to_input(tf.convert_to_tensor(chunk)) if decodes else chunk
        return
    if n <= batch_size and all(part.graph_decoder() is None for part in parts.values()):
        yield _structure(list(parts), list(_gather_parts(source, slice(0, n))))
        return
    rows = _Rows(X=source)

    def gather(batch):
        start = int(batch) * batch_size
        return _gather_parts(rows.X, slice(start, min(n, start + batch_size)))

    specs = _gathered_specs(source)
    to_inputs = _model_inputs(source)

    @_ops_only
    def load(batch):
        gathered = tf.numpy_function(gather, [batch], [t for t, _ in specs])
        return to_inputs([tf.ensure_shape(t, shape) for t, (_, shape) in zip(gathered, specs)])

    dataset = tf.data.Dataset.range(n_batches(n, batch_size))
    dataset = dataset.map(load, num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(AUTOTUNE)
    try:
        yield from dataset
    finally:
        rows.release()
