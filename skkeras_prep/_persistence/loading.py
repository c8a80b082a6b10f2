"""Reading a file written by ``est.save(path)``: ``load`` and ``inspect_file``.

Loading runs no code that the file chooses (the threat model is in docs/persistence.md):

- every size, count, JSON depth and implied parameter count is checked against the limits of
  ``load`` before anything is inflated or built (``format.read_checked``, ``limits``);
- the skops state loads only trusted types, and any other type must be named by the caller
  in ``trusted=[...]`` (``trusted.load_state``);
- Keras objects in parameters are Keras configs (``safe_mode=True``); Keras classes in
  parameters are references resolved by name, of the kind their place allows
  (``references``). Callbacks and classes whose arguments name paths or addresses need
  ``trusted=``;
- the estimator class must be one of ours, only fitted attribute names are restored, and the
  loaded estimator's parts must agree (``_check_consistency``) before it is returned.
"""

import functools
import io
import re
import warnings
import zipfile

import keras
import numpy as np

from .. import _compat
from .. import distribution as _distribution
from .._tf_process_state import releasing_kernel_cache
from ..exceptions import SkKerasPrepWarning
from . import saved_io as _saved_io
from .errors import not_ours, refused
from .format import STATE, read_checked, versions
from .limits import checked_limits, parse_json
from .references import custom_objects_hint, decode, untrusted_references
from .trusted import (
    TARGET_ENCODERS, default_trusted_types, estimator_class, load_state, trusted_names,
    type_name, untrusted_state_types)

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
    limits = checked_limits(limits)
    metadata, state, _, facts = read_checked(path, limits)
    untrusted = untrusted_state_types(state, path) - default_trusted_types()
    untrusted.update(token for token, _ in facts["paths"])
    with zipfile.ZipFile(io.BytesIO(state)) as inner:
        schema = parse_json(inner.read("schema.json"), f"'{STATE}/schema.json'", limits)
    references, refusals = untrusted_references(schema)
    untrusted.update(references)
    with zipfile.ZipFile(path) as archive:
        entries = {info.filename: info.file_size for info in archive.infolist()}
    return {
        "metadata": {k: v for k, v in metadata.items() if k != "versions"},
        "versions": dict(metadata.get("versions") or {}),
        "entries": entries,
        "untrusted": sorted(untrusted),
        "refused": refusals,
        "paths": [{"trusted_name": token, "value": what} for token, what in facts["paths"]],
        "row_elements": facts["row_elements"],
    }


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
    limits = checked_limits(dict(
        max_bytes=max_bytes, max_ratio=max_ratio, max_json_bytes=max_json_bytes,
        max_json_depth=max_json_depth, max_params=max_params,
        max_row_elements=max_row_elements, max_layers=max_layers))
    trusted = trusted_names(trusted)
    # Each loaded model gets its own traced forward function on its first predict, and the
    # eager kernels of that function stay in TensorFlow's kernel cache after the model is
    # gone (about 0.15 MB a load). No fit runs in a save + load + predict loop to empty the
    # cache, so a load empties it too, as a fit does: when it ends, unless a fit is running.
    with releasing_kernel_cache():
        return _load(path, trusted, custom_objects, safe_mode, limits)


def _load(path, trusted, custom_objects, safe_mode, limits):
    try:
        metadata, state_bytes, model_bytes, facts = read_checked(path, limits)
        state = load_state(state_bytes, trusted, path, metadata.get("versions"), facts["paths"])
        models = [_keras_from_bytes(data, name, custom_objects, safe_mode)
                  for name, data in model_bytes.items()]
        model = models.pop() if metadata.get("fitted") else None
        _warn_on_version_change(metadata)
        return _rebuild(state, metadata, models, model, custom_objects, trusted, limits, path)
    except RecursionError:
        raise not_ours(path, "it is nested too deeply") from None


def _keras_from_bytes(data, name, custom_objects, safe_mode):
    try:
        model = _compat.keras_model_from_bytes(data, custom_objects, safe_mode)
    except _compat.InternalMovedError:
        raise
    except Exception as exc:
        message = custom_objects_hint(exc)
        if "safe_mode" in str(exc):
            message += (" A Lambda layer holds Python code: load with "
                        "skkeras_prep.load(path, safe_mode=False), only for files you trust.")
        raise ValueError(f"Could not load the Keras model '{name}': " + message) from None
    if not isinstance(model, keras.Model):
        raise ValueError(f"The entry '{name}' holds a {type(model).__name__}, not a Keras model.")
    return model


