"""Writing an estimator to one file: ``save_estimator`` (``est.save(path)``).

The parts of the file (``format``) are made in memory: the estimator state in the skops
format, with Keras objects in the parameters replaced by their marks (``references``), each
Keras model in the ``.keras`` format, and the metadata. They are written to one temporary
file beside the target, which is renamed over the target in one step.
"""

import contextlib
import errno
import json
import os
import time
import uuid

from .. import _compat
from .. import distribution as _distribution
from . import saved_io as _saved_io
from .format import FORMAT_NAME, METADATA, MODEL, PARAM_MODEL, STATE, versions, write_zip
from .references import encode_params
from .trusted import skops_io, type_name


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


def _state_bytes(state):
    sio = skops_io()
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
    """(entry name, bytes) for every part of the file, metadata first."""
    fitted = hasattr(estimator, "model_")
    models = []
    state = {
        "estimator_class": type(estimator),
        "params": encode_params(_saved_params(estimator), models),
        "attributes": {
            k: v for k, v in vars(estimator).items()
            if k.endswith("_") and not k.startswith("_") and k not in _NOT_SAVED
        },
    }
    records = _saved_io.input_records(estimator)
    if records is not None:  # several inputs: their private check records (saved_io)
        state["input_records"] = records
    parts = [(STATE, _state_bytes(state))]
    parts += [(PARAM_MODEL.format(i), _keras_bytes(m)) for i, m in enumerate(models)]
    if fitted:
        parts.append((MODEL, _keras_bytes(estimator.model_)))
    metadata = {
        "format": FORMAT_NAME, "format_version": _saved_io.format_version(estimator),
        "estimator": type_name(type(estimator)), "fitted": fitted,
        "param_models": len(models), "versions": versions(),
    }
    return [(METADATA, json.dumps(metadata, indent=2).encode())] + parts


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
            write_zip(f, members)
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
