"""What the peak memory of a dask fit is made of, for two ways of making X and y, with the
package at two commits side by side in one run.

    .venv/bin/python bench/dask_fit_memory.py --rows 3000000 --before /tmp/old_checkout

Cases (one epoch, ``MLP(hidden_layer_sizes=(64,))``, ``batch_size=512``, default
``shuffle_window_chunks=4`` (``--window``), dask's threaded scheduler):

* ``derived``: ``X = da.random.RandomState(0).standard_normal((rows, 100),
  chunks=(250_000, 100)).astype("float32")`` and ``y = X[:, 0] > 0``: y is derived from X,
  so computing y generates every block of X (blocks of 100 MB, made from 200 MB of float64);
* ``generator``: ``bench.out_of_core``'s generator (chunks of 50,000 rows, 20 MB), whose y
  is generated without X.

Each case runs in fresh processes: ``y`` computes y alone (the first thing a fit does: its
peak is the fit's first phase), ``fit`` runs the whole fit. Peaks are the RSS high-water mark
(``bench.harness.PeakMeter``) of that phase; "before" is the RSS after importing TensorFlow
and skkeras_prep and making X lazily. ``--before`` runs the same children with another
checkout's ``skkeras_prep`` first on ``PYTHONPATH``.
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _data(case, rows, seed=0):
    import dask.array as da
    import numpy as np

    if case == "derived":
        X = da.random.RandomState(seed).standard_normal((rows, 100), chunks=(250_000, 100))
        X = X.astype(np.float32)
        return X, X[:, 0] > 0
    from bench.out_of_core import lazy_data

    return lazy_data(rows, 100, 50_000, seed)


def child(case, phase, rows, window):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.append(ROOT)  # bench.*; skkeras_prep comes from PYTHONPATH when given
    import dask

    from bench.harness import MB, PeakMeter, current_rss
    import skkeras_prep
    from skkeras_prep import KerasPipelineClassifier
    from skkeras_prep.models import MLP

    X, y = _data(case, rows)
    est = KerasPipelineClassifier(MLP(hidden_layer_sizes=(64,)), epochs=1, batch_size=512,
                                  random_state=0, shuffle_window_chunks=window)
    before = current_rss()
    with dask.config.set(scheduler="threads"):
        t0 = time.perf_counter()
        with PeakMeter(collect=False) as meter:
            if phase == "y":
                dask.compute(y)
            else:
                est.fit(X, y)
        seconds = time.perf_counter() - t0
    print(json.dumps({"case": case, "phase": phase, "rows": rows, "seconds": seconds,
                      "before_mb": before / MB, "peak_mb": meter.peak / MB,
                      "package": os.path.dirname(skkeras_prep.__file__)}))


def run(case, phase, rows, window, pythonpath):
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", case, phase, "--rows", str(rows),
         "--window", str(window)],
        check=True, capture_output=True, text=True, env=env, cwd="/").stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--window", type=int, default=4, help="shuffle_window_chunks")
    parser.add_argument("--cases", default="derived,generator")
    parser.add_argument("--before", default=None, help="a checkout whose skkeras_prep to compare")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child, args.rows, args.window)
    versions = [("after", ROOT)] + ([("before", args.before)] if args.before else [])
    print("| case | code | phase | s | RSS before MB | peak MB | peak - before MB |")
    print("|---|---|---|---:|---:|---:|---:|")
    for case in args.cases.split(","):
        for phase in ("y", "fit"):
            for label, path in versions:
                if phase == "y" and label == "before":
                    continue  # computing y alone does not touch the package
                r = run(case, phase, args.rows, args.window, path)
                print(f"| {case} | {label} | {phase} | {r['seconds']:.1f} | {r['before_mb']:,.0f} "
                      f"| **{r['peak_mb']:,.0f}** | {r['peak_mb'] - r['before_mb']:,.0f} |",
                      flush=True)


if __name__ == "__main__":
    main()
