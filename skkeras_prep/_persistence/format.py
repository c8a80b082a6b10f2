"""The file layout of a saved estimator, and reading a file with every check done first.

The file is a zip archive:

    skkeras_prep.json   metadata: format name and version, estimator class, library versions
    state.skops         estimator class, parameters and fitted attributes (preprocessor, target
                        encoding, history, ...) in the skops format
    model.keras         the trained Keras model (fitted estimators only)
    params/<i>.keras    Keras models given as parameters (``model=keras.Sequential(...)``)

``read_checked`` opens a file and checks, before anything is inflated, imported or built,
its entries, its metadata (format and version: ``saved_io`` says which file has which) and
what every entry declares against the limits (``limits``), and reports what it found: the
parameters that reach a path (``path_values``) and the size of one input row (``row_size``).
The names written into files (entries, metadata keys) never change.
"""

import importlib.metadata
import io
import json
import os
import platform
import zipfile
import zlib

import keras
import numpy as np

from . import path_values as _path_values
from . import row_size as _row_size
from .errors import not_ours
from .limits import (
    Budget, check_archive, check_assets, check_json, check_model_cost, check_row_elements,
    check_weights, parse_json)
from .trusted import check_model_classes

FORMAT_NAME = "skkeras_prep.estimator"
FORMAT_VERSION = 2  # the newest version this release reads (saved_io: which file has which)
METADATA = "skkeras_prep.json"
STATE = "state.skops"
MODEL = "model.keras"
PARAM_MODEL = "params/{}.keras"  # the i-th Keras model in the parameters
_MAX_METADATA_BYTES = 2**20

# What a .keras archive holds (Keras 3.15.1); Keras extracts assets/ to a temporary folder.
_KERAS_ENTRIES = frozenset({"config.json", "metadata.json", "model.weights.h5"})
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError,
               OSError)


def _library_version():
    try:
        return importlib.metadata.version("skkeras_prep")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def versions():
    import sklearn
    import tensorflow

    return {
        "skkeras_prep": _library_version(), "keras": keras.__version__,
        "tensorflow": tensorflow.__version__, "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "skops": importlib.metadata.version("skops"), "python": platform.python_version(),
    }


def write_zip(fileobj, members):
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)


def read_member(archive, name, path, inside=""):
    label = f"{inside}/{name}" if inside else name
    try:
        return archive.read(name)
    except KeyError:
        raise not_ours(path, f"it has no '{label}' entry") from None
    except _ZIP_ERRORS as exc:
        raise not_ours(path, f"the '{label}' entry is corrupted ({exc})") from None


def _open_inner(data, name, path, budget):
    """An inner zip (``state.skops``, ``*.keras``) opened from bytes, its members checked."""
    try:
        inner = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS:
        raise not_ours(path, f"the '{name}' entry is not a zip archive") from None
    infos = check_archive(inner, f"'{name}'", len(data), budget)
    return inner, infos


def _check_metadata(raw, path, limits):
    if len(raw) > _MAX_METADATA_BYTES:
        raise not_ours(path, f"its metadata has {len(raw):,} bytes")
    check_json(raw, f"'{METADATA}'", limits)
    try:
        metadata = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise not_ours(path, "its metadata is not valid JSON") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise not_ours(path, "its metadata does not describe a skkeras_prep estimator")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise not_ours(path, f"its format version {version!r} is invalid")
    saved = metadata.get("versions")
    if version > FORMAT_VERSION:
        saved_with = saved.get("skkeras_prep", "unknown") if isinstance(saved, dict) \
            else "unknown"
        raise ValueError(
            f"{os.fspath(path)!s} was written by a newer skkeras_prep (file format version "
            f"{version}, saved with skkeras_prep {saved_with}); "
            f"this version reads format versions up to {FORMAT_VERSION}. Upgrade: "
            "pip install -U skkeras_prep."
        )
    if saved is not None and not (
        isinstance(saved, dict) and all(isinstance(v, str) for v in saved.values())
    ):
        raise not_ours(path, "its metadata lists library versions that are not strings")
    count = metadata.get("param_models", 0)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise not_ours(path, f"its metadata lists {count!r} parameter models")
    if not isinstance(metadata.get("fitted", False), bool):
        raise not_ours(path, "its metadata says neither fitted nor unfitted")
    return metadata