def _warn_on_version_change(metadata):
    saved = metadata.get("versions") or {}
    now = versions()
    changed = [f"{lib} {saved[lib]} -> {now[lib]}" for lib in ("sklearn", "keras")
               if lib in saved and saved[lib] != now[lib]]
    if changed:
        warnings.warn(
            f"This estimator was saved with other library versions ({', '.join(changed)}); "
            "check its predictions, or refit and save it again with the current versions.",
            SkKerasPrepWarning, stacklevel=3,
        )


_FITTED_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*[A-Za-z0-9]_")


def _rebuild(state, metadata, models, model, custom_objects, trusted, limits, path):
    if type(state) is not dict or not {"estimator_class", "params", "attributes"} <= set(state):
        raise not_ours(path, "its estimator state is incomplete")
    cls = estimator_class(state["estimator_class"], metadata, trusted, path)
    params, attributes = state["params"], state["attributes"]
    if type(params) is not dict or not all(
        isinstance(k, str) and k.isidentifier() for k in params
    ):
        raise refused("'params'", "the parameters must be a mapping of names")
    if type(attributes) is not dict:
        raise refused("'attributes'", "the fitted attributes must be a mapping of names")
    used = set()
    decoded = {
        name: decode(value, f"params[{name!r}]", models, used, custom_objects, trusted, limits)
        for name, value in params.items()
    }
    if used != set(range(len(models))):
        raise not_ours(path, "its parameter models do not match its parameters")
    _check_strategy_spec(decoded.get("distribution"))
    estimator = cls(**decoded)
    for name, value in attributes.items():
        if not (isinstance(name, str) and _FITTED_NAME.fullmatch(name)) or name == "model_" \
                or hasattr(cls, name):
            raise refused(f"attributes[{name!r}]", "only fitted attribute names (letters, "
                          "digits and '_', ending in one '_') are restored")
        setattr(estimator, name, value)
    _saved_io.restore_input_records(estimator, state.get("input_records"),
                                    functools.partial(not_ours, path))
    if model is not None:
        estimator.model_ = model
        _check_consistency(estimator, path)
    elif any(name in attributes for name in ("target_encoder_", "input_shape_")):
        raise not_ours(path, "it has fitted attributes but no trained model")
    return estimator


def _check_strategy_spec(spec):
    """A StrategySpec from a file holds a name and a tuple of device names (it is hashed at
    fit); skops restores its attributes as the file wrote them."""
    if not isinstance(spec, _distribution.StrategySpec):
        return
    devices = getattr(spec, "devices", None)
    if not (isinstance(getattr(spec, "name", None), str) and (devices is None or (
            type(devices) is tuple and all(type(d) is str for d in devices)))):
        raise refused("params['distribution']", "a StrategySpec must hold a name and a "
                      "tuple of device names")


def _check_consistency(estimator, path):
    """The fitted parts of a loaded estimator must agree with each other."""
    from .._build import output_width

    refuse = functools.partial(not_ours, path)
    _saved_io.check_loaded_inputs(estimator, estimator.model_, refuse)
    encoder = getattr(estimator, "target_encoder_", None)
    named = _saved_io.named_outputs(estimator)
    if not named and (encoder is None or type_name(type(encoder)) not in TARGET_ENCODERS):
        raise not_ours(path, "its target encoder is missing or of the wrong type")
    try:
        width = output_width(estimator.model_, estimator.input_shape_)
    except Exception as exc:  # whatever the file's model raises: the file is refused
        raise not_ours(path, f"its model's output cannot be checked ({exc})") from None
    if named:  # several outputs: every head
        _saved_io.check_loaded_heads(encoder, width, getattr(estimator, "classes_", None), refuse)
    else:
        _check_outputs(estimator, encoder, width, path)


def _check_outputs(estimator, encoder, width, path):
    if width != getattr(encoder, "output_width_", None):
        raise not_ours(path, f"its model's output has width {width}, but its target "
                       f"encoding expects {getattr(encoder, 'output_width_', None)!r}")
    if hasattr(encoder, "classes_"):
        for name in ("classes_", "n_classes_"):
            mine, theirs = getattr(estimator, name, None), getattr(encoder, name, None)
            if np.shape(mine) != np.shape(theirs) or not np.array_equal(mine, theirs):
                raise not_ours(path, f"its {name} does not match its target encoding")
        if len(encoder.classes_) != encoder.n_classes_ or (
            encoder.output_width_ not in encoder.expected_widths()
        ):
            raise not_ours(path, "its classes do not match its model's output")
