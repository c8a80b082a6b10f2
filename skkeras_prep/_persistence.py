"""Saving and loading estimators as one file (``est.save(path)``, ``skkeras_prep.load(path)``).

The file is a zip archive:

    skkeras_prep.json   metadata: format name and version, estimator class, library versions
    state.skops         estimator class, parameters and fitted attributes (preprocessor, target
                        encoding, history, ...) in the skops format
    model.keras         the trained Keras model (fitted estimators only)
    params/<i>.keras    Keras models given as parameters (``model=keras.Sequential(...)``)

Loading runs no code that the file chooses (the threat model is in docs/persistence.md):

- every size, count, JSON depth and implied parameter count is checked against the limits of
  ``load`` before anything is inflated or built (``_check_archive``, ``_check_keras_config``);
- the skops state loads only types on a trusted list (named by strings, so this module imports
  none of the estimator modules), and any other type must be named by the caller in
  ``trusted=[...]``;
- Keras objects in parameters are Keras configs (``safe_mode=True``); Keras classes in
  parameters are references that resolve only to a public Keras class of the kind their place
  allows (``_resolve_class``), by registered or exported name, never by importing a module
  named in the file. Callbacks and classes whose arguments name paths or addresses need
  ``trusted=``;
- the estimator class must be one of ours, only fitted attribute names are restored, and the
  loaded estimator's parts must agree (``_check_consistency``) before it is returned.
"""

import contextlib
import errno
import functools
import importlib.metadata
import inspect
import io
import json
import os
import platform
import re
import time
import uuid
import warnings
import zipfile
import zlib

import keras
import numpy as np

from . import _compat, _path_values, _row_size, _saved_io, _schema, _weights_check
from . import distribution as _distribution
from ._tf_process_state import releasing_kernel_cache
from .exceptions import SkKerasPrepWarning

FORMAT_NAME = "skkeras_prep.estimator"
FORMAT_VERSION = 2  # the newest version this release reads (_saved_io: which file has which)
METADATA = "skkeras_prep.json"
STATE = "state.skops"
MODEL = "model.keras"

_MODEL_MARK = "__skkeras_prep_keras_model__"
_OBJECT_MARK = "__skkeras_prep_keras_object__"
_CLASS_MARK = "__skkeras_prep_keras_class__"
_KERAS_FUNCTION_PARAMS = ("loss", "metrics")  # plain functions here are Keras losses/metrics

# Our estimator classes, by name: ``estimator_class`` in a file must be one of them (or a
# subclass the caller trusts). Strings keep the import graph acyclic.
ESTIMATOR_CLASSES = frozenset({
    "skkeras_prep.classifier.KerasPipelineClassifier",
    "skkeras_prep.regressor.KerasPipelineRegressor",
})
_TARGET_ENCODERS = frozenset({
    "skkeras_prep._targets.ClassifierTargetEncoder",
    "skkeras_prep._targets.RegressorTargetEncoder",
    "skkeras_prep._targets.MultiOutputEncoder",  # several outputs (_saved_io)
})

# -- limits on what a file may cost (see load and docs/persistence.md) -------------------------
DEFAULT_LIMITS = {
    "max_bytes": 2 * 2**30,         # declared uncompressed bytes, all members, all levels
    "max_ratio": 50,                # declared uncompressed / compressed bytes, per archive
    "max_json_bytes": 16 * 2**20,   # any one JSON document
    "max_json_depth": 200,          # nesting of any one JSON document
    "max_params": 250_000_000,      # parameters implied by a Keras config, per model
    "max_row_elements": 4 * 2**20,  # elements of one input row (a 1024x1024 RGBA image)
    "max_layers": 2000,             # layers in one Keras config (Keras loads each in turn)
}
_RATIO_ALLOWANCE = 8 * 2**20  # an archive may always inflate to this many bytes
_MAX_MEMBERS = 10_000         # entries in any one archive
_MAX_METADATA_BYTES = 2**20

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


def _kind_modules():
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
    return tuple(base for kind, (_, base) in _kind_modules().items() if kind != "callbacks")


def _skops():
    try:
        import skops.io
    except ImportError:
        raise ImportError(
            "Saving and loading estimators needs the skops package: pip install skops "
            "(or pip install 'skkeras_prep[persist]')."
        ) from None
    return skops.io


def _type_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


@functools.lru_cache(maxsize=None)
def default_trusted_types():
    """Type names loaded without asking, beyond skops's own defaults: scikit-learn estimator
    classes, numpy dtypes and this package's estimators, target encoders, builders (every
    class in ``skkeras_prep.models.__all__``) and image loader (``images.__all__``)."""
    from sklearn.utils import all_estimators

    from . import images, models

    builders = {f"{module.__name__}.{name}" for module in (models, images) for name in module.__all__
                if isinstance(getattr(module, name), type)}
    dtype_classes = [type(np.dtype(code)) for code in "?bhilqBHILQefdgFDGSUOMm"]
    names = {_type_name(cls) for cls in [np.dtype] + dtype_classes}
    names.update(ESTIMATOR_CLASSES, _TARGET_ENCODERS, builders, {_type_name(_distribution.StrategySpec)})
    names.update(_type_name(cls) for _, cls in all_estimators())
    names.update(_compat.sklearn_version_dependent_trusted_types())
    return frozenset(names)


# -- parameters: Keras objects become Keras configs -----------------------------------------
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


def _encode_params(params, models):
    return {
        name: _encode(value, models, keras_functions=name in _KERAS_FUNCTION_PARAMS)
        for name, value in params.items()
    }


