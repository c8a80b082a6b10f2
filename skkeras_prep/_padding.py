"""Prediction batches cut into whole row blocks, so that a row's prediction does not depend
on the batch it came in.

CPU kernels run the rows of a last, partial block of a matrix product or SIMD packet through
another code path, whose float32 result can differ in the last bit. A batch whose row count
is a multiple of ``ROW_BLOCK`` has no partial block. So ``pieces`` pads a batch of ``n``
rows with copies of its last row up to a multiple of ``ROW_BLOCK``; the model runs on it and
the padding's outputs are dropped. A batch too large to copy cheaply (over ``PAD_BYTES``)
runs as two pieces instead: its whole blocks (a view, no copy), then its tail of
``n % ROW_BLOCK`` rows padded up to one block.

The padding is bounded in bytes: it applies only to models whose block of ``ROW_BLOCK`` input
rows takes at most ``PAD_BYTES`` (all inputs of a row together). The choice depends on the
row's size only, never on the batch, so for a given model either every batch is padded
(predictions bit-identical whatever the order and batch size) or none is (wide rows, such
as images above about 120x120x3 in float32: a row's prediction can then differ in the last
float32 bit with its batch). See docs/DESIGN.md.
"""

import numpy as np

from ._inputs.named import entries, map_inputs

# Rows per block of the CPU matrix kernels (Eigen: 3 SIMD packets; 48 covers AVX-512).
ROW_BLOCK = 48
# The most a block of ROW_BLOCK padded input rows may take; wider rows are not padded.
PAD_BYTES = 8 * 2**20


def row_bytes(batch):
    """Bytes of one input row of ``batch`` (an array per input: ``named.entries``)."""
    total = 0
    for part in entries(batch).values():
        shape = tuple(part.shape)
        total += int(np.prod(shape[1:], dtype=np.int64)) * np.dtype(_dtype(part)).itemsize
    return total


def pads(batch):
    """Whether batches shaped like ``batch`` are padded (a block of rows fits ``PAD_BYTES``)."""
    return row_bytes(batch) * ROW_BLOCK <= PAD_BYTES


def pieces(batch):
    """``[(piece, rows to keep), ...]``: what to run through the model for ``batch``, in order.
    The outputs of each piece, cut to its first ``rows to keep`` rows and concatenated, are the
    outputs for ``batch``. Extra memory: at most ``PAD_BYTES``."""
    n = len(next(iter(entries(batch).values())))
    tail = n % ROW_BLOCK
    if not tail or not pads(batch):
        return [(batch, n)]
    arrays = map_inputs(np.asarray, batch)
    # one call on a padded copy while the copy is small; else the whole blocks as a view
    head = 0 if (n + ROW_BLOCK) * row_bytes(batch) <= PAD_BYTES else n - tail
    out = [(map_inputs(lambda part: part[:head], arrays), head)] if head else []
    last = map_inputs(lambda part: np.concatenate(
        [part[head:], np.repeat(part[-1:], ROW_BLOCK - tail, axis=0)]), arrays)
    return out + [(last, n - head)]


def _dtype(part):
    dtype = part.dtype
    return getattr(dtype, "as_numpy_dtype", dtype)  # a TensorFlow dtype, or numpy's
