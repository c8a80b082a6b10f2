"""Out-of-core fit: a lazily generated dask array larger than memory, one epoch, against the
in-memory path on a subset, side by side in one run.

    .venv/bin/python -m bench.out_of_core        # 15,000,000 x 100 float32 (6 GB), 1,000,000 in memory

X is a ``dask.array`` whose blocks are generated on demand from the block number (nothing is
stored: 15M x 100 float32 would be 6 GB); y depends on X's first column, which is generated
on its own, so computing y (which the fit does first) does not generate the rest of X. Each
phase runs in its own fresh Python process (``--child``), so each peak RSS is clean:

* ``dask``: ``fit`` on the whole dask array, one epoch (rows computed block by block, the next
  block computed while the current one trains, rows shuffled in windows of chunks);
* ``memory``: ``fit`` on the first ``--memory-rows`` rows, computed into a numpy array first
  (the in-memory path: batches gathered by index).

Rows/s is rows / fit seconds. Peaks are the kernel's RSS high-water mark (``bench.harness``).
Writes the table and the exact command to bench/results/out_of_core.md (``--out``).
"""

import argparse
import datetime
import importlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # the script's choice: quiet TF start-up logs

import numpy as np  # noqa: E402

from .harness import MB, PeakMeter, current_rss  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
GB = 1e9


def _first_column(i, rows, seed):
    return np.random.default_rng([seed, i, 0]).standard_normal(rows, dtype=np.float32)


def _block(i, rows, cols, seed):
    """Block ``i`` of X: its first column (which y depends on) and ``cols - 1`` others."""
    out = np.empty((rows, cols), dtype=np.float32)
    out[:, 1:] = np.random.default_rng([seed, i, 1]).standard_normal((rows, cols - 1), dtype=np.float32)
    out[:, 0] = _first_column(i, rows, seed)
    return out


def _labels(i, rows, seed):
    noise = np.random.default_rng([seed, i, 2]).standard_normal(rows, dtype=np.float32)
    return (_first_column(i, rows, seed) + 0.5 * noise > 0).astype(np.int8)


def lazy_data(n_rows, cols, chunk, seed):
    """X (n_rows x cols float32) and y as dask arrays whose blocks are generated when computed."""
    import dask.array as da

    n_blocks = n_rows // chunk
    X = da.map_blocks(lambda block_id=None: _block(block_id[0], chunk, cols, seed),
                      chunks=((chunk,) * n_blocks, (cols,)), dtype=np.float32)
    y = da.map_blocks(lambda block_id=None: _labels(block_id[0], chunk, seed),
                      chunks=((chunk,) * n_blocks,), dtype=np.int8)
    return X, y


def estimator(*, hidden, batch_size, seed, window):
    """The estimator of both phases (also bench/no_regression.py's out-of-core case)."""
    from skkeras_prep import KerasPipelineClassifier
    from skkeras_prep.models import MLP

    return KerasPipelineClassifier(
        MLP(hidden_layer_sizes=(hidden,)), epochs=1, batch_size=batch_size,
        random_state=seed, shuffle_window_chunks=window,
    )


