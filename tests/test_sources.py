"""The row-source protocol and its adapters (skkeras_prep.sources)."""

import numpy as np
import pytest
import scipy.sparse as sp

from skkeras_prep._inputs import dispatch
from skkeras_prep._target_layout import Targets
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
    assert source.graph_decoder() is None


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


# -- sources through the estimators: the protocol is all the estimator needs -----------------
from sklearn.base import BaseEstimator, TransformerMixin  # noqa: E402

from skkeras_prep import KerasPipelineClassifier  # noqa: E402
from skkeras_prep.models import MLP  # noqa: E402


class _CodedRows(RowSource):
    """Rows stored as uint8 codes and decoded to floats inside the tf.data graph."""

    batch_dtype = "uint8"

    def __init__(self, codes, decoded):
        self.codes = codes
        self.decoded = decoded  # counts gathers and decodes, to show where the work happens

    @property
    def n_rows(self):
        return len(self.codes)

    @property
    def row_shape(self):
        return self.codes.shape[1:]

    def gather(self, index):
        self.decoded["gathered"] += 1
        return self.codes[index]

    def graph_decoder(self):
        import tensorflow as tf

        return lambda batch: tf.cast(batch, tf.float32) / 255.0

    def take(self, rows):
        return _CodedRows(self.codes[rows], self.decoded)


class _ToCodes(TransformerMixin, BaseEstimator):
    """A preprocessor whose transform returns a row source rather than an array."""

    def fit(self, X, y=None):
        self.low_, self.high_ = X.min(axis=0), X.max(axis=0)
        return self

    def transform(self, X):
        codes = np.round(255 * (X - self.low_) / (self.high_ - self.low_)).clip(0, 255)
        self.last_ = _CodedRows(codes.astype(np.uint8), {"gathered": 0})
        return self.last_


class _SequentialOnly(_Sequential):
    batch_dtype = "float32"


class _ToSequential(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return _SequentialOnly(np.asarray(X, dtype=np.float64))


def test_a_preprocessor_may_return_a_source_decoded_in_the_graph(iris):
    X, y = iris
    est = KerasPipelineClassifier(MLP(hidden_layer_sizes=(16,)), _ToCodes(), epochs=30,
                                  random_state=0, optimizer__learning_rate=0.02)
    est.fit(X, y)
    assert est.input_shape_ == (4,) and est.n_features_in_ == 4
    assert est.preprocessor_.last_.decoded["gathered"] > 0  # the source fed training
    proba = est.predict_proba(X)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert est.score(X, y) > 0.8  # decoded to [0, 1] in the graph: a learnable input
    # prediction decodes the same way: the same codes as float input give the same outputs
    codes = est.preprocessor_.transform(X).codes.astype(np.float32) / 255.0
    direct = est.model_(codes, training=False).numpy()
    np.testing.assert_allclose(est._model_output(dispatch(X)), direct, atol=1e-6)


def test_sequential_sources_train_and_predict_in_order(iris):
    X, y = iris
    est = KerasPipelineClassifier(MLP(hidden_layer_sizes=(16,)), _ToSequential(), epochs=20,
                                  batch_size=16, random_state=0, optimizer__learning_rate=0.02)
    est.fit(X, y)
    assert len(est.history_["loss"]) == 20
    assert est.history_["loss"][-1] < est.history_["loss"][0]
    expected = est.model_(X.astype(np.float32), training=False).numpy()
    np.testing.assert_allclose(est._model_output(dispatch(X)), expected, atol=1e-6)
    with pytest.raises(ValueError, match="read in order"):
        est.set_params(validation_split=0.2).fit(X, y)


def test_sequential_batches_cover_each_row_once_per_epoch(monkeypatch):
    from skkeras_prep import _dataset

    monkeypatch.setattr(_dataset, "SEQUENTIAL_CHUNK_ROWS", 7)
    monkeypatch.setattr(_dataset, "SEQUENTIAL_WINDOW_CHUNKS", 2)
    n, batch = 45, 4
    X = np.arange(n, dtype=np.float32).reshape(n, 1)
    rows = _dataset._Rows(X=_SequentialOnly(X), y=Targets(np.arange(n), np.int64),
                          w=np.ones(n, np.float32))
    batches = list(_dataset._sequential_batches(rows, epochs=2, batch_size=batch, shuffle=True, seed=3))
    assert len(batches) == 2 * _dataset.n_batches(n, batch)
    per_epoch = len(batches) // 2
    for epoch in range(2):
        got = np.concatenate([b[0][:, 0] for b in batches[epoch * per_epoch:(epoch + 1) * per_epoch]])
        labels = np.concatenate([b[1] for b in batches[epoch * per_epoch:(epoch + 1) * per_epoch]])
        assert sorted(got.tolist()) == list(range(n))  # every row once
        np.testing.assert_array_equal(got, labels)  # targets stay with their rows
        assert got.tolist() != list(range(n))  # shuffled within windows
    first = np.concatenate([b[0][:, 0] for b in batches[:per_epoch]])
    assert first[:14].max() < 14  # the first window holds 2 chunks of 7 rows (12 used, 2 carried)


def test_each_kind_finds_its_own_values_and_columns():
    dense = ArraySource(np.array([[1.0, np.nan, 3.0], [4.0, 5.0, np.inf]]))
    assert dense.columns_where(~np.isfinite(dense.stored_values())).tolist() == [1, 2]
    X = sp.csr_matrix(np.array([[0.0, np.nan, 0.0], [0.0, 0.0, 2.0]]))
    sparse = SparseSource(X)
    assert sparse.stored_values().size == 2  # the stored entries only
    assert sparse.columns_where(~np.isfinite(sparse.stored_values())).tolist() == [1]
    text = ArraySource(np.array([["1", "2"], ["3", "x"]], dtype=object))
    assert text.as_numeric() is None
    numbers = ArraySource(np.array([["1", "2"], ["3", "4"]], dtype=object)).as_numeric()
    assert numbers.stored_values().dtype == np.float64
    images = ArraySource(np.zeros((2, 2, 2)))
    images.X[1, 1, 0] = np.nan  # N-D rows: flat feature indices
    assert images.columns_where(np.isnan(images.stored_values())).tolist() == [2]
