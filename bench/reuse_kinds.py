"""Model reuse for every way users write a model (issue 21), today's code against a revision.

    .venv/bin/python -m bench.reuse_kinds --baseline 1a28e87             # bench/README.md
    .venv/bin/python -m bench.reuse_kinds --baseline 1a28e87 --quick     # while developing

Every (case, model kind, implementation) runs in its own fresh interpreter, one after the
other, implementations alternating, so background load hits them alike. Implementations:
``current`` (this tree) and ``baseline`` (``--baseline REV``, exported by bench/baseline.py).

The network is the same everywhere: StandardScaler, one hidden layer of 100 (relu), a softmax
output, Adam, 50 epochs, batch 200; the kinds are the ways a user writes it:

mlp               the package's ``MLP(hidden_layer_sizes=(100,))``
sequential        a builder returning ``keras.Sequential([keras.Input(...), Dense, Dense])``
functional        a builder returning ``keras.Model(inputs, outputs)``
instance          a ``keras.Sequential`` instance given as ``model=`` (cloned at each fit)
compiled          a builder that compiles its functional model itself (adam, sparse CE)
multi_input       a functional model with two named inputs (wine's first 6 and last 7
                  columns, a StandardScaler each)

Cases:

cv      ``cross_val_score`` on load_wine, StratifiedKFold(5, shuffle): the first CV of the
        process (*first*), then ``rounds`` more (median = *warm*), each warm round followed by
        the same CV of ``MLPClassifier`` (same network, a Pipeline with StandardScaler) in
        the same process: the ratio's denominator.
rss     (``sequential`` only) ``cycles`` fit + ``predict_proba`` cycles on iris (hidden 16,
        2 epochs), each estimator dropped, no ``gc.collect()``; RSS after every cycle.
first   one fit + predict in a fresh process, then a second fit + predict (the first
        estimator dropped): wall times, and a cProfile of the first fit + predict (where the
        seconds go: build, tracing, training, predict).

Results go to ``bench/results/reuse_kinds.json`` (git-ignored) and
``bench/results/reuse_kinds.md``; bench/run.py adds the latter to bench/README.md.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

from . import reuse
from .harness import MB, current_rss
from .reuse import profiled_seconds, start_child

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
REPORT = os.path.join(RESULTS, "reuse_kinds.md")
KINDS = ["mlp", "sequential", "functional", "instance", "compiled", "multi_input"]
SIZES = {"full": {"rounds": 5, "cycles": 500, "profiled": 4},
         "quick": {"rounds": 1, "cycles": 60, "profiled": 1}}
SPLIT = 6  # multi_input: wine's columns [:6] and [6:]


# -- the model kinds (built in the child) --------------------------------------------------
def _dense_head(keras, x, n_classes, hidden):
    x = keras.layers.Dense(hidden, activation="relu")(x)
    return keras.layers.Dense(n_classes, activation="softmax")(x)


def estimator(kind, seed, hidden=100, epochs=50, batch_size=200):
    import keras
    from sklearn.preprocessing import StandardScaler

    from skkeras_prep import KerasPipelineClassifier
    from skkeras_prep.models import MLP

    def sequential(n_features_in_, n_classes_):
        return keras.Sequential([keras.Input((n_features_in_,)),
                                 keras.layers.Dense(hidden, activation="relu"),
                                 keras.layers.Dense(n_classes_, activation="softmax")])

    def functional(n_features_in_, n_classes_):
        inputs = keras.Input((n_features_in_,))
        return keras.Model(inputs, _dense_head(keras, inputs, n_classes_, hidden))

    def compiled(n_features_in_, n_classes_):
        model = functional(n_features_in_, n_classes_)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model

    def multi_input(meta):
        shapes = meta["input_shape_"]
        a, b = keras.Input(shapes["a"], name="a"), keras.Input(shapes["b"], name="b")
        return keras.Model({"a": a, "b": b}, _dense_head(
            keras, keras.layers.Concatenate()([a, b]), meta["n_classes_"], hidden))

    user = dict(loss="sparse_categorical_crossentropy", optimizer="adam")
    params = {
        "mlp": dict(model=MLP(hidden_layer_sizes=(hidden,))),
        "sequential": dict(model=sequential, **user),
        "functional": dict(model=functional, **user),
        "instance": dict(model=sequential(13, 3), **user),
        "compiled": dict(model=compiled),
        "multi_input": dict(model=multi_input, preprocessor={"a": StandardScaler(),
                                                              "b": StandardScaler()}, **user),
    }[kind]
    params.setdefault("preprocessor", StandardScaler())
    return KerasPipelineClassifier(**params, epochs=epochs, batch_size=batch_size,
                                   random_state=seed)


def _wine(kind):
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    if kind == "multi_input":
        from skkeras_prep import MultiInput

        return MultiInput({"a": X[:, :SPLIT], "b": X[:, SPLIT:]}), y
    return X, y


# -- the cases (run in the child) ----------------------------------------------------------
def case_cv(kind, size):
    import cProfile

    import numpy as np
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _wine(kind)
    splits = list(StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
    Xm, _ = _wine("mlp")
    mlp = make_pipeline(StandardScaler(), MLPClassifier(
        (100,), batch_size=200, max_iter=50, tol=0, n_iter_no_change=1000, random_state=0))
    times, mlp_times, accs = [], [], []
    for r in range(size["rounds"] + 1):
        est = estimator(kind, r)
        t0 = time.perf_counter()
        accs.append(float(np.mean(cross_val_score(est, X, y, cv=splits))))
        times.append(time.perf_counter() - t0)
        if r:
            t0 = time.perf_counter()
            cross_val_score(mlp, Xm, y, cv=splits)
            mlp_times.append(time.perf_counter() - t0)
    # then where a warm fit goes: cProfile over more warm CVs (after the timed ones)
    profiler = cProfile.Profile()
    for r in range(size["profiled"]):
        est = estimator(kind, 100 + r)
        profiler.enable()
        cross_val_score(est, X, y, cv=splits)
        profiler.disable()
    fits = 5 * size["profiled"]
    warm_parts = {label: seconds / fits
                  for label, seconds in profiled_seconds(profiler, WARM_PARTS).items()}
    return {"first_s": times[0], "warm_s": statistics.median(times[1:]), "warm_all": times[1:],
            "mlp_s": statistics.median(mlp_times), "accuracy": statistics.fmean(accs),
            "warm_fit_parts_s": warm_parts, "profiled_cvs": size["profiled"]}


WARM_PARTS = {  # label -> functions (file:function) whose cumulative time is reported
    "fit": ["_estimator.py:_fit"],
    "the user's builder, or the clone of the instance": ["_build.py:_call_builder",
                                                          "_build.py:clone_keras_model"],
    "reseeding its random weights": ["_seeding.py:reseed_model"],
    "making the optimizer": ["_compiling.py:resolve_optimizer"],
    "compiling (the optimizer included)": ["_compiling.py:compile_model"],
    "pool key": ["_pool.py:pool_key"],
    "copying the state into the pooled model": ["_pool.py:_copy_state"],
    "compiled training loop": ["_compiled_epochs.py:run_arrays"],
    "score (predict, accuracy)": ["classifier.py:score"],
}


def case_rss(kind, size):
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    rss, laps = [], []
    for i in range(size["cycles"]):
        est = estimator(kind, i, hidden=16, epochs=2, batch_size=32)
        t0 = time.perf_counter()
        est.fit(X[i % 3::2], y[i % 3::2]).predict_proba(X)
        laps.append(time.perf_counter() - t0)
        del est
        rss.append(round(current_rss() / MB, 2))
    return {"rss_mb": rss, "cycle_median_s": statistics.median(laps)}


PROFILED = {  # label -> functions (file:function) whose cumulative time is reported
    "build and compile (builder, clone, compile)": ["_compiling.py:make_compiled_model"],
    "model reuse (key, checkout, state copy)": ["_pool.py:reuse_or_keep"],
    "tracing (every tf.function / tf.data trace)": ["func_graph.py:func_graph_from_py_func"],
    "training (compiled loop or keras fit)": ["_training.py:train"],
    "predict": ["_estimator.py:_model_output"],
    "whole fit": ["_estimator.py:_fit"],
}


WARM_NOTE = (
    "What was cut from a warm fit (2026-12-07, bit-identical results, tests/test_warm_path.py): "
    "the optimizer named by a string was made twice (once to learn its class), about 2 ms a fit; "
    "the epochs' permutations were drawn even when one batch holds every row (then each epoch "
    "is every row in order), about 1 ms; the pooled model's initial optimizer slots were "
    "converted from arrays at every fit; the estimator's parameter names were read from the "
    "`__init__` signatures at every `get_params` and `clone`. Measured and left: skipping the "
    "fresh model's `compile` when the pool holds its key (Keras's `compile` itself costs about "
    "0.2 ms; making the optimizer, which the key and the state copy need, is the cost), a "
    "cache of the key (`get_config` is needed to know the key; about 1 ms in all). What "
    "remains is mostly not ours to cut: the user's builder must run (its model is the key and "
    "the seeded initial weights) and the compiled training loop is Keras's own `train_step` "
    "for 50 epochs in one graph call; those two alone take about as long as `MLPClassifier`'s "
    "whole fit + score on wine, so <= 1.0x is not reachable by trimming the rest.")


def case_first(kind, size):
    import cProfile

    X, y = _wine(kind)
    out = {}
    for label in ("first", "second"):
        est = estimator(kind, 0)
        t0 = time.perf_counter()
        est.fit(X, y)
        t1 = time.perf_counter()
        est.predict_proba(X)
        t2 = time.perf_counter()
        out[label] = {"fit_s": t1 - t0, "predict_s": t2 - t1}
        del est
    # a fresh architecture in this warm process (hidden 101: nothing pooled, TensorFlow
    # started): what the first fit of a new architecture costs under the profiler
    profiler = cProfile.Profile()
    est = estimator(kind, 0, hidden=101)
    t0 = time.perf_counter()
    profiler.enable()
    est.fit(X, y).predict_proba(X)
    profiler.disable()
    out["new_architecture_profile"] = {"fit + predict (profiled)": time.perf_counter() - t0,
                                       **profiled_seconds(profiler, PROFILED)}
    return out


CASES = {"cv": case_cv, "rss": case_rss, "first": case_first}


def child(case, kind, mode):
    skkeras_prep = start_child()
    from skkeras_prep import _pool

    result = CASES[case](kind, SIZES[mode])
    result["pool"] = _pool.cache_info()
    result["skkeras_prep_file"] = skkeras_prep.__file__
    print(json.dumps(result))


# -- the parent ----------------------------------------------------------------------------
def run_child(case, kind, impl, mode, import_path=None):
    return reuse.run_child(case, impl, mode, import_path, module="bench.reuse_kinds", arg=kind)


def _f(value, spec):
    return "" if value is None else format(value, spec)


def report(meta, results):
    short = meta.get("baseline_short", "baseline")
    cur, base = results.get("current", {}), results.get("baseline", {})
    lines = ["## Model reuse per model kind (issue 21)", "",
             f"`{meta['command']}`, {meta['date']}; `uptime` at start: {meta['uptime_start']}; "
             f"at end: {meta['uptime_end']}. The machine (2 CPUs) is shared with other jobs: "
             "compare the cells of one row (same run, implementations alternating), not "
             "absolute times across runs. `current` = this tree, "
             f"`@{short}` = revision {meta.get('baseline', '?')}. Same network everywhere "
             "(StandardScaler, hidden 100, softmax, Adam, 50 epochs, batch 200); wine, "
             "StratifiedKFold(5). *warm* = median of the CVs after the first in the process; "
             "*x MLP* = warm / `MLPClassifier`'s CV in the same process (median).", "",
             f"| model kind | warm CV s | x MLP | @{short} warm CV s | @{short} x MLP "
             f"| first CV s | @{short} first CV s | retracing warnings (current / @{short}) "
             "| accuracy (current / @" + short + ") |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for kind in KINDS:
        c, b = cur.get(f"cv:{kind}", {}), base.get(f"cv:{kind}", {})
        if not c:
            continue

        def ratio(d):
            return d["warm_s"] / d["mlp_s"] if d.get("mlp_s") else None

        lines.append(
            f"| {kind} | {_f(c.get('warm_s'), '.2f')} | {_f(ratio(c), '.2f')}x "
            f"| {_f(b.get('warm_s'), '.2f')} | {_f(ratio(b) if b else None, '.2f')}x "
            f"| {_f(c.get('first_s'), '.2f')} | {_f(b.get('first_s'), '.2f')} "
            f"| {c.get('retracing_warnings', '')} / {b.get('retracing_warnings', '')} "
            f"| {_f(c.get('accuracy'), '.3f')} / {_f(b.get('accuracy'), '.3f')} |")
    targets = []
    for kind in ("sequential", "functional", "instance"):
        c = cur.get(f"cv:{kind}", {})
        if c.get("mlp_s"):
            r = c["warm_s"] / c["mlp_s"]
            targets.append(f"| {kind}: wine CV warm vs MLPClassifier | {r:.2f}x | <= 1.0x | "
                           f"{'yes' if r <= 1.0 else '**no**'} |")
    rss = cur.get("rss:sequential", {}).get("rss_mb")
    if rss and len(rss) >= 500:
        growth = rss[499] - rss[49]
        targets.append(f"| RSS growth fit 50 -> 500, user Sequential builder | {growth:+.1f} MB | "
                       f"<= 20 MB | {'yes' if growth <= 20 else '**no**'} |")
    if targets:
        lines += ["", "| target (issue 21) | measured | goal | met |", "|---|---|---|---|", *targets,
                  "", "Every kind takes a pooled model (one trace per CV, no retracing "
                  "warning)."]
    kinds = [k for k in KINDS if cur.get(f"cv:{k}", {}).get("warm_fit_parts_s")]
    if kinds:
        lines += ["", f"Where a warm fit goes: cProfile over {cur[f'cv:{kinds[0]}']['profiled_cvs']} "
                  "more warm CVs of each kind after the timed ones (current code; ms per fit, "
                  "cumulative, so nested rows overlap; the profiler inflates Python-heavy parts), "
                  "and the unprofiled fit + score of one fold:", ""]
        lines += ["| part | " + " | ".join(kinds) + " |", "|---|" + "---:|" * len(kinds)]
        for part in WARM_PARTS:
            lines.append(f"| {part} | " + " | ".join(
                _f(1000 * cur[f"cv:{k}"]["warm_fit_parts_s"][part], ".1f") for k in kinds) + " |")
        lines.append("| unprofiled: this kind's fit + score, one fold (warm CV / 5) | " + " | ".join(
            _f(200 * cur[f"cv:{k}"]["warm_s"], ".1f") for k in kinds) + " |")
        lines.append("| unprofiled: `MLPClassifier`'s fit + score, one fold | " + " | ".join(
            _f(200 * cur[f"cv:{k}"]["mlp_s"], ".1f") for k in kinds) + " |")
        lines += ["", WARM_NOTE]
    rss_rows = [(impl, results.get(impl, {}).get("rss:sequential")) for impl in ("current", "baseline")]
    rss_rows = [(impl, r) for impl, r in rss_rows if r and "rss_mb" in r]
    if rss_rows:
        lines += ["", "RSS over fit + `predict_proba` cycles with a user `Sequential` builder (iris, "
                  "hidden 16, 2 epochs, each estimator dropped, no `gc.collect()`, a fresh "
                  "process per implementation):", "",
                  "| implementation | cycles | RSS after cycle 50 MB | after the last MB | growth 50 -> last MB | cycle median s |",
                  "|---|---:|---:|---:|---:|---:|"]
        for impl, r in rss_rows:
            rss = r["rss_mb"]
            name = "current" if impl == "current" else f"@{short}"
            lines.append(f"| {name} | {len(rss)} | {rss[49]:.1f} | {rss[-1]:.1f} | "
                         f"{rss[-1] - rss[49]:+.1f} | {r['cycle_median_s']:.3f} |")
    firsts = [(k, cur.get(f"first:{k}"), base.get(f"first:{k}")) for k in KINDS]
    firsts = [(k, c, b) for k, c, b in firsts if c and "first" in c]
    if firsts:
        rerun = meta.get("first_run")  # the first-fit case measured again in a run of its own
        lines += ["", "First fit in a fresh process (wine, one fit + `predict_proba`, then a "
                  "second fit + predict of the same architecture after the first estimator is "
                  "dropped), seconds" + (
                      f" (this table and the next from `{rerun['command']}`, {rerun['date']}, "
                      f"`uptime` at start: {rerun['uptime_start']})" if rerun else "") + ":", "",
                  f"| model kind | first fit | first predict | second fit | second predict "
                  f"| @{short} first fit | @{short} second fit |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for kind, c, b in firsts:
            b = b or {}
            lines.append(f"| {kind} | {c['first']['fit_s']:.2f} | {c['first']['predict_s']:.3f} "
                         f"| {c['second']['fit_s']:.2f} | {c['second']['predict_s']:.3f} "
                         f"| {_f(b.get('first', {}).get('fit_s'), '.2f')} "
                         f"| {_f(b.get('second', {}).get('fit_s'), '.2f')} |")
        lines += ["", "Where a new architecture's first fit + predict goes (cProfile, cumulative "
                  "seconds, current code, in the same warm process: hidden 101, nothing pooled):", "",
                  "| part | " + " | ".join(k for k, _, _ in firsts) + " |",
                  "|---|" + "---:|" * len(firsts)]
        for part in ["fit + predict (profiled)", *PROFILED]:
            lines.append(f"| {part} | " + " | ".join(
                _f(c["new_architecture_profile"].get(part), ".3f") for _, c, _ in firsts) + " |")
    return lines


def readme_section():
    return reuse.readme_section(REPORT)


def _uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "--child":
        return child(*argv[1:4])
    parser = argparse.ArgumentParser(prog="python -m bench.reuse_kinds")
    parser.add_argument("--baseline", default=None, metavar="REV")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cases", default="cv,rss,first")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report from bench/results/reuse_kinds.json")
    args = parser.parse_args(argv)
    if args.report_only:
        with open(os.path.join(RESULTS, "reuse_kinds.json")) as fh:
            saved = json.load(fh)
        return reuse.write_results("reuse_kinds", saved["meta"], saved["results"],
                                   report(saved["meta"], saved["results"]))
    mode = "quick" if args.quick else "full"
    from . import baseline as baseline_mod

    meta = {"command": "python -m bench.reuse_kinds " + " ".join(argv),
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "uptime_start": _uptime()}
    path, impls = None, ["current"]
    if args.baseline:
        info = baseline_mod.export(args.baseline)
        path, meta["baseline"], meta["baseline_short"] = info["path"], info["rev"], info["short"]
        impls.append("baseline")
    results = {impl: {} for impl in impls}
    kinds = args.kinds.split(",")
    for case in args.cases.split(","):
        for kind in (["sequential"] if case == "rss" else kinds):
            order = impls if len(results["current"]) % 2 == 0 else impls[::-1]
            for impl in order:
                t0 = time.perf_counter()
                results[impl][f"{case}:{kind}"] = run_child(case, kind, impl, mode, path)
                shown = {k: v for k, v in results[impl][f"{case}:{kind}"].items() if k != "rss_mb"}
                print(f"{case}:{kind} {impl}: {time.perf_counter() - t0:.1f} s {str(shown)[:300]}",
                      flush=True)
    meta["uptime_end"] = _uptime()
    reuse.write_results("reuse_kinds", meta, results, report(meta, results))


if __name__ == "__main__":
    main()
