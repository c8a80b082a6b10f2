"""Lazy prediction on a dask DataFrame: known chunk sizes, so the result slices like an
array; docs/scaling.md's parquet example runs as written, on a small parquet folder with the
same columns (only the data source changes)."""

import gc
import pathlib
import re
import weakref

import numpy as np
import pandas as pd
import pytest

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
pytest.importorskip("pyarrow")

from skkeras_prep.sources.dask import partition_lengths  # noqa: E402


DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "scaling.md"
SOURCE = '"events/*.parquet"'


def _parquet_example():
    """The python block of docs/scaling.md that reads ``events/*.parquet``."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    found = [b for b in blocks if SOURCE in b]
    assert len(found) == 1, "docs/scaling.md's parquet example moved; update this test"
    return found[0]


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    """A folder of 3 parquet files with the example's columns (amount, age, country, label)."""
    folder = tmp_path_factory.mktemp("events")
    rng = np.random.default_rng(0)
    for i in range(3):
        n = 700 + 50 * i
        amount = rng.gamma(2.0, 30.0, size=n)
        country = rng.choice(["fr", "de", "us"], size=n)
        label = ((amount > 60) ^ (country == "us")).astype(int)
        pd.DataFrame({"amount": amount, "age": rng.integers(18, 90, size=n).astype(float),
                      "country": country, "label": label}).to_parquet(folder / f"part{i}.parquet")
    return folder


def test_scaling_doc_parquet_example_runs(events):
    code = _parquet_example().replace(SOURCE, repr(str(events / "*.parquet")))
    namespace = {}
    with dask.config.set(scheduler="synchronous"):
        exec(compile(code, str(DOC), "exec"), namespace)
        proba, clf, X, y = (namespace[k] for k in ("proba", "clf", "X", "y"))
        assert proba.chunks[0] == (700, 750, 800)  # known: it slices like an array
        lengths = dask.compute(*partition_lengths(X.to_delayed()))
        assert list(lengths) == [700, 750, 800]
        first = proba[:1000].compute()
        assert first.shape == (1000, 2)
        np.testing.assert_allclose(first, clf.predict_proba(X.head(1000, npartitions=-1)),
                                   atol=1e-6)
        assert clf.score(X, y) == pytest.approx(clf.score(X.compute(), y.compute()))


class _Chunks:
    """A source read in order: the given chunks (unequal sizes), windows of 3; ``seen``
    records, as each chunk is read, whether the window ``held`` (a weakref) is still alive."""

    window_chunks = 3

    def __init__(self, sizes):
        self.parts = [np.full((n, 2), i, dtype=np.float32) for i, n in enumerate(sizes)]
        self.held, self.seen = None, []

    def chunks(self, chunk_rows=None):
        start = 0
        for part in self.parts:
            gc.collect()
            self.seen.append(self.held is not None and self.held() is not None)
            yield start, part
            start += len(part)


def test_shuffle_windows_hold_one_window_at_a_time():
    """A window is the chunks joined in order (growing when a later chunk is larger than the
    first), and the last window is freed before the next one is filled, once the caller has
    let it go (docs/scaling.md, memory)."""
    from skkeras_prep._dataset import _windows

    source = _Chunks([2, 5, 5, 5, 1])
    windows = _windows(source)
    first, rows = next(windows)
    assert first == 0 and rows[:, 0].tolist() == [0] * 2 + [1] * 5 + [2] * 5
    source.held = weakref.ref(rows.base if rows.base is not None else rows)
    del rows
    first, rows = next(windows)
    assert first == 12 and rows[:, 0].tolist() == [3] * 5 + [4]
    assert source.seen == [False, False, False, False, False]  # window 1 gone before chunk 3
    assert next(windows, None) is None