def _custom_objects_hint(exc):
    return (
        f"{exc} Custom Keras objects (layers, losses, metrics, ...) load when they are "
        "decorated with @keras.saving.register_keras_serializable() and imported before "
        "loading, or when passed as skkeras_prep.load(path, custom_objects={'Name': Name})."
    )


# -- class references: resolved by name, of the kind their place allows ------------------------
def _refused(where, why):
    return ValueError(f"The file's entry {where} was refused: {why}.")


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


def _public_name(cls, kind):
    """``keras.callbacks.EarlyStopping`` for a public Keras class, else module.qualname."""
    public = _kind_modules()[kind][0]
    if getattr(public, cls.__name__, None) is cls:
        return f"{public.__name__}.{cls.__name__}"
    return _type_name(cls)


def _check_mark_fields(mark, where):
    if type(mark) is not dict or not {"module", "name"} <= set(mark):
        raise _refused(where, "a class reference must be a mapping with 'module' and 'name'")
    registered = mark.get("registered")
    if not all(isinstance(mark[k], str) for k in ("module", "name")) or not (
        registered is None or isinstance(registered, str)
    ):
        raise _refused(where, "the fields of a class reference must be strings")
    if not mark["name"].isidentifier():
        raise _refused(
            where, f"the class name {mark['name']!r} is not a plain name (dotted attribute "
            "chains are never followed)")
    return mark["module"], mark["name"], registered


def _resolve_class(mark, where, custom_objects=None, trusted=frozenset()):
    """The Keras class a file's class reference names, or a ValueError naming ``where``.

    Only public Keras classes (``keras.<kind>.<Name>``), classes registered with
    ``keras.saving.register_keras_serializable`` and ``custom_objects`` are found; no module
    named in the file is imported. The class must be of a kind the place allows; callbacks
    and classes taking paths or addresses also need their name in ``trusted``.
    """
    module, name, registered = _check_mark_fields(mark, where)
    place = _place(where)
    kinds = _PLACE_KINDS.get(place, tuple(_kind_modules()))
    kind_modules = _kind_modules()
    found = None
    if registered and ">" in registered:  # a class registered by the user's code
        found = keras.saving.get_registered_object(registered, custom_objects=custom_objects)
    if found is None and custom_objects:
        found = custom_objects.get(name)
    if found is None:
        for kind in kinds:
            public = kind_modules[kind][0]
            if not name.startswith("_") and name in dir(public):
                found = getattr(public, name)
                break
    kind = next((k for k in kinds if isinstance(found, type)
                 and issubclass(found, kind_modules[k][1])), None)
    if kind is None:
        allowed = ", ".join(f"keras.{k}" for k in kinds)
        raise _refused(
            where, f"the class {module}.{name} is not a public or registered Keras class of "
            f"the kinds allowed there ({allowed}). " + _custom_objects_hint("").strip())
    type_name = _public_name(found, kind)
    if (place not in _PLACE_KINDS or _needs_opt_in(found, kind)) and not (
        type_name in trusted or _type_name(found) in trusted
    ):
        what = ("a callback" if issubclass(found, keras.callbacks.Callback)
                else "a class whose arguments can name files, paths or addresses"
                if place in _PLACE_KINDS else "a class in a place that holds no Keras class")
        raise _refused(
            where, f"{type_name} is {what}; such classes are not rebuilt from a file unless "
            f"you opt in: skkeras_prep.load(path, trusted=[{type_name!r}]), only for a file "
            "you trust")
    return found


def _object_classes(config, where):
    """Check the class names inside a Keras object config: nothing that needs opting in."""
    kind_modules = _kind_modules()
    for item in _schema.dicts(config):
        name = item.get("class_name")
        if isinstance(name, str) and name.isidentifier():
            for _, (public, base) in kind_modules.items():
                cls = getattr(public, name, None) if not name.startswith("_") else None
                if isinstance(cls, type) and issubclass(cls, base) and (
                    _needs_opt_in(cls, None, arguments_known=True)
                ):
                    raise _refused(
                        where, f"it holds a {name} object; a Keras object in the "
                        "parameters may not be a callback or take paths or addresses")


