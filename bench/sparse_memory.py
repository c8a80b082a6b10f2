"""Peak memory of fitting on a large scipy CSR matrix, against a dense float32 copy.

    .venv/bin/python -m bench.sparse_memory          # 200,000 x 50,000, density 0.05 %

The matrix (5,000,000 stored values, about 40 MB as CSR) would take 40 GB as a dense float32
array. skkeras_prep keeps it as CSR and densifies one batch of rows at a time inside the
tf.data pipeline, so peak RSS while fitting is the TensorFlow runtime plus a few dense
batches (512 x 50,000 float32 = 102 MB each). Phases are measured in this one process with
``bench.harness.PeakMeter`` (the kernel's RSS high-water mark, reset before each phase).

Writes the table and the exact command to bench/results/sparse_memory.md (``--out``).
"""

import argparse
import datetime
import os
import platform
import shlex
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # the script's choice: quiet TF start-up logs

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from .harness import MB, PeakMeter, current_rss  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
GB = 1e9


def make_csr(n_rows, n_cols, density, seed):
    """A random float32 CSR matrix with about ``density`` of its entries stored, built
    without ever materialising anything dense, and binary labels that depend on it."""
    rng = np.random.default_rng(seed)
    nnz = int(round(n_rows * n_cols * density))
    rows = np.sort(rng.integers(0, n_rows, nnz, dtype=np.int32))
    cols = rng.integers(0, n_cols, nnz, dtype=np.int32)
    values = rng.random(nnz, dtype=np.float32)
    X = sp.csr_matrix((values, (rows, cols)), shape=(n_rows, n_cols), dtype=np.float32)
    del rows, cols, values
    X.sum_duplicates()
    weights = rng.normal(size=n_cols).astype(np.float32)
    score = X @ weights
    y = (score > np.median(score)).astype(np.int64)
    return X, y


def csr_bytes(X):
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--cols", type=int, default=50_000)
    parser.add_argument("--density", type=float, default=0.0005)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--predict-rows", type=int, default=20_000,
                        help="rows passed to predict_proba after the fit (0 skips it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "sparse_memory.md"))
    args = parser.parse_args(argv)

    rss_start = current_rss()
    import tensorflow as tf  # noqa: F401  (imported here so its share of RSS is reported)

    from skkeras_prep import KerasPipelineClassifier
    from skkeras_prep.models import MLP

    rss_imports = current_rss()

    with PeakMeter() as build:
        X, y = make_csr(args.rows, args.cols, args.density, args.seed)
    dense_bytes = args.rows * args.cols * 4

    est = KerasPipelineClassifier(
        MLP(hidden_layer_sizes=(args.hidden,)), epochs=args.epochs, batch_size=args.batch_size,
        random_state=args.seed,
    )
    t0 = time.perf_counter()
    with PeakMeter() as fit:
        est.fit(X, y)
    fit_s = time.perf_counter() - t0

    predict = None
    if args.predict_rows:
        Xp = X[: args.predict_rows]
        t0 = time.perf_counter()
        with PeakMeter() as predict:
            proba = est.predict_proba(Xp)
        predict_s = time.perf_counter() - t0
        assert proba.shape == (Xp.shape[0], 2)

    batch_bytes = args.batch_size * args.cols * 4
    rows = [
        ("dense float32 copy of X (never made)", f"{dense_bytes / GB:,.1f} GB", ""),
        ("X as CSR float32 (data + indices + indptr)", f"{csr_bytes(X) / MB:,.0f} MB",
         f"{X.nnz:,} stored values"),
        ("one dense training batch", f"{batch_bytes / MB:,.0f} MB",
         f"{args.batch_size} x {args.cols:,} float32"),
        ("RSS after importing TensorFlow + skkeras_prep", f"{rss_imports / MB:,.0f} MB",
         f"{rss_start / MB:,.0f} MB at interpreter start"),
        ("RSS before fit (X and y built)", f"{fit.baseline / MB:,.0f} MB",
         f"building X peaked at {build.peak / MB:,.0f} MB"),
        ("**peak RSS during fit**", f"**{fit.peak / MB:,.0f} MB**",
         f"+{fit.delta / MB:,.0f} MB over before fit; {fit_s:.1f} s, "
         f"{est.n_iter_} epoch(s) of {-(-args.rows // args.batch_size)} batches"),
        ("peak RSS during fit / dense float32 copy", f"{fit.peak / dense_bytes:.1%}", ""),
    ]
    if predict is not None:
        rows.append((
            f"peak RSS during predict_proba on {args.predict_rows:,} rows",
            f"{predict.peak / MB:,.0f} MB",
            f"+{predict.delta / MB:,.0f} MB over before; {predict_s:.1f} s",
        ))

    command = "cd <repo> && .venv/bin/python -m bench.sparse_memory"
    if argv is None:
        argv = sys.argv[1:]
    if argv:
        command += " " + " ".join(shlex.quote(a) for a in argv)
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    lines = [
        "# Sparse input: peak memory of a fit",
        "",
        f"A {args.rows:,} x {args.cols:,} scipy CSR matrix with density {args.density:.4%} "
        f"(binary labels), fitted with `KerasPipelineClassifier(MLP(hidden_layer_sizes="
        f"({args.hidden},)), epochs={args.epochs}, batch_size={args.batch_size})` and no "
        "preprocessor. The matrix stays CSR; each batch of rows is densified on its own inside "
        "the tf.data pipeline. RSS is the process's resident set size; peaks are the kernel's "
        f"high-water mark (`{fit.method}`), reset before each phase.",
        "",
        "| what | size | notes |",
        "|---|---:|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        "Command:",
        "",
        "```",
        command,
        "```",
        "",
        f"Run {datetime.datetime.now().isoformat(timespec='seconds')} on {platform.node() or 'unknown'}: "
        f"{os.cpu_count()} CPU(s), Python {platform.python_version()}, "
        f"load average before {tuple(round(v, 2) for v in load) if load else 'n/a'}.",
        "",
    ]
    text = "\n".join(lines)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
