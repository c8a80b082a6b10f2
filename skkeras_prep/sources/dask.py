"""Dask collections as a row source: data larger than memory, computed chunk by chunk.

X may be a ``dask.array.Array`` (chunked on rows; its other axes are joined into one chunk) or
a ``dask.dataframe.DataFrame`` (for example from ``dd.read_parquet``, used with a
``ColumnTransformer``). Its row blocks (array chunks, dataframe partitions) are computed one at
a time, in order, with the next block computed in a background thread while the current one
trains (``DaskRows.blocks``); only the blocks in use are ever in memory. The fitted
preprocessor's ``transform`` runs per block, and the transformed block is what streams.

y and sample weights (one value per row) are computed into memory at the start of a fit: the
target encoder needs every label, and 15 million float32 targets take 60 MB.

dask stays optional: nothing here imports it until the input is a dask collection, which is
recognised by its type's module name (``is_dask_collection``), without importing dask.
"""

import concurrent.futures
import math

import numpy as np

from .protocol import RowSource

#: Blocks computed ahead of the one in use (in a background thread).
PREFETCH_BLOCKS = 1

# dask's collections live in these packages (dask-expr was a package of its own before
# dask 2025.1 merged it into dask.dataframe)
_DASK_PACKAGES = ("dask", "dask_expr")


def is_dask_collection(obj):
    """Whether ``obj`` is a dask collection (array, dataframe, series, bag, delayed, ...);
    told by its type's module, so dask is not imported to ask."""
    module = type(obj).__module__ or ""
    return module.split(".")[0] in _DASK_PACKAGES and hasattr(obj, "__dask_graph__")


def _kind(obj):
    """"array", "frame" or "series" for the dask collections that hold rows; None otherwise."""
    module = type(obj).__module__
    name = type(obj).__name__
    if module.startswith("dask.array") and name == "Array":
        return "array"
    framed = module.startswith(("dask.dataframe", "dask_expr"))
    if framed and name == "DataFrame":
        return "frame"
    if framed and name == "Series":
        return "series"
    return None


def check_collection(X, what="X", allowed=("array", "frame")):
    """The kind of a dask collection ``X``, refused with advice where it holds no rows we
    can stream (a bag, a delayed object, a scalar) or its chunk sizes are unknown."""
    kind = _kind(X)
    if kind not in allowed:
        advice = {
            "Bag": "convert it first, e.g. bag.to_dataframe(meta=...) or dask.array.stack",
            "Delayed": "wrap it with dask.array.from_delayed(..., shape=..., dtype=...)",
        }.get(type(X).__name__, "convert it to a dask array or DataFrame")
        kinds = " or ".join({"array": "a dask array", "frame": "a dask DataFrame",
                             "series": "a dask Series"}[k] for k in allowed)
        raise TypeError(
            f"{what} is a dask {type(X).__name__}, which cannot be streamed as rows; "
            f"{what} must be {kinds}. {advice[0].upper() + advice[1:]}."
        )
    if kind == "array":
        if X.ndim < (2 if what == "X" else 1):
            raise ValueError(
                f"{what} is a 1-D dask array of shape {X.shape}; X needs shape (n_rows, n_features)."
            )
        if any(math.isnan(c) for c in X.chunks[0]):
            raise ValueError(
                f"{what} is a dask array whose chunk sizes are unknown (shape {X.shape}), as after "
                f"boolean indexing. The rows must be counted before training: call "
                f"{what} = {what}.compute_chunk_sizes() first."
            )
    return kind


def compute(*collections):
    """``dask.compute(*collections)``, with dataframe-backed collections (dask expressions)
    computed apart from the others (graphs), as dask asks; each group shares its reads."""
    import dask

    groups = [[i for i, c in enumerate(collections) if (_kind(c) in ("frame", "series")) == framed]
              for framed in (True, False)]
    results = [None] * len(collections)
    for group in groups:
        if group:
            for i, value in zip(group, dask.compute(*[collections[i] for i in group])):
                results[i] = value
    return tuple(results)


def _to_numpy(value):
    return value.to_numpy() if hasattr(value, "to_numpy") else np.asarray(value)


def partition_lengths(parts):
    """The row count of each of ``parts``, the partitions of a dask DataFrame as
    ``dask.delayed`` objects from one ``to_delayed()`` call, lazily (one delayed count each).
    Counted on those very partitions, not on a projection such as the index: dask lays out
    the partitions of a projection as it sees fit (its parquet reader joins small partitions
    by the columns read), so the index's partitions need not be the frame's. The count reads
    every column of each partition once."""
    import dask

    count = dask.delayed(len, pure=True)
    return [count(part) for part in parts]


