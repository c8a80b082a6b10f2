"""Serving cost of the ONNX export (issue 26): onnxruntime against the estimator and TensorFlow.

    .venv/bin/python -m bench.onnx_serving            # full: 3 alternated rounds
    .venv/bin/python -m bench.onnx_serving --smoke    # tiny, seconds

Two fitted estimators: ``numbers`` (an array of 4 columns, StandardScaler, MLP of 64) and
``table`` (a DataFrame of 2 numeric and 2 text columns with missing values, a
ColumnTransformer of imputers, StandardScaler, OneHotEncoder and OrdinalEncoder, MLP of 64).
For each, in one process, four ways to get ``predict_proba`` of raw rows:

* ``onnxruntime``: ``to_onnx`` file in an ``onnxruntime.InferenceSession``; the feeds are
  built from the rows (``onnx_inputs``) inside the timed call;
* ``onnxruntime, feeds ready``: the same ``session.run`` alone, the feeds built before the
  clock starts (what the graph costs, without the DataFrame conversion);
* ``estimator``: ``est.predict_proba(rows)``;
* ``export_model() call``: the exported ``keras.Model`` called eagerly on
  ``frame_to_inputs(model, rows)``;
* ``SavedModel serve``: ``exported.export(dir)`` loaded with ``tf.saved_model.load``, its
  ``serve`` signature on the same tensors (TensorFlow's serving path).

One-row latency: the median over ``--calls`` calls of one row (rows taken in turn); large:
the median time of one call on ``--rows`` rows (``--large-calls`` calls), reported as rows/s.
Rounds alternate the contenders (order rotated each round); cells are medians over rounds,
and every output is checked against ``predict_proba`` (max |difference|) before timing.

Writes the table and the exact command to bench/results/onnx_serving.md (``--out``).
"""

import argparse
import datetime
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # the script's choice: quiet TF start-up logs

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CONTENDERS = ("onnxruntime", "onnxruntime, feeds ready", "estimator", "export_model() call",
              "SavedModel serve")


def make_table(n, seed):
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "age": rng.normal(42, 12, n).round(),
        "fee": rng.gamma(4.0, 12.0, n),
        "region": rng.choice(["north", "south", "east", "west"], n),
        "plan": rng.choice(["basic", "standard", "premium"], n),
    })
    X.loc[rng.random(n) < 0.1, "age"] = np.nan
    X.loc[rng.random(n) < 0.08, "region"] = None
    y = (0.04 * X["fee"] - 0.03 * X["age"].fillna(42) + (X["plan"] == "basic") > 0.5)
    return X, y.astype(int).to_numpy()


def make_numbers(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1.0, 5.0, 50.0, 0.1]
    return X, (X[:, 0] + X[:, 1] / 5 > 0).astype(int)


def fit(kind, n_train, epochs):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    from skkeras_prep import KerasPipelineClassifier
    from skkeras_prep.models import MLP

    if kind == "numbers":
        X, y = make_numbers(n_train, 0)
        preprocessor = StandardScaler()
    else:
        X, y = make_table(n_train, 0)
        preprocessor = ColumnTransformer([
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
             ["age", "fee"]),
            ("region", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                     OneHotEncoder(handle_unknown="ignore")), ["region"]),
            ("plan", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
             ["plan"]),
        ])
    est = KerasPipelineClassifier(MLP((64,)), preprocessor, epochs=epochs, random_state=0)
    return est.fit(X, y)


def _rows(rows):
    return rows


def contenders(est, workdir):
    """name -> (prepare, call): ``call(prepare(rows))`` gives the probabilities, each as a user
    would call it; only ``call`` is timed."""
    import onnxruntime
    import tensorflow as tf

    from skkeras_prep.export import frame_to_inputs, onnx_inputs, to_onnx

    path = os.path.join(workdir, "model.onnx")
    to_onnx(est, path)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    exported = est.export_model()
    exported.export(os.path.join(workdir, "saved"), verbose=False)
    served = tf.saved_model.load(os.path.join(workdir, "saved"))
    return {
        "onnxruntime": (_rows, lambda rows: session.run(None, onnx_inputs(session, rows))[0]),
        "onnxruntime, feeds ready": (lambda rows: onnx_inputs(session, rows),
                                     lambda feeds: session.run(None, feeds)[0]),
        "estimator": (_rows, est.predict_proba),
        "export_model() call": (
            _rows, lambda rows: exported(frame_to_inputs(exported, rows)).numpy()),
        "SavedModel serve": (
            _rows, lambda rows: served.serve(frame_to_inputs(exported, rows)).numpy()),
    }


