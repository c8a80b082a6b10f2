"""Prediction padding (issue 20 section 3): batches run in whole row blocks, the padding costs
at most ``_padding.PAD_BYTES`` on every path (arrays, several inputs, the dask template), and
small rows keep bit-identical predictions whatever the order and batch size."""

import tracemalloc

import keras
import numpy as np
import pytest

from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor, _padding

BIG = (512, 512, 3)  # 3 MiB a float32 row: 48 rows would be 144 MiB
BIG_BYTES = 4 * int(np.prod(BIG))


def rows_run(pieces):
    return [len(next(iter(p.values()))) if isinstance(p, dict) else len(p) for p, _ in pieces]


def only_itself(pieces, batch):
    """Whether ``pieces`` runs ``batch`` as it is, in one piece, keeping every row."""
    n = len(next(iter(batch.values()))) if isinstance(batch, dict) else len(batch)
    return len(pieces) == 1 and pieces[0][0] is batch and pieces[0][1] == n


# -- the pieces, directly -----------------------------------------------------------------------
def test_a_small_batch_is_padded_to_whole_blocks_in_one_piece():
    batch = np.arange(100 * 5, dtype=np.float32).reshape(100, 5)
    pieces = _padding.pieces(batch)
    assert rows_run(pieces) == [144] and pieces[0][1] == 100
    np.testing.assert_array_equal(pieces[0][0][:100], batch)
    np.testing.assert_array_equal(pieces[0][0][100:], np.repeat(batch[-1:], 44, axis=0))
    assert rows_run(_padding.pieces(batch[:1])) == [48]
    whole = batch[:96]
    assert only_itself(_padding.pieces(whole), whole)


def test_a_large_batch_runs_its_whole_blocks_as_a_view_and_pads_only_its_tail():
    batch = np.ones((2100, 1000), np.float32)  # 8.4 MB: a padded copy would pass PAD_BYTES
    pieces = _padding.pieces(batch)
    assert rows_run(pieces) == [2064, 48] and [keep for _, keep in pieces] == [2064, 36]
    assert np.shares_memory(pieces[0][0], batch) and not np.shares_memory(pieces[1][0], batch)
    assert pieces[1][0].nbytes <= _padding.PAD_BYTES


def test_several_inputs_are_cut_alike(monkeypatch):
    batch = {"a": np.ones((50, 3), np.float32), "b": np.zeros((50, 2, 2), np.float32)}
    [(piece, keep)] = _padding.pieces(batch)
    assert (piece["a"].shape, piece["b"].shape, keep) == ((96, 3), (96, 2, 2), 50)
    monkeypatch.setattr(_padding, "PAD_BYTES", 2 * 48 * 28)  # 28 bytes a row: split 50 rows
    pieces = _padding.pieces(batch)
    assert [(p["a"].shape, p["b"].shape, keep) for p, keep in pieces] == [
        ((48, 3), (48, 2, 2), 48), ((48, 3), (48, 2, 2), 2)]


def test_wide_rows_are_not_padded():
    wide = np.zeros((1,) + BIG, np.float32)
    assert only_itself(_padding.pieces(wide), wide)
    # two inputs that each fit the budget but not together
    half = int(_padding.PAD_BYTES / _padding.ROW_BLOCK / 4 * 0.6)
    batch = {"a": np.zeros((3, half), np.float32), "b": np.zeros((3, half), np.float32)}
    assert _padding.pads({"a": batch["a"]}) and not _padding.pads(batch)
    assert only_itself(_padding.pieces(batch), batch)


def test_the_budget_admits_small_images_and_refuses_large_ones():
    def fits(shape):
        return _padding.pads(np.zeros((1,) + shape, np.float32))

    assert fits((28, 28, 1)) and fits((64, 64, 3)) and fits((120, 120, 3))
    assert not fits((128, 128, 3)) and not fits(BIG)


# -- through the estimators ---------------------------------------------------------------------
def big_model(meta):
    return keras.Sequential([
        keras.Input(meta["input_shape_"]),
        keras.layers.Conv2D(2, 16, strides=16),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(1),
    ])


@pytest.fixture(scope="module")
def big_fit():
    X = np.random.default_rng(0).random((3,) + BIG, dtype=np.float32)
    est = KerasPipelineRegressor(big_model, epochs=1, batch_size=3, random_state=0)
    return est.fit(X, np.array([0.0, 1.0, 2.0])), X


@pytest.fixture
def spy(monkeypatch):
    seen = []
    real = _padding.pieces

    def recording(batch):
        out = real(batch)
        seen.append(rows_run(out))
        return out

    monkeypatch.setattr(_padding, "pieces", recording)
    return seen


def test_one_wide_row_is_predicted_without_padding(big_fit, spy):
    est, X = big_fit
    one = X[:1]
    est.predict(one)  # traced once, outside the measure
    tracemalloc.start()
    try:
        prediction = est.predict(one)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert spy[-1] == [1]
    assert peak < 4 * BIG_BYTES, peak  # 48 padded rows would be 48 * BIG_BYTES
    assert prediction.shape == (1,) and np.isfinite(prediction).all()


def test_the_dask_template_row_is_not_padded_for_wide_rows(big_fit, spy):
    da = pytest.importorskip("dask.array")
    est, X = big_fit
    lazy = est.predict(da.from_array(X, chunks=(2,) + BIG))
    assert spy == [[1]]  # only the template row ran so far
    np.testing.assert_allclose(lazy.compute(), est.predict(X), rtol=1e-6)


def two_inputs(meta):
    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    h = keras.layers.Dense(8, activation="relu")(keras.layers.Concatenate()([a, b]))
    return keras.Model({"a": a, "b": b}, keras.layers.Dense(3, activation="softmax")(h))


@pytest.fixture(scope="module")
def two_input_fit():
    rng = np.random.default_rng(1)
    X = {"a": rng.normal(size=(150, 3)), "b": rng.normal(size=(150, 2))}
    y = rng.integers(0, 3, 150)
    return KerasPipelineClassifier(two_inputs, epochs=1, random_state=0).fit(X, y), X


@pytest.mark.parametrize("budget", ["default", "small"])
def test_several_inputs_are_bit_identical_whatever_the_order_and_batch(two_input_fit, spy, monkeypatch, budget):
    clf, X = two_input_fit
    rng = np.random.default_rng(2)
    reference = clf.predict_proba(X)  # one padded copy of the batch
    if budget == "small":  # 20 bytes a row: batches over 48 rows run as whole blocks + tail
        monkeypatch.setattr(_padding, "PAD_BYTES", 2 * 48 * 20)
    full = clf.predict_proba(X)
    assert spy[-1] == ([192] if budget == "default" else [144, 48])
    np.testing.assert_array_equal(full, reference)  # whole blocks + tail: the same bits
    order = rng.permutation(150)
    np.testing.assert_array_equal(clf.predict_proba({k: v[order] for k, v in X.items()}), full[order])
    for n in (1, 7, 49):
        np.testing.assert_array_equal(clf.predict_proba({k: v[:n] for k, v in X.items()}), full[:n])
    np.testing.assert_array_equal(clf.predict_proba(X, batch_size=50), full)