class DaskRows:
    """The row blocks of a dask array or DataFrame, with their row counts, computed one at a
    time in order (``blocks``). Holds the lazy collection only, never computed rows."""

    def __init__(self, parts, lengths, kind, columns=None):
        self.parts = list(parts)  # dask.delayed objects, one per row block
        self.lengths = [int(n) for n in lengths]
        self.kind = kind
        self.columns = columns

    @classmethod
    def of(cls, X, y=None, sample_weight=None):
        """(rows of X, y, sample_weight): X split into row blocks (a DataFrame's partition
        lengths counted on those blocks: ``partition_lengths``); y and sample_weight computed
        into memory where they are dask collections."""
        kind = check_collection(X)
        lazy = {}
        for name, value in (("y", y), ("sample_weight", sample_weight)):
            if is_dask_collection(value):
                check_collection(value, name, ("array", "series", "frame"))
                lazy[name] = value
        if kind == "array":
            X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
            parts, lengths, columns = list(X.to_delayed().ravel()), list(X.chunks[0]), None
        else:
            parts, columns = list(X.to_delayed()), list(X.columns)
            lengths = [int(n) for n in compute(*partition_lengths(parts))]
        computed = dict(zip(lazy, compute(*lazy.values()))) if lazy else {}
        rows = cls(parts, lengths, kind, columns)
        y = _to_numpy(computed["y"]) if "y" in computed else y
        sample_weight = _to_numpy(computed["sample_weight"]) if "sample_weight" in computed else sample_weight
        for name, value, original in (("y", y, lazy.get("y")), ("sample_weight", sample_weight, lazy.get("sample_weight"))):
            if original is not None and len(value) != rows.n_rows:
                raise ValueError(
                    f"{name} has {len(value)} rows but X has {rows.n_rows} (X's row blocks: "
                    f"{rows.lengths[:8]}{' ...' if len(rows.lengths) > 8 else ''}). Pass {name} "
                    f"with one entry per row of X, e.g. both selected from the same dask DataFrame."
                )
        return rows, y, sample_weight

    @property
    def n_rows(self):
        return sum(self.lengths)

    @property
    def starts(self):
        return np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)

    def subset(self, blocks):
        """The rows of the blocks numbered ``blocks`` (in that order)."""
        return DaskRows([self.parts[i] for i in blocks], [self.lengths[i] for i in blocks],
                        self.kind, self.columns)

    def blocks(self, which=None):
        """``(first row, computed block)`` for the blocks numbered ``which`` (default: all),
        in order; block i+1 is computed in a background thread while block i is used."""
        which = range(len(self.parts)) if which is None else list(which)
        starts = self.starts
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="skkeras-dask")
        pending = []
        try:
            for i in which:
                pending.append((starts[i], pool.submit(self._compute_block, i)))
                if len(pending) > PREFETCH_BLOCKS:
                    start, future = pending.pop(0)
                    yield int(start), future.result()
            while pending:
                start, future = pending.pop(0)
                yield int(start), future.result()
        finally:
            for _, future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def _compute_block(self, i):
        (block,) = compute(self.parts[i])
        if self.kind == "frame" and self.columns is not None and list(block.columns) != self.columns:
            block = block[self.columns]
        if len(block) != self.lengths[i]:
            raise ValueError(
                f"Block {i} of X computed to {len(block)} rows, but its chunk size says "
                f"{self.lengths[i]}; the collection changed while it was read. Call "
                "X.compute_chunk_sizes() (arrays) or persist the DataFrame, then fit again."
            )
        return block

    def sample(self, size, seed):
        """A uniform random sample of ``size`` rows without replacement (all rows if there
        are fewer), in row order, and their row numbers. Reads only the blocks it needs."""
        n = self.n_rows
        if size >= n:
            rows = np.arange(n)
        else:
            rows = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
        starts = self.starts
        owner = np.searchsorted(starts, rows, side="right") - 1
        needed = np.unique(owner)
        pieces = []
        for start, block in self.blocks(needed):
            local = rows[(rows >= start) & (rows < start + len(block))] - start
            pieces.append(block.iloc[local] if self.kind == "frame" else block[local])
        if self.kind == "frame":
            import pandas as pd

            return pd.concat(pieces, axis=0), rows
        return np.concatenate(pieces, axis=0), rows

    def held_out_blocks(self, fraction, seed):
        """(training block numbers, validation block numbers): ``ceil(fraction * blocks)``
        whole blocks, chosen at random with ``seed``, are held out."""
        count = len(self.parts)
        n_val = int(math.ceil(fraction * count))
        if n_val < 1 or count - n_val < 1:
            raise ValueError(
                f"validation_split={fraction} holds out whole blocks of a dask X, and X has "
                f"{count} block(s): that leaves none for training or validation. Rechunk X into "
                f"more row blocks (e.g. X.rechunk({{0: {max(1, self.n_rows // 10)}}}) or "
                "X.repartition(npartitions=10)), or lower validation_split."
            )
        val = np.sort(np.random.default_rng(seed).choice(count, size=n_val, replace=False))
        return np.setdiff1d(np.arange(count), val), val

    def rows_of(self, blocks):
        """The row numbers of the blocks numbered ``blocks``, in order."""
        starts = self.starts
        if not len(blocks):
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(starts[i], starts[i] + self.lengths[i]) for i in blocks])