def child(args):
    """One phase in this process; prints a JSON line with its figures."""
    import dask

    rss_start = current_rss()
    importlib.import_module("skkeras_prep.models")  # the library's import is part of rss_imports

    rss_imports = current_rss()
    est = estimator(hidden=args.hidden, batch_size=args.batch_size, seed=args.seed,
                    window=args.window)
    if args.child == "dask":
        X, y = lazy_data(args.rows, args.cols, args.chunk, args.seed)
        rows = args.rows
    else:
        rows = args.memory_rows
        X, y = lazy_data(rows, args.cols, args.chunk, args.seed)
        with dask.config.set(scheduler="threads"):
            X, y = X.compute(), y.compute()
    with dask.config.set(scheduler="threads"):
        t0 = time.perf_counter()
        with PeakMeter() as fit:
            est.fit(X, y)
        seconds = time.perf_counter() - t0
        sample = slice(0, min(rows, 200_000))
        Xs, ys = (X[sample].compute(), y[sample].compute()) if args.child == "dask" else (X[sample], y[sample])
    print(json.dumps({
        "phase": args.child, "rows": rows, "fit_s": seconds, "rows_per_s": rows / seconds,
        "peak_mb": fit.peak / MB, "before_mb": fit.baseline / MB, "imports_mb": rss_imports / MB,
        "start_mb": rss_start / MB, "method": fit.method, "loss": est.history_["loss"][-1],
        "accuracy_first_200k": float(est.score(Xs, ys)),
    }))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=15_000_000)
    parser.add_argument("--memory-rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--chunk", type=int, default=50_000, help="rows per dask chunk")
    parser.add_argument("--window", type=int, default=4, help="shuffle_window_chunks")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", choices=["dask", "memory"], help=argparse.SUPPRESS)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "out_of_core.md"))
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    passed = sys.argv[1:] if argv is None else list(argv)
    results = {}
    load_start = os.getloadavg()
    for phase in ("memory", "dask"):
        out = subprocess.run([sys.executable, "-m", "bench.out_of_core", *passed, "--child", phase],
                             check=True, capture_output=True, text=True,
                             cwd=os.path.dirname(HERE)).stdout
        results[phase] = json.loads(out.strip().splitlines()[-1])
        print(phase, results[phase], flush=True)
    load_end = os.getloadavg()

    mem, dsk = results["memory"], results["dask"]
    ratio = dsk["rows_per_s"] / mem["rows_per_s"]
    command = "cd <repo> && .venv/bin/python -m bench.out_of_core"
    if passed:
        command += " " + " ".join(shlex.quote(a) for a in passed)
    data_gb = args.rows * args.cols * 4 / GB

    def row(name, r):
        return (f"| {name} | {r['rows']:,} | {r['fit_s']:.1f} | {r['rows_per_s']:,.0f} | "
                f"{r['before_mb']:,.0f} | **{r['peak_mb']:,.0f}** | {r['loss']:.3f} | "
                f"{r['accuracy_first_200k']:.3f} |")

    lines = [
        "# Out-of-core fit: a dask array larger than memory",
        "",
        f"X: a lazily generated `dask.array` of {args.rows:,} x {args.cols} float32 "
        f"({data_gb:.1f} GB if materialised; never stored), chunks of {args.chunk:,} rows; "
        f"binary y from X's first column. `KerasPipelineClassifier(MLP(hidden_layer_sizes="
        f"({args.hidden},)), epochs=1, batch_size={args.batch_size}, "
        f"shuffle_window_chunks={args.window})`, no preprocessor, dask's threaded scheduler. "
        f"The in-memory row computes the first {args.memory_rows:,} rows into a numpy array "
        "before the fit (not timed) and fits on it. Each row is its own fresh process, run one "
        f"after the other in this run; peaks are the RSS high-water mark (`{dsk['method']}`) "
        "during `fit`, which for dask includes computing y, generating every block of X and "
        "shuffling the windows.",
        "",
        "| path | rows | fit s | rows/s | RSS before fit MB | peak RSS in fit MB | final loss | accuracy (first 200k rows) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        row("in memory (numpy)", mem),
        row("dask, out of core", dsk),
        "",
        f"- dask rows/s / in-memory rows/s: **{ratio:.0%}** (goal >= 50%)",
        f"- dask peak RSS: **{dsk['peak_mb']:,.0f} MB** (goal <= 1,536 MB) for {data_gb:.1f} GB of X",
        f"- RSS after importing TensorFlow + skkeras_prep: {dsk['imports_mb']:,.0f} MB",
        f"- load average (1, 5, 15 min) at start {[round(v, 2) for v in load_start]}, at end "
        f"{[round(v, 2) for v in load_end]} (2 CPUs shared with other work)",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}, machine: "
        f"{os.cpu_count()} CPUs, {platform.platform()}",
        "",
        "Command:",
        "",
        "```",
        command,
        "```",
        "",
    ]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
