"""Dask collections as input (issue 14 §2): streamed blocks, preprocessor fitted by partial_fit
or on a sample, lazy predict, validation by held-out blocks, persistence, bad input.

Tiny data, the synchronous scheduler (no cluster needed), one test on a distributed Client."""

import ast
import pathlib

import numpy as np
import pandas as pd
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")

from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

import skkeras_prep  # noqa: E402
from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor  # noqa: E402
from skkeras_prep import _dataset  # noqa: E402
from skkeras_prep.models import MLP  # noqa: E402
from skkeras_prep.sources import as_source  # noqa: E402
from skkeras_prep.sources.dask import DaskRows, DaskSource, is_dask_collection  # noqa: E402

N, CHUNK = 240, 40


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(N, 4)).astype(np.float32) * 3 + 1
    y = (X[:, 0] + X[:, 1] > 2).astype(int)
    return X, y


def _classifier(**kw):
    return KerasPipelineClassifier(MLP(hidden_layer_sizes=(8,)), StandardScaler(),
                                   **{"epochs": 2, "batch_size": 16, "random_state": 0, **kw})


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    with dask.config.set(scheduler="synchronous"):
        est = _classifier().fit(da.from_array(X, chunks=(CHUNK, 4)), da.from_array(y, chunks=CHUNK))
    return est


