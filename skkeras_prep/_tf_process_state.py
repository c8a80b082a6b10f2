"""What a fit leaves in TensorFlow's process-wide state, and its release when the fit ends.

``_training.train`` enters both context managers around ``model.fit``; ``_persistence.load``
enters ``releasing_kernel_cache`` too (a save + load + predict loop runs no fit, and each
loaded model's first predict traces a new forward function):

* ``releasing_gradient_registrations``: the gradient functions that tracing the training
  step registered globally (each holds the traced graph);
* ``releasing_kernel_cache``: the eager kernels of the fit's traced functions, kept in the
  eager context's cache.

The private TensorFlow structures are reached through ``_compat``.
"""

import contextlib
import threading

from ._compat import tf_clear_eager_kernel_cache, tf_gradient_entry_graphs, tf_gradient_registry


@contextlib.contextmanager
def releasing_gradient_registrations(model):
    """Drop, when the block ends, the gradient functions that tracing ``model``'s training
    step left in TensorFlow's gradient registry.

    Keras's TensorFlow optimizer sums gradients with ``ReplicaContext.all_reduce``, a
    ``tf.custom_gradient``; in a traced function each use registers a gradient function under
    a new name ("CustomGradient-<n>") that is never unregistered, and that function holds the
    traced graph. Every fit therefore kept its training graph (about 1.5 MB) for the life of
    the process. The registry is read only while a gradient is being traced, so an entry is
    useless once the trace that made it is done. Only entries whose graph uses this model's
    variables are removed; others' entries are left alone. Where TensorFlow has no such
    registry, nothing happens.
    """
    registry = tf_gradient_registry()
    before = set(registry) if registry is not None else set()
    try:
        yield
    finally:
        if registry is not None:
            own = {id(getattr(v, "value", v)) for v in model.variables}
            for name in [n for n in list(registry) if n not in before]:
                if name.startswith("CustomGradient-") and _uses_variables(registry.get(name), own):
                    registry.pop(name, None)


_FITS_LOCK = threading.Lock()
_fits_running = 0
# Fits of reused models (``_pool``) between two emptyings of the kernel cache. Their traced
# functions are looked up again by the next fit, so emptying after each of them made every
# fit rebuild its kernels (wine CV about 3x slower); but each fit still adds a few entries
# that are never looked up again (the fresh model's variable handles, named per variable):
# about 0.23 MB a fit over 1,000 fits when never emptied. Emptied every 50 such fits, the
# growth is bounded by a saw-tooth of about 12 MB.
REUSED_FITS_PER_EMPTYING = 50
_reused_fits = 0


@contextlib.contextmanager
def releasing_kernel_cache(reused_model=False):
    """Empty TensorFlow's eager kernel cache when the last fit running in this process ends.

    The eager context caches one kernel for each distinct op it runs, keyed by the op's
    attributes. Every fit creates new traced functions (the train step, the tf.data map
    functions), so every fit adds entries, each holding an instantiated function graph, that
    nothing ever looks up again: about 0.45 MB a fit on a small model, for the life of the
    process, with or without ``gc.collect()`` (bench/memory_cycles.py). TensorFlow removes a
    cached kernel with its function only for some ops, and offers no way to drop one entry,
    so the cache is emptied. That is only a cache: nothing computes differently, and a kernel
    that is needed again is rebuilt on its next call (once). While another
    fit of this library runs in another thread, the cache is left alone; the last fit to end
    empties it. ``load`` counts as a fit here: each loaded model's forward function adds
    kernels too. Where TensorFlow lacks the method, nothing happens. A fit of a model kept
    for reuse (``reused_model=True``) empties it only every ``REUSED_FITS_PER_EMPTYING``
    such fits (see there).
    """
    global _fits_running, _reused_fits
    with _FITS_LOCK:
        _fits_running += 1
    try:
        yield
    finally:
        with _FITS_LOCK:
            _fits_running -= 1
            _reused_fits += 1 if reused_model else REUSED_FITS_PER_EMPTYING
            if _fits_running == 0 and _reused_fits >= REUSED_FITS_PER_EMPTYING:
                _reused_fits = 0
                _clear_kernel_cache()


def _clear_kernel_cache():
    tf_clear_eager_kernel_cache()


def _uses_variables(entry, variable_ids):
    """Whether a registered gradient function belongs to a graph using these variables."""
    try:
        return any(
            id(v) in variable_ids for graph in tf_gradient_entry_graphs(entry) for v in graph.variables
        )
    except Exception:  # an unexpected layout: leave the entry where it is
        return False
