"""Keras objects and classes in the estimator's parameters, as a file stores them, and
their resolution on load.

On save, Keras models, objects and classes in the parameters become small JSON-able marks
(``encode_params``): a model is an index into the file's ``params/<i>.keras`` entries, an
object is its Keras config, and a class is a reference by module, name and registered name.
On load (``decode``), a class reference resolves only to a public Keras class, a class
registered with ``keras.saving.register_keras_serializable`` or one of the caller's
``custom_objects``, of the kinds its place allows (``resolve_class``); no module named in the
file is imported. Callbacks and classes whose arguments name paths or addresses need
``trusted=``. A Keras object is rebuilt from its config with ``safe_mode=True``.
"""

import contextlib
import inspect
import json
import re

import keras

from . import path_values as _path_values
from . import schema as _schema
from .errors import refused
from .limits import check_parameter_count, parse_json
from .trusted import type_name

# The marks written in place of Keras models, objects and classes (names in files: never change)
_MODEL_MARK = "__skkeras_prep_keras_model__"
_OBJECT_MARK = "__skkeras_prep_keras_object__"
_CLASS_MARK = "__skkeras_prep_keras_class__"
_KERAS_FUNCTION_PARAMS = ("loss", "metrics")  # plain functions here are Keras losses/metrics

# Places in the parameters (the name before the first "__") and the kinds of Keras class a
# class reference there may name. Any other place needs ``trusted=``.
_PLACE_KINDS = {
    "loss": ("losses",),
    "metrics": ("metrics", "losses"),
    "optimizer": ("optimizers", "schedules"),
    "model": ("initializers", "layers", "regularizers", "constraints"),
    "callbacks": ("callbacks",),
    "augmentation": ("layers",),
}
_ALWAYS_TRUSTED_ONLY = ("Lambda", "TFSMLayer")  # run code or load graphs from a path
_PATH_ARGUMENT = re.compile(r"path|dir|file|url|root|host|address|uri", re.IGNORECASE)


def kind_modules():
    """kind -> (public Keras module, base class)."""
    return {
        "losses": (keras.losses, keras.losses.Loss),
        "metrics": (keras.metrics, keras.metrics.Metric),
        "optimizers": (keras.optimizers, keras.optimizers.Optimizer),
        "schedules": (keras.optimizers.schedules,
                      keras.optimizers.schedules.LearningRateSchedule),
        "initializers": (keras.initializers, keras.initializers.Initializer),
        "layers": (keras.layers, keras.layers.Layer),
        "regularizers": (keras.regularizers, keras.regularizers.Regularizer),
        "constraints": (keras.constraints, keras.constraints.Constraint),
        "callbacks": (keras.callbacks, keras.callbacks.Callback),
    }


def _keras_bases():
    return tuple(base for kind, (_, base) in kind_modules().items() if kind != "callbacks")


def _is_keras_class(value):
    bases = _keras_bases() + (keras.callbacks.Callback,)
    return isinstance(value, type) and issubclass(value, bases)


def _encode(value, models, keras_functions=False):
    """``value`` with Keras models, objects and classes replaced by small JSON-able marks."""
    if isinstance(value, keras.Model):
        models.append(value)
        return {_MODEL_MARK: len(models) - 1}
    if isinstance(value, _keras_bases()) or (
        keras_functions and callable(value) and not isinstance(value, type)
    ):
        return {_OBJECT_MARK: _keras_config(value)}
    if _is_keras_class(value):
        return {_CLASS_MARK: {"module": value.__module__, "name": value.__qualname__,
                              "registered": keras.saving.get_registered_name(value)}}
    if type(value) in (list, tuple):
        return type(value)(_encode(v, models, keras_functions) for v in value)
    if type(value) is dict:
        return {k: _encode(v, models, keras_functions) for k, v in value.items()}
    return value


def _keras_config(value):
    try:
        return json.dumps(keras.saving.serialize_keras_object(value))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"Cannot save the Keras object {value!r} in the estimator's parameters: {exc}. "
            "Give custom Keras objects a get_config() method and decorate them with "
            "@keras.saving.register_keras_serializable()."
        ) from exc


def encode_params(params, models):
    return {
        name: _encode(value, models, keras_functions=name in _KERAS_FUNCTION_PARAMS)
        for name, value in params.items()
    }


def custom_objects_hint(exc):
    return (
        f"{exc} Custom Keras objects (layers, losses, metrics, ...) load when they are "
        "decorated with @keras.saving.register_keras_serializable() and imported before "
        "loading, or when passed as skkeras_prep.load(path, custom_objects={'Name': Name})."
    )


