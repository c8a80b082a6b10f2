"""The limits on what a file may cost, and their checks (docs/persistence.md, "Bounded cost").

Every size is checked from what the file declares, before anything is inflated, parsed or
built: the uncompressed bytes of every member at every level (``Budget``) and each archive's
compression ratio (``check_archive``), the size and depth of each JSON document
(``check_json``), and from a Keras config the parameters its layers imply, its layer count
and the elements of one input row (``check_model_cost``, ``check_row_elements``).
``load`` and ``inspect_file`` take the limits as keyword arguments (``checked_limits``).
"""

import json
import re

import numpy as np

from . import row_size, weights_check
from .errors import refused

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
_MAX_KERAS_ASSETS = 256  # files under assets/ (a lookup layer's vocabulary is one)
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')  # JSON string literals


def checked_limits(overrides):
    """``DEFAULT_LIMITS`` with the caller's values (None keeps the default)."""
    limits = dict(DEFAULT_LIMITS)
    for key, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise TypeError(f"{key} must be a positive number; got {value!r}.")
        limits[key] = value
    return limits


def too_costly(what, limit_name, limits, amount):
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


def check_json(raw, where, limits):
    if len(raw) > limits["max_json_bytes"]:
        raise too_costly(f"the JSON document {where} has {len(raw):,} bytes; it",
                         "max_json_bytes", limits, len(raw))
    depth = _json_depth(raw)
    if depth > limits["max_json_depth"]:
        raise too_costly(f"the JSON document {where} is nested {depth} deep; its depth",
                         "max_json_depth", limits, depth)


def parse_json(raw, where, limits):
    check_json(raw, where, limits)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError(f"The file's entry {where} is not valid JSON.") from None


class Budget:
    """Declared bytes left to inflate, over every member at every level of the file."""

    def __init__(self, limits):
        self.limits, self.used = limits, 0

    def take(self, amount, where):
        self.used += amount
        if self.used > self.limits["max_bytes"]:
            raise too_costly(f"the declared uncompressed size of the members up to {where}",
                             "max_bytes", self.limits, self.used)


def check_archive(archive, where, compressed, budget):
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
        raise too_costly(
            f"{where} declares {declared:,} uncompressed bytes in {compressed:,} bytes; its "
            "compression ratio", "max_ratio", limits, ratio)
    budget.take(declared, where)
    return {info.filename: info for info in infos}


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


def check_parameter_count(config, weight_bytes, name, limits):
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
        raise refused(name, "a layer has a size that is not a "
                      "non-negative integer") from None
    if total > limits["max_params"]:
        raise too_costly(f"the model {name} declares layers with {total:,} parameters; it",
                         "max_params", limits, total)
    bytes_per_parameter = 0.5 if low_precision else 2  # float16 at least, int4 when quantized
    if total * bytes_per_parameter > weight_bytes + 2**20:
        raise refused(
            name, f"its config declares layers with {total:,} parameters, but its "
            f"weights hold only {weight_bytes:,} bytes; the file was modified")


def check_weights(h5, name, limits):
    """Refuse a ``model.weights.h5`` that points outside itself or whose datasets declare
    more bytes than its size allows at ``max_ratio``."""
    allowed = limits["max_ratio"] * len(h5) + _RATIO_ALLOWANCE
    why = weights_check.weights_problem(h5, allowed)
    if why is not None:
        raise refused(f"'{name}/model.weights.h5'", why)


def check_assets(count, name):
    """Keras extracts each file under a ``.keras`` entry's ``assets/`` to a temporary folder."""
    if count > _MAX_KERAS_ASSETS:
        raise ValueError(f"The file was refused before loading: '{name}' holds {count:,} "
                         f"assets; at most {_MAX_KERAS_ASSETS} are read (Keras extracts "
                         "each to a temporary folder).")


def check_model_cost(config, weight_bytes, name, limits):
    """The parameters and the layers a ``.keras`` entry's config declares."""
    check_parameter_count(config, weight_bytes, f"'{name}'", limits)
    layers = row_size.keras_layer_count(config)
    if layers > limits["max_layers"]:
        raise too_costly(f"the model '{name}' declares {layers:,} layers; it", "max_layers",
                         limits, layers)


def check_row_elements(row, limits):
    if row > limits["max_row_elements"]:
        raise too_costly(f"one input row of its model or image loader has {row:,} elements; "
                         "it", "max_row_elements", limits, row)
