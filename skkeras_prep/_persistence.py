"""Saving and loading estimators as one file (``est.save(path)``, ``skkeras_prep.load(path)``).

The file is a zip archive:

    skkeras_prep.json   metadata: format name and version, estimator class, library versions
    state.skops         estimator class, parameters and fitted attributes (preprocessor, target
                        encoding, history, ...) in the skops format
    model.keras         the trained Keras model (fitted estimators only)
    params/<i>.keras    Keras models given as parameters (``model=keras.Sequential(...)``)

Loading runs no code that the file chooses: the Keras models load with ``safe_mode=True`` and
custom Keras objects are found only through Keras registration or ``custom_objects``; the skops
state loads only types on a trusted list (scikit-learn estimators, numpy, this package), and
any other type must be named by the caller in ``trusted=[...]``. Keras objects in parameters
(optimizer, loss or metric instances, Keras classes) are stored as Keras configs, not by skops.
"""

import contextlib
import functools
import importlib
import json
import os
import platform
import tempfile
import uuid
import warnings
import zipfile
import zlib

import keras

from . import _compat
from .exceptions import SkKerasPrepWarning

FORMAT_NAME = "skkeras_prep.estimator"
FORMAT_VERSION = 1
METADATA = "skkeras_prep.json"
STATE = "state.skops"
MODEL = "model.keras"

_MODEL_MARK = "__skkeras_prep_keras_model__"
_OBJECT_MARK = "__skkeras_prep_keras_object__"
_CLASS_MARK = "__skkeras_prep_keras_class__"
_KERAS_FUNCTION_PARAMS = ("loss", "metrics")  # plain functions here are Keras losses/metrics


def _keras_bases():
    return (
        keras.layers.Layer, keras.optimizers.Optimizer, keras.losses.Loss, keras.metrics.Metric,
        keras.optimizers.schedules.LearningRateSchedule, keras.initializers.Initializer,
        keras.regularizers.Regularizer, keras.constraints.Constraint,
    )


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
    classes, numpy dtypes and this package's estimators, target encoders and builders."""
    import numpy as np
    from sklearn.utils import all_estimators

    from ._targets import ClassifierTargetEncoder, RegressorTargetEncoder
    from .classifier import KerasPipelineClassifier
    from .models import MLP
    from .regressor import KerasPipelineRegressor

    ours = [KerasPipelineClassifier, KerasPipelineRegressor, ClassifierTargetEncoder,
            RegressorTargetEncoder, MLP, np.dtype]
    dtype_classes = [type(np.dtype(code)) for code in "?bhilqBHILQefdgFDGSUOMm"]
    names = {_type_name(cls) for cls in ours + dtype_classes}
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


def _decode_object(config, custom_objects):
    try:
        return keras.saving.deserialize_keras_object(
            json.loads(config), custom_objects=custom_objects, safe_mode=True
        )
    except Exception as exc:
        raise ValueError("Could not load a Keras object of the estimator's parameters: "
                         + _custom_objects_hint(exc)) from None


def _decode_class(mark, custom_objects):
    found = keras.saving.get_registered_object(mark["registered"], custom_objects=custom_objects)
    if found is None and custom_objects:
        found = custom_objects.get(mark["name"])
    module = mark["module"]
    if found is None and (module == "keras" or module.startswith("keras.")):
        found = importlib.import_module(module)
        for part in mark["name"].split("."):
            found = getattr(found, part, None)
    if not isinstance(found, type):
        raise ValueError(
            f"The estimator's parameters name the class {module}.{mark['name']}, which is not "
            "a Keras class. " + _custom_objects_hint("")
        )
    return found


def _decode(value, models, custom_objects):
    if type(value) is dict:
        if set(value) == {_MODEL_MARK}:
            return models[value[_MODEL_MARK]]
        if set(value) == {_OBJECT_MARK}:
            return _decode_object(value[_OBJECT_MARK], custom_objects)
        if set(value) == {_CLASS_MARK}:
            return _decode_class(value[_CLASS_MARK], custom_objects)
        return {k: _decode(v, models, custom_objects) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_decode(v, models, custom_objects) for v in value)
    return value