def _check_state(data, path, budget):
    inner, infos = _open_inner(data, STATE, path, budget)
    with inner:
        if "schema.json" not in infos:
            raise not_ours(path, "its estimator state has no schema")
        return parse_json(read_member(inner, "schema.json", path, STATE),
                          f"'{STATE}/schema.json'", budget.limits)


def _check_keras(data, name, path, budget):
    """Check a ``.keras`` entry: member sizes, config JSON and the parameters it implies."""
    inner, infos = _open_inner(data, name, path, budget)
    with inner:
        if "config.json" not in infos:
            raise not_ours(path, f"the '{name}' entry has no config.json")
        extra = sorted(n for n in infos if n not in _KERAS_ENTRIES and not n.startswith("assets/"))
        if extra:
            raise not_ours(path, f"the '{name}' entry holds unexpected entries {extra[:5]}")
        check_assets(len(infos) - len(_KERAS_ENTRIES & set(infos)), name)
        config = parse_json(read_member(inner, "config.json", path, name),
                            f"'{name}/config.json'", budget.limits)
        weights = sum(info.file_size for n, info in infos.items() if n.startswith("model.weights"))
        if "model.weights.h5" in infos:
            check_weights(read_member(inner, "model.weights.h5", path, name), name,
                          budget.limits)
    check_model_classes(config, name)
    check_model_cost(config, weights, name, budget.limits)
    return config


def read_checked(path, limits):
    """Open the file, check every limit, and return (metadata, state bytes,
    {entry name: .keras bytes}, facts); see ``_facts``."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        why = "it is not a zip archive (it may be truncated or corrupted)"
        raise not_ours(path, why) from None
    # a central directory the reader cannot take: a zip feature it lacks ("zip file version
    # 6.4"), a file name flagged UTF-8 that is not
    except (NotImplementedError, UnicodeDecodeError) as exc:
        why = f"it is not a zip archive this package reads ({exc}); it may be corrupted"
        raise not_ours(path, why) from None
    budget = Budget(limits)
    with archive:
        infos = check_archive(archive, os.fspath(path), os.path.getsize(path), budget)
        if METADATA not in infos:
            raise not_ours(path, f"it has no '{METADATA}' entry")
        metadata = _check_metadata(read_member(archive, METADATA, path), path, limits)
        count = metadata.get("param_models", 0)
        names = [PARAM_MODEL.format(i) for i in range(min(count, len(infos)))]
        if count > len(names) or not all(name in infos for name in names):
            raise not_ours(path, f"its metadata lists {count} parameter models that it "
                           "does not hold")
        if metadata.get("fitted"):
            names.append(MODEL)
        expected = {METADATA, STATE, *names}
        extra = sorted(set(infos) - expected)
        if extra:
            raise not_ours(path, f"it holds unexpected entries {extra[:5]}")
        state = read_member(archive, STATE, path)
        schema = _check_state(state, path, budget)
        models, configs = {}, []
        for name in names:
            models[name] = read_member(archive, name, path)
            configs.append(_check_keras(models[name], name, path, budget))
    return metadata, state, models, _facts(schema, configs, path, limits)


def _facts(schema, configs, path, limits):
    """What the checks of the state schema and the Keras configs found: the parameters that
    reach a path (``path_values``) and the elements of one input row, checked against
    ``max_row_elements`` here (``row_size``)."""
    try:
        row = max([_row_size.state_row(schema)] + [_row_size.keras_config_row(c) for c in configs])
    except ValueError as exc:
        raise not_ours(path, str(exc)) from None
    check_row_elements(row, limits)
    paths = _path_values.state_findings(schema)
    for config in configs:
        paths += [f for f in _path_values.keras_config_findings(config) if f not in paths]
    return {"paths": paths, "row_elements": row}