def _decode_object(config, where, custom_objects, trusted, limits):
    if not isinstance(config, str):
        raise _refused(where, "a Keras object must be stored as a JSON string")
    parsed = _parse_json(config.encode("utf-8", "surrogatepass"), where, limits)
    _object_classes(parsed, where)
    refusal = _path_values.refusal(_path_values.keras_config_findings(parsed), trusted,
                                   where=f"The file's entry {where}")
    if refusal is not None:
        raise refusal
    _check_parameter_count(parsed, 0, where, limits)  # no weights: a small object at most
    try:
        found = keras.saving.deserialize_keras_object(
            parsed, custom_objects=custom_objects, safe_mode=True
        )
    except Exception as exc:
        raise ValueError(f"Could not load the Keras object in the entry {where}: "
                         + _custom_objects_hint(exc)) from None
    place = _place(where)
    kinds = _PLACE_KINDS.get(place, ())
    bases = tuple(_kind_modules()[k][1] for k in kinds if k != "callbacks")
    if not (bases and isinstance(found, bases)) and not (
        place in _KERAS_FUNCTION_PARAMS and _is_loss_or_metric_function(found, custom_objects)
    ):
        raise _refused(where, f"it holds a {type(found).__name__}, which is not a Keras object "
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


def _decode(value, where, models, used, custom_objects, trusted, limits):
    if type(value) is dict:
        if _MODEL_MARK in value and len(value) == 1:
            index = value[_MODEL_MARK]
            if type(index) is not int or not 0 <= index < len(models):
                raise _refused(where, f"the model reference {index!r} is not one of the "
                               f"{len(models)} parameter models in the file")
            used.add(index)
            return models[index]
        if _OBJECT_MARK in value and len(value) == 1:
            return _decode_object(value[_OBJECT_MARK], where, custom_objects, trusted, limits)
        if _CLASS_MARK in value and len(value) == 1:
            return _resolve_class(value[_CLASS_MARK], where, custom_objects, trusted)
        return {k: _decode(v, f"{where}[{k!r}]", models, used, custom_objects, trusted, limits)
                for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(
            _decode(v, f"{where}[{i}]", models, used, custom_objects, trusted, limits)
            for i, v in enumerate(value)
        )
    return value


# -- Keras models as bytes (in memory: nothing is staged on disk) -----------------------------
def _keras_bytes(model):
    """The ``.keras`` bytes of ``model``."""
    try:
        return _compat.keras_model_to_bytes(model)
    except _compat.InternalMovedError:
        raise
    except Exception as exc:
        raise ValueError(
            f"Could not save the Keras model in the .keras format: {exc}. Custom layers "
            "need a get_config() method and @keras.saving.register_keras_serializable()."
        ) from exc


def _keras_from_bytes(data, name, custom_objects, safe_mode):
    try:
        model = _compat.keras_model_from_bytes(data, custom_objects, safe_mode)
    except _compat.InternalMovedError:
        raise
    except Exception as exc:
        message = _custom_objects_hint(exc)
        if "safe_mode" in str(exc):
            message += (" A Lambda layer holds Python code: load with "
                        "skkeras_prep.load(path, safe_mode=False), only for files you trust.")
        raise ValueError(f"Could not load the Keras model '{name}': " + message) from None
    if not isinstance(model, keras.Model):
        raise ValueError(f"The entry '{name}' holds a {type(model).__name__}, not a Keras model.")
    return model


# -- saving ------------------------------------------------------------------------------------
def _library_version():
    try:
        return importlib.metadata.version("skkeras_prep")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _versions():
    import sklearn
    import tensorflow

    return {
        "skkeras_prep": _library_version(), "keras": keras.__version__,
        "tensorflow": tensorflow.__version__, "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "skops": importlib.metadata.version("skops"), "python": platform.python_version(),
    }


def _state_bytes(state):
    sio = _skops()
    try:
        data = sio.dumps(state)
        sio.loads(data, trusted=sio.get_untrusted_types(data=data))  # refuse what cannot load
    except Exception as exc:
        raise ValueError(
            f"The estimator's parameters or fitted preprocessor cannot be saved: {exc}. Lambdas "
            "and functions defined inside other functions cannot be stored; use a function "
            "defined at module level, a builder from skkeras_prep.models, or a keras.Model."
        ) from exc
    return data


# Fitted attributes not in the state: the model (stored as .keras) and the callbacks of the
# last fit (they hold the model and may hold open files or paths).
_NOT_SAVED = frozenset({"model_", "callbacks_"})


def _saved_params(estimator):
    """The constructor parameters, with a ``tf.distribute`` strategy instance replaced by the
    ``StrategySpec`` it is rebuilt from (an instance cannot be saved)."""
    params = estimator.get_params(deep=False)
    if "distribution" in params:
        params["distribution"] = _distribution.picklable(params["distribution"])
    return params


def _members(estimator):
    """(name, bytes) for every part of the file, metadata first."""
    fitted = hasattr(estimator, "model_")
    models = []
    state = {
        "estimator_class": type(estimator),
        "params": _encode_params(_saved_params(estimator), models),
        "attributes": {
            k: v for k, v in vars(estimator).items()
            if k.endswith("_") and not k.startswith("_") and k not in _NOT_SAVED
        },
    }
    records = _saved_io.input_records(estimator)
    if records is not None:  # several inputs: their private check records (_saved_io)
        state["input_records"] = records
    parts = [(STATE, _state_bytes(state))]
    parts += [(f"params/{i}.keras", _keras_bytes(m)) for i, m in enumerate(models)]
    if fitted:
        parts.append((MODEL, _keras_bytes(estimator.model_)))
    metadata = {
        "format": FORMAT_NAME, "format_version": _saved_io.format_version(estimator),
        "estimator": _type_name(type(estimator)), "fitted": fitted,
        "param_models": len(models), "versions": _versions(),
    }
    return [(METADATA, json.dumps(metadata, indent=2).encode())] + parts


def _write_zip(fileobj, members):
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)


_TMP_MARK = ".skkeras-tmp."
STALE_SECONDS = 24 * 3600  # a temporary file this old is stale whatever its pid


def _tmp_prefix(target):
    return f".{os.path.basename(target)}{_TMP_MARK}"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _remove_stale(target):
    """Remove temporary files that an earlier, crashed save of ``target`` left behind: those
    of a process that no longer runs, or older than STALE_SECONDS. A save in progress in a
    live process is left alone."""
    directory, prefix = os.path.dirname(target), _tmp_prefix(target)
    try:
        names = [n for n in os.listdir(directory) if n.startswith(prefix)]
    except OSError:
        return
    now = time.time()
    for name in names:
        pid_text = name[len(prefix):].split(".", 1)[0]
        path = os.path.join(directory, name)
        try:
            old = now - os.lstat(path).st_mtime > STALE_SECONDS
        except OSError:
            continue
        if old or not (pid_text.isdigit() and _pid_alive(int(pid_text))):
            with contextlib.suppress(OSError):
                os.remove(path)


def _resolve_target(path):
    """The file to write: symlinks are written through to their final target."""
    path = os.path.abspath(os.fspath(path))
    if os.path.islink(path):
        path = os.path.realpath(path)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            errno.ENOENT, f"Cannot save: the directory {directory!r} does not exist; create "
            "it first (os.makedirs)", directory)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "Cannot save over a directory", path)
    return path


