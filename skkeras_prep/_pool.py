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
``_compiled_epochs``, the forward function of ``_build.forward_function``), so the next fit and predict
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
learning-rate schedule is traced, so it stays in the key), and the input dtype. Every
``Sequential`` (built from a ``keras.Input`` or by the fit) and functional model whose layers
are all Keras's own (or this package's) is pooled, whether a builder returned it, it is the
clone of a ``keras.Model`` given as ``model=``, or the builder compiled it. Not pooled, each
with the reason ``pool_key`` raises (``NotPoolable``), which ``cache_info()["not_pooled"]``,
``not_pooled_reason`` and the ``skkeras_prep`` logger show: a subclassed model or a custom
layer (their config need not describe their ``call``), a ``Lambda`` (or another layer
running a function its config does not describe), a config naming a user's function or
class, a model built under a distribution strategy, ``run_eagerly``, and a model the builder
keeps (a global: ``_build`` refuses it, see ``builder_holds``).

Bounds. At most ``MAX_KEYS`` architectures (least recently used dropped first) and
``MODELS_PER_KEY`` idle models each. ``clear_cache()`` empties the pool;
``set_config(reuse_models=False)`` (or ``config_context``, both in ``_config``) turns reuse
off and, through the listener this module registers with ``_config``, empties the pool.
"""

import collections
import json
import logging
import sys
import threading
import weakref

from . import _config
from ._compat import keras_distribute_strategy, keras_layers
from ._inputs.named import structure_key

MAX_KEYS = 8
MODELS_PER_KEY = 2

_LOCK = threading.RLock()
_IDLE = collections.OrderedDict()  # key -> [model, ...], least recently used first
_LEASES = weakref.WeakKeyDictionary()  # estimator -> _Lease of the model it owns
_KEYS = weakref.WeakKeyDictionary()  # model -> its pool key (None: never pooled)


def clear_cache():
    """Let go of every idle model kept for reuse (models owned by live estimators stay
    theirs). Returns the number of models dropped."""
    with _LOCK:
        dropped = sum(len(models) for models in _IDLE.values())
        _IDLE.clear()
        _REASONS.clear()
    return dropped


def _on_config(settings):
    """``_config`` listener: turning reuse off empties the pool."""
    if not settings["reuse_models"]:
        clear_cache()


_config.on_change(_on_config)


def reusable(model):
    """Whether ``model`` goes back to the pool when its estimator is done with it."""
    return _config.get_config()["reuse_models"] and _KEYS.get(model) is not None


def cache_info():
    """``{"keys": architectures kept, "models": idle models, "not_pooled": {reason: number of
    fits}}``: why fits in this process trained a model that no later fit can reuse (the
    ``MAX_REASONS`` most recent reasons; ``clear_cache`` forgets them). The same sentences
    go to the ``skkeras_prep`` logger at INFO level, one per such fit."""
    with _LOCK:
        return {"keys": len(_IDLE), "models": sum(len(m) for m in _IDLE.values()),
                "not_pooled": dict(_REASONS)}


# -- the key -------------------------------------------------------------------------------
_POOLABLE_MODULES = ("keras", "skkeras_prep", "tensorflow")
# Keras's own layers that run a callable or a graph the config does not describe.
_OPAQUE_LAYERS = frozenset({"Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"})
MAX_REASONS = 32

LOG = logging.getLogger("skkeras_prep")
_REASONS = collections.OrderedDict()  # why fits were not pooled -> how many fits, bounded
_REASON_OF = weakref.WeakKeyDictionary()  # model -> why it is not pooled


class NotPoolable(Exception):
    """Raised inside ``pool_key`` with the reason a model cannot be reused."""


def _ours(module):
    return isinstance(module, str) and any(
        module == name or module.startswith(name + ".") for name in _POOLABLE_MODULES)


def _strip(value, names):
    """The config with layer names replaced by their position and seeds dropped."""
    if isinstance(value, dict):
        return {k: _strip(v, names) for k, v in value.items() if k != "seed"}
    if isinstance(value, (list, tuple)):
        return [_strip(v, names) for v in value]
    if isinstance(value, str):
        return names.get(value, value)
    return value


def _check_objects(value):
    """Refuse a config that names a function or class of the user's (an activation, a loss,
    an initializer...): its name does not say what it computes, so two models whose configs
    are equal could trace different graphs."""
    if isinstance(value, dict):
        kind = value.get("class_name")
        if isinstance(kind, str):
            module = value.get("module")
            if kind == "__lambda__":
                raise NotPoolable("its config holds a lambda")
            if module is not None and not _ours(module) or module is None and kind == "function":
                raise NotPoolable(f"its config names {kind} {value.get('config')!r} from module "
                                  f"{module!r}, not one of Keras's own")
        for item in value.values():
            _check_objects(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_objects(item)


def _unserialisable(value):
    raise TypeError(f"a {type(value).__name__} in its config is not JSON")


def pool_key(model):
    """The reuse key of a freshly built and compiled model. A model that cannot be reused
    raises ``NotPoolable`` with the reason."""
    import keras

    if keras_distribute_strategy(model) is not None:
        raise NotPoolable("it was built under a distribution strategy")
    if not getattr(model, "compiled", False):
        raise NotPoolable("it is not compiled")
    if getattr(model, "run_eagerly", False):
        raise NotPoolable("run_eagerly is set (nothing is traced)")
    sequential = type(model) is keras.Sequential
    functional = type(model).__name__ == "Functional" and _ours(type(model).__module__)
    if not (sequential or functional):
        raise NotPoolable(f"it is a subclassed model ({type(model).__qualname__}): its config "
                          "need not describe its call")
    layers = [layer for layer in keras_layers(model) if layer is not model]
    for layer in layers:
        kind = type(layer)
        if not _ours(kind.__module__):
            raise NotPoolable(f"it has a custom layer ({kind.__module__}.{kind.__qualname__}): "
                              "its config need not describe its call")
        if kind.__name__ in _OPAQUE_LAYERS:
            raise NotPoolable(f"it has a {kind.__name__} layer, whose config does not describe "
                              "the function it runs")
    names = {layer.name: f"<layer{i}>" for i, layer in enumerate(layers)}
    # keras.ops called on a functional model's tensors (``x + y``) are nodes of the graph
    # with names from a process-wide counter ("add_9"), like layers
    operations = [op for part in [model, *layers] for op in getattr(part, "operations", ())
                  if op.name not in names]
    names.update({op.name: f"<op{i}>" for i, op in enumerate(operations)})
    names[model.name] = "<model>"
    try:
        config = model.get_config()
        compile_config = dict(model.get_compile_config() or {})
    except (NotImplementedError, TypeError) as exc:  # what Keras raises for a config it cannot write
        raise NotPoolable(f"Keras cannot write its config ({type(exc).__name__}: {exc})") from None
    _check_objects([config, compile_config])
    config = _strip(config, names)
    compile_config.pop("steps_per_execution", None)
    optimizer = compile_config.get("optimizer")
    if isinstance(optimizer, dict) and isinstance(optimizer.get("config"), dict):
        inner = dict(optimizer["config"])
        inner.pop("name", None)  # a process-wide counter ("adam_3")
        if isinstance(inner.get("learning_rate"), float):
            inner.pop("learning_rate")
        compile_config["optimizer"] = {**optimizer, "config": inner}
    io = [None, None] if sequential else _io_names(model)  # a Sequential has one of each
    try:
        return json.dumps([config, compile_config, str(model.dtype), io], sort_keys=True,
                          default=_unserialisable)
    except (TypeError, ValueError) as exc:  # ValueError: a circular reference
        raise NotPoolable(f"its config does not serialise ({exc})") from None


def _io_names(model):
    """The names a functional model with several inputs or outputs is fed and read by: layer
    names are positions in the key, but such a model gets dict batches keyed by input name
    and its outputs are matched to the targets by name (``_dataset``, ``_targets``), so two
    models that differ only in those names must not share a key. Nothing for one input and
    output."""
    return [structure_key(model.input, model.inputs, lambda: [t.name for t in model.inputs]),
            structure_key(model.output, model.outputs,
                          lambda: getattr(model, "output_names", None))]


def _not_pooled(model, reason):
    """Record (for ``cache_info`` and the ``skkeras_prep`` logger) why ``model`` is not
    reused."""
    _REASON_OF[model] = reason
    with _LOCK:
        _REASONS[reason] = _REASONS.pop(reason, 0) + 1
        while len(_REASONS) > MAX_REASONS:
            _REASONS.popitem(last=False)
    LOG.info("This fit's model is not kept for reuse: %s.", reason)


def not_pooled_reason(model):
    """Why ``model`` is not reused by later fits (a sentence), or None if it is poolable or
    reuse was off when it was fitted."""
    return _REASON_OF.get(model)


# -- models a builder hands out more than once ---------------------------------------------
_TRAINED = weakref.WeakSet()  # every model a fit has trained


def trained_before(model):
    """Whether a fit already trained ``model``: a builder that returns the same model object
    on every call (a global). Such a model must not be trained again by another estimator."""
    return model in _TRAINED


def builder_holds(builder, model):
    """A description of where ``builder`` (a function) keeps ``model`` (a global, a closure
    cell, a default value, an argument of a ``functools.partial``), or None. A model the
    builder keeps is the user's: it is never handed to another estimator."""
    func = getattr(builder, "func", None)
    if func is not None and (any(a is model for a in getattr(builder, "args", ()))
                             or any(v is model for v in (getattr(builder, "keywords", None) or {}).values())):
        return "an argument of the functools.partial"
    func = func or builder
    for name, value in (getattr(func, "__globals__", None) or {}).items():
        if value is model:
            return f"the global {name!r}"
    for cell in getattr(func, "__closure__", None) or ():
        try:
            if cell.cell_contents is model:
                return "a variable of its enclosing function"
        except ValueError:  # an empty cell
            continue
    defaults = list(getattr(func, "__defaults__", None) or ())
    defaults += list((getattr(func, "__kwdefaults__", None) or {}).values())
    if any(value is model for value in defaults):
        return "a default argument"
    return None


