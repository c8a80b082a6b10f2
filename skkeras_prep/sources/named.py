"""Named row sources with the same rows, as one source: the inputs of a Keras model fed by
name (a dict of inputs, one or more). ``_inputs.named.joined`` makes one for X given as a
dict or ``MultiInput``.

``gather`` returns a tuple of batches, one per input in ``input_names`` order;
``_dataset`` turns it into the dict the model takes (each part decoded in the graph where
its own source says so). ``row_shape`` is a dict ``{name: shape of one row}``. Every part
must be indexable (a part read in order cannot be aligned row by row with the others).
"""

from .protocol import RowSource


class NamedSource(RowSource):
    """Rows of named sources (one per model input), gathered together."""

    def __init__(self, parts):
        if not isinstance(parts, dict) or not parts:
            raise TypeError("NamedSource takes a non-empty dict {input name: RowSource}.")
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
        return NamedSource({name: part.take(rows) for name, part in self.parts.items()})

    @property
    def row_bytes(self):
        return sum(part.row_bytes for part in self.parts.values())
