"""Building the Keras model (compiling it and resolving optimizer, loss and metrics: ``_compiling``).

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
from ._inputs.named import check_model_inputs, input_names_of, map_inputs
from ._seeding import reseed_model
from ._target_layout import named_outputs, one_output, output_widths
from .exceptions import RoutedArgumentError


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
        raise RoutedArgumentError(
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
        raise RoutedArgumentError(
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
    """``(None,) + shape`` of each input."""
    return map_inputs(lambda shape: (None,) + tuple(shape), input_shape)


def _zero_row(input_shape):
    return map_inputs(lambda shape: np.zeros((1,) + tuple(shape), dtype="float32"), input_shape)


def is_model_instance(model):
    """Whether the ``model`` parameter is a ``keras.Model`` instance (not a builder)."""
    return isinstance(model, keras.Model)


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
    meta = Meta({**meta, "random_seed_": int(seed)})
    _check_builder_fits_structure(model, meta)
    built = _model_from_parameter(model, routed_model_params, meta, extras)
    if not isinstance(built, keras.Model):
        raise TypeError(
            f"The model builder returned {type(built).__name__}; it must return a "
            "keras.Model (for example keras.Sequential([...]))."
        )
    check_model_inputs(built, meta["input_shape_"])
    if not built.built:
        built.build(_batch_shape(meta["input_shape_"]))
    if any(not layer.built for layer in built._flatten_layers()):
        # A subclassed model without a build() makes its weights on its first call; make
        # them now, so that they are reseeded too.
        built(_zero_row(meta["input_shape_"]), training=False)
    reseed_model(built, seed)
    return built


def _check_builder_fits_structure(model, meta):
    """Refuse the package's one-input, one-output builders for several inputs or outputs."""
    from .models import CNN, MLP, KerasApplication

    named = input_names_of(meta["input_shape_"]) is not None or named_outputs(meta)
    if named and (model is None or isinstance(model, (MLP, CNN, KerasApplication))):
        which = ("The default model (skkeras_prep.models.MLP)" if model is None
                 else f"The builder {type(model).__name__} (skkeras_prep.models)")
        raise ValueError(
            f"{which} has one input and one output; for X with several inputs or y with "
            "several targets, pass a model with named inputs and outputs (a builder "
            "returning keras.Model({name: keras.Input(...)}, {name: output})), e.g. "
            "model=my_builder. To keep this builder, pass one X (e.g. the inputs side by "
            "side: np.hstack) and one target."
        )


def _model_from_parameter(model, routed_model_params, meta, extras):
    """What the ``model`` parameter makes: the default ``MLP``'s model, a clone of a
    ``keras.Model``, a builder's or a builder function's model (not yet checked to be a
    ``keras.Model``)."""
    from .models import MLP

    if model is None:
        return MLP().set_params(**routed_model_params).build(meta)
    if isinstance(model, keras.Model):
        if routed_model_params:
            raise RoutedArgumentError(
                "model__ parameters were given but `model` is a keras.Model instance, "
                "which takes no arguments. Use a builder function to make them searchable."
            )
        return clone_keras_model(model)
    if isinstance(model, type) and not issubclass(model, keras.Model):
        raise TypeError(
            f"`model` is the class {model.__name__}; pass an instance of a builder (e.g. "
            "MLP()), a function returning a keras.Model, or a keras.Model subclass."
        )
    if hasattr(model, "build") and hasattr(model, "get_params"):
        from sklearn.base import clone

        builder = clone(model)
        if routed_model_params:
            builder.set_params(**routed_model_params)
        return _owned_copy(builder.build, builder.build(meta))
    if callable(model):
        return _owned_copy(model, _call_builder(model, routed_model_params, meta, extras))
    raise TypeError(
        f"`model` must be None, a builder from skkeras_prep.models, a function "
        f"returning a keras.Model, or a keras.Model; got {type(model).__name__}."
    )


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


def output_names(model, count):
    """The names of a model's ``count`` outputs given as a list (``model.output_names``)."""
    names = list(getattr(model, "output_names", None) or [])
    return names if len(names) == count else [str(i) for i in range(count)]


def _width(shape, input_shape, name=None):
    shape = tuple(shape)
    if len(shape) != 2:
        which = "output" if name is None else f"output {name!r}"
        per_row = ""  # the row shapes, when an input's rows have several axes (images)
        if max(keras.tree.flatten(keras.tree.map_shape_structure(len, input_shape))) > 1:
            per_row = f" for rows of shape {keras.tree.map_shape_structure(tuple, input_shape)}"
        raise ValueError(
            f"The model's {which} has shape {shape}{per_row}; it must be (batch, width), one "
            "vector per row. Reduce the other axes before the output layer: a Flatten or "
            "GlobalAveragePooling2D layer before the last Dense layer (for images, see "
            "skkeras_prep.models.CNN)."
        )
    return int(shape[1])


def output_width(model, input_shape):
    """The width of the model's output: an int for one output tensor (or a list or dict of
    one), or for several outputs a dict ``{output name: width}`` (keyed as the model's
    outputs are: the keys of a dict of outputs, else ``model.output_names``)."""
    try:
        shape = model.compute_output_shape(_batch_shape(input_shape))
    except Exception:  # some subclassed models cannot infer shapes: run one zero row
        out = model(_zero_row(input_shape))
        shape = keras.tree.map_structure(lambda t: tuple(keras.ops.shape(t)), out)
    return output_widths(shape, lambda s, name=None: _width(s, input_shape, name),
                         lambda count: output_names(model, count))


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
                lambda x: one_output(model_ref()(x, training=False)), input_signature=[spec],
                autograph=False,
            )
            _FORWARD_FUNCTIONS[model] = forward
    return forward