def refuse(model, reason):
    """Never pool ``model`` (``reuse_or_keep`` will not key it)."""
    _not_pooled(model, reason)
    _REFUSED.add(model)


_REFUSED = weakref.WeakSet()


# -- checkout and hand-back ----------------------------------------------------------------
def reuse_or_keep(fresh):
    """The model a fit trains: a pooled model of the same architecture with ``fresh``'s state
    copied in, or ``fresh`` itself (nothing pooled, reuse turned off, not poolable: the
    reason is recorded, see ``not_pooled_reason``)."""
    if not _config.get_config()["reuse_models"]:
        _TRAINED.add(fresh)
        return fresh
    key = None
    if fresh not in _REFUSED:
        try:
            key = pool_key(fresh)
        except NotPoolable as exc:
            _not_pooled(fresh, str(exc))
    _KEYS[fresh] = key
    if key is None:
        _TRAINED.add(fresh)
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
    _TRAINED.add(fresh)
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
    import keras

    before = len(optimizer.variables)
    optimizer.build(model.trainable_variables)
    # kept as tensors (copies of the values, made once): assigning a tensor costs about half
    # of assigning an array, which is converted again at every fit
    _OPTIMIZER_START[model] = (before, [keras.ops.convert_to_tensor(v.numpy())
                                        for v in optimizer.variables[before:]])


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
        if model is None or self.key is None or not _config.get_config()["reuse_models"]:
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