# -- Keras models as bytes -------------------------------------------------------------------
def _keras_bytes(model):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        try:
            keras.saving.save_model(model, path)
        except Exception as exc:
            raise ValueError(
                f"Could not save the Keras model in the .keras format: {exc}. Custom layers "
                "need a get_config() method and @keras.saving.register_keras_serializable()."
            ) from exc
        with open(path, "rb") as f:
            return f.read()


def _keras_from_bytes(data, custom_objects, safe_mode):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as f:
            f.write(data)
        try:
            return keras.saving.load_model(path, custom_objects=custom_objects, safe_mode=safe_mode)
        except Exception as exc:
            message = _custom_objects_hint(exc)
            if "safe_mode" in str(exc):
                message += (" A Lambda layer holds Python code: load with "
                            "skkeras_prep.load(path, safe_mode=False), only for files you trust.")
            raise ValueError("Could not load the Keras model: " + message) from None


# -- saving ------------------------------------------------------------------------------------
def _versions():
    import numpy
    import sklearn
    import tensorflow

    from . import __version__

    return {
        "skkeras_prep": __version__, "keras": keras.__version__,
        "tensorflow": tensorflow.__version__, "sklearn": sklearn.__version__,
        "numpy": numpy.__version__,
        "skops": importlib.import_module("skops").__version__, "python": platform.python_version(),
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


def _members(estimator):
    """(name, bytes) for every part of the file, metadata first."""
    fitted = hasattr(estimator, "model_")
    models = []
    state = {
        "estimator_class": type(estimator),
        "params": _encode_params(estimator.get_params(deep=False), models),
        "attributes": {
            k: v for k, v in vars(estimator).items()
            if k.endswith("_") and not k.startswith("_") and k != "model_"
        },
    }
    parts = [(STATE, _state_bytes(state))]
    parts += [(f"params/{i}.keras", _keras_bytes(m)) for i, m in enumerate(models)]
    if fitted:
        parts.append((MODEL, _keras_bytes(estimator.model_)))
    metadata = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION,
        "estimator": _type_name(type(estimator)), "fitted": fitted,
        "param_models": len(models), "versions": _versions(),
    }
    return [(METADATA, json.dumps(metadata, indent=2).encode())] + parts


def _write_zip(fileobj, members):
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)


def _write_atomic(path, members):
    """Write to a new file beside ``path``, then rename it over ``path`` in one step."""
    path = os.path.abspath(os.fspath(path))
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as f:
            _write_zip(f, members)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def save_estimator(estimator, path):
    """Write ``estimator`` (fitted or not) to the single file ``path``; see the module doc."""
    _write_atomic(path, _members(estimator))


# -- loading -----------------------------------------------------------------------------------
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError)


def _not_ours(path, why):
    return ValueError(
        f"{os.fspath(path)!s} is not a readable skkeras_prep estimator file: {why}. Load files "
        "written by est.save(path); a truncated or modified file must be saved again."
    )


def _read_member(archive, name, path):
    try:
        return archive.read(name)
    except KeyError:
        raise _not_ours(path, f"it has no '{name}' entry") from None
    except _ZIP_ERRORS as exc:
        raise _not_ours(path, f"the '{name}' entry is corrupted ({exc})") from None


def _check_metadata(raw, path):
    try:
        metadata = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _not_ours(path, "its metadata is not valid JSON") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise _not_ours(path, "its metadata does not describe a skkeras_prep estimator")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _not_ours(path, f"its format version {version!r} is invalid")
    if version > FORMAT_VERSION:
        saved_with = (metadata.get("versions") or {}).get("skkeras_prep", "unknown")
        raise ValueError(
            f"{os.fspath(path)!s} was written by a newer skkeras_prep (file format version "
            f"{version}, saved with skkeras_prep {saved_with}); "
            f"this version reads format versions up to {FORMAT_VERSION}. Upgrade: "
            "pip install -U skkeras_prep."
        )
    count = metadata.get("param_models", 0)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise _not_ours(path, f"its metadata lists {count!r} parameter models")
    return metadata


