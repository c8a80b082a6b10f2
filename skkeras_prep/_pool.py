"""Reuse of built, compiled and traced Keras models between fits of the same architecture.

Each fit still builds (and compiles) a fresh model: that is how its weights are initialised
from ``random_state`` (``_build.build_model``, about 10 ms on a small model, no tracing). What
costs is the first call of a new model: tracing its training step and its forward function
(about 0.2 s each fit). So when a model of the same architecture is waiting in the pool, the
fit takes that one instead and copies the fresh model's state into it:

* every variable of the model (weights, non-trainable statistics, seed-generator states), so
  the weights are exactly what the fresh build made and dropout draws the same masks;
* every variable of the optimizer: ``iterations`` and the learning rate from the fresh
  model's (unbuilt) optimizer, the slots (momenta...) from the values they had when this
  model's optimizer was first built (they depend on the weights' shapes only);
* metric states are reset and ``stop_training`` is cleared.

The traced functions stay with the model (Keras's train function, the compiled epoch loop of
``_loop``, the forward function of ``_build.forward_function``), so the next fit and predict
run them without tracing again.

Ownership. A fitted estimator owns its model for as long as it is alive: ``adopt`` (at the end
of every fit) registers a ``weakref.finalize`` on the estimator that hands the model back
when the estimator is garbage-collected or refitted from scratch. A model is only taken back
if nothing but the estimator (and the model's own internal cycles) refers to it: the number
of references is recorded when the estimator adopts it, and a model with more references at
hand-back time (``m = est.model_`` kept by the caller, a shallow copy of the estimator) is
not pooled. Two live estimators therefore never share a model.

Key. Everything that changes the traced graph: the model's config (with layer names
canonicalised and seeds removed, since seeds only decide initial values, which are copied),
the compile config (with a float learning rate removed: it is a variable, copied per fit; a
learning-rate schedule is traced, so it stays in the key), and the input dtype. Only
``Sequential`` and functional models whose layers are all Keras's own (or this package's)
are pooled: the config of a subclassed model or a custom layer need not describe its
``call``. Nothing is pooled under a distribution strategy or with ``run_eagerly``.

Bounds. At most ``MAX_KEYS`` architectures (least recently used dropped first) and
``MODELS_PER_KEY`` idle models each. ``clear_cache()`` empties the pool;
``set_config(reuse_models=False)`` (or ``config_context``) turns reuse off.
"""

import collections
import contextlib
import json
import sys
import threading
import weakref

from ._compat import keras_distribute_strategy, keras_layers

MAX_KEYS = 8
MODELS_PER_KEY = 2

_LOCK = threading.RLock()
_IDLE = collections.OrderedDict()  # key -> [model, ...], least recently used first
_LEASES = weakref.WeakKeyDictionary()  # estimator -> _Lease of the model it owns
_KEYS = weakref.WeakKeyDictionary()  # model -> its pool key (None: never pooled)
_CONFIG = {"reuse_models": True}


# -- public configuration ------------------------------------------------------------------
def get_config():
    """The package's settings, as a dict (``reuse_models``)."""
    with _LOCK:
        return dict(_CONFIG)


def set_config(reuse_models=None):
    """Change the package's settings for this process.

    Parameters
    ----------
    reuse_models : bool, default=None
        Whether a fit may reuse a traced model of the same architecture that an earlier,
        garbage-collected estimator left behind (``True`` by default; results are the same
        either way). ``False`` builds and traces a new model for every fit and empties the
        pool. None leaves the setting unchanged.
    """
    if reuse_models is not None:
        if not isinstance(reuse_models, bool):
            raise TypeError(
                f"set_config: reuse_models must be True or False; got {reuse_models!r} "
                f"({type(reuse_models).__name__})."
            )
        with _LOCK:
            _CONFIG["reuse_models"] = reuse_models
        if not reuse_models:
            clear_cache()


