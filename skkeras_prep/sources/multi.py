"""Several named row sources with the same rows, as one source: the inputs of a Keras model
with several named inputs.

``gather`` returns a tuple of batches, one per input in ``input_names`` order;
``_dataset`` turns it into the dict the model takes (each part decoded in the graph where
its own source says so). ``row_shape`` is a dict ``{name: shape of one row}``. Every part
must be indexable (a part read in order cannot be aligned row by row with the others).
"""

import numpy as np

from .protocol import RowSource


class MultiSource(RowSource):
    """Rows of several named sources, gathered together."""

    def __init__(self, parts):
        if not isinstance(parts, dict) or not parts:
            raise TypeError("MultiSource takes a non-empty dict {input name: RowSource}.")
        counts = {name: part.n_rows for name, part in parts.items()}
        if len(set(counts.values())) > 1:
            raise ValueError(
                f"The inputs have different numbers of rows after preprocessing: {counts}. "
                "Every input needs one row per sample."
            )
        unordered = [name for name, part in parts.items() if not part.indexable]
        if unordered:
            raise ValueError(
                f"Input(s) {unordered} are read in order (indexable=False) and cannot be "
                "aligned row by row with the other inputs; pass them as arrays."
            )
        self._parts = dict(parts)

    @property
    def parts(self):
        """``{input name: source}``: the dict the model's input is (``RowSource.parts``)."""
        return self._parts

    @property
    def input_names(self):
        return list(self.parts)

    @property
    def n_rows(self):
        return next(iter(self.parts.values())).n_rows

    @property
    def row_shape(self):
        return {name: tuple(part.row_shape) for name, part in self.parts.items()}

    @property
    def gathered_shape(self):
        return {name: tuple(part.gathered_shape) for name, part in self.parts.items()}

    def gather(self, index):
        return tuple(part.gather(index) for part in self.parts.values())

    def take(self, rows):
        return MultiSource({name: part.take(rows) for name, part in self.parts.items()})

    @property
    def row_bytes(self):
        return sum(part.row_bytes for part in self.parts.values())


def input_shape(source):
    """The shape of one row as the model receives it, read through ``parts``: a tuple for
    one unnamed part, a dict ``{name: tuple}`` for named ones."""
    shapes = {name: tuple(part.row_shape) for name, part in source.parts.items()}
    return shapes[None] if None in shapes else shapes


def input_width(source):
    """The number of values in one row: an int, or a dict ``{name: int}`` for named parts."""
    return width_of(input_shape(source))


def width_of(shape):
    """The number of values in one row of ``input_shape``'s ``shape`` (a dict by name too)."""
    if isinstance(shape, dict):
        return {name: int(np.prod(one)) for name, one in shape.items()}
    return int(np.prod(shape))
