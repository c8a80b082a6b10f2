"""Pickling an estimator that holds the user's own Keras classes.

Keras pickles a model, loss, metric, layer or optimizer as a ``.keras`` file in memory and
unpickles it by deserializing that file, which finds a class only when it is registered
(``keras.saving.register_keras_serializable``) and its module already imported, and finds
none of the user's unregistered classes ("Could not locate class 'CustomLoss'"). joblib and
Dask pickle estimators, so a search over an estimator with a custom loss broke.

``picklable_state`` wraps each Keras object of an estimator's state that names classes from
outside Keras in a ``_WithClasses``, which pickles those classes by reference (pickle imports
them by module and name, running any registration) next to Keras's bytes, and unpickles the
bytes with the classes in a ``keras.saving.custom_object_scope``. A class pickle cannot
import by name (one defined inside a function) is refused at pickling time with its name and
the fix. Objects made only of Keras's own classes are left as they are. ``classes_scope``
does the same for ``clone``, which deep-copies through the same round trip.

The user's plain functions (a loss or metric given as a function) are named in a compiled
model's config by their name alone (module "builtins"), so the config cannot find them: the
functions among the estimator's parameters are carried by reference beside each Keras
object whose config names them (``picklable_state``).
"""

import pickle
import sys
import types

import keras

# Keras objects pickled through a .keras file (keras.saving's KerasSaveable)
_KERAS_OBJECTS = (keras.Model, keras.layers.Layer, keras.losses.Loss, keras.metrics.Metric,
                  keras.optimizers.Optimizer)
_OWN_MODULES = ("keras", "tensorflow", "tf_keras", "skkeras_prep", "builtins")


def _entries(config):
    """Every ``{"module", "class_name", ...}`` entry of a Keras config, at any depth."""
    if isinstance(config, dict):
        if "class_name" in config and "module" in config:
            yield config
        for value in config.values():
            yield from _entries(value)
    elif isinstance(config, (list, tuple)):
        for value in config:
            yield from _entries(value)


def _user_class(entry):
    """``(key, class)`` of a config entry naming a class from outside Keras (the key Keras
    looks it up by), or None; refuses a class pickle could not import by name."""
    module, name = entry.get("module") or "", entry["class_name"]
    if module.split(".")[0] in _OWN_MODULES or name == "function":
        return None
    registered = entry.get("registered_name") or name
    found = keras.saving.get_registered_object(registered) if registered != name else None
    if found is None:
        found = getattr(sys.modules.get(module), name, None)
    qualname = getattr(found, "__qualname__", "")
    if found is None or "<locals>" in qualname:
        raise pickle.PicklingError(
            f"Cannot pickle the estimator: it holds the Keras class {name!r} (module "
            f"{module!r}), which pickle cannot import by name (a class defined inside a "
            "function, or not a module-level name). Define the class at the top level of a "
            "module (it then pickles whether registered with "
            "keras.saving.register_keras_serializable or not), or use est.save(path) with "
            "custom_objects at load."
        )
    return registered, found


def _classes_of(obj, functions=None):
    """The user's classes ``obj``'s Keras config names, keyed as Keras looks them up, and
    those of ``functions`` (``{name: function}``) it names as functions."""
    config = keras.saving.serialize_keras_object(obj)
    classes = {}
    for entry in _entries(config):
        pair = _user_class(entry)
        if pair is not None:
            classes[pair[0]] = pair[1]
        elif entry["class_name"] == "function" and entry.get("config") in (functions or {}):
            classes[entry["config"]] = functions[entry["config"]]
    return classes


def _user_functions(value):
    """``{name: function}`` of the user's plain functions in ``value``, at any depth of its
    dicts, lists and tuples (a loss or metrics given as functions, per output too)."""
    return {item.__name__: item for item in leaves(value)
            if isinstance(item, types.FunctionType)
            and (item.__module__ or "").split(".")[0] not in _OWN_MODULES}


class _WithClasses:
    """A Keras object and the user's classes it needs to be unpickled (see the module)."""

    def __init__(self, obj, classes):
        self.obj, self.classes = obj, classes

    def __reduce__(self):
        return _restore, (self.classes, pickle.dumps(self.obj))


def _restore(classes, payload):
    with keras.saving.custom_object_scope(classes):
        return pickle.loads(payload)


def _wrapped(value, functions):
    if isinstance(value, _KERAS_OBJECTS):
        classes = _classes_of(value, functions)
        return _WithClasses(value, classes) if classes else value
    if isinstance(value, dict):
        return {key: _wrapped(item, functions) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_wrapped(item, functions) for item in value)
    return value


def leaves(value):
    """The items of ``value`` at any depth of its dicts, lists and tuples (a loss per output,
    metrics per output), as ``_wrapped`` walks them; other values are their own leaf."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from leaves(item)
    else:
        yield value


def _keras_objects(value):
    """The Keras objects in ``value``, at any depth (``leaves``)."""
    return (item for item in leaves(value) if isinstance(item, _KERAS_OBJECTS))


def classes_scope(values):
    """A ``keras.saving.custom_object_scope`` of the user's classes the Keras objects among
    ``values`` name. scikit-learn's ``clone`` deep-copies parameters, and Keras deep-copies a
    loss or metric through the same file round trip as pickle, so a clone needs them too."""
    classes = {}
    for item in _keras_objects(list(values)):
        classes.update(_classes_of(item))
    return keras.saving.custom_object_scope(classes)


def picklable_state(state):
    """``state`` (an estimator's ``__dict__``) with each Keras object that names the user's
    classes wrapped so that it unpickles (``model_``, a ``loss`` or metric instance, the
    ``model`` parameter, routed values), with the user's functions among the parameters
    (``loss=my_loss``) that the object's config names by name."""
    functions = {}
    for key, value in state.items():
        if not key.endswith("_"):  # parameters (and routed ones), not fitted attributes
            functions.update(_user_functions(value))
    return {key: _wrapped(value, functions) for key, value in state.items()}
