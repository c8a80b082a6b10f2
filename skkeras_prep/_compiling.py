"""Resolving the optimizer, loss, metrics and callbacks of a fit, and compiling the model.

``_build`` makes the Keras model (from a builder, a ``keras.Model`` or the default MLP);
this module turns the estimator's ``optimizer``, ``loss``, ``metrics`` and ``callbacks``
parameters and their routed ``<name>__*`` arguments into Keras objects and compiles the
model by the compiled-model rule (``compile_model``). ``make_compiled_model`` is the one
entry point of a new fit: build (``_build``), then compile (here).
"""

import copy

import keras

from ._build import build_model, copy_trained_model, estimator_builder, output_width
from ._compat import keras_compiled_metrics
from ._routing import construct, keyed_items, params_for, routed_kwargs, split_routed
from ._target_layout import default_losses, metrics_per_output, per_output, unbuilt_default_loss
from .exceptions import RoutedArgumentError


# -- the compiled model of a new fit ---------------------------------------------------------
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
        name = _snake(loss)  # "BinaryCrossentropy" and "binary_crossentropy" alike
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


def _loss_class(name):
    """The Keras loss class a string names (``"BinaryCrossentropy"``, ``"huber"``), or None."""
    return _classes_by_name(keras.losses, keras.losses.Loss).get(loss_name(name))


def resolve_loss(loss, params):
    """The loss to compile with, applying ``loss__*`` parameters. A loss class (also given by
    its class name as a string, ``"BinaryCrossentropy"``) is always instantiated, so the
    compiled model can be saved; ``loss__<arg>__<sub>`` builds a nested argument. A dict or
    list (one loss per output) is resolved entry by entry: ``loss__<arg>`` goes to each
    entry, ``loss__<key>__<arg>`` (the output name, or its position in a list) to one."""
    if isinstance(loss, (dict, list, tuple)):
        items = keyed_items(loss)
        shared, per_key = split_routed("loss", params, [k for k, _ in items])
        made = [resolve_loss(value, {**shared, **per_key.get(k, {})}) for k, value in items]
        return dict(zip(loss, made)) if isinstance(loss, dict) else made
    if isinstance(loss, type):
        if not issubclass(loss, keras.losses.Loss):
            raise TypeError(
                f"`loss` is the class {loss.__name__}, which is not a keras.losses.Loss; pass a "
                "Keras loss class, instance, name or function."
            )
        return construct(loss, routed_kwargs("loss", params), "loss")
    if isinstance(loss, str) and (params or loss[:1].isupper()):
        cls = _loss_class(loss)
        if cls is None:
            raise ValueError(
                f"loss__ parameters need a Keras loss class; {loss!r} does not name one. "
                "Pass loss as a class (e.g. keras.losses.Huber), a class name (\"Huber\") or "
                "drop the loss__ parameters."
            )
        return construct(cls, routed_kwargs("loss", params), "loss")
    if not params:
        return loss
    raise RoutedArgumentError(
        "loss__ parameters can only be applied to a loss given by name or class, not to a "
        f"{type(loss).__name__} instance; set the arguments on the instance instead."
    )


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
    """A new optimizer instance; a user's instance is copied, never reused or mutated. A name
    or class is made with the ``optimizer__*`` arguments (``optimizer__<arg>__<sub>`` builds
    a nested argument, e.g. a learning-rate schedule class)."""
    kwargs = routed_kwargs("optimizer", params)
    hint = (" Keras 3 calls `lr` `learning_rate`: use optimizer__learning_rate."
            if "lr" in kwargs else "")
    if isinstance(optimizer, keras.optimizers.Optimizer):
        config = optimizer.get_config()
        config.update(kwargs)
        try:
            return type(optimizer).from_config(config)
        except (TypeError, ValueError) as exc:  # an argument its config does not take
            raise RoutedArgumentError(
                f"Could not make {type(optimizer).__name__} from the given instance's config "
                f"and the optimizer__ arguments {sorted(kwargs)}: {exc}.{hint}"
            ) from None
    if isinstance(optimizer, type) and issubclass(optimizer, keras.optimizers.Optimizer):
        return construct(optimizer, kwargs, "optimizer", hint)
    if isinstance(optimizer, str):
        try:
            made = keras.optimizers.get(optimizer)  # a new instance, made from the name alone
        except ValueError as exc:
            raise ValueError(f"Could not make optimizer {optimizer!r}: {exc}") from None
        if not kwargs:
            # the instance is the one construct(type(made), {}) would make: keep it rather
            # than make a second (about 2 ms a fit: each creates two TensorFlow variables)
            return made
        return construct(type(made), kwargs, "optimizer", hint)
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
    items = keyed_items(callbacks)
    shared, per_key = split_routed("callbacks", params, [k for k, _ in items])
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


