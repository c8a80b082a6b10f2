"""Building and compiling the Keras model; resolving optimizer, loss and callbacks.

``model`` may be None (the default MLP), a builder object with a ``build(meta)`` method (see
``skkeras_prep.models``), a callable returning a model, or a ``keras.Model`` instance (cloned,
never mutated). Seeds: Keras draws the default seed of each initializer, dropout, noise and
``Random*`` layer from Python's ``random`` module when the layer is created; that draw depends
on every other user of ``random`` in the process. So ``build_model`` neither seeds nor restores
``random``: after the build, ``_seeding.reseed_model`` gives each of those parts its own seed
derived from the fit's seed (see ``_seeding`` for what it covers).
"""

import copy
import inspect
import threading
import weakref

import keras
import numpy as np

from . import _pool
from ._compat import keras_compiled_metrics
from ._routing import params_for
from ._seeding import reseed_model


# -- builders ------------------------------------------------------------------------------
class Meta(dict):
    """The ``meta`` dict a builder receives. A missing key raises a ``KeyError`` that lists
    the keys there are (a plain dict would name only the missing key)."""

    def __missing__(self, key):
        raise KeyError(
            f"meta has no key {key!r}. The available keys are: {', '.join(sorted(map(str, self)))}."
        )


def _call_builder(builder, routed_model_params, meta, extras=None):
    """Call a builder function with the keyword arguments it declares: routed ``model__*``
    values, the keys of ``meta``, ``meta`` itself, and the ``extras`` (name -> a function
    making the value, called only if the builder declares the name: ``compile_kwargs``,
    ``params``)."""
    extras = dict(extras or {})
    available = dict(meta)
    available["meta"] = Meta(meta)
    available.update(routed_model_params)
    try:
        signature = inspect.signature(builder)
    except (TypeError, ValueError):
        return builder(**routed_model_params)
    params = signature.parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        available.update({name: make() for name, make in extras.items()})
        return builder(**available)
    unknown = sorted(set(routed_model_params) - set(params))
    if unknown:
        raise ValueError(
            f"model__ parameter(s) {unknown} are not arguments of the model builder "
            f"{getattr(builder, '__name__', builder)!r}{signature}. Add them to its signature "
            "or remove them."
        )
    available.update({name: make() for name, make in extras.items() if name in params})
    kwargs = {name: available[name] for name in params if name in available}
    missing = [
        name
        for name, p in params.items()
        if name not in kwargs
        and p.default is p.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if missing:
        raise ValueError(
            f"The model builder needs argument(s) {missing} that were not given. Pass them "
            f"as model__<name>=..., or use one of {sorted(available)}."
        )
    return builder(**kwargs)


def clone_keras_model(model):
    """A fresh copy of a ``keras.Model`` (same architecture, newly initialised weights)."""
    new = keras.models.clone_model(model)
    if getattr(model, "compiled", False) and model.optimizer is not None:
        optimizer = type(model.optimizer).from_config(model.optimizer.get_config())
        new.compile(optimizer=optimizer, loss=model.loss, metrics=keras_compiled_metrics(model))
    return new


def _batch_shape(input_shape):
    """``(None,) + shape`` of one input, or a dict of them for several named inputs."""
    if isinstance(input_shape, dict):
        return {name: (None,) + tuple(shape) for name, shape in input_shape.items()}
    return (None,) + tuple(input_shape)


def _zero_row(input_shape):
    if isinstance(input_shape, dict):
        return {name: np.zeros((1,) + tuple(shape), dtype="float32") for name, shape in input_shape.items()}
    return np.zeros((1,) + tuple(input_shape), dtype="float32")


def input_names(model):
    """The names the model's inputs are fed by: the keys of a dict of inputs, else the
    names of its input tensors; None where the model does not say (a subclassed model)."""
    try:
        structure = model.input
    except (AttributeError, ValueError):
        return None
    if isinstance(structure, dict):
        return list(structure)
    return [tensor.name for tensor in model.inputs]


def check_input_names(model, input_shape):
    """Refuse a model whose named inputs differ from the inputs of X, naming both lists."""
    names = input_names(model)
    if isinstance(input_shape, dict):
        if names is not None and sorted(names) != sorted(input_shape):
            raise ValueError(
                f"X has inputs {list(input_shape)}, but the model's inputs are named {names}. "
                "Key X by the model's input names (keras.Input(..., name=...) or a dict of "
                "inputs)."
            )
    elif names is not None and len(names) > 1:
        raise ValueError(
            f"The model has several inputs {names}, but X is a single array. Pass X as a dict "
            "or skkeras_prep.MultiInput keyed by those names."
        )


def copy_trained_model(model):
    """A copy of a trained ``keras.Model`` with the same weights (and compile settings), for
    ``initialize``: the user's model is never mutated."""
    new = clone_keras_model(model)
    new.set_weights(model.get_weights())
    return new


def build_model(model, routed_model_params, meta, seed, extras=None):
    """Return a new ``keras.Model`` from the ``model`` parameter, its random parts seeded
    from ``seed`` (process-wide random state is neither read for them nor changed).
    ``extras`` are the further arguments a builder function may declare (``_call_builder``)."""
    from .models import MLP

    meta = Meta({**meta, "random_seed_": int(seed)})
    if model is None and (isinstance(meta["input_shape_"], dict) or meta.get("output_names_")):
        raise ValueError(
            "The default model (skkeras_prep.models.MLP) has one input and one output; for X "
            "with several inputs or y with several targets, pass a model with named inputs "
            "and outputs (a builder returning keras.Model({name: keras.Input(...)}, "
            "{name: output})), e.g. model=my_builder."
        )
    if model is None:
        built = MLP().set_params(**routed_model_params).build(meta)
    elif isinstance(model, keras.Model):
        if routed_model_params:
            raise ValueError(
                "model__ parameters were given but `model` is a keras.Model instance, "
                "which takes no arguments. Use a builder function to make them searchable."
            )
        built = clone_keras_model(model)
    elif isinstance(model, type) and not issubclass(model, keras.Model):
        raise TypeError(
            f"`model` is the class {model.__name__}; pass an instance of a builder (e.g. "
            "MLP()), a function returning a keras.Model, or a keras.Model subclass."
        )
    elif hasattr(model, "build") and hasattr(model, "get_params"):
        from sklearn.base import clone

        builder = clone(model)
        if routed_model_params:
            builder.set_params(**routed_model_params)
        built = _owned_copy(builder.build, builder.build(meta))
    elif callable(model):
        built = _call_builder(model, routed_model_params, meta, extras)
        built = _owned_copy(model, built)
    else:
        raise TypeError(
            f"`model` must be None, a builder from skkeras_prep.models, a function "
            f"returning a keras.Model, or a keras.Model; got {type(model).__name__}."
        )
    if not isinstance(built, keras.Model):
        raise TypeError(
            f"The model builder returned {type(built).__name__}; it must return a "
            "keras.Model (for example keras.Sequential([...]))."
        )
    check_input_names(built, meta["input_shape_"])
    check_input_shape(built, meta["input_shape_"])
    if not built.built:
        built.build(_batch_shape(meta["input_shape_"]))
    if any(not layer.built for layer in built._flatten_layers()):
        # A subclassed model without a build() makes its weights on its first call; make
        # them now, so that they are reseeded too.
        built(_zero_row(meta["input_shape_"]), training=False)
    reseed_model(built, seed)
    return built


def _owned_copy(builder, built):
    """The model a builder function returned, or a fresh copy of it (new weights, its
    compile settings) when an earlier fit trained that very object (a builder returning one
    global model): two estimators never train the same model, and every fit starts from new
    weights. A model the builder keeps (a global...) is never pooled; its copies are."""
    if not isinstance(built, keras.Model):
        return built
    if _pool.trained_before(built):
        _pool.LOG.info("The model builder returned a model object an earlier fit trained; "
                       "this fit trains a new copy of it (return a new model from each call).")
        return clone_keras_model(built)
    where = _pool.builder_holds(builder, built)
    if where is not None:
        _pool.refuse(built, f"the model builder keeps the model it returns ({where}); the "
                     "pool never hands out a model the user holds")
    return built


def check_input_shape(model, input_shape):
    """Refuse a model whose declared input (``keras.Input(shape=...)``) does not take rows of
    ``input_shape``, naming both shapes; a model without a declared input is built for it."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):  # a subclassed or unbuilt Sequential model
        return
    if not inputs or len(inputs) != 1 or isinstance(input_shape, dict):
        return  # several inputs: check_input_names matches them by name
    declared = tuple(inputs[0].shape[1:])
    data = tuple(input_shape)
    if len(declared) != len(data) or any(d is not None and d != n for d, n in zip(declared, data)):
        raise ValueError(
            f"The model takes inputs of shape {declared} per row, but the rows it is given "
            f"have shape {data} (after the preprocessor). Build the model for the data: "
            "keras.Input(shape=meta['input_shape_']) in a builder (the input_shape_ "
            "argument of a builder function), or reshape X (or change the preprocessor) so "
            f"that the rows have shape {declared}."
        )


def estimator_builder(estimator, meta):
    """The ``model`` parameter, or, for a subclass in the scikeras style that defines
    ``_keras_build_fn(self, ...)``, that method bound to a shallow copy of the estimator
    on which the keys of ``meta`` are attributes (``self.n_features_in_``,
    ``self.n_classes_``, ...), so the method reads them as in scikeras while the estimator
    itself gets fitted attributes only once training succeeded. The method is called with the
    arguments it declares, like a builder function (``compile_kwargs``, ``meta``, ...)."""
    if getattr(type(estimator), "_keras_build_fn", None) is None:
        return estimator.model
    if estimator.model is not None:
        raise ValueError(
            f"{type(estimator).__name__} defines _keras_build_fn and was also given model="
            f"{type(estimator.model).__name__}; use one of them (model=None to use "
            "_keras_build_fn)."
        )
    view = copy.copy(estimator)
    vars(view).update(meta)
    return view._keras_build_fn


def make_compiled_model(estimator, routed, meta, encoder, seed, *, trained=False):
    """The compiled model of a new fit: built from the ``model`` parameter (or the subclass's
    ``_keras_build_fn``) and seeded from ``seed``; with ``trained`` (``initialize``), a copy
    of the given trained ``keras.Model``, weights kept. Compiled by ``compile_model``'s rule.
    A builder function may declare ``compile_kwargs`` (the resolved optimizer, loss and
    metrics) and ``params`` (the estimator's ``get_params()``)."""
    settings = CompileSettings(estimator, routed, encoder, meta)
    if trained:
        model = copy_trained_model(estimator.model)
    else:
        extras = {"compile_kwargs": settings.kwargs, "params": estimator.get_params}
        model = build_model(estimator_builder(estimator, meta), params_for("model", routed),
                            meta, seed, extras)
    return compile_model(model, settings, encoder, run_eagerly=estimator.run_eagerly,
                         jit_compile=estimator.jit_compile)


def output_names(model, count):
    """The names of a model's ``count`` outputs given as a list (``model.output_names``)."""
    names = list(getattr(model, "output_names", None) or [])
    return names if len(names) == count else [str(i) for i in range(count)]


def _width(shape, input_shape, name=None):
    shape = tuple(shape)
    if len(shape) != 2:
        which = "output" if name is None else f"output {name!r}"
        per_row = ""
        if not isinstance(input_shape, dict) and len(tuple(input_shape)) > 1:
            per_row = f" for rows of shape {tuple(input_shape)}"
        raise ValueError(
            f"The model's {which} has shape {shape}{per_row}; it must be (batch, width), one "
            "vector per row. Reduce the other axes before the output layer: a Flatten or "
            "GlobalAveragePooling2D layer before the last Dense layer (for images, see "
            "skkeras_prep.models.CNN)."
        )
    return int(shape[1])


def output_width(model, input_shape):
    """The width of the model's output: an int for one output tensor, or for several
    outputs a dict ``{output name: width}`` (keyed as the model's outputs are: the keys of
    a dict of outputs, else ``model.output_names``)."""
    try:
        shape = model.compute_output_shape(_batch_shape(input_shape))
    except Exception:  # some subclassed models cannot infer shapes: run one zero row
        out = model(_zero_row(input_shape))
        shape = keras.tree.map_structure(lambda t: tuple(keras.ops.shape(t)), out)
    if isinstance(shape, dict):
        return {name: _width(s, input_shape, name) for name, s in shape.items()}
    if isinstance(shape, list) or (shape and isinstance(shape[0], (tuple, list))):
        names = output_names(model, len(shape))
        return {name: _width(s, input_shape, name) for name, s in zip(names, shape)}
    return _width(shape, input_shape)


_FORWARD_FUNCTIONS = weakref.WeakKeyDictionary()  # model -> its traced forward function
_FORWARD_LOCK = threading.Lock()


def forward_function(model, input_shape):
    """``model(x, training=False)`` as a TensorFlow function for float32 batches.

    Made on first use for each model and kept exactly as long as the model lives (the cache
    holds the model weakly, and the function reaches it only through a weak reference), so
    estimators, pickles and saved files never hold it. Traced on its first call (about
    25 ms); after that a call costs about 0.3 ms, against 1.5 ms for an eager call and
    30-70 ms for ``model.predict``.
    """
    with _FORWARD_LOCK:
        forward = _FORWARD_FUNCTIONS.get(model)
        if forward is None:
            import tensorflow as tf

            spec = keras.tree.map_shape_structure(
                lambda shape: tf.TensorSpec(shape, tf.float32), _batch_shape(input_shape)
            )
            model_ref = weakref.ref(model)
            forward = tf.function(
                lambda x: model_ref()(x, training=False), input_signature=[spec], autograph=False
            )
            _FORWARD_FUNCTIONS[model] = forward
    return forward


# -- optimizer, loss, callbacks ------------------------------------------------------------
_LOSS_ALIASES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "bce": "binary_crossentropy",
}


def _snake(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def loss_name(loss):
    """A normalised snake_case name for a loss string, class, instance or function (a dict
    of them, for a loss per output)."""
    if loss is None:
        return None
    if isinstance(loss, dict):
        return {key: loss_name(value) for key, value in loss.items()}
    if isinstance(loss, (list, tuple)):  # one loss per output, in output order
        return [loss_name(value) for value in loss]
    if isinstance(loss, str):
        name = loss.lower()
    elif isinstance(loss, type):
        name = _snake(loss.__name__)
    elif isinstance(loss, keras.losses.Loss):
        name = _snake(type(loss).__name__)
    else:
        name = getattr(loss, "__name__", "")
    return _LOSS_ALIASES.get(name, name)


def _classes_by_name(module, base):
    """The public subclasses of ``base`` in a Keras module, by snake_case name."""
    return {
        _snake(obj.__name__): obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, base)
    }


def resolve_loss(loss, params):
    """The loss to compile with, applying ``loss__*`` parameters. A loss class is always
    instantiated (with or without parameters), so the compiled model can be saved. A dict
    (one loss per output) is resolved entry by entry; ``loss__*`` apply to each of them."""
    if isinstance(loss, dict):
        return {key: resolve_loss(value, params) for key, value in loss.items()}
    if isinstance(loss, type):
        if not issubclass(loss, keras.losses.Loss):
            raise TypeError(
                f"`loss` is the class {loss.__name__}, which is not a keras.losses.Loss; pass a "
                "Keras loss class, instance, name or function."
            )
        return loss(**params)
    if not params:
        return loss
    if isinstance(loss, str):
        cls = _classes_by_name(keras.losses, keras.losses.Loss).get(loss_name(loss))
        if cls is None:
            raise ValueError(
                f"loss__ parameters need a Keras loss class; {loss!r} does not name one. "
                "Pass loss as a class (e.g. keras.losses.Huber) or drop the loss__ parameters."
            )
        return cls(**params)
    raise ValueError(
        "loss__ parameters can only be applied to a loss given by name or class, not to a "
        f"{type(loss).__name__} instance; set the arguments on the instance instead."
    )


def metrics_per_output(metrics, width):
    """The metrics to compile with. For several outputs (``width`` a dict by output name), a
    list applies to every output, each getting its own copies; a dict (by output name) is
    passed as it is."""
    if metrics is None or isinstance(metrics, dict):
        return metrics
    if not isinstance(width, dict):
        return list(metrics)
    return {name: [copy.deepcopy(m) for m in metrics] for name in width}


def _metric_instance(metric):
    """A metric class instantiated, as a loss class is, so that the compiled model can be
    saved and pickled (Keras keeps a class in its compile config and cannot serialize it);
    lists (one per output) element-wise; anything else as it is."""
    if isinstance(metric, type):
        if not issubclass(metric, keras.metrics.Metric):
            raise TypeError(
                f"metrics holds the class {metric.__name__}, which is not a "
                "keras.metrics.Metric; pass Keras metric classes, instances, names or "
                "functions."
            )
        return metric()
    if isinstance(metric, (list, tuple)):
        return [_metric_instance(m) for m in metric]
    return metric


def resolve_optimizer(optimizer, params):
    """A new optimizer instance; a user's instance is copied, never reused or mutated."""
    if isinstance(optimizer, keras.optimizers.Optimizer):
        config = optimizer.get_config()
        config.update(params)
        return type(optimizer).from_config(config)
    if isinstance(optimizer, type) and issubclass(optimizer, keras.optimizers.Optimizer):
        return optimizer(**params)
    if isinstance(optimizer, str):
        try:
            return keras.optimizers.get({"class_name": optimizer, "config": dict(params)})
        except (ValueError, TypeError) as exc:
            hint = (" Keras 3 calls `lr` `learning_rate`: use optimizer__learning_rate."
                    if "lr" in params else "")
            raise ValueError(
                f"Could not make optimizer {optimizer!r} with optimizer__ parameters "
                f"{params}: {exc}.{hint}"
            ) from None
    raise TypeError(
        f"`optimizer` must be a name like 'adam', a keras optimizer class or instance; got "
        f"{type(optimizer).__name__}."
    )


def _keyed_items(objects):
    """(key, object) pairs of a list, tuple or dict of objects (a single object: key "0")."""
    if isinstance(objects, dict):
        return [(str(k), v) for k, v in objects.items()]
    if isinstance(objects, (list, tuple)):
        return [(str(i), v) for i, v in enumerate(objects)]
    return [("0", objects)]


def _split_routed(prefix, params, keys):
    """``<prefix>__<arg>`` values shared by every object, and ``<prefix>__<key>__<arg>``
    values per key; an unknown key is refused."""
    shared = {k: v for k, v in params.items() if "__" not in k}
    per_key = {}
    for key, value in params.items():
        if "__" in key:
            head, _, arg = key.partition("__")
            per_key.setdefault(head, {})[arg] = value
    unknown = set(per_key) - set(keys)
    if unknown:
        raise ValueError(
            f"{prefix}__ parameters address {sorted(unknown)}, but the {prefix} are keyed "
            f"{list(keys)}."
        )
    return shared, per_key


def resolve_callbacks(callbacks, params):
    """New callback instances: classes are instantiated with ``callbacks__*`` parameters,
    instances are deep-copied, so fits never share callback state.

    ``callbacks__<i>__<arg>`` (list) or ``callbacks__<key>__<arg>`` (dict) address one
    callback; ``callbacks__<arg>`` applies to every callback given as a class.
    """
    if callbacks is None:
        if params:
            raise ValueError("callbacks__ parameters were given but `callbacks` is None.")
        return []
    items = _keyed_items(callbacks)
    shared, per_key = _split_routed("callbacks", params, [k for k, _ in items])
    made = []
    for key, cb in items:
        kwargs = {**shared, **per_key.get(key, {})}
        if isinstance(cb, type):
            if not issubclass(cb, keras.callbacks.Callback):
                raise TypeError(
                    f"Callback {key!r} is the class {cb.__name__}, which is not a "
                    "keras.callbacks.Callback; pass Keras callback classes or instances."
                )
            made.append(cb(**kwargs))
        elif isinstance(cb, keras.callbacks.Callback):
            if per_key.get(key):
                raise ValueError(
                    f"callbacks__{key}__ parameters need callback {key} to be a class; it is "
                    "an instance. Pass the class, or set the arguments on the instance."
                )
            made.append(copy.deepcopy(cb))
        else:
            raise TypeError(
                f"Callback {key!r} is a {type(cb).__name__}; pass keras.callbacks.Callback "
                "instances or classes."
            )
    return made


def resolve_metrics(metrics, params):
    """The metrics to compile with, applying ``metrics__*`` parameters (as scikeras does):
    ``metrics__<arg>`` goes to every metric given as a class or a name, and
    ``metrics__<i>__<arg>`` (list) or ``metrics__<key>__<arg>`` (dict) to one. A metric that
    gets arguments is made from its class (a name must name a Keras metric class)."""
    if metrics is None:
        if params:
            raise ValueError(
                "metrics__ parameters were given but there are no metrics; pass metrics=[...]."
            )
        return None
    items = _keyed_items(metrics)
    shared, per_key = _split_routed("metrics", params, [k for k, _ in items])
    made = []
    for key, metric in items:
        kwargs = {**shared, **per_key.get(key, {})}
        if not kwargs:
            made.append(_metric_instance(metric))
            continue
        cls = metric
        if isinstance(metric, str):
            cls = _classes_by_name(keras.metrics, keras.metrics.Metric).get(_snake(metric).lower())
            if cls is None:
                raise ValueError(
                    f"metrics__ parameters need a Keras metric class; {metric!r} does not name "
                    "one. Pass the metric as a class (e.g. keras.metrics.AUC)."
                )
        if not (isinstance(cls, type) and issubclass(cls, keras.metrics.Metric)):
            raise ValueError(
                f"metrics__ parameters can only be applied to a metric given by name or "
                f"class; metric {key!r} is a {type(metric).__name__}. Set the arguments on it "
                "instead."
            )
        made.append(cls(**kwargs))
    if isinstance(metrics, dict):
        return dict(zip(metrics, made))
    return made


def loss_from_logits(loss):
    """Whether a loss reads logits (``from_logits=True`` in a Keras loss object's config); a
    dict of them by output name for a dict of losses (one per output)."""
    if isinstance(loss, dict):
        return {key: loss_from_logits(value) for key, value in loss.items()}
    if isinstance(loss, keras.losses.Loss):
        try:
            return bool(loss.get_config().get("from_logits", False))
        except (NotImplementedError, TypeError):
            return bool(getattr(loss, "from_logits", False))
    return False


# -- compiling -------------------------------------------------------------------------------
class CompileSettings:
    """The estimator's optimizer, loss and metrics for one fit, and which of them the user set.

    ``optimizer=None`` means adam and ``loss=None`` the target's default loss; a setting counts
    as set when its parameter is not None or any of its routed ``<name>__*`` parameters is
    given. ``kwargs()`` is what a builder declaring ``compile_kwargs`` receives: a dict with
    the resolved ``optimizer``, ``loss`` and ``metrics``, made once per fit."""

    def __init__(self, estimator, routed, encoder, meta):
        self.est, self.encoder, self.meta = estimator, encoder, meta
        self.params = {name: params_for(name, routed) for name in ("optimizer", "loss", "metrics")}
        self.user_set = {
            name: getattr(estimator, name) is not None or bool(self.params[name])
            for name in ("optimizer", "loss", "metrics")
        }
        self._kwargs = None

    def kwargs(self):
        if self._kwargs is None:
            from .models import output_units

            # Several outputs: each head's default loss, as for a model of the default widths.
            several = getattr(self.encoder, "several_outputs", False)
            width = None if several else output_units(self.meta)[0]
            self._kwargs = {
                "optimizer": self.optimizer(),
                "loss": self.loss(self.encoder.default_loss(width)),
                "metrics": self.metrics(),
            }
        return self._kwargs

    def optimizer(self, base="adam"):
        est_optimizer = self.est.optimizer
        return resolve_optimizer(est_optimizer if est_optimizer is not None else base,
                                 self.params["optimizer"])

    def loss(self, base):
        if self.est.loss is not None:
            return resolve_loss(self.est.loss, self.params["loss"])
        if isinstance(base, keras.losses.Loss) and self.params["loss"]:
            config = base.get_config()
            config.update(self.params["loss"])
            return type(base).from_config(config)
        return resolve_loss(base, self.params["loss"])

    def metrics(self, base=None):
        est_metrics = self.est.metrics
        metrics = est_metrics if est_metrics is not None else base
        if isinstance(metrics, (list, tuple)):
            metrics = list(metrics)
        return resolve_metrics(metrics, self.params["metrics"])


def compile_model(model, settings, encoder, *, run_eagerly=None, jit_compile=None):
    """Compile ``model`` by the rule of docs/DESIGN.md ("A compiled model keeps what the user
    did not set"), and tell ``encoder`` the output width, the loss and whether it reads logits.

    An uncompiled model is compiled with the estimator's optimizer (None: adam), loss (None:
    the target's default) and metrics. A model the builder compiled keeps its own optimizer,
    loss and metrics, except each one the user set (the parameter, or any of its routed
    ``optimizer__*``, ``loss__*``, ``metrics__*``): that one replaces the model's, and the
    model is recompiled. ``optimizer__*`` / ``loss__*`` alone apply to the model's own
    optimizer or loss. ``run_eagerly`` and ``jit_compile`` apply when not None.
    """
    width = output_width(model, settings.meta["input_shape_"])
    compiled = getattr(model, "compiled", False)
    if compiled:
        loss = settings.loss(model.loss) if settings.user_set["loss"] else model.loss
    else:
        loss = settings.loss(encoder.default_loss(width))
    encoder.set_output_width(width, loss_name(loss), from_logits=loss_from_logits(loss))
    flags = {}
    if run_eagerly is not None:
        flags["run_eagerly"] = bool(run_eagerly)
    if jit_compile is not None:
        flags["jit_compile"] = jit_compile
    if not compiled:
        model.compile(optimizer=settings.optimizer(), loss=loss,
                      metrics=metrics_per_output(settings.metrics(), width), **flags)
    elif any(settings.user_set.values()):
        optimizer = model.optimizer
        if settings.user_set["optimizer"]:
            optimizer = settings.optimizer(base=model.optimizer)
        metrics = keras_compiled_metrics(model)
        if settings.user_set["metrics"]:
            metrics = metrics_per_output(settings.metrics(base=metrics), width)
        current = {"run_eagerly": model.run_eagerly, "jit_compile": model.jit_compile}
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics, **{**current, **flags})
    else:
        for name, value in flags.items():
            setattr(model, name, value)
    return model


