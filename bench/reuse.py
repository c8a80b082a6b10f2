"""Speed of repeated fitting (issue 13): CV and grid search, today's code against a revision.

    .venv/bin/python -m bench.reuse --baseline 6ad8631            # the numbers in bench/README.md
    .venv/bin/python -m bench.reuse --baseline 6ad8631 --quick    # fewer rounds, smaller search

Every case runs in its own fresh interpreter, one after the other, alternating the
implementations, so background load hits them alike:

current          the library in this working tree (model reuse on, the default)
no_reuse         the same code with ``skkeras_prep.set_config(reuse_models=False)``
baseline         the library exported from ``--baseline REV`` (bench/baseline.py)

Cases:

wine_cv      ``cross_val_score`` on load_wine, StandardScaler, hidden 100, 50 epochs, batch 200,
             StratifiedKFold(5): the first CV of the process, then ``rounds`` more (median =
             *warm*), each warm round followed by the same CV of scikit-learn's
             ``MLPClassifier`` in the same process (the ratio's denominator).
digits_grid  ``GridSearchCV`` on load_digits (StandardScaler) over 3 ``hidden_layer_sizes``
             x 2 ``optimizer__learning_rate`` x 2 ``batch_size`` x 2 ``epochs``, 5 folds:
             120 fits (and the refit).
many_fits    (current only) 1,000 fits of a search-like loop on iris: 4 architectures in
             turn, each fit + ``score``, the estimator dropped, no ``gc.collect()``; RSS after
             every fit.
(``no_reuse`` runs wine_cv only.)
profile      (current and baseline) cProfile of one warm wine CV: cumulative seconds in
             build, tracing, the training pipeline, training and predict/score.

The same measures per way of writing the model (Sequential and functional builders, a model
instance, a compiled builder, several inputs), the first fit and RSS over 500 cycles with a
user ``Sequential`` builder: bench/reuse_kinds.py.

Results go to ``bench/results/reuse.json`` (git-ignored) and ``bench/results/reuse.md``;
bench/run.py adds the latter to bench/README.md.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

from .harness import MB, current_rss, worker_env

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
REPORT = os.path.join(RESULTS, "reuse.md")
SIZES = {
    "full": {"rounds": 3, "grid_cv": 5, "fits": 1000},
    "quick": {"rounds": 3, "grid_cv": 3, "fits": 300},
}


# -- the cases (run in the child) ----------------------------------------------------------
def _quiet():
    import warnings

    warnings.simplefilter("ignore")


def _wine_estimator(seed):
    from sklearn.preprocessing import StandardScaler

    from skkeras_prep import KerasPipelineClassifier
    from skkeras_prep.models import MLP

    return KerasPipelineClassifier(MLP(hidden_layer_sizes=(100,)), preprocessor=StandardScaler(),
                                   epochs=50, batch_size=200, random_state=seed)


def case_wine_cv(size):
    import numpy as np
    from sklearn.datasets import load_wine
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_wine(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    mlp = make_pipeline(StandardScaler(), MLPClassifier(
        (100,), batch_size=200, max_iter=50, tol=0, n_iter_no_change=1000, random_state=0))
    times, mlp_times, accs = [], [], []
    for r in range(size["rounds"] + 1):
        est = _wine_estimator(r)
        t0 = time.perf_counter()
        accs.append(float(np.mean(cross_val_score(est, X, y, cv=cv))))
        times.append(time.perf_counter() - t0)
        if r:
            t0 = time.perf_counter()
            cross_val_score(mlp, X, y, cv=cv)
            mlp_times.append(time.perf_counter() - t0)
    return {"cold_s": times[0], "warm_s": statistics.median(times[1:]),
            "mlp_s": statistics.median(mlp_times), "accuracy": statistics.fmean(accs),
            "accuracies": accs}


def case_digits_grid(size):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV
    from sklearn.preprocessing import StandardScaler

    from skkeras_prep import KerasPipelineClassifier
    from skkeras_prep.models import MLP

    X, y = load_digits(return_X_y=True)
    grid = {"model__hidden_layer_sizes": [(32,), (64,), (32, 32)],
            "optimizer__learning_rate": [1e-3, 3e-3], "batch_size": [32, 128], "epochs": [5, 10]}
    est = KerasPipelineClassifier(MLP(), preprocessor=StandardScaler(), random_state=0)
    search = GridSearchCV(est, grid, cv=size["grid_cv"])
    t0 = time.perf_counter()
    search.fit(X, y)
    seconds = time.perf_counter() - t0
    return {"grid_s": seconds, "fits": len(search.cv_results_["params"]) * size["grid_cv"],
            "best_score": float(search.best_score_)}


def case_many_fits(size):
    from sklearn.datasets import load_iris

    from skkeras_prep import KerasPipelineClassifier
    from skkeras_prep.models import MLP

    X, y = load_iris(return_X_y=True)
    rss, laps = [], []
    for i in range(size["fits"]):
        est = KerasPipelineClassifier(MLP(hidden_layer_sizes=((8,), (16,), (8, 8), (32,))[i % 4]),
                                      epochs=3, batch_size=32, random_state=i)
        t0 = time.perf_counter()
        est.fit(X[i % 2::2], y[i % 2::2]).score(X, y)
        laps.append(time.perf_counter() - t0)
        del est
        rss.append(current_rss() / MB)
    return {"rss_mb": [round(v, 2) for v in rss], "fit_median_s": statistics.median(laps)}


PROFILED = {  # label -> function names whose cumulative time is reported (file:function)
    "build (new Keras model, compile)": ["_build.py:build_model"],
    "model reuse (checkout, copy of the state)": ["_pool.py:reuse_or_keep"],
    "tracing (all tf.function / tf.data traces)": ["func_graph.py:func_graph_from_py_func"],
    "training pipeline (tf.data / in-memory batches)": ["_dataset.py:training_dataset",
                                                        "_dataset.py:in_memory_batches"],
    "training (keras fit or compiled epoch loop)": ["trainer.py:fit", "_compiled_epochs.py:run_arrays",
                                                    "_compiled_epochs.py:run"],
    "predict / score": ["_estimator.py:_model_output"],
    "whole fit": ["_estimator.py:_fit"],
}


def case_profile(size):
    import cProfile

    from sklearn.datasets import load_wine
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    X, y = load_wine(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    out = {}
    for round_ in (0, 1):
        profiler = cProfile.Profile()
        t0 = time.perf_counter()
        profiler.enable()
        cross_val_score(_wine_estimator(round_), X, y, cv=cv)
        profiler.disable()
        row = {"whole CV (profiled)": time.perf_counter() - t0, **profiled_seconds(profiler, PROFILED)}
        out["first" if round_ == 0 else "warm"] = row
    return out


CASES = {"wine_cv": case_wine_cv, "digits_grid": case_digits_grid,
         "many_fits": case_many_fits, "profile": case_profile}


def start_child():
    """In a child process: import skkeras_prep (the baseline's when the parent asked for it,
    checked), silence warnings and start TensorFlow's eager runtime (not a fit cost)."""
    from .baseline import IMPORT_PATH_ENV

    import_path = os.environ.get(IMPORT_PATH_ENV)
    if import_path:  # the baseline revision, before anything imports skkeras_prep
        sys.path.insert(0, import_path)
    _quiet()
    import skkeras_prep

    if import_path and not os.path.abspath(skkeras_prep.__file__).startswith(os.path.abspath(import_path)):
        raise RuntimeError(f"baseline run imported {skkeras_prep.__file__}, not {import_path}")
    import tensorflow as tf

    tf.matmul(tf.ones((2, 2)), tf.ones((2, 2))).numpy()
    return skkeras_prep