def _takes_paths(cls):
    """Whether the class's constructor has arguments naming paths, files or addresses."""
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return True
    return any(_PATH_ARGUMENT.search(name) for name in params)


def _needs_opt_in(cls, kind, arguments_known=False):
    """Whether rebuilding ``cls`` needs ``trusted=``. With ``arguments_known`` (a Keras config
    whose arguments are checked against the path table), the table's layers do not."""
    return (kind == "callbacks" or cls.__name__ in _ALWAYS_TRUSTED_ONLY
            or (cls.__name__ in _path_values.KERAS_PATH_ARGUMENTS and not arguments_known)
            or issubclass(cls, keras.callbacks.Callback) or _takes_paths(cls))


def _place(where):
    """'loss' for params['loss__delta'] style entries; the name before the first '__'."""
    return where.split("'")[1].partition("__")[0] if "'" in where else ""


def public_name(cls, kind):
    """``keras.callbacks.EarlyStopping`` for a public Keras class, else module.qualname."""
    public = kind_modules()[kind][0]
    if getattr(public, cls.__name__, None) is cls:
        return f"{public.__name__}.{cls.__name__}"
    return type_name(cls)


def _check_mark_fields(mark, where):
    if type(mark) is not dict or not {"module", "name"} <= set(mark):
        raise refused(where, "a class reference must be a mapping with 'module' and 'name'")
    registered = mark.get("registered")
    if not all(isinstance(mark[k], str) for k in ("module", "name")) or not (
        registered is None or isinstance(registered, str)
    ):
        raise refused(where, "the fields of a class reference must be strings")
    if not mark["name"].isidentifier():
        raise refused(
            where, f"the class name {mark['name']!r} is not a plain name (dotted attribute "
            "chains are never followed)")
    return mark["module"], mark["name"], registered


def resolve_class(mark, where, custom_objects=None, trusted=frozenset()):
    """The Keras class a file's class reference names, or a ValueError naming ``where``.

    Only public Keras classes (``keras.<kind>.<Name>``), classes registered with
    ``keras.saving.register_keras_serializable`` and ``custom_objects`` are found; no module
    named in the file is imported. The class must be of a kind the place allows; callbacks
    and classes taking paths or addresses also need their name in ``trusted``.
    """
    module, name, registered = _check_mark_fields(mark, where)
    place = _place(where)
    kinds = _PLACE_KINDS.get(place, tuple(kind_modules()))
    modules = kind_modules()
    found = None
    if registered and ">" in registered:  # a class registered by the user's code
        found = keras.saving.get_registered_object(registered, custom_objects=custom_objects)
    if found is None and custom_objects:
        found = custom_objects.get(name)
    if found is None:
        for kind in kinds:
            public = modules[kind][0]
            if not name.startswith("_") and name in dir(public):
                found = getattr(public, name)
                break
    kind = next((k for k in kinds if isinstance(found, type)
                 and issubclass(found, modules[k][1])), None)
    if kind is None:
        allowed = ", ".join(f"keras.{k}" for k in kinds)
        raise refused(
            where, f"the class {module}.{name} is not a public or registered Keras class of "
            f"the kinds allowed there ({allowed}). " + custom_objects_hint("").strip())
    shown = public_name(found, kind)
    if (place not in _PLACE_KINDS or _needs_opt_in(found, kind)) and not (
        shown in trusted or type_name(found) in trusted
    ):
        what = ("a callback" if issubclass(found, keras.callbacks.Callback)
                else "a class whose arguments can name files, paths or addresses"
                if place in _PLACE_KINDS else "a class in a place that holds no Keras class")
        raise refused(
            where, f"{shown} is {what}; such classes are not rebuilt from a file unless "
            f"you opt in: skkeras_prep.load(path, trusted=[{shown!r}]), only for a file "
            "you trust")
    return found


def _object_classes(config, where):
    """Check the class names inside a Keras object config: nothing that needs opting in."""
    modules = kind_modules()
    for item in _schema.dicts(config):
        name = item.get("class_name")
        if isinstance(name, str) and name.isidentifier():
            for _, (public, base) in modules.items():
                cls = getattr(public, name, None) if not name.startswith("_") else None
                if isinstance(cls, type) and issubclass(cls, base) and (
                    _needs_opt_in(cls, None, arguments_known=True)
                ):
                    raise refused(
                        where, f"it holds a {name} object; a Keras object in the "
                        "parameters may not be a callback or take paths or addresses")