def _cannot_write(exc, target, tmp):
    """The OSError ``exc`` of writing ``tmp`` (beside ``target``), naming both."""
    reason = exc.strerror or str(exc)
    message = (f"Cannot save to {target!r}: {reason} (writing the temporary file {tmp!r} "
               "beside it).")
    return type(exc)(exc.errno, message) if exc.errno is not None else type(exc)(message)


def _write_atomic(target, estimator, tmp):
    """Create ``tmp`` beside ``target`` (first, so that an unwritable place fails before any
    work), write the file there, keep the mode of an existing target, then rename ``tmp``
    over ``target`` in one step."""
    try:
        f = open(tmp, "xb")
    except OSError as exc:
        raise _cannot_write(exc, target, tmp) from exc
    with f:
        members = _members(estimator)
        try:
            _write_zip(f, members)
            f.flush()
            os.fsync(f.fileno())
        except OSError as exc:
            raise _cannot_write(exc, target, tmp) from exc
    with contextlib.suppress(FileNotFoundError):
        os.chmod(tmp, os.stat(target).st_mode & 0o7777)
    os.replace(tmp, target)


def save_estimator(estimator, path):
    """Write ``estimator`` (fitted or not) to the single file ``path``; see the module doc.

    The one temporary file is beside the target, named
    ``.<name>.skkeras-tmp.<pid>.<random>.tmp``; those a crashed save left behind are removed by
    the next save of the same target. Keras models are written in memory.
    """
    target = _resolve_target(path)
    _remove_stale(target)
    base = os.path.join(os.path.dirname(target),
                        f"{_tmp_prefix(target)}{os.getpid()}.{uuid.uuid4().hex[:12]}")
    tmp = base + ".tmp"
    try:
        _write_atomic(target, estimator, tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


# -- bounded cost: sizes, counts, JSON and Keras configs are checked first ------------------
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError,
               OSError)
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')


def _limits(overrides):
    limits = dict(DEFAULT_LIMITS)
    for key, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise TypeError(f"{key} must be a positive number; got {value!r}.")
        limits[key] = value
    return limits


def _too_costly(what, limit_name, limits, amount):
    return ValueError(
        f"The file was refused before loading: {what} ({amount:,}) is over the limit "
        f"{limit_name}={limits[limit_name]:,}. If you trust the file, raise it: "
        f"skkeras_prep.load(path, {limit_name}=...)."
    )


def _json_depth(raw):
    """The nesting depth of a JSON text, without parsing it (so without recursion)."""
    skeleton = np.frombuffer(_STRINGS.sub(b'""', raw), dtype=np.uint8)
    steps = (np.isin(skeleton, (ord("{"), ord("["))).astype(np.int64)
             - np.isin(skeleton, (ord("}"), ord("]"))))
    return int(np.cumsum(steps).max(initial=0))


def _check_json(raw, where, limits):
    if len(raw) > limits["max_json_bytes"]:
        raise _too_costly(f"the JSON document {where} has {len(raw):,} bytes; it",
                          "max_json_bytes", limits, len(raw))
    depth = _json_depth(raw)
    if depth > limits["max_json_depth"]:
        raise _too_costly(f"the JSON document {where} is nested {depth} deep; its depth",
                          "max_json_depth", limits, depth)


def _parse_json(raw, where, limits):
    _check_json(raw, where, limits)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError(f"The file's entry {where} is not valid JSON.") from None


class _Budget:
    """Declared bytes left to inflate, over every member at every level of the file."""

    def __init__(self, limits):
        self.limits, self.used = limits, 0

    def take(self, amount, where):
        self.used += amount
        if self.used > self.limits["max_bytes"]:
            raise _too_costly(f"the declared uncompressed size of the members up to {where}",
                              "max_bytes", self.limits, self.used)


def _check_archive(archive, where, compressed, budget):
    """Check an archive's declared member sizes and count before anything is inflated."""
    limits = budget.limits
    infos = archive.infolist()
    if len(infos) > _MAX_MEMBERS:
        raise ValueError(f"The file was refused before loading: {where} has {len(infos):,} "
                         f"entries; at most {_MAX_MEMBERS:,} are read.")
    declared = sum(info.file_size for info in infos)
    allowed = limits["max_ratio"] * compressed + _RATIO_ALLOWANCE
    if declared > allowed:
        ratio = declared // max(compressed, 1)
        raise _too_costly(
            f"{where} declares {declared:,} uncompressed bytes in {compressed:,} bytes; its "
            "compression ratio", "max_ratio", limits, ratio)
    budget.take(declared, where)
    return {info.filename: info for info in infos}


def _read_member(archive, name, path, inside=""):
    label = f"{inside}/{name}" if inside else name
    try:
        return archive.read(name)
    except KeyError:
        raise _not_ours(path, f"it has no '{label}' entry") from None
    except _ZIP_ERRORS as exc:
        raise _not_ours(path, f"the '{label}' entry is corrupted ({exc})") from None


def _open_inner(data, name, path, budget):
    """An inner zip (``state.skops``, ``*.keras``) opened from bytes, its members checked."""
    try:
        inner = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS:
        raise _not_ours(path, f"the '{name}' entry is not a zip archive") from None
    infos = _check_archive(inner, f"'{name}'", len(data), budget)
    return inner, infos


def _check_state(data, path, budget):
    inner, infos = _open_inner(data, STATE, path, budget)
    with inner:
        if "schema.json" not in infos:
            raise _not_ours(path, "its estimator state has no schema")
        return _parse_json(_read_member(inner, "schema.json", path, STATE),
                           f"'{STATE}/schema.json'", budget.limits)