def profiled_seconds(profiler, parts):
    """``{label: cumulative seconds}`` of the functions (``file:function``) of each part."""
    import pstats

    stats = pstats.Stats(profiler).stats
    return {label: sum(ct for (path, _, func), (_, _, _, ct, _) in stats.items()
                       for name in names if name == f"{os.path.basename(path)}:{func}")
            for label, names in parts.items()}


def child(case, impl, mode):
    skkeras_prep = start_child()
    if impl == "no_reuse":
        skkeras_prep.set_config(reuse_models=False)
    result = CASES[case](SIZES[mode])
    result["skkeras_prep_file"] = skkeras_prep.__file__
    print(json.dumps(result))


# -- the parent ----------------------------------------------------------------------------
def run_child(case, impl, mode, import_path=None, module="bench.reuse", arg=None):
    """Run ``case`` in a fresh ``python -m <module> --child case <arg or impl> mode``; its
    result dict, with the number of TensorFlow retracing warnings it printed."""
    env = worker_env(import_path if impl == "baseline" else None)
    proc = subprocess.run([sys.executable, "-m", module, "--child", case, arg or impl, mode],
                          env=env, capture_output=True, text=True, timeout=3600,
                          cwd=os.path.dirname(HERE))
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["retracing_warnings"] = proc.stderr.count("triggered tf.function retracing")
    return result