@contextlib.contextmanager
def config_context(reuse_models=None):
    """``set_config`` for the duration of a ``with`` block; the old settings come back after."""
    old = get_config()
    set_config(reuse_models=reuse_models)
    try:
        yield
    finally:
        set_config(**old)


def clear_cache():
    """Let go of every idle model kept for reuse (models owned by live estimators stay
    theirs). Returns the number of models dropped."""
    with _LOCK:
        dropped = sum(len(models) for models in _IDLE.values())
        _IDLE.clear()
    return dropped


def reusable(model):
    """Whether ``model`` goes back to the pool when its estimator is done with it."""
    return get_config()["reuse_models"] and _KEYS.get(model) is not None


def cache_info():
    """``{"keys": architectures kept, "models": idle models}``."""
    with _LOCK:
        return {"keys": len(_IDLE), "models": sum(len(m) for m in _IDLE.values())}


# -- the key -------------------------------------------------------------------------------
_POOLABLE_MODULES = ("keras.", "skkeras_prep.")


def _strip(value, names):
    """The config with layer names replaced by their position and seeds dropped."""
    if isinstance(value, dict):
        return {k: _strip(v, names) for k, v in value.items() if k != "seed"}
    if isinstance(value, (list, tuple)):
        return [_strip(v, names) for v in value]
    if isinstance(value, str):
        return names.get(value, value)
    return value


def pool_key(model):
    """The reuse key of a freshly built and compiled model, or None if it is not poolable."""
    import keras

    if keras_distribute_strategy(model) is not None or not getattr(model, "compiled", False):
        return None
    if getattr(model, "run_eagerly", False):
        return None
    functional = type(model) is keras.Sequential or type(model).__name__ == "Functional"
    if not functional:
        return None
    layers = [layer for layer in keras_layers(model) if layer is not model]
    if not all(type(layer).__module__.startswith(_POOLABLE_MODULES) for layer in layers):
        return None
    names = {layer.name: f"<layer{i}>" for i, layer in enumerate(layers)}
    names[model.name] = "<model>"
    try:
        config = _strip(model.get_config(), names)
        compile_config = dict(model.get_compile_config() or {})
        compile_config.pop("steps_per_execution", None)
        optimizer = compile_config.get("optimizer")
        if isinstance(optimizer, dict) and isinstance(optimizer.get("config"), dict):
            inner = dict(optimizer["config"])
            inner.pop("name", None)  # a process-wide counter ("adam_3")
            if isinstance(inner.get("learning_rate"), float):
                inner.pop("learning_rate")
            compile_config["optimizer"] = {**optimizer, "config": inner}
        return json.dumps([config, compile_config, str(model.dtype), _io_names(model)],
                          sort_keys=True, default=repr)
    except Exception:  # a config that does not serialise: build a new model every time
        return None


def _io_names(model):
    """The names a model with several inputs or outputs is fed and read by: layer names are
    positions in the key, but such a model gets dict batches keyed by input name and its
    outputs are matched to the targets by name (``_dataset``, ``_targets``), so two models
    that differ only in those names must not share a key. Nothing for one input and output."""
    names = []
    for which in ("input", "output"):
        structure, tensors = getattr(model, which), getattr(model, which + "s")
        if isinstance(structure, dict):
            names.append(["dict", list(structure)])
        elif len(tensors) > 1:
            own = (getattr(model, "output_names", None) if which == "output"
                   else [t.name for t in tensors])
            names.append(["list", list(own or [])])
        else:
            names.append(None)
    return names


# -- checkout and hand-back ----------------------------------------------------------------
def reuse_or_keep(fresh):
    """The model a fit trains: a pooled model of the same architecture with ``fresh``'s state
    copied in, or ``fresh`` itself (nothing pooled, reuse turned off, not poolable)."""
    if not get_config()["reuse_models"]:
        return fresh
    key = pool_key(fresh)
    _KEYS[fresh] = key
    if key is None:
        return fresh
    while True:
        with _LOCK:
            models = _IDLE.get(key)
            if not models:
                break
            model = models.pop()
            if not models:
                del _IDLE[key]
        if _copy_state(fresh, model):
            _KEYS[model] = key
            return model
    _remember_optimizer_start(fresh)
    return fresh


