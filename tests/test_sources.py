"""The row-source protocol and its adapters (skkeras_prep.sources)."""

import numpy as np
import pytest
import scipy.sparse as sp

from skkeras_prep.sources import ArraySource, RowSource, RowSubset, SparseSource, as_source


def test_array_source_gathers_float32_rows_of_any_rank():
    X = np.arange(24, dtype=np.int64).reshape(4, 3, 2)
    source = as_source(X)
    assert isinstance(source, ArraySource)
    assert source.n_rows == 4 and len(source) == 4
    assert source.row_shape == (3, 2) and source.gathered_shape == (3, 2)
    batch = source.gather(np.array([1, 3]))
    assert batch.dtype == np.float32
    np.testing.assert_array_equal(batch, X[[1, 3]].astype(np.float32))
    assert source.row_bytes == 4 * 6
    assert not source.decodes_in_graph


def test_array_source_reads_a_read_only_memmap_without_copying_it(tmp_path):
    path = tmp_path / "rows.dat"
    data = np.random.RandomState(0).normal(size=(50, 4))
    data.tofile(path)
    X = np.memmap(path, dtype=np.float64, mode="r", shape=(50, 4))
    source = as_source(X)
    assert source.X is X  # kept as it is, not copied
    np.testing.assert_allclose(source.gather(slice(10, 20)), data[10:20].astype(np.float32))


def test_sparse_source_densifies_only_the_batch():
    X = sp.random(30, 7, density=0.2, format="csc", random_state=0)
    source = as_source(X)
    assert isinstance(source, SparseSource) and source.X.format == "csr"
    assert source.row_shape == (7,)
    batch = source.gather(np.array([0, 5, 9]))
    assert isinstance(batch, np.ndarray) and batch.dtype == np.float32
    np.testing.assert_allclose(batch, X.toarray()[[0, 5, 9]].astype(np.float32))
    part = source.take(np.array([2, 4]))
    assert isinstance(part, SparseSource) and part.n_rows == 2


def test_dispatcher_passes_sources_through_and_converts_frames_and_lists():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    np.testing.assert_array_equal(as_source(frame).gather(slice(0, 2)), frame.to_numpy(np.float32))
    np.testing.assert_array_equal(as_source([[1, 2], [3, 4]]).gather(slice(1, 2)), [[3, 4]])
    own = ArraySource(np.zeros((3, 2)))
    assert as_source(own) is own


def test_dense_source_refuses_one_dimensional_data():
    with pytest.raises(ValueError, match=r"shape \(n_rows, \.\.\.\)"):
        as_source(np.arange(5))


class _Sequential(RowSource):
    """A source read only in order, as a chunked collection would be."""

    indexable = False

    def __init__(self, X):
        self.X = X

    @property
    def n_rows(self):
        return len(self.X)

    @property
    def row_shape(self):
        return self.X.shape[1:]

    def chunks(self, chunk_rows):
        for start in range(0, len(self.X), chunk_rows):
            yield start, self.X[start:start + chunk_rows].astype(np.float32)


def test_sequential_sources_cannot_be_gathered_or_split_by_index():
    source = _Sequential(np.ones((5, 2)))
    with pytest.raises(NotImplementedError, match="read in order"):
        source.gather(np.array([0]))
    with pytest.raises(ValueError, match="cannot be split by row index"):
        source.take(np.array([0, 1]))


def test_default_chunks_and_subsets_cover_the_rows_in_order():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    source = ArraySource(X)
    pieces = list(RowSource.chunks(source, 4))
    assert [start for start, _ in pieces] == [0, 4, 8]
    np.testing.assert_array_equal(np.concatenate([b for _, b in pieces]), X)
    subset = RowSubset(source, np.array([1, 4, 7]))
    assert subset.n_rows == 3 and subset.row_shape == (2,)
    np.testing.assert_array_equal(subset.gather(slice(1, 3)), X[[4, 7]])