def _warn_on_version_change(metadata):
    saved = metadata.get("versions", {})
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
        return set()
    if isinstance(trusted, (str, type)):
        trusted = [trusted]
    try:
        return {t if isinstance(t, str) else _type_name(t) for t in trusted}
    except (TypeError, AttributeError):
        raise TypeError(
            f"trusted must be a list of type names (str) or classes; got {trusted!r}."
        ) from None


def _load_state(data, trusted, path):
    sio = _skops()
    try:
        found = set(sio.get_untrusted_types(data=data))
    except Exception:
        raise _not_ours(path, "its estimator state cannot be read") from None
    refused = sorted(found - default_trusted_types() - _trusted_names(trusted))
    if refused:
        raise ValueError(
            f"{os.fspath(path)!s} holds types that are not trusted by default: {refused}. "
            "Loading them imports and runs code from their modules. If you trust the file "
            f"and these types, pass them: skkeras_prep.load(path, trusted={refused!r})."
        )
    try:
        return sio.loads(data, trusted=sorted(found))
    except Exception as exc:
        why = f"its estimator state cannot be loaded ({type(exc).__name__}: {exc})"
        raise _not_ours(path, why) from None


def _rebuild(state, models, model, custom_objects, path):
    from ._base import _KerasPipelineBase

    try:
        cls, params, attributes = state["estimator_class"], state["params"], state["attributes"]
    except (TypeError, KeyError):
        raise _not_ours(path, "its estimator state is incomplete") from None
    if not (isinstance(cls, type) and issubclass(cls, _KerasPipelineBase)):
        raise _not_ours(path, f"it describes {cls!r}, not a skkeras_prep estimator")
    estimator = cls(**_decode(params, models, custom_objects))
    for name, value in attributes.items():
        setattr(estimator, name, value)
    if model is not None:
        from ._model import forward_function

        estimator.model_ = model
        estimator._forward = forward_function(model, estimator.input_shape_)
    return estimator


def load(path, *, trusted=None, custom_objects=None, safe_mode=True):
    """Load an estimator written by ``est.save(path)``.

    Parameters
    ----------
    path : str or os.PathLike
    trusted : list of str or classes, default=None
        Extra types to load from the estimator state beyond the default trusted ones
        (scikit-learn estimators, numpy, skkeras_prep). A file holding other types is refused
        with a ValueError that lists them; pass that list here only for a file you trust.
    custom_objects : dict, default=None
        Custom Keras layers, losses, metrics, ... by name, for objects not registered with
        ``@keras.saving.register_keras_serializable()``.
    safe_mode : bool, default=True
        Passed to ``keras.saving.load_model``; False allows Lambda layers (Python code in the
        file). Only for files you trust.

    Returns
    -------
    KerasPipelineClassifier or KerasPipelineRegressor

    Raises
    ------
    OSError if the file cannot be opened; ValueError if it is not a skkeras_prep file, is
    corrupted, was written by a newer version, or needs types or objects not allowed above.
    """
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        why = "it is not a zip archive (it may be truncated or corrupted)"
        raise _not_ours(path, why) from None
    with archive:
        metadata = _check_metadata(_read_member(archive, METADATA, path), path)
        state = _load_state(_compat.sklearn_state_for_this_version(
            _read_member(archive, STATE, path), metadata.get("versions")), trusted, path)
        names = [f"params/{i}.keras" for i in range(metadata.get("param_models", 0))]
        if metadata.get("fitted"):
            names.append(MODEL)
        models = [
            _keras_from_bytes(_read_member(archive, name, path), custom_objects, safe_mode)
            for name in names
        ]
    model = models.pop() if metadata.get("fitted") else None
    _warn_on_version_change(metadata)
    return _rebuild(state, models, model, custom_objects, path)