def _take(X, index):
    return X.iloc[index] if hasattr(X, "iloc") else X[index]


def one_row_ms(prepare, fn, X, calls):
    times = []
    for i in range(calls):
        row = prepare(_take(X, [i % len(X)]))
        start = time.perf_counter()
        fn(row)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def large_rows_per_s(prepare, fn, X, calls):
    times = []
    rows = prepare(X)
    for _ in range(calls):
        start = time.perf_counter()
        fn(rows)
        times.append(time.perf_counter() - start)
    return len(X) / statistics.median(times)


def measure(kind, args):
    est = fit(kind, args.train_rows, args.epochs)
    X = (make_numbers if kind == "numbers" else make_table)(args.rows, 1)
    X = X[0]
    reference = est.predict_proba(X)
    results = {name: {"one_ms": [], "rows_s": []} for name in CONTENDERS}
    with tempfile.TemporaryDirectory() as workdir:
        fns = contenders(est, workdir)
        gaps = {name: float(np.max(np.abs(fn(prepare(X)) - reference)))
                for name, (prepare, fn) in fns.items()}
        for prepare, fn in fns.values():  # warm-up: first calls trace / allocate
            for i in range(5):
                fn(prepare(_take(X, [i])))
        for r in range(args.rounds):
            order = CONTENDERS[r % len(CONTENDERS):] + CONTENDERS[:r % len(CONTENDERS)]
            for name in order:
                results[name]["one_ms"].append(one_row_ms(*fns[name], X, args.calls))
                results[name]["rows_s"].append(large_rows_per_s(*fns[name], X, args.large_calls))
    return results, gaps


def _cell(values, fmt):
    median = statistics.median(values)
    if len(values) == 1:
        return fmt.format(median), median
    return f"{fmt.format(median)} ({fmt.format(min(values))}-{fmt.format(max(values))})", median


def table(kind, results, gaps, rows):
    lines = [f"### {kind}", "",
             f"| contender | one row, median ms | x onnxruntime | rows/s at {rows:,} rows "
             "| onnxruntime x faster | max abs diff vs predict_proba |",
             "|---|---:|---:|---:|---:|---:|"]
    base_ms = statistics.median(results["onnxruntime"]["one_ms"])
    base_rate = statistics.median(results["onnxruntime"]["rows_s"])
    for name in CONTENDERS:
        one, one_median = _cell(results[name]["one_ms"], "{:.3f}")
        rate, rate_median = _cell(results[name]["rows_s"], "{:,.0f}")
        lines.append(f"| {name} | {one} | {one_median / base_ms:.1f}x | {rate} | "
                     f"{base_rate / rate_median:.1f}x | {gaps[name]:.1e} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=300, help="one-row calls per round")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--large-calls", type=int, default=5)
    parser.add_argument("--train-rows", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "onnx_serving.md"))
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.calls, args.rows, args.large_calls = 1, 10, 200, 1
        args.train_rows, args.epochs = 200, 1
    load_start = os.getloadavg()
    started = time.time()
    sections = []
    for kind in ("numbers", "table"):
        results, gaps = measure(kind, args)
        sections += table(kind, results, gaps, args.rows) + [""]
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    command = "python -m bench.onnx_serving " + shlex.join(argv if argv is not None else sys.argv[1:])
    header = [
        "# ONNX serving (issue 26)", "", "```", command.strip(), "```", "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}, "
        f"{time.time() - started:.0f} s, rounds: {args.rounds}, one-row calls per round: "
        f"{args.calls}, large calls per round: {args.large_calls}",
        f"- machine: {os.cpu_count()} CPUs, {platform.platform()}; load average (1, 5, 15 min) "
        f"at start {[round(v, 2) for v in load_start]}, at end "
        f"{[round(v, 2) for v in os.getloadavg()]}",
        f"- versions: onnxruntime {onnxruntime.__version__}, tf2onnx {tf2onnx.__version__}, "
        f"tensorflow {tf.__version__}, numpy {np.__version__}",
        "", "Cells: median over rounds (min-max).", "",
    ]
    text = "\n".join(header + sections)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
