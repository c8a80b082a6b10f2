"""A grid search locally and on a Dask LocalCluster, with the same TensorFlow thread settings.

    python -m bench.dask_search [--workers 2] [--threads 1]

1. local: ``n_jobs=1`` in a fresh process whose TensorFlow uses ``--threads`` threads
   (``skkeras_prep.dask_workers.tensorflow_thread_env``), i.e. one worker's share;
2. dask: the same search with ``n_jobs=-1`` under ``joblib.parallel_backend("dask")`` on
   ``--workers`` worker processes with the same thread settings, once cold (each worker imports
   TensorFlow) and once warm.

Prints the wall times, their ratio and the largest difference between the cv_results_ split
scores (expected: 0). Results are quoted in docs/scaling.md.
"""

import argparse
import json
import os
import subprocess
import sys

_SEARCH = """
import json, time
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from skkeras_prep import KerasPipelineClassifier
from skkeras_prep.models import MLP

def search(n_jobs):
    X, y = load_digits(return_X_y=True)
    grid = {"optimizer__learning_rate": [0.003, 0.01], "model__hidden_layer_sizes": [(32,), (64,)]}
    est = KerasPipelineClassifier(MLP(), StandardScaler(), epochs=10, random_state=0)
    start = time.perf_counter()
    found = GridSearchCV(est, grid, cv=3, n_jobs=n_jobs, refit=False).fit(X, y)
    scores = np.array([found.cv_results_[f"split{k}_test_score"] for k in range(3)])
    return time.perf_counter() - start, scores.tolist()
"""


def _local(threads):
    from skkeras_prep.dask_workers import tensorflow_thread_env

    code = _SEARCH + "\nseconds, scores = search(1)\nprint('RESULT ' + json.dumps([seconds, scores]))\n"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **tensorflow_thread_env(threads))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import joblib
    import numpy as np
    from distributed import Client, LocalCluster

    from skkeras_prep.dask_workers import TensorFlowThreads, tensorflow_thread_env

    namespace = {}
    exec(_SEARCH, namespace)
    local_seconds, local_scores = _local(args.threads)
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, env=tensorflow_thread_env(args.threads)) as cluster, \
            Client(cluster) as client:
        client.register_plugin(TensorFlowThreads(args.threads))
        runs = []
        for _ in range(2):
            with joblib.parallel_backend("dask"):
                runs.append(namespace["search"](-1))
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} at the end")
    print(f"local n_jobs=1, TensorFlow {args.threads} thread(s): {local_seconds:.1f} s")
    for name, (seconds, scores) in zip(("dask, cold", "dask, warm"), runs):
        diff = float(np.abs(np.subtract(scores, local_scores)).max())
        print(f"{name}: {args.workers} workers x {args.threads} thread(s): {seconds:.1f} s "
              f"(local / dask = {local_seconds / seconds:.2f}x); max score difference {diff:.1e}")


if __name__ == "__main__":
    main()