def _densified(chunk):
    if hasattr(chunk, "toarray"):  # a sparse preprocessor output (OneHotEncoder, ...)
        chunk = chunk.toarray()
    return np.asarray(chunk, dtype=np.float32)


class DaskSource(RowSource):
    """Transformed rows of a dask collection, read in order, one block at a time.

    ``transform`` (a function: raw block -> checked numeric block, e.g. the fitted
    preprocessor's ``transform`` followed by the estimator's checks) runs on each block as it
    is read. ``window_chunks`` is the number of blocks whose rows are shuffled together.
    An error raised while reading (a check of a transformed block, a failed compute) is kept
    in ``failure``, so the caller can raise it instead of TensorFlow's wrapped copy.
    """

    indexable = False

    def __init__(self, rows, transform, row_shape, *, window_chunks=4):
        self.rows = rows
        self.transform = transform
        self._row_shape = tuple(row_shape)
        self.window_chunks = window_chunks
        self._failures = []  # shared with the sources ``hold_out`` makes

    @property
    def failure(self):
        """The first error raised while reading this source (or one split from it), or None."""
        return self._failures[0] if self._failures else None

    @staticmethod
    def accepts(X):
        return is_dask_collection(X)

    @classmethod
    def of_collection(cls, X):
        """A source of an untransformed numeric dask array (``as_source`` on a dask array)."""
        rows, _, _ = DaskRows.of(X)
        if rows.kind != "array":
            raise TypeError(
                "A dask DataFrame needs a fitted estimator's preprocessor to become rows; pass it "
                "to fit, or convert it with X.to_dask_array(lengths=True)."
            )
        return cls(rows, None, X.shape[1:])

    @property
    def n_rows(self):
        return self.rows.n_rows

    @property
    def row_shape(self):
        return self._row_shape

    def chunks(self, chunk_rows=None):
        """``(first row, float32 block)`` for every block in order (a block is a dask chunk or
        partition, whatever ``chunk_rows`` says)."""
        try:
            for start, block in self.rows.blocks():
                chunk = block if self.transform is None else self.transform(block)
                yield start, _densified(chunk)
        except Exception as error:
            self._failures.append(error)
            raise

    def hold_out(self, fraction, seed):
        """(training source, validation source, training rows, validation rows), holding out
        whole blocks (``DaskRows.held_out_blocks``)."""
        train, val = self.rows.held_out_blocks(fraction, seed)
        parts = []
        for blocks in (train, val):
            part = DaskSource(self.rows.subset(blocks), self.transform, self._row_shape,
                              window_chunks=self.window_chunks)
            part._failures = self._failures
            parts.append(part)
        return parts[0], parts[1], self.rows.rows_of(train), self.rows.rows_of(val)


def map_rows(X, func, template):
    """A lazy dask array: ``func`` applied to each row block of ``X`` (a dask array or
    DataFrame), with known chunk sizes; nothing is computed but a DataFrame's partition
    lengths. ``template`` is ``func``'s output for one row (its shape
    after the first axis and its dtype)."""
    kind = check_collection(X) if _kind(X) != "array" else "array"
    tail = tuple(template.shape[1:])
    if kind == "array":
        X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
        extra = {}
        if len(tail) + 1 < X.ndim:
            extra["drop_axis"] = list(range(len(tail) + 1, X.ndim))
        elif len(tail) + 1 > X.ndim:
            extra["new_axis"] = list(range(X.ndim, len(tail) + 1))
        return X.map_blocks(
            func, dtype=template.dtype, chunks=(X.chunks[0],) + tuple((s,) for s in tail),
            meta=np.empty((0,) + tail, dtype=template.dtype), **extra,
        )
    import dask
    import dask.array as da

    # the partition lengths are counted now, on the partitions mapped (``partition_lengths``),
    # so the result has known chunk sizes and slices like an array (``proba[:1000].compute()``)
    parts = list(X.to_delayed())
    lengths = compute(*partition_lengths(parts))
    apply = dask.delayed(func, pure=True)
    pieces = [da.from_delayed(apply(part), shape=(int(n),) + tail, dtype=template.dtype)
              for part, n in zip(parts, lengths)]
    return da.concatenate(pieces, axis=0)
