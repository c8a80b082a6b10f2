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

from ._compat import keras_compiled_metrics
from ._seeding import reseed_model


# -- builders ------------------------------------------------------------------------------
def _call_builder(builder, routed_model_params, meta):
    """Call a builder function with the keyword arguments it declares."""
    available = dict(meta)
    available["meta"] = dict(meta)
    available.update(routed_model_params)
    try:
        signature = inspect.signature(builder)
    except (TypeError, ValueError):
        return builder(**routed_model_params)
    params = signature.parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return builder(**available)
    unknown = sorted(set(routed_model_params) - set(params))
    if unknown:
        raise ValueError(
            f"model__ parameter(s) {unknown} are not arguments of the model builder "
            f"{getattr(builder, '__name__', builder)!r}{signature}. Add them to its signature "
            "or remove them."
        )
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


def build_model(model, routed_model_params, meta, seed):
    """Return a new ``keras.Model`` from the ``model`` parameter, its random parts seeded
    from ``seed`` (process-wide random state is neither read for them nor changed)."""
    from .models import MLP

    meta = {**meta, "random_seed_": int(seed)}
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
        built = builder.build(meta)
    elif callable(model):
        built = _call_builder(model, routed_model_params, meta)
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
    if not built.built:
        built.build(_batch_shape(meta["input_shape_"]))
    if any(not layer.built for layer in built._flatten_layers()):
        # A subclassed model without a build() makes its weights on its first call; make
        # them now, so that they are reseeded too.
        built(_zero_row(meta["input_shape_"]), training=False)
    reseed_model(built, seed)
    return built


def output_names(model, count):
    """The names of a model's ``count`` outputs given as a list (``model.output_names``)."""
    names = list(getattr(model, "output_names", None) or [])
    return names if len(names) == count else [str(i) for i in range(count)]


def _width(shape, name=None):
    shape = tuple(shape)
    if len(shape) != 2:
        which = "output" if name is None else f"output {name!r}"
        raise ValueError(
            f"The model's {which} has shape {shape}; it must be (batch, width). Add a "
            "Flatten or Dense layer at the end."
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
        return {name: _width(s, name) for name, s in shape.items()}
    if isinstance(shape, list) or (shape and isinstance(shape[0], (tuple, list))):
        names = output_names(model, len(shape))
        return {name: _width(s, name) for name, s in zip(names, shape)}
    return _width(shape)


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
    if isinstance(loss, str):
        name = loss.lower()
    elif isinstance(loss, type):
        name = _snake(loss.__name__)
    elif isinstance(loss, keras.losses.Loss):
        name = _snake(type(loss).__name__)
    else:
        name = getattr(loss, "__name__", "")
    return _LOSS_ALIASES.get(name, name)


def _loss_classes():
    return {
        _snake(obj.__name__): obj
        for obj in vars(keras.losses).values()
        if isinstance(obj, type) and issubclass(obj, keras.losses.Loss)
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
        cls = _loss_classes().get(loss_name(loss))
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
            raise ValueError(
                f"Could not make optimizer {optimizer!r} with optimizer__ parameters "
                f"{params}: {exc}"
            ) from None
    raise TypeError(
        f"`optimizer` must be a name like 'adam', a keras optimizer class or instance; got "
        f"{type(optimizer).__name__}."
    )


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
    if isinstance(callbacks, dict):
        items = list(callbacks.items())
    elif isinstance(callbacks, (list, tuple)):
        items = [(str(i), cb) for i, cb in enumerate(callbacks)]
    else:
        items = [("0", callbacks)]
    shared = {k: v for k, v in params.items() if "__" not in k}
    per_key = {}
    for key, value in params.items():
        if "__" in key:
            head, _, arg = key.partition("__")
            per_key.setdefault(head, {})[arg] = value
    unknown = set(per_key) - {k for k, _ in items}
    if unknown:
        raise ValueError(
            f"callbacks__ parameters address {sorted(unknown)}, but the callbacks are keyed "
            f"{[k for k, _ in items]}."
        )
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
