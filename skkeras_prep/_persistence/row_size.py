"""Sizes a file implies beyond its bytes: one input row (the ``max_row_elements`` limit of
``load``) and the layers of a Keras config (``max_layers``); docs/persistence.md, "Bounded
cost".

A row is what one sample costs at predict: the elements of every model input (all
dimensions but the batch) and of every image an ``ImageLoader`` in the state makes. A
dimension that is None (or not a positive integer) counts as 1: its size comes from the data
the caller passes, not from the file.
"""

from . import schema as _schema

IMAGE_LOADER = "skkeras_prep.images.ImageLoader"
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}


def _elements(shape):
    total = 1
    for dim in shape:
        if type(dim) is int and dim > 0:
            total *= dim
    return total


def _is_shape(value):
    return isinstance(value, list) and all(d is None or type(d) is int for d in value)


def keras_config_row(config):
    """Elements per row of the inputs a Keras model config declares: every ``InputLayer``
    (batch dimension dropped), or the model's ``build_config`` input shape when it has none."""
    total, found = 0, False
    for item in _schema.dicts(config):
        layer = item.get("config")
        if item.get("class_name") == "InputLayer" and isinstance(layer, dict):
            shape = layer.get("batch_shape", layer.get("batch_input_shape"))
            if _is_shape(shape) and shape:
                total += _elements(shape[1:])
                found = True
    if found:
        return total
    build = config.get("build_config") if isinstance(config, dict) else None
    shape = build.get("input_shape") if isinstance(build, dict) else None
    if _is_shape(shape) and shape:
        return _elements(shape[1:])
    if isinstance(shape, list) and all(_is_shape(s) and s for s in shape):
        return sum(_elements(s[1:]) for s in shape)
    return 0


def _largest_int(candidates):
    ints = [v for v in candidates if type(v) is int and v > 0]
    return max(ints) if len(ints) == len(candidates) else None


def state_row(schema):
    """Elements per image of the largest ``ImageLoader`` in the state (0 without one);
    ValueError when a loader's size is not two positive integers."""
    by_id = _schema.index(schema)
    largest = 0
    for _, node in _schema.typed_nodes(schema, (IMAGE_LOADER,)):
        attributes = _schema.object_state(node) or {}
        size = attributes.get("size")
        shapes = _schema.sequence_values(size, by_id) if size is not None else None
        if not shapes or any(len(shape) != 2 for shape in shapes):
            raise ValueError("an ImageLoader's size is not two positive integers")
        channels = max((_CHANNELS.get(v, 4) if isinstance(v, str) else 4)
                       for v in _schema.values(attributes["color_mode"], by_id)) \
            if "color_mode" in attributes else 3
        for height, width in shapes:
            height, width = _largest_int(height), _largest_int(width)
            if height is None or width is None:
                raise ValueError("an ImageLoader's size is not two positive integers")
            largest = max(largest, height * width * channels)
    return largest


def keras_layer_count(config):
    """The layers a Keras config declares: the items of every ``layers`` list, at any depth
    (nested models count their own layers). Keras spends time on each when it loads."""
    count, stack = 0, [config]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            layers = item.get("layers")
            if isinstance(layers, list):
                count += sum(isinstance(layer, dict) for layer in layers)
            stack.extend(item.values())
    return count
