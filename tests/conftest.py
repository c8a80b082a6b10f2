"""Shared fixtures. Test-side settings only: the library itself sets no environment variables."""

import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow's C++ start-up logs in test output
# scikit-learn's check_array_api_input (NumPy inputs with array API dispatch on) runs only when
# scipy was imported with this set; without it that common check is skipped.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.datasets import load_digits, load_iris  # noqa: E402


@pytest.fixture(scope="session")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="session")
def digits():
    return load_digits(return_X_y=True)


@pytest.fixture(scope="session")
def binary_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


@pytest.fixture(scope="session")
def dask_client():
    """One Dask ``LocalCluster`` shared by every test that asks for it (each worker process
    imports TensorFlow, about 0.5 GB): 2 worker processes with 1 thread each, TensorFlow
    limited to 1 thread per worker (``skkeras_prep.dask_workers``). Created on first request;
    tests that need Dask without it installed are skipped. A test that kills a worker leaves
    the cluster with 2 workers again (the nanny restarts it; ``restore_workers`` waits)."""
    pytest.importorskip("distributed", reason="the skkeras_prep[dask] extra is not installed")
    from distributed import Client, LocalCluster

    from skkeras_prep.dask_workers import TensorFlowThreads, tensorflow_thread_env

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        env=tensorflow_thread_env(1),
    )
    client = Client(cluster)
    client.register_plugin(TensorFlowThreads(1))
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture
def empty_pool():
    """The model pool emptied before and after the test (test_pool.py, test_pool_kinds.py).
    Estimators of earlier tests in this process that are unreachable but not yet collected
    would hand their models back to the pool in the middle of a test: collect them first."""
    import skkeras_prep

    gc.collect()
    skkeras_prep.clear_cache()
    yield
    skkeras_prep.clear_cache()