# model -> (number of optimizer variables made before ``build``, initial values of the rest)
_OPTIMIZER_START = weakref.WeakKeyDictionary()


def _remember_optimizer_start(model):
    """Build the optimizer of a model that may be pooled (``fit`` would build it now anyway)
    and keep the initial values of the variables ``build`` makes (slots: zeros for Adam,
    ``initial_accumulator_value`` for Adagrad...). They depend only on the weights' shapes,
    so a later fit of the pooled model restores them instead of building a new optimizer."""
    optimizer = model.optimizer
    if optimizer is None or optimizer.built:
        return
    before = len(optimizer.variables)
    optimizer.build(model.trainable_variables)
    _OPTIMIZER_START[model] = (before, [v.numpy() for v in optimizer.variables[before:]])


def _copy_state(fresh, model):
    """Put ``fresh``'s variables, a new optimizer's state and clean metric states into
    ``model``; False (``model`` is dropped) if their structure differs."""
    start = _OPTIMIZER_START.get(model)
    optimizer, fresh_optimizer = model.optimizer, fresh.optimizer
    if start is None or optimizer is None or fresh_optimizer is None or fresh_optimizer.built:
        return False
    before, slots = start
    targets = list(model.variables) + list(optimizer.variables)
    sources = list(fresh.variables) + list(fresh_optimizer.variables) + slots
    if len(fresh_optimizer.variables) != before or len(targets) != len(sources) or any(
        tuple(t.shape) != tuple(s.shape) for t, s in zip(targets, sources)
    ):
        return False
    for target, source in zip(targets, sources):
        target.assign(getattr(source, "value", source))
    model.reset_metrics()
    model.stop_training = False
    return True


class _Lease:
    """What an estimator owns: one model, handed back to the pool by ``release``."""

    def __init__(self, model, key):
        self.model = model
        self.key = key
        self.references = None

    def release(self, owner_holds):
        model, self.model = self.model, None
        if model is None or self.key is None or not get_config()["reuse_models"]:
            return
        # References: this frame's ``model``, getrefcount's argument; when the owner has
        # already let go of it, one fewer than when it was adopted.
        expected = self.references - (0 if owner_holds else 1)
        if sys.getrefcount(model) > expected:
            return  # someone else still uses it (m = est.model_): never hand it out
        _give_back(self.key, model)


def _give_back(key, model):
    model.history = None  # the last fit's History callback (and its logs) go
    with _LOCK:
        models = _IDLE.pop(key, [])
        if len(models) < MODELS_PER_KEY:
            models.append(model)
        _IDLE[key] = models  # most recently used last
        while len(_IDLE) > MAX_KEYS:
            _IDLE.popitem(last=False)


def _finalize(lease):
    lease.release(owner_holds=True)


def adopt(estimator, model):
    """Record, after a successful fit, that ``estimator`` owns ``model`` (already set as its
    ``model_``). A model it owned before (a refit from scratch) is handed back. The caller
    holds exactly one other reference to ``model`` (its local variable)."""
    key = _KEYS.get(model)
    with _LOCK:
        old = _LEASES.get(estimator)
    if old is not None and old.model is not model:
        old.finalizer.detach()
        old.release(owner_holds=False)
        old = None
    if old is None:
        lease = _Lease(model, key)
        lease.finalizer = weakref.finalize(estimator, _finalize, lease)
        lease.finalizer.atexit = False
        with _LOCK:
            _LEASES[estimator] = lease
    else:
        lease = old
    # What refers to the model for as long as the estimator owns it: the estimator's
    # attribute, the lease, the model's own cycles. Not counted: the caller's local variable
    # and this frame's ``model``; counted like in ``release``: getrefcount's argument.
    lease.references = sys.getrefcount(model) - 2