def _growth(rss, a, b, window=50):
    mean = lambda lo: statistics.fmean(rss[lo - 1:lo - 1 + window])  # noqa: E731
    return rss[b - 1] - rss[a - 1], mean(b - window + 1) - mean(a)


def report(meta, results):
    cur, base, off = results.get("current", {}), results.get("baseline", {}), results.get("no_reuse", {})
    short = meta.get("baseline_short", "baseline")
    lines = ["## Repeated fitting: CV and grid search (issue 13)", "",
             f"`{meta['command']}`, {meta['date']}, load average at start {meta['load_start']}, "
             f"at end {meta['load_end']}. Each cell is one fresh process, implementations "
             "alternating; `current` = this tree (model reuse on), `no reuse` = this tree with "
             f"`set_config(reuse_models=False)`, `@{short}` = revision {meta.get('baseline', '?')}.",
             ""]
    w = {k: v.get("wine_cv", {}) for k, v in (("current", cur), ("no_reuse", off), ("base", base))}
    if w["current"] and w["base"]:
        c, b = w["current"], w["base"]
        lines += [
            "| target | measured | goal | met |", "|---|---|---|---|",
            f"| wine CV, warm process, vs MLPClassifier in the same process | "
            f"{c['warm_s'] / c['mlp_s']:.2f}x ({c['warm_s']:.3f} s vs {c['mlp_s']:.3f} s; @{short}: "
            f"{b['warm_s'] / b['mlp_s']:.2f}x) | <= 3x | {'yes' if c['warm_s'] <= 3 * c['mlp_s'] else '**no**'} |",
            f"| wine CV, first CV in a fresh process, vs @{short} | {c['cold_s']:.2f} s vs "
            f"{b['cold_s']:.2f} s ({c['cold_s'] / b['cold_s']:.2f}x) | <= 0.5x | "
            f"{'yes' if c['cold_s'] <= 0.5 * b['cold_s'] else '**no**'} |",
            f"| wine CV accuracy, mean of {len(c['accuracies'])} CVs | {c['accuracy']:.3f} vs "
            f"@{short} {b['accuracy']:.3f} | within 0.01 | "
            f"{'yes' if c['accuracy'] >= b['accuracy'] - 0.01 else '**no**'} |",
        ]
    g = {k: v.get("digits_grid", {}) for k, v in (("current", cur), ("no_reuse", off), ("base", base))}
    if g["current"] and g["base"]:
        r = g["base"]["grid_s"] / g["current"]["grid_s"]
        lines.append(f"| digits GridSearchCV, {g['current']['fits']} fits, vs @{short} | "
                     f"{g['current']['grid_s']:.1f} s vs {g['base']['grid_s']:.1f} s ({r:.2f}x faster) "
                     f"| >= 2.5x | {'yes' if r >= 2.5 else '**no**'} |")
    many = cur.get("many_fits")
    if many and len(many["rss_mb"]) >= 1000:
        single, means = _growth(many["rss_mb"], 100, 1000)
        lines.append(f"| RSS growth over a 1,000-fit search, fit 100 -> 1,000 | {single:+.1f} MB "
                     f"(means of fits 100-149 and 951-1000: {means:+.1f} MB) | <= 20 MB | "
                     f"{'yes' if single <= 20 else '**no**'} |")
    lines += ["", "| case | current | no reuse | @" + short + " |", "|---|---:|---:|---:|"]

    def cell(d, key, spec):
        return "" if not d or key not in d else format(d[key], spec)

    for label, case, key, spec in [
        ("wine CV, first in a fresh process (s)", "wine_cv", "cold_s", ".3f"),
        ("wine CV, warm (s, median)", "wine_cv", "warm_s", ".3f"),
        ("MLPClassifier CV in the same process (s, median)", "wine_cv", "mlp_s", ".3f"),
        ("wine CV accuracy (mean)", "wine_cv", "accuracy", ".3f"),
        ("digits grid, 120 fits + refit (s)", "digits_grid", "grid_s", ".1f"),
        ("digits grid best score", "digits_grid", "best_score", ".4f"),
    ]:
        lines.append(f"| {label} | {cell(cur.get(case), key, spec)} | {cell(off.get(case), key, spec)} "
                     f"| {cell(base.get(case), key, spec)} |")
    warn = [f"{impl} {case}: {res.get('retracing_warnings')}" for impl, r in results.items()
            for case, res in r.items() if isinstance(res, dict) and "retracing_warnings" in res]
    lines += ["", "tf.function retracing warnings on stderr per case: " + ", ".join(warn) + "."]
    if many:
        rss = many["rss_mb"]
        marks = [1, 10, 50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
        lines += ["", f"many_fits: median fit + score {many['fit_median_s'] * 1000:.0f} ms; RSS (MB) "
                  "after fit " + ", ".join(f"{m}: {rss[m - 1]:.1f}" for m in marks if m <= len(rss)) + "."]
    pc, pb = cur.get("profile"), base.get("profile")
    if pc and pb:
        lines += ["", f"Where the time of one wine CV goes (cProfile, cumulative seconds; 5 fits "
                  "and 5 scores; profiling slows everything down):", "",
                  f"| part | @{short} first | @{short} warm | current first | current warm |",
                  "|---|---:|---:|---:|---:|"]
        for label in ["whole CV (profiled)", *PROFILED]:
            lines.append(f"| {label} | {pb['first'].get(label, 0):.3f} | {pb['warm'].get(label, 0):.3f} "
                         f"| {pc['first'].get(label, 0):.3f} | {pc['warm'].get(label, 0):.3f} |")
    return lines


def readme_section(report_path=REPORT):
    if not os.path.exists(report_path):
        return []
    with open(report_path) as fh:
        return fh.read().splitlines()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "--child":
        return child(*argv[1:4])
    parser = argparse.ArgumentParser(prog="python -m bench.reuse")
    parser.add_argument("--baseline", default=None, metavar="REV")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cases", default="wine_cv,digits_grid,many_fits,profile")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other cases' results from bench/results/reuse.json")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    from . import baseline as baseline_mod

    meta = {"command": "python -m bench.reuse " + " ".join(argv),
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "load_start": [round(x, 2) for x in os.getloadavg()]}
    path = None
    impls = ["current", "no_reuse"]
    if args.baseline:
        info = baseline_mod.export(args.baseline)
        path, meta["baseline"], meta["baseline_short"] = info["path"], info["rev"], info["short"]
        impls.append("baseline")
    results = {impl: {} for impl in impls}
    previous = os.path.join(RESULTS, "reuse.json")
    if args.merge and os.path.exists(previous):
        with open(previous) as fh:
            old = json.load(fh)
        for impl, cases in old["results"].items():
            results.setdefault(impl, {}).update(cases)
        meta["command"] = old["meta"]["command"] + "; then " + meta["command"]
        meta["date"] = old["meta"]["date"] + " and " + meta["date"]
        meta["load_start"] = old["meta"]["load_start"]
    for case in args.cases.split(","):
        for impl in impls:
            if case == "many_fits" and impl != "current":
                continue
            if case in ("profile", "digits_grid") and impl == "no_reuse":
                continue
            t0 = time.perf_counter()
            results[impl][case] = run_child(case, impl, mode, path)
            print(f"{case} {impl}: {time.perf_counter() - t0:.1f} s "
                  f"{str(results[impl][case])[:200]}", flush=True)
    meta["load_end"] = [round(x, 2) for x in os.getloadavg()]
    write_results("reuse", meta, results, report(meta, results))


def write_results(name, meta, results, lines):
    """``bench/results/<name>.json`` (everything) and ``<name>.md`` (the report), printed."""
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, f"{name}.json"), "w") as fh:
        json.dump({"meta": meta, "results": results}, fh)
    with open(os.path.join(RESULTS, f"{name}.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
