"""The row-source protocol: what the ``tf.data`` pipelines read rows from.

A source knows three things: how many rows it has (``n_rows``), the shape of one row as the
model receives it (``row_shape``), and how to gather a batch of rows by index (``gather``).
Every input kind is one adapter class (``arrays.ArraySource``, ``sparse.SparseSource``), and
``skkeras_prep.sources.as_source`` picks the adapter for an input. A new kind of input (image
files, a dask collection) is one new adapter; neither the estimator nor the pipelines change.

Two optional abilities:

* **Decoding inside the graph.** ``gather`` may return something other than the model's input
  (for example file paths, ``batch_dtype = "string"``); the function that ``graph_decoder``
  returns then turns the gathered batch into the model's float32 input with TensorFlow ops,
  inside the parallel ``tf.data`` map, so no Python runs per row. It is traced into the
  pipeline, so it must hold settings only, never the rows.
* **Sequential reading.** A source that cannot be indexed cheaply (a collection computed chunk by
  chunk) sets ``indexable = False`` and implements ``chunks``; training then reads it in order
  and shuffles within a window of chunks instead of gathering random batches.

A preprocessor's ``transform`` may return a ``RowSource`` instead of an array: the estimator
streams it as it is. The estimator calls its preprocessor inside ``streaming_rows_of(it)``; a
transformer that can return lazily decoded rows (``skkeras_prep.images.ImageLoader``) returns
a source only when ``streams_rows(self)`` is true, that is when it is itself the estimator's
preprocessor. Anywhere else (standalone, or as a step of a Pipeline whose next steps need
arrays) it returns arrays.
"""

import abc
import contextlib
import contextvars

import numpy as np


_STREAMED = contextvars.ContextVar("skkeras_prep_streamed_preprocessor", default=None)


@contextlib.contextmanager
def streaming_rows_of(preprocessor):
    """While inside, ``streams_rows(preprocessor)`` is true (in this thread or task only)."""
    token = _STREAMED.set(preprocessor)
    try:
        yield
    finally:
        _STREAMED.reset(token)


def streams_rows(transformer):
    """Whether ``transformer`` is being called as an estimator's preprocessor, whose
    ``transform`` may then return a ``RowSource``."""
    return transformer is not None and _STREAMED.get() is transformer


@contextlib.contextmanager
def explaining_errors(source):
    """Re-raise an error from a pipeline reading ``source`` as ``source.explain_error`` says
    (chained to the original), or as it is."""
    try:
        yield
    except Exception as error:
        better = source.explain_error(error)
        if better is None:
            raise
        raise better from error


class RowSource(abc.ABC):
    """Rows that the estimator streams through ``tf.data``; see the module docstring."""

    #: Whether ``gather`` is cheap for any set of rows. False: read with ``chunks`` in order.
    indexable = True
    #: The numpy dtype name of what ``gather`` returns ("float32" unless ``graph_decoder`` decodes).
    batch_dtype = "float32"

    @property
    @abc.abstractmethod
    def n_rows(self):
        """The number of rows (an int)."""

    @property
    @abc.abstractmethod
    def row_shape(self):
        """The shape of one row as the model receives it (a tuple of ints)."""

    @property
    def gathered_shape(self):
        """The shape of one row as ``gather`` returns it (before ``graph_decoder``)."""
        return self.row_shape

    @property
    def parts(self):
        """The sources the model's inputs are read from, by input name: ``{None: self}`` for
        a model with one input (it gets a bare tensor), ``{name: source}`` for several (it
        gets a dict; ``multi.MultiSource``). The pipelines read every source through this."""
        return {None: self}

    def gather(self, index):
        """Rows ``index`` (a sorted 1-D int array or a slice) as a numpy batch of
        ``batch_dtype``, shape ``(len(index),) + gathered_shape``."""
        raise NotImplementedError(
            f"{type(self).__name__} is read in order (indexable=False); use chunks()."
        )

    def graph_decoder(self):
        """None, or a function of TensorFlow ops that turns a gathered batch (a tensor of
        ``batch_dtype``) into the model's float32 input of shape ``(batch,) + row_shape``.
        It runs inside the ``tf.data`` map; it must not reference the rows."""
        return None

    def chunks(self, chunk_rows):
        """``(start, batch)`` pieces covering every row once, in order."""
        n = self.n_rows
        for start in range(0, n, chunk_rows):
            yield start, self.gather(slice(start, min(n, start + chunk_rows)))

    def explain_error(self, error):
        """None, or a clearer exception to raise instead of ``error``, an exception raised
        while a pipeline read this source (e.g. a file that failed to decode in the graph,
        which TensorFlow reports without its name); see ``explaining_errors``."""
        return None

    def take(self, rows):
        """A source holding only ``rows`` (a sorted 1-D int array), e.g. for a validation split."""
        return RowSubset(self, rows)

    def hold_out(self, fraction, seed):
        """For a source read in order: (training source, validation source, training rows,
        validation rows), holding out about ``fraction`` of the rows in a way the source can
        read cheaply (a dask source holds out whole chunks). Indexable sources are split by
        row index instead (``take``)."""
        raise ValueError(
            f"validation_split and early_stopping need rows that can be split by index; "
            f"{type(self).__name__} is read in order. Pass validation_split=0.0 and "
            "early_stopping=False."
        )

    # -- value checks: how this kind stores its values (what is allowed is _validation's) --
    def as_numeric(self):
        """This source with numeric values (object values converted to float64), or None
        where they cannot be. Sources that decode in the graph return themselves."""
        return self

    def stored_values(self):
        """The stored values as one numeric array, for checks (finite, float32 range); None
        where the values are not held in memory (decoded in the graph, read in order)."""
        return None

    def columns_where(self, mask):
        """The flat feature indices of one row where ``mask`` (over ``stored_values()``) holds
        for some row."""
        raise NotImplementedError

    @property
    def row_bytes(self):
        """Bytes of one float32 row as the model receives it (sizes evaluation batches)."""
        return 4 * int(np.prod(self.row_shape, dtype=np.int64))

    def __len__(self):
        return self.n_rows

    def __repr__(self):
        return f"{type(self).__name__}(n_rows={self.n_rows}, row_shape={self.row_shape})"


class RowSubset(RowSource):
    """The rows ``rows`` of another indexable source, gathered from it on demand."""

    def __init__(self, parent, rows):
        if not parent.indexable:
            raise ValueError(
                f"{type(parent).__name__} is read in order and cannot be split by row index."
            )
        self.parent = parent
        self.rows = np.asarray(rows)
        self.batch_dtype = parent.batch_dtype

    @property
    def n_rows(self):
        return len(self.rows)

    @property
    def row_shape(self):
        return self.parent.row_shape

    @property
    def gathered_shape(self):
        return self.parent.gathered_shape

    def gather(self, index):
        return self.parent.gather(self.rows[index])

    def graph_decoder(self):
        return self.parent.graph_decoder()

    def explain_error(self, error):
        return self.parent.explain_error(error)