# What a .keras archive holds (Keras 3.15.1); Keras extracts assets/ to a temporary folder.
_KERAS_ENTRIES = frozenset({"config.json", "metadata.json", "model.weights.h5"})
_MAX_KERAS_ASSETS = 256  # files under assets/ (a lookup layer's vocabulary is one)


def _check_keras(data, name, path, budget):
    """Check a ``.keras`` entry: member sizes, config JSON and the parameters it implies."""
    inner, infos = _open_inner(data, name, path, budget)
    with inner:
        if "config.json" not in infos:
            raise _not_ours(path, f"the '{name}' entry has no config.json")
        extra = sorted(n for n in infos if n not in _KERAS_ENTRIES and not n.startswith("assets/"))
        if extra:
            raise _not_ours(path, f"the '{name}' entry holds unexpected entries {extra[:5]}")
        assets = len(infos) - len(_KERAS_ENTRIES & set(infos))
        if assets > _MAX_KERAS_ASSETS:
            raise ValueError(f"The file was refused before loading: '{name}' holds {assets:,} "
                             f"assets; at most {_MAX_KERAS_ASSETS} are read (Keras extracts "
                             "each to a temporary folder).")
        config = _parse_json(_read_member(inner, "config.json", path, name), f"'{name}/config.json'",
                             budget.limits)
        weights = sum(info.file_size for n, info in infos.items() if n.startswith("model.weights"))
        if "model.weights.h5" in infos:
            h5 = _read_member(inner, "model.weights.h5", path, name)
            allowed = budget.limits["max_ratio"] * len(h5) + _RATIO_ALLOWANCE
            why = _weights_check.weights_problem(h5, allowed)
            if why is not None:
                raise _refused(f"'{name}/model.weights.h5'", why)
    _object_classes_in_model(config, name)
    _check_parameter_count(config, weights, f"'{name}'", budget.limits)
    layers = _row_size.keras_layer_count(config)
    if layers > budget.limits["max_layers"]:
        raise _too_costly(f"the model '{name}' declares {layers:,} layers; it", "max_layers",
                          budget.limits, layers)
    return config


def _object_classes_in_model(config, name):
    for item in _schema.dicts(config):
        if item.get("class_name") == "TFSMLayer":
            raise _refused(f"'{name}'", "it holds a TFSMLayer, which loads a SavedModel "
                           "from a path; load such models with Keras directly")


def _dim(value):
    if value is None:
        return 1
    if type(value) is not int or value < 0:
        raise ValueError
    return value


def _layer_parameters(class_name, config, build_shape):
    """An upper bound of the parameters a known layer creates, or 0 for other layers."""
    last = _dim(build_shape[-1]) if build_shape else 1
    if class_name in ("Dense",):
        return last * _dim(config.get("units")) + _dim(config.get("units"))
    if class_name in ("Embedding",):
        return _dim(config.get("input_dim")) * _dim(config.get("output_dim"))
    if class_name in ("SimpleRNN", "GRU", "LSTM"):
        units = _dim(config.get("units"))
        return 4 * units * (last + units + 2)
    if class_name.startswith("Conv") or class_name.startswith("DepthwiseConv"):
        kernel = config.get("kernel_size") or [1]
        kernel = [kernel] if type(kernel) is int else kernel
        size = int(np.prod([_dim(k) for k in kernel], dtype=object))
        channels = _dim(build_shape[1]) if config.get("data_format") == "channels_first" \
            and build_shape else last
        filters = _dim(config.get("filters") or config.get("depth_multiplier") or 1)
        return size * channels * filters + filters
    if class_name in ("BatchNormalization", "LayerNormalization"):
        return 4 * last
    return 0


def _check_parameter_count(config, weight_bytes, name, limits):
    """Refuse a config whose known layers imply more parameters than the limit, or than the
    weights stored beside it could hold, before Keras builds anything."""
    total, low_precision = 0, False
    stack = [config]
    try:
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                class_name, layer_config = item.get("class_name"), item.get("config")
                if isinstance(class_name, str) and isinstance(layer_config, dict):
                    build = item.get("build_config") or {}
                    shape = build.get("input_shape") if isinstance(build, dict) else None
                    shape = shape if isinstance(shape, list) and shape and not isinstance(
                        shape[0], list) else None
                    total += _layer_parameters(class_name, layer_config, shape)
                    dtype = json.dumps(layer_config.get("dtype"))
                    low_precision |= layer_config.get("quantization_config") is not None or any(
                        q in dtype for q in ("int8", "int4", "float8"))
                stack.extend(item.values())
    except (ValueError, TypeError):
        raise _refused(name, "a layer has a size that is not a "
                       "non-negative integer") from None
    if total > limits["max_params"]:
        raise _too_costly(f"the model {name} declares layers with {total:,} parameters; it",
                          "max_params", limits, total)
    bytes_per_parameter = 0.5 if low_precision else 2  # float16 at least, int4 when quantized
    if total * bytes_per_parameter > weight_bytes + 2**20:
        raise _refused(
            name, f"its config declares layers with {total:,} parameters, but its "
            f"weights hold only {weight_bytes:,} bytes; the file was modified")


# -- loading -----------------------------------------------------------------------------------
def _not_ours(path, why):
    return ValueError(
        f"{os.fspath(path)!s} is not a readable skkeras_prep estimator file: {why}. Load files "
        "written by est.save(path); a truncated or modified file must be saved again."
    )


