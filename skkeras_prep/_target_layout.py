"""The encoded targets of one fit, as the training pipelines read them: ``Targets``.

A target encoder (``_targets``) turns the user's y into one ``Targets``: the encoded values as
one array with a row per sample, the dtype each batch of it is cast to, and the heads, which
say how a batch becomes what Keras compares with the model's outputs. One output is one head
named None (its batch goes to Keras as it is); several outputs are one named head each, their
columns side by side in the array, cut apart into a dict ``{output name: columns}`` per batch.
``_dataset`` and ``_training`` handle both the same way, and never ask how many outputs there
are. Nothing here needs TensorFlow: a pipeline passes its own cast (``split``).
"""

import numpy as np


class Targets:
    """Encoded targets: ``values`` (one row per sample), ``dtype`` (what a batch is cast to)
    and ``heads``, a tuple of ``(output name, first column, end column, dtype name, squeeze
    to 1-D)``, one per output; a single output is one head named None."""

    __slots__ = ("values", "dtype", "heads")

    def __init__(self, values, dtype=None, heads=None):
        self.values = np.asarray(values)
        self.dtype = np.dtype(self.values.dtype if dtype is None else dtype)
        if heads is None:
            width = 1 if self.values.ndim == 1 else int(np.prod(self.values.shape[1:]))
            heads = ((None, 0, width, self.dtype.name, self.values.ndim == 1),)
        self.heads = tuple(tuple(head) for head in heads)
        if not self.heads:
            raise ValueError("Targets need at least one head (one per model output).")

    def __len__(self):
        return len(self.values)

    def __repr__(self):
        names = [head[0] for head in self.heads]
        return (f"Targets(n={len(self)}, shape={self.values.shape}, dtype={self.dtype.name}, "
                f"heads={names})")

    @property
    def single(self):
        """Whether the model has one output (one head named None): its batch is the targets."""
        return len(self.heads) == 1 and self.heads[0][0] is None

    @property
    def row_shape(self):
        """The shape of one row of a batch, before ``split``."""
        return self.values.shape[1:]

    def take(self, rows):
        """The targets of ``rows`` (an index array or a slice), e.g. a validation split."""
        return Targets(self.values[rows], self.dtype, self.heads)

    def batch(self, rows):
        """The values of ``rows`` cast to ``dtype``: a batch as a pipeline gathers it."""
        return self.values[rows].astype(self.dtype)

    def split(self, batch, cast):
        """A batch of ``batch()`` -> what Keras compares with the outputs: the batch itself for
        one unnamed output, else ``{output name: its columns}``, each cast with ``cast(columns,
        dtype name)`` (numpy's or TensorFlow's, as the caller's batch is)."""
        return split_batch(self.heads, batch, cast)


def split_batch(heads, batch, cast):
    """``Targets.split`` for ``heads`` alone: a pipeline traced into the graph keeps the heads,
    never the ``Targets`` and its values."""
    if len(heads) == 1 and heads[0][0] is None:
        return batch
    return {name: cast(batch[:, start] if squeeze else batch[:, start:stop], dtype)
            for name, start, stop, dtype, squeeze in heads}


def side_by_side(names, parts):
    """The ``Targets`` of several outputs: each output's ``Targets`` (in ``names`` order), their
    columns side by side in one array of a dtype that holds them all, cast to float32 per batch
    and back to each output's dtype by ``split``."""
    columns, start = [], 0
    for name, part in zip(names, parts):
        width = 1 if part.values.ndim == 1 else part.values.shape[1]
        columns.append((name, start, start + width, part.dtype.name, part.values.ndim == 1))
        start += width
    dtype = np.result_type(*[part.values.dtype for part in parts])
    values = np.concatenate(
        [p.values.reshape(len(p.values), -1).astype(dtype, copy=False) for p in parts], axis=1)
    return Targets(values, np.float32, columns)


def named_outputs(meta):
    """Whether the fit that builder ``meta`` describes has several outputs given by name
    (``meta["output_names_"]``: y's keys, None for one target or a list of targets)."""
    return bool(meta.get("output_names_"))


def head_names(encoder):
    """The output names of a target encoder, in its order: None for one output."""
    return list(encoder.names_) if getattr(encoder, "several_outputs", False) else None