def _counting_array(X, calls):
    """A dask array whose blocks are made by a function that records each block it makes."""

    def make(block_id=None):
        calls.append(block_id[0])
        i = block_id[0] * CHUNK
        return X[i:i + CHUNK]

    return da.map_blocks(make, chunks=((CHUNK,) * (len(X) // CHUNK), (X.shape[1],)), dtype=X.dtype)


def test_blocks_are_computed_one_at_a_time_in_order(data):
    X, y = data
    calls = []
    _classifier().fit(_counting_array(X, calls), y)
    blocks = list(range(N // CHUNK))
    # partial_fit pass of the scaler, the first block again for the row shape, two epochs
    assert calls == blocks + [0] + blocks + blocks


def test_partial_fit_preprocessor_sees_every_row_once(fitted, data):
    X, _ = data
    scaler = fitted.preprocessor_
    assert isinstance(scaler, StandardScaler) and scaler.n_samples_seen_ == N
    np.testing.assert_allclose(scaler.mean_, X.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(scaler.scale_, X.std(axis=0), rtol=1e-4)


def test_other_preprocessors_are_fitted_on_a_uniform_sample(data):
    X, y = data
    est = KerasPipelineClassifier(MLP(hidden_layer_sizes=(4,)), make_pipeline(StandardScaler()),
                                  epochs=1, random_state=0, preprocessor_sample_size=50)
    est.fit(da.from_array(X, chunks=(CHUNK, 4)), y)
    assert est.preprocessor_.steps[0][1].n_samples_seen_ == 50
    rows, _, _ = DaskRows.of(da.from_array(X, chunks=(CHUNK, 4)))
    sample, which = rows.sample(50, seed=3)
    assert len(np.unique(which)) == 50 and len(np.unique(which // CHUNK)) > 1  # across blocks
    np.testing.assert_array_equal(sample, X[which])


def test_partial_fit_updates_an_incremental_preprocessor_over_the_blocks(data):
    X, y = data
    dX, dy = da.from_array(X, chunks=(CHUNK, 4)), da.from_array(y, chunks=CHUNK)
    est = _classifier()
    est.partial_fit(dX, dy, classes=[0, 1]).partial_fit(dX, dy)
    assert len(est.history_["loss"]) == 2 and est.preprocessor_.n_samples_seen_ == 2 * N


def test_predict_is_lazy_and_matches_in_memory_predictions(fitted, data):
    X, y = data
    dX = da.from_array(X, chunks=(CHUNK, 4))
    calls = []
    proba = fitted.predict_proba(_counting_array(X, calls))
    labels = fitted.predict(dX)
    assert calls == [] and is_dask_collection(proba) and is_dask_collection(labels)
    assert proba.shape == (N, 2) and labels.shape == (N,)
    np.testing.assert_allclose(proba.compute(), fitted.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(labels.compute(), fitted.predict(X))
    score = fitted.score(dX, da.from_array(y, chunks=CHUNK))
    assert isinstance(score, float) and score == pytest.approx(fitted.score(X, y))


def test_two_seeded_fits_give_the_same_predictions(fitted, data):
    X, y = data
    again = _classifier().fit(da.from_array(X, chunks=(CHUNK, 4)), da.from_array(y, chunks=CHUNK))
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))


def test_rows_are_shuffled_within_a_window_of_chunks(data):
    X, _ = data
    rows, _, _ = DaskRows.of(da.from_array(X, chunks=(CHUNK, 4)))
    source = DaskSource(rows, None, (4,), window_chunks=2)
    windows = list(_dataset._windows(source))
    assert [(first, len(w)) for first, w in windows] == [(0, 80), (80, 80), (160, 80)]
    est = _classifier(shuffle_window_chunks=2)
    assert est.get_params()["shuffle_window_chunks"] == 2


def test_dataframe_with_column_transformer_and_dask_series_target(data):
    X, _ = data
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "kind": np.where(X[:, 2] > 1, "u", "v")})
    target = pd.Series(2.0 * X[:, 0] - X[:, 1])
    ddf, dy = dd.from_pandas(frame, npartitions=4), dd.from_pandas(target, npartitions=4)
    pre = ColumnTransformer([("num", StandardScaler(), ["a", "b"]), ("cat", OneHotEncoder(), ["kind"])])
    est = KerasPipelineRegressor(MLP(hidden_layer_sizes=(8,)), pre, epochs=3, random_state=0)
    est.fit(ddf, dy)
    assert list(est.feature_names_in_) == ["a", "b", "kind"] and est.input_shape_ == (4,)
    predictions = est.predict(ddf[["kind", "b", "a"]])  # columns realigned by name
    assert is_dask_collection(predictions)
    np.testing.assert_allclose(predictions.compute(), est.predict(frame), atol=1e-5)
    assert isinstance(est.score(ddf, dy), float)


def test_validation_holds_out_whole_blocks(data):
    X, y = data
    dX = da.from_array(X, chunks=(CHUNK, 4))
    est = _classifier(early_stopping=True, validation_split=0.25, epochs=3).fit(dX, y)
    assert len(est.history_["val_loss"]) == len(est.history_["loss"]) >= 1
    rows, _, _ = DaskRows.of(dX)
    source = DaskSource(rows, None, (4,))
    train, val, train_rows, val_rows = source.hold_out(0.25, seed=1)
    assert val.n_rows == 2 * CHUNK and train.n_rows == N - 2 * CHUNK  # ceil(0.25 * 6) blocks
    assert sorted(np.concatenate([train_rows, val_rows]).tolist()) == list(range(N))
    assert set(np.unique(val_rows // CHUNK).tolist()).isdisjoint(np.unique(train_rows // CHUNK).tolist())
    with pytest.raises(ValueError, match="whole blocks.*Rechunk"):
        DaskSource(DaskRows.of(da.from_array(X, chunks=(N, 4)))[0], None, (4,)).hold_out(0.2, 0)


def test_save_load_and_export_after_a_dask_fit(fitted, data, tmp_path):
    X, _ = data
    path = tmp_path / "dask.skkp"
    fitted.save(path)
    loaded = skkeras_prep.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    exported = fitted.export_model()
    np.testing.assert_allclose(np.asarray(exported(X)), fitted.predict_proba(X), atol=1e-5)


def test_unknown_chunk_sizes_are_refused_with_the_fix(data):
    X, y = data
    dX = da.from_array(X, chunks=(CHUNK, 4))
    selected = dX[dX[:, 0] > 0]
    with pytest.raises(ValueError, match=r"chunk sizes are unknown.*compute_chunk_sizes\(\)"):
        _classifier().fit(selected, y[X[:, 0] > 0])


def test_unsupported_collections_are_refused():
    import dask.bag as db

    bag = db.from_sequence([[1.0, 2.0]] * 10)
    with pytest.raises(TypeError, match="dask Bag.*to_dataframe"):
        _classifier().fit(bag, np.zeros(10))
    with pytest.raises(TypeError, match="dask Delayed.*from_delayed"):
        _classifier().fit(dask.delayed(np.zeros)((10, 2)), np.zeros(10))


def test_y_with_other_rows_than_x_is_refused(data):
    X, y = data
    dX = da.from_array(X, chunks=(CHUNK, 4))
    with pytest.raises(ValueError, match=r"y has 200 rows but X has 240 \(X's row blocks"):
        _classifier().fit(dX, da.from_array(y[:200], chunks=CHUNK))
    with pytest.raises(ValueError, match="inconsistent numbers of samples: X has 240 rows, y has 200"):
        _classifier().fit(dX, y[:200])


def test_a_bad_value_in_a_later_block_raises_our_error_not_tensorflows(data):
    X, y = data
    X = X.copy()
    X[N - 5, 2] = np.nan
    est = KerasPipelineClassifier(MLP(hidden_layer_sizes=(4,)), epochs=1, random_state=0)
    with pytest.raises(ValueError, match="NaN"):
        est.fit(da.from_array(X, chunks=(CHUNK, 4)), y)
    frame = dd.from_pandas(pd.DataFrame({"a": X[:, 0], "t": ["x"] * N}), npartitions=2)
    with pytest.raises(ValueError, match=r"non-numeric column\(s\) \['t'\].*preprocessor"):
        est.fit(frame, y)


def test_as_source_streams_a_dask_array(data):
    X, _ = data
    source = as_source(da.from_array(X, chunks=(CHUNK, 4)))
    assert isinstance(source, DaskSource) and not source.indexable and source.n_rows == N
    np.testing.assert_array_equal(np.concatenate([c for _, c in source.chunks()]), X)


def test_dask_is_imported_only_inside_functions():
    """dask stays optional: the dask source module imports it only when a dask input arrives."""
    path = pathlib.Path(skkeras_prep.__file__).parent / "sources" / "dask.py"
    tree = ast.parse(path.read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = [a.name for n in top for a in n.names] + [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
    assert not any(name.split(".")[0] == "dask" for name in names)


def test_fit_and_predict_on_a_distributed_client(data):
    distributed = pytest.importorskip("distributed")
    X, y = data
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1,
                            dashboard_address=None) as client:
        with dask.config.set(scheduler=client):
            dX = client.persist(da.from_array(X, chunks=(CHUNK, 4)))
            est = _classifier().fit(dX, da.from_array(y, chunks=CHUNK))
            proba = est.predict_proba(dX).compute()
    np.testing.assert_allclose(proba, est.predict_proba(X), atol=1e-6)