def _check_metadata(raw, path, limits):
    if len(raw) > _MAX_METADATA_BYTES:
        raise _not_ours(path, f"its metadata has {len(raw):,} bytes")
    _check_json(raw, f"'{METADATA}'", limits)
    try:
        metadata = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _not_ours(path, "its metadata is not valid JSON") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise _not_ours(path, "its metadata does not describe a skkeras_prep estimator")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _not_ours(path, f"its format version {version!r} is invalid")
    versions = metadata.get("versions")
    if version > FORMAT_VERSION:
        saved_with = versions.get("skkeras_prep", "unknown") if isinstance(versions, dict) \
            else "unknown"
        raise ValueError(
            f"{os.fspath(path)!s} was written by a newer skkeras_prep (file format version "
            f"{version}, saved with skkeras_prep {saved_with}); "
            f"this version reads format versions up to {FORMAT_VERSION}. Upgrade: "
            "pip install -U skkeras_prep."
        )
    if versions is not None and not (
        isinstance(versions, dict) and all(isinstance(v, str) for v in versions.values())
    ):
        raise _not_ours(path, "its metadata lists library versions that are not strings")
    count = metadata.get("param_models", 0)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise _not_ours(path, f"its metadata lists {count!r} parameter models")
    if not isinstance(metadata.get("fitted", False), bool):
        raise _not_ours(path, "its metadata says neither fitted nor unfitted")
    return metadata


def _warn_on_version_change(metadata):
    saved = metadata.get("versions") or {}
    now = _versions()
    changed = [f"{lib} {saved[lib]} -> {now[lib]}" for lib in ("sklearn", "keras")
               if lib in saved and saved[lib] != now[lib]]
    if changed:
        warnings.warn(
            f"This estimator was saved with other library versions ({', '.join(changed)}); "
            "check its predictions, or refit and save it again with the current versions.",
            SkKerasPrepWarning, stacklevel=3,
        )


def _trusted_names(trusted):
    if trusted is None:
        return frozenset()
    if isinstance(trusted, (str, type)):
        trusted = [trusted]
    try:
        return frozenset(t if isinstance(t, str) else _type_name(t) for t in trusted)
    except (TypeError, AttributeError):
        raise TypeError(
            f"trusted must be a list of type names (str) or classes; got {trusted!r}."
        ) from None


def _untrusted_state_types(data, path):
    try:
        return set(_skops().get_untrusted_types(data=data))
    except Exception:
        raise _not_ours(path, "its estimator state cannot be read") from None


def _load_state(data, trusted, path, versions, path_findings):
    """The estimator state, after its types passed the trust check: nothing the file names
    is imported before that check (the version rewrite looks only at declared types)."""
    sio = _skops()
    found = _untrusted_state_types(data, path)
    refused = sorted(found - default_trusted_types() - trusted)
    if refused:
        raise ValueError(
            f"{os.fspath(path)!s} holds types that are not trusted by default: {refused}. "
            "Loading them imports and runs code from their modules. If you trust the file "
            f"and these types, pass them: skkeras_prep.load(path, trusted={refused!r})."
            + _compat.sklearn_missing_types_note(refused, versions)
        )
    refusal = _path_values.refusal(path_findings, trusted, os.fspath(path))
    if refusal is not None:
        raise refusal
    data = _compat.sklearn_state_for_this_version(data, versions)
    try:
        return sio.loads(data, trusted=sorted(_untrusted_state_types(data, path)))
    except Exception as exc:
        why = f"its estimator state cannot be loaded ({type(exc).__name__}: {exc})"
        raise _not_ours(path, why) from None


_FITTED_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*[A-Za-z0-9]_")


def _estimator_class(cls, metadata, trusted, path):
    if not isinstance(cls, type):
        raise _not_ours(path, f"its estimator class is {cls!r}, not a class")
    names = {_type_name(base) for base in cls.__mro__}
    if not (names & ESTIMATOR_CLASSES) or (
        _type_name(cls) not in ESTIMATOR_CLASSES and _type_name(cls) not in trusted
    ):
        raise _refused("'estimator_class'", f"{_type_name(cls)} is not a skkeras_prep "
                       "estimator (a subclass of one loads only when named in trusted=)")
    if metadata.get("estimator") != _type_name(cls):
        raise _not_ours(path, "its metadata and state name different estimator classes")
    return cls


def _rebuild(state, metadata, models, model, custom_objects, trusted, limits, path):
    if type(state) is not dict or not {"estimator_class", "params", "attributes"} <= set(state):
        raise _not_ours(path, "its estimator state is incomplete")
    cls = _estimator_class(state["estimator_class"], metadata, trusted, path)
    params, attributes = state["params"], state["attributes"]
    if type(params) is not dict or not all(
        isinstance(k, str) and k.isidentifier() for k in params
    ):
        raise _refused("'params'", "the parameters must be a mapping of names")
    if type(attributes) is not dict:
        raise _refused("'attributes'", "the fitted attributes must be a mapping of names")
    used = set()
    decoded = {
        name: _decode(value, f"params[{name!r}]", models, used, custom_objects, trusted, limits)
        for name, value in params.items()
    }
    if used != set(range(len(models))):
        raise _not_ours(path, "its parameter models do not match its parameters")
    _check_strategy_spec(decoded.get("distribution"))
    estimator = cls(**decoded)
    for name, value in attributes.items():
        if not (isinstance(name, str) and _FITTED_NAME.fullmatch(name)) or name == "model_" \
                or hasattr(cls, name):
            raise _refused(f"attributes[{name!r}]", "only fitted attribute names (letters, "
                           "digits and '_', ending in one '_') are restored")
        setattr(estimator, name, value)
    _saved_io.restore_input_records(estimator, state.get("input_records"),
                                    functools.partial(_not_ours, path))
    if model is not None:
        estimator.model_ = model
        _check_consistency(estimator, path)
    elif any(name in attributes for name in ("target_encoder_", "input_shape_")):
        raise _not_ours(path, "it has fitted attributes but no trained model")
    return estimator