def _decode_object(config, where, custom_objects, trusted, limits):
    if not isinstance(config, str):
        raise refused(where, "a Keras object must be stored as a JSON string")
    parsed = parse_json(config.encode("utf-8", "surrogatepass"), where, limits)
    _object_classes(parsed, where)
    refusal = _path_values.refusal(_path_values.keras_config_findings(parsed), trusted,
                                   where=f"The file's entry {where}")
    if refusal is not None:
        raise refusal
    check_parameter_count(parsed, 0, where, limits)  # no weights: a small object at most
    try:
        found = keras.saving.deserialize_keras_object(
            parsed, custom_objects=custom_objects, safe_mode=True
        )
    except Exception as exc:
        raise ValueError(f"Could not load the Keras object in the entry {where}: "
                         + custom_objects_hint(exc)) from None
    place = _place(where)
    kinds = _PLACE_KINDS.get(place, ())
    bases = tuple(kind_modules()[k][1] for k in kinds if k != "callbacks")
    if not (bases and isinstance(found, bases)) and not (
        place in _KERAS_FUNCTION_PARAMS and _is_loss_or_metric_function(found, custom_objects)
    ):
        raise refused(where, f"it holds a {type(found).__name__}, which is not a Keras object "
                      "of the kind allowed there")
    return found


def _is_loss_or_metric_function(found, custom_objects):
    """A Keras loss or metric function by its public name, a function the user registered
    with Keras, or one of the user's ``custom_objects``."""
    if not callable(found) or isinstance(found, type) or not hasattr(found, "__name__"):
        return False
    name = getattr(found, "__name__", None)
    for getter in (keras.losses.get, keras.metrics.get):
        with contextlib.suppress(Exception):
            if isinstance(name, str) and getter(name) is found:
                return True
    registered = keras.saving.get_registered_name(found)
    if isinstance(registered, str) and ">" in registered:
        return keras.saving.get_registered_object(registered) is found
    return any(found is obj for obj in (custom_objects or {}).values())


def decode(value, where, models, used, custom_objects, trusted, limits):
    if type(value) is dict:
        if _MODEL_MARK in value and len(value) == 1:
            index = value[_MODEL_MARK]
            if type(index) is not int or not 0 <= index < len(models):
                raise refused(where, f"the model reference {index!r} is not one of the "
                              f"{len(models)} parameter models in the file")
            used.add(index)
            return models[index]
        if _OBJECT_MARK in value and len(value) == 1:
            return _decode_object(value[_OBJECT_MARK], where, custom_objects, trusted, limits)
        if _CLASS_MARK in value and len(value) == 1:
            return resolve_class(value[_CLASS_MARK], where, custom_objects, trusted)
        return {k: decode(v, f"{where}[{k!r}]", models, used, custom_objects, trusted, limits)
                for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(
            decode(v, f"{where}[{i}]", models, used, custom_objects, trusted, limits)
            for i, v in enumerate(value)
        )
    return value


class AnyName(frozenset):
    """A ``trusted`` set that contains every name (to resolve without the opt-in check)."""

    def __contains__(self, item):
        return True


def state_marks(schema):
    """(entry, mark) for every class reference in a skops schema of the estimator state."""
    try:
        params = schema["content"]["params"]["content"]
    except (TypeError, KeyError):
        return
    stack = [(f"params[{name!r}]", node) for name, node in params.items()]
    while stack:
        where, node = stack.pop()
        if not isinstance(node, dict):
            continue
        content = node.get("content")
        if isinstance(content, dict) and _CLASS_MARK in content:
            fields = (content[_CLASS_MARK] or {}).get("content") or {}
            mark = {}
            for key, field in fields.items():
                with contextlib.suppress(TypeError, ValueError, AttributeError):
                    mark[key] = json.loads(field["content"])
            yield where, mark
        elif isinstance(content, dict):
            stack.extend((f"{where}[{k!r}]", v) for k, v in content.items())
        elif isinstance(content, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(content))


def untrusted_references(schema):
    """What the class references in a state's ``schema`` need: (the names ``load`` needs in
    ``trusted=``, [(entry, reason)] for references that no ``trusted=`` can load)."""
    untrusted, refusals = set(), []
    for where, mark in state_marks(schema):
        try:
            found = resolve_class(mark, where, trusted=AnyName())
        except ValueError as exc:
            refusals.append((where, str(exc)))
            continue
        with contextlib.suppress(ValueError):
            resolve_class(mark, where)
            continue
        kind = next(k for k, (_, base) in kind_modules().items() if issubclass(found, base))
        untrusted.add(public_name(found, kind))
    return untrusted, refusals
