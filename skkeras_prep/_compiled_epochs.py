"""All the epochs of a fit in one compiled call, when nothing needs control between epochs.

``keras.Model.fit`` returns to Python after every epoch (callbacks, progress bar, logs). On
small data, where an epoch is one or a few gradient steps, that per-epoch work costs more
than the training itself (wine, 50 epochs of one batch: about 4 ms an epoch against 1 ms of
compute). When the fit has no user callbacks, no validation data, no early stopping and no
progress output, ``run`` instead calls one ``tf.function`` that loops over the epochs and
their steps in the graph:

    for each epoch: reset the metrics; run ``model.train_step`` on each of its batches;
                    record ``model.get_metrics_result()`` (the epoch's logs); stop after an
                    epoch whose loss is NaN or infinite (as ``TerminateOnNaN`` does)

The steps are Keras's own ``train_step``, on the same batches in the same order, so the weights
and the per-epoch history are those of ``model.fit`` (tested bit for bit in
tests/test_pool.py). The number of epochs and of steps are tensors, so one trace serves every
fit of a model, whatever its batch size, row count or epochs. The function is made once per
model and kept exactly as long as the model (like ``_build.forward_function``).

Not covered (``model.fit`` runs instead): a distribution strategy, ``run_eagerly``,
``jit_compile``, and models whose class overrides ``fit`` or ``make_train_function``.
"""

import threading
import weakref

import keras
import numpy as np
import tensorflow as tf

from ._compat import keras_distribute_strategy, keras_symbolic_build

_LOOPS = weakref.WeakKeyDictionary()  # model -> {kind: its compiled epoch loop}
_LOCK = threading.Lock()


def usable(model, *, callbacks, validation, verbose):
    """Whether ``run`` can train ``model`` for this fit (see the module docstring)."""
    cls = type(model)
    return (
        not callbacks
        and validation is None
        and verbose == 0
        and keras_distribute_strategy(model) is None
        and not tf.distribute.has_strategy()
        and not getattr(model, "run_eagerly", False)
        and getattr(model, "jit_compile", False) is False
        and cls.fit is keras.Model.fit
        and cls.make_train_function is keras.Model.make_train_function
    )


def _epoch_loop(model, kind, signature=None):
    """The model's loop of this kind (one per input signature, which may hold dicts for
    several inputs or outputs), made on first use."""
    key = (kind, None if signature is None else
           tuple(keras.tree.flatten_with_path(signature)))
    with _LOCK:
        loops = _LOOPS.setdefault(model, {})
        loop = loops.get(key)
        if loop is None:
            make = _iterator_loop if kind == "iterator" else _array_loop
            loop = tf.function(make(weakref.ref(model)), autograph=False,
                               input_signature=signature)
            loops[key] = loop
    return loop


def _epochs(model, epochs, steps, next_batch):
    """The graph of the loop: ``next_batch(epoch, step)`` gives each step's (x, y, w)."""
    names = list(model.get_metrics_result())
    logs = [tf.TensorArray(tf.float32, size=epochs) for _ in names]

    def one_epoch(epoch, finite, *logs):
        model.reset_metrics()

        def one_step(step):
            outputs = model.train_step(next_batch(epoch, step))
            with tf.control_dependencies(tf.nest.flatten(outputs)):
                return step + 1

        tf.while_loop(lambda step: step < steps, one_step, [tf.constant(0, steps.dtype)])
        result = model.get_metrics_result()
        values = [tf.cast(result[name], tf.float32) for name in names]
        logs = [log.write(epoch, value) for log, value in zip(logs, values)]
        loss = values[names.index("loss")] if "loss" in names else tf.constant(0.0)
        return (epoch + 1, tf.math.is_finite(loss), *logs)

    def more(epoch, finite, *logs):
        return tf.logical_and(epoch < epochs, finite)

    start = (tf.constant(0, epochs.dtype), tf.constant(True), *logs)
    done, _, *logs = tf.while_loop(more, one_epoch, start)
    return {name: log.stack()[:done] for name, log in zip(names, logs)}


def _iterator_loop(model_ref):
    def loop(iterator, epochs, steps):
        return _epochs(model_ref(), epochs, steps, lambda epoch, step: iterator.get_next())

    return loop


def _array_loop(model_ref):
    def loop(x, y, w, order, epochs, steps, batch_size):
        n = tf.shape(order)[1]

        def next_batch(epoch, step):
            start = step * batch_size
            index = order[epoch, start:tf.minimum(n, start + batch_size)]
            return tf.nest.map_structure(lambda a: tf.gather(a, index), (x, y, w))

        return _epochs(model_ref(), epochs, steps, next_batch)

    return loop


def _finish(model, history):
    if model.optimizer is not None:
        model.optimizer.finalize_variable_values(model.trainable_weights)
    return {name: [float(v) for v in np.asarray(values)] for name, values in history.items()}


def _int(value):
    return tf.constant(int(value), tf.int32)


def run(model, dataset, *, epochs, steps_per_epoch):
    """Train ``model`` on ``dataset`` (``epochs * steps_per_epoch`` batches) in one call and
    return the history as ``model.fit`` does: ``{name: [value per epoch]}``."""
    keras_symbolic_build(model, dataset.element_spec)
    model.stop_training = False
    history = _epoch_loop(model, "iterator")(iter(dataset), _int(epochs), _int(steps_per_epoch))
    return _finish(model, history)


def run_arrays(model, batches, *, epochs, steps_per_epoch):
    """``run`` for rows held in memory (``_dataset.in_memory_batches``): each step gathers its
    batch from the whole arrays inside the graph, by the same indices the ``tf.data``
    pipeline would use, so no per-fit pipeline is traced and no Python runs per batch."""
    x, y, w, order, batch_size = batches  # x and y: an array, or a dict of them
    spec = tf.nest.map_structure(
        lambda a: tf.TensorSpec((None,) + a.shape[1:], tf.as_dtype(a.dtype)), (x, y, w))
    keras_symbolic_build(model, spec)
    model.stop_training = False
    scalar = tf.TensorSpec((), tf.int32)
    signature = spec + (tf.TensorSpec((None, None), tf.as_dtype(order.dtype)),) + (scalar,) * 3
    loop = _epoch_loop(model, "arrays", signature)
    x, y, w = tf.nest.map_structure(tf.constant, (x, y, w))
    history = loop(x, y, w, tf.constant(order), _int(epochs), _int(steps_per_epoch),
                   _int(batch_size))
    return _finish(model, history)