def _check_strategy_spec(spec):
    """A StrategySpec from a file holds a name and a tuple of device names (it is hashed at
    fit); skops restores its attributes as the file wrote them."""
    if not isinstance(spec, _distribution.StrategySpec):
        return
    devices = getattr(spec, "devices", None)
    if not (isinstance(getattr(spec, "name", None), str) and (devices is None or (
            type(devices) is tuple and all(type(d) is str for d in devices)))):
        raise _refused("params['distribution']", "a StrategySpec must hold a name and a "
                       "tuple of device names")


def _check_consistency(estimator, path):
    """The fitted parts of a loaded estimator must agree with each other."""
    from ._build import output_width

    encoder = getattr(estimator, "target_encoder_", None)
    if _saved_io.several_outputs(estimator) or _saved_io.several_inputs(estimator):
        width = _saved_io.check_consistency(estimator, functools.partial(_not_ours, path))
        if width is None:  # several outputs: every head checked
            return
    if encoder is None or _type_name(type(encoder)) not in _TARGET_ENCODERS:
        raise _not_ours(path, "its target encoder is missing or of the wrong type")
    if _saved_io.several_inputs(estimator):
        _check_outputs(estimator, encoder, width, path)
        return
    shape = getattr(estimator, "input_shape_", None)
    if not (isinstance(shape, tuple) and shape and all(
        type(d) is int and d > 0 for d in shape)):
        raise _not_ours(path, f"its input shape {shape!r} is invalid")
    model = estimator.model_
    try:
        declared = model.input_shape
    except Exception:  # a subclassed model that was never called has no input shape
        declared = None
    if declared is not None and tuple(declared)[1:] != shape:
        raise _not_ours(path, f"its model takes inputs of shape {tuple(declared)[1:]}, but "
                        f"the estimator was fitted on shape {shape}")
    try:
        width = output_width(model, shape)
    except Exception as exc:
        raise _not_ours(path, f"its model's output cannot be checked ({exc})") from None
    _check_outputs(estimator, encoder, width, path)


def _check_outputs(estimator, encoder, width, path):
    if width != getattr(encoder, "output_width_", None):
        raise _not_ours(path, f"its model's output has width {width}, but its target "
                        f"encoding expects {getattr(encoder, 'output_width_', None)!r}")
    if hasattr(encoder, "classes_"):
        for name in ("classes_", "n_classes_"):
            mine, theirs = getattr(estimator, name, None), getattr(encoder, name, None)
            if np.shape(mine) != np.shape(theirs) or not np.array_equal(mine, theirs):
                raise _not_ours(path, f"its {name} does not match its target encoding")
        if len(encoder.classes_) != encoder.n_classes_ or (
            encoder.output_width_ not in encoder.expected_widths()
        ):
            raise _not_ours(path, "its classes do not match its model's output")


