"""
A search on a Dask cluster
==========================

A hyper-parameter search spread over the workers of a Dask cluster.

scikit-learn's searches run their fits through joblib; ``joblib.parallel_backend("dask")``
sends each fit to a Dask worker. Each worker process runs its own TensorFlow, limited to its
share of the cores (``skkeras_prep.dask_workers``). With ``random_state`` set, the scores equal
those of the same search run with ``n_jobs=1``.

Needs the dask extra: ``pip install -e ".[dask]"``. Run::

  python examples/dask_search.py                       # a LocalCluster of 2 CPU workers
  python examples/dask_search.py --workers 4           # 4 CPU workers
  python examples/dask_search.py --gpus 2              # one worker per GPU (docs/scaling.md)
  python examples/dask_search.py --scheduler tcp://10.0.0.5:8786   # an existing cluster
"""

import argparse
import logging
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the script's choice: quiet TF start-up logs

import joblib  # noqa: E402
from distributed import Client, LocalCluster, Nanny, Scheduler, SpecCluster  # noqa: E402
from scipy.stats import loguniform  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import RandomizedSearchCV  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skkeras_prep import KerasPipelineClassifier  # noqa: E402
from skkeras_prep.models import MLP  # noqa: E402
from skkeras_prep.dask_workers import (  # noqa: E402
    TensorFlowThreads,
    tensorflow_thread_env,
    worker_tensorflow_threads,
)


def cpu_cluster(n_workers):
    """n worker processes with 1 thread each; TensorFlow in each uses 1 thread."""
    return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                        dashboard_address=None, env=tensorflow_thread_env(1))


def gpu_cluster(n_gpus, threads=2):
    """One worker process per GPU: each sees only its GPU (CUDA_VISIBLE_DEVICES) and lets
    TensorFlow's GPU memory grow as needed instead of taking all of it at start."""
    workers = {
        f"gpu-{i}": {"cls": Nanny, "options": {
            "nthreads": 1,
            "env": {**tensorflow_thread_env(threads), "CUDA_VISIBLE_DEVICES": str(i),
                    "TF_FORCE_GPU_ALLOW_GROWTH": "true"},
        }}
        for i in range(n_gpus)
    }
    scheduler = {"cls": Scheduler, "options": {"dashboard_address": None}}
    return SpecCluster(workers=workers, scheduler=scheduler, silence_logs=logging.WARNING)


def readable(params):
    """The parameters with NumPy scalars (scipy.stats draws them) as plain Python numbers, so
    that they print as 0.0123, not np.float64(0.0123)."""
    return {name: value.item() if hasattr(value, "item") and getattr(value, "ndim", None) == 0 else value
            for name, value in params.items()}


def main(workers=2, gpus=0, scheduler=None, quick=False):
    if scheduler:
        client = Client(scheduler)  # workers started elsewhere (see docs/scaling.md)
        cluster = None
    else:
        cluster = gpu_cluster(gpus) if gpus else cpu_cluster(workers)
        client = Client(cluster)
        # also for workers that join or are restarted later; before any task runs TensorFlow
        client.register_plugin(TensorFlowThreads(2 if gpus else 1))
    try:
        print(f"workers: {len(client.scheduler_info()['workers'])}, TensorFlow threads "
              f"(intra, inter) per worker: {sorted(set(client.run(worker_tensorflow_threads).values()))}")
        X, y = load_digits(return_X_y=True)
        if quick:
            X, y = X[:600], y[:600]
        search = RandomizedSearchCV(
            KerasPipelineClassifier(MLP(), StandardScaler(), epochs=8, random_state=0),
            {"optimizer__learning_rate": loguniform(1e-3, 3e-2),
             "model__hidden_layer_sizes": [(32,), (64,), (64, 32)]},
            n_iter=4, cv=2, random_state=0, n_jobs=-1,
        )
        start = time.perf_counter()
        with joblib.parallel_backend("dask"):
            search.fit(X, y)
        print(f"{search.n_iter * 2} fits on the cluster in {time.perf_counter() - start:.1f} s")
        for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
            print(f"  {score:.4f}  {readable(params)}")
        print(f"best: {search.best_score_:.4f} with {readable(search.best_params_)}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="CPU worker processes (LocalCluster)")
    parser.add_argument("--gpus", type=int, default=0, help="one worker process per GPU")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    parser.add_argument("--quick", action="store_true", help="600 rows (as CI runs it)")
    args = parser.parse_args()
    main(args.workers, args.gpus, args.scheduler, args.quick)