def _metric_aliases(items):
    """Names by which ``metrics__<name>__<arg>`` may address a metric besides its key: its
    string, or its class's snake_case name (``keras.metrics.AUC`` -> "auc")."""
    aliases = {}
    for key, metric in items:
        if isinstance(metric, str):
            aliases.setdefault(metric, key)
            aliases.setdefault(_snake(metric), key)
        elif isinstance(metric, type):
            aliases.setdefault(_snake(metric.__name__), key)
            aliases.setdefault(metric.__name__, key)
    return aliases


def resolve_metrics(metrics, params):
    """The metrics to compile with, applying ``metrics__*`` parameters (as scikeras does):
    ``metrics__<arg>`` goes to every metric given as a class or a name, and
    ``metrics__<i>__<arg>`` (list), ``metrics__<key>__<arg>`` (dict) or
    ``metrics__<name>__<arg>`` (the metric's name or class name, e.g. ``metrics__auc__num_thresholds``)
    to one. A metric that gets arguments is made from its class (a name must name a Keras
    metric class). A single metric (a name, class or object) is a list of one."""
    if metrics is None:
        if params:
            raise ValueError(
                "metrics__ parameters were given but there are no metrics; pass metrics=[...]."
            )
        return None
    if not isinstance(metrics, (list, tuple, dict)):
        metrics = [metrics]  # metrics="acc", metrics=keras.metrics.AUC()
    items = keyed_items(metrics)
    keys = [k for k, _ in items]
    aliases = _metric_aliases(items)
    renamed = {}
    for name, value in params.items():
        head, sep, arg = name.partition("__")
        if sep and head not in keys and head in aliases:
            name = f"{aliases[head]}__{arg}"
        renamed[name] = value
    shared, per_key = split_routed("metrics", renamed, keys)
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
            raise RoutedArgumentError(
                f"metrics__ parameters can only be applied to a metric given by name or "
                f"class; metric {key!r} is a {type(metric).__name__}. Set the arguments on it "
                "instead."
            )
        made.append(construct(cls, routed_kwargs("metrics", kwargs), f"metrics__{key}"))
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

            default = unbuilt_default_loss(self.encoder, lambda: output_units(self.meta)[0])
            self._kwargs = {
                "optimizer": self.optimizer(),
                "loss": self.loss(default),
                "metrics": self.metrics(),
            }
        return self._kwargs

    def optimizer(self, base="adam"):
        est_optimizer = self.est.optimizer
        return resolve_optimizer(est_optimizer if est_optimizer is not None else base,
                                 self.params["optimizer"])

    def loss(self, base, width=None, defaults=None):
        """The loss the user set (laid out on the outputs when ``width`` is known: a list
        per output, a dict naming some outputs filled from ``defaults``), else ``base`` with
        the ``loss__*`` arguments."""
        if self.est.loss is not None:
            loss = resolve_loss(self.est.loss, self.params["loss"])
            return loss if width is None else per_output(loss, width, defaults)
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
    defaults = default_losses(encoder, width)  # by output name; None for one output
    if compiled:
        loss = settings.loss(model.loss, width, defaults) if settings.user_set["loss"] else model.loss
    else:
        loss = settings.loss(encoder.default_loss(width), width, defaults)
    told = per_output(loss, width, defaults)  # a list or dict of one: that one loss
    encoder.set_output_width(width, loss_name(told), from_logits=loss_from_logits(told))
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