def _read_checked(path, limits):
    """Open the file, check every limit, and return (metadata, state bytes, {name: bytes})."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        why = "it is not a zip archive (it may be truncated or corrupted)"
        raise _not_ours(path, why) from None
    budget = _Budget(limits)
    with archive:
        infos = _check_archive(archive, os.fspath(path), os.path.getsize(path), budget)
        if METADATA not in infos:
            raise _not_ours(path, f"it has no '{METADATA}' entry")
        metadata = _check_metadata(_read_member(archive, METADATA, path), path, limits)
        count = metadata.get("param_models", 0)
        names = [f"params/{i}.keras" for i in range(min(count, len(infos)))]
        if count > len(names) or not all(name in infos for name in names):
            raise _not_ours(path, f"its metadata lists {count} parameter models that it "
                            "does not hold")
        if metadata.get("fitted"):
            names.append(MODEL)
        expected = {METADATA, STATE, *names}
        extra = sorted(set(infos) - expected)
        if extra:
            raise _not_ours(path, f"it holds unexpected entries {extra[:5]}")
        state = _read_member(archive, STATE, path)
        schema = _check_state(state, path, budget)
        models, configs = {}, []
        for name in names:
            models[name] = _read_member(archive, name, path)
            configs.append(_check_keras(models[name], name, path, budget))
    return metadata, state, models, _facts(schema, configs, path, limits)


def _facts(schema, configs, path, limits):
    """What the checks of the state schema and the Keras configs found: the parameters that
    reach a path (``_path_values``) and the elements of one input row, checked against
    ``max_row_elements`` here (``_row_size``)."""
    try:
        row = max([_row_size.state_row(schema)] + [_row_size.keras_config_row(c) for c in configs])
    except ValueError as exc:
        raise _not_ours(path, str(exc)) from None
    if row > limits["max_row_elements"]:
        raise _too_costly(f"one input row of its model or image loader has {row:,} elements; "
                          "it", "max_row_elements", limits, row)
    paths = _path_values.state_findings(schema)
    for config in configs:
        paths += [f for f in _path_values.keras_config_findings(config) if f not in paths]
    return {"paths": paths, "row_elements": row}


def _state_marks(schema):
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


def inspect_file(path, **limits):
    """Describe a file written by ``est.save(path)`` without loading it.

    Nothing is imported, built or trained: the file's sizes are checked against the limits of
    ``load`` (the same keyword arguments), its metadata is read, and its estimator state is
    read as a description only (like ``skops.io.get_untrusted_types``).

    Returns
    -------
    dict with
        ``metadata``: the file's metadata (format, format version, estimator class, fitted);
        ``versions``: the library versions it was saved with;
        ``entries``: {entry name: uncompressed size in bytes};
        ``untrusted``: sorted type names that ``load`` needs in ``trusted=`` for this file;
        ``refused``: [(entry, reason)] for references that no ``trusted=`` can load;
        ``paths``: the parameters that reach a path, a URL or the network, each as
        {``trusted_name``: what ``trusted=`` takes to allow it, ``value``: the value};
        ``row_elements``: the elements of one input row (what ``max_row_elements`` bounds).
    """
    limits = _limits(limits)
    metadata, state, _, facts = _read_checked(path, limits)
    untrusted = _untrusted_state_types(state, path) - default_trusted_types()
    untrusted.update(token for token, _ in facts["paths"])
    refused = []
    with zipfile.ZipFile(io.BytesIO(state)) as inner:
        schema = _parse_json(inner.read("schema.json"), f"'{STATE}/schema.json'", limits)
    for where, mark in _state_marks(schema):
        try:
            found = _resolve_class(mark, where, trusted=_AnyName())
        except ValueError as exc:
            refused.append((where, str(exc)))
            continue
        with contextlib.suppress(ValueError):
            _resolve_class(mark, where)
            continue
        kind = next(k for k, (_, base) in _kind_modules().items() if issubclass(found, base))
        untrusted.add(_public_name(found, kind))
    with zipfile.ZipFile(path) as archive:
        entries = {info.filename: info.file_size for info in archive.infolist()}
    return {
        "metadata": {k: v for k, v in metadata.items() if k != "versions"},
        "versions": dict(metadata.get("versions") or {}),
        "entries": entries,
        "untrusted": sorted(untrusted),
        "refused": refused,
        "paths": [{"trusted_name": token, "value": what} for token, what in facts["paths"]],
        "row_elements": facts["row_elements"],
    }


class _AnyName(frozenset):
    """A ``trusted`` set that contains every name (to resolve without the opt-in check)."""

    def __contains__(self, item):
        return True


def load(path, *, trusted=None, custom_objects=None, safe_mode=True, max_bytes=None,
         max_ratio=None, max_json_bytes=None, max_json_depth=None, max_params=None,
         max_row_elements=None, max_layers=None):
    """Load an estimator written by ``est.save(path)``.

    Parameters
    ----------
    path : str or os.PathLike
    trusted : list of str or classes, default=None
        Extra types to load beyond the default trusted ones (scikit-learn estimators, numpy,
        skkeras_prep): types in the estimator state, and Keras classes in the parameters that
        are not rebuilt from a file without consent (callbacks, classes whose arguments name
        files or addresses), and ``"<type>.<parameter>"`` for a parameter that reaches a
        path, a URL or the network (``"sklearn.pipeline.Pipeline.memory"``; the table is in
        docs/persistence.md). A file needing others is refused with a ValueError that lists
        them (``skkeras_prep.inspect_file(path)["untrusted"]`` lists them without loading);
        pass that list here only for a file you trust.
    custom_objects : dict, default=None
        Custom Keras layers, losses, metrics, ... by name, for objects not registered with
        ``@keras.saving.register_keras_serializable()``.
    safe_mode : bool, default=True
        Passed to ``keras.saving.load_model``; False allows Lambda layers (Python code in the
        file). Only for files you trust.
    max_bytes, max_ratio, max_json_bytes, max_json_depth, max_params, max_row_elements, \
max_layers : int, default=None
        Limits on what the file may cost, checked before anything is inflated or built
        (None keeps the default of ``DEFAULT_LIMITS``): the declared uncompressed bytes of all
        entries, inner archives included (2 GiB); the compression ratio of each archive (50,
        beyond the first 8 MiB); the size (16 MiB) and nesting depth (200) of each JSON
        document; the parameters implied by a Keras model's config (250 million); the
        elements of one input row, from the model's input shapes and an ``ImageLoader``'s
        size (4 Mi, a 1024x1024 RGBA image; a None dimension counts as 1, since the data
        you pass sets it); the layers of a Keras model's config (2000; Keras spends about
        10-40 ms on each when it loads). Raise one only for a file you trust.

    Returns
    -------
    KerasPipelineClassifier or KerasPipelineRegressor

    Raises
    ------
    OSError if the file cannot be opened; ValueError if it is not a skkeras_prep file, is
    corrupted, was written by a newer version, is over a limit, or needs types or objects not
    allowed above.
    """
    limits = _limits(dict(max_bytes=max_bytes, max_ratio=max_ratio,
                          max_json_bytes=max_json_bytes, max_json_depth=max_json_depth,
                          max_params=max_params, max_row_elements=max_row_elements,
                          max_layers=max_layers))
    trusted = _trusted_names(trusted)
    # Each loaded model gets its own traced forward function on its first predict, and the
    # eager kernels of that function stay in TensorFlow's kernel cache after the model is
    # gone (about 0.15 MB a load). No fit runs in a save + load + predict loop to empty the
    # cache, so a load empties it too, as a fit does: when it ends, unless a fit is running.
    with releasing_kernel_cache():
        return _load(path, trusted, custom_objects, safe_mode, limits)


def _load(path, trusted, custom_objects, safe_mode, limits):
    try:
        metadata, state_bytes, model_bytes, facts = _read_checked(path, limits)
        state = _load_state(state_bytes, trusted, path, metadata.get("versions"), facts["paths"])
        models = [_keras_from_bytes(data, name, custom_objects, safe_mode)
                  for name, data in model_bytes.items()]
        model = models.pop() if metadata.get("fitted") else None
        _warn_on_version_change(metadata)
        return _rebuild(state, metadata, models, model, custom_objects, trusted, limits, path)
    except RecursionError:
        raise _not_ours(path, "it is nested too deeply") from None
