"""The single entry point of the benchmark suite.

    .venv/bin/python -m bench.run            # full sizes (1,000,000 x 100 rows, 60 fits, ...)
    .venv/bin/python -m bench.run --quick    # smaller sizes, a few minutes
    .venv/bin/python -m bench.run --smoke --in-process --out /tmp/x.md   # what the test runs
    .venv/bin/python -m bench.run --scenarios fit_large,fit_small,wine_cv \
        --contenders skkeras_prep --baseline main~3                      # before/after a change

Every (scenario, contender) case runs in its own fresh interpreter (``bench.worker``), so its
peak RSS is its own. Repetitions alternate: repetition r runs every scenario, and within a
scenario the contenders in an order rotated by r, so background load on a shared machine hits
every contender alike. The table reports medians over repetitions and the ratios of those
medians. ``--out`` (default bench/README.md) receives the table, the exact command and the
load averages; the raw results go to bench/results/latest.json (git-ignored).

``--baseline REV`` also runs the skkeras_prep cases against the library as it was at git
revision REV (exported to bench/results/baseline-<shortsha>/, see bench/baseline.py), as a
contender ``skkeras_prep@<shortsha>`` in the same rotation, and adds "no regression vs
baseline" targets for the fit-time and wine-CV cases.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import sys
import time

from . import baseline as baseline_mod
from . import cases
from .harness import importable, run_job_inprocess, run_job_subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ALL_CONTENDERS = list(cases.CONTENDERS)

SIZES = {
    "full": {
        "reps": 3,
        "fit_large": dict(n=1_000_000, d=100, hidden=64, batch=512, epochs=2),
        "fit_small": dict(n=1_000, d=100, hidden=64, batch=512, epochs=2),
        "wine_cv": dict(folds=5, epochs=50, batch=200, hidden=100, rounds=2),
        "predict_one": dict(hidden=100, epochs=50, batch=200, calls=300, warmup=20),
        "predict_large": dict(n=1_000_000, d=100, hidden=64, batch=512, fit_rows=20_000),
        "repeated_fits": dict(n=1000, d=20, hidden=32, epochs=3, batch=64, n_fits=60, from_fit=10),
        "repeated_fits_scaled": dict(n=100_000, d=100, hidden=32, epochs=1, batch=512, n_fits=8, from_fit=2),
        "transform_calls": dict(n=10_000, d=20, hidden=32, epochs=[1, 10], batch=256),
    },
    "quick": {
        "reps": 2,
        "fit_large": dict(n=200_000, d=100, hidden=64, batch=512, epochs=2),
        "fit_small": dict(n=1_000, d=100, hidden=64, batch=512, epochs=2),
        "wine_cv": dict(folds=5, epochs=50, batch=200, hidden=100, rounds=2),
        "predict_one": dict(hidden=100, epochs=50, batch=200, calls=100, warmup=10),
        "predict_large": dict(n=200_000, d=100, hidden=64, batch=512, fit_rows=20_000),
        "repeated_fits": dict(n=1000, d=20, hidden=32, epochs=3, batch=64, n_fits=20, from_fit=5),
        "repeated_fits_scaled": dict(n=50_000, d=100, hidden=32, epochs=1, batch=512, n_fits=5, from_fit=2),
        "transform_calls": dict(n=5_000, d=20, hidden=32, epochs=[1, 10], batch=256),
    },
    "smoke": {
        "reps": 1,
        "fit_large": dict(n=2_000, d=10, hidden=8, batch=256, epochs=1),
        "fit_small": dict(n=200, d=10, hidden=8, batch=256, epochs=1),
        "wine_cv": dict(folds=2, epochs=2, batch=200, hidden=8, rounds=1),
        "predict_one": dict(hidden=8, epochs=1, batch=200, calls=3, warmup=1),
        "predict_large": dict(n=3_000, d=10, hidden=8, batch=256, fit_rows=500),
        "repeated_fits": dict(n=200, d=10, hidden=8, epochs=1, batch=64, n_fits=2, from_fit=1),
        "repeated_fits_scaled": dict(n=2_000, d=10, hidden=8, epochs=1, batch=256, n_fits=2, from_fit=1),
        "transform_calls": dict(n=200, d=10, hidden=8, epochs=[2], batch=64),
    },
}

# scenario -> (contenders, run every repetition?)
SCENARIOS = {
    "fit_large": (ALL_CONTENDERS, True),
    "fit_small": (["skkeras_prep", "keras_fit"], True),  # the first-fit cost that data size does not change
    "wine_cv": (ALL_CONTENDERS, True),
    "predict_one": (ALL_CONTENDERS, True),
    "predict_large": (ALL_CONTENDERS, True),
    "repeated_fits": (ALL_CONTENDERS, False),  # memory growth: once is enough
    "repeated_fits_scaled": (ALL_CONTENDERS, False),
    "transform_calls": (["skkeras_prep"], False),  # a count, not a timing
}


def available(contender):
    return all(importable(m) for m in cases.CONTENDERS[contender]["requires"])


def plan(mode, scenarios, contenders, reps, baseline=None):
    """Jobs in run order: repetition-major, contenders rotated by repetition.

    ``baseline`` (from ``bench.baseline.export``) adds its contender right after skkeras_prep
    in every scenario skkeras_prep runs in, whether or not skkeras_prep itself is selected."""
    sizes = SIZES[mode]
    jobs = []
    for rep in range(reps):
        for scenario in scenarios:
            all_names, every_rep = SCENARIOS[scenario]
            if rep and not every_rep:
                continue
            names = []
            for c in all_names:
                if c in contenders:
                    names.append(c)
                if baseline and c == baseline_mod.CASE:
                    names.append(baseline["contender"])
            if not names:
                continue
            shift = rep % len(names)
            for contender in names[shift:] + names[:shift]:
                params = dict(sizes[scenario], seed=rep)
                job = {"scenario": scenario, "contender": contender, "params": params, "rep": rep}
                if baseline and contender == baseline["contender"]:
                    job.update(case=baseline_mod.CASE, import_path=baseline["path"],
                               revision={k: baseline[k] for k in ("rev", "sha", "short")})
                jobs.append(job)
    return jobs


def profile_jobs(mode):
    """cProfile of skkeras_prep's and scikeras's wine CV (not timed: profiling slows them)."""
    params = dict(SIZES[mode]["wine_cv"], seed=0, rounds=2)
    out = []
    for contender in ("skkeras_prep", "scikeras"):
        path = os.path.join(HERE, "results", f"profile_wine_cv_{contender}_round{{round}}.txt")
        out.append({"scenario": "wine_cv", "contender": contender, "rep": -1,
                    "params": dict(params, profile={"rounds": [0, 1], "path": path})})
    return out


# -- aggregation ---------------------------------------------------------------------------
def _median(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def aggregate(results):
    """{scenario: {label: {"contender", "n", metric: median, metric+"_all": [...]}}}."""
    table = {}
    for result in results:
        if "rows" not in result or result["job"]["rep"] < 0:
            continue
        scenario = result["job"]["scenario"]
        for row in result["rows"]:
            entry = table.setdefault(scenario, {}).setdefault(
                row["label"], {"contender": row["contender"], "_rows": []})
            entry["_rows"].append(row)
    for scenario, labels in table.items():
        for label, entry in labels.items():
            rows = entry.pop("_rows")
            entry["n"] = len(rows)
            for key in rows[0]:
                values = [r.get(key) for r in rows]
                if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                    entry[key] = _median(values)
                    entry[key + "_all"] = values
                elif key == "rss_trace_mb":
                    entry[key] = values[0]
                elif key == "accuracies":
                    pooled = [a for v in values for a in v]
                    entry["accuracy_pooled"] = statistics.fmean(pooled)
                    entry["accuracy_sd"] = statistics.pstdev(pooled)
                    entry["accuracy_n"] = len(pooled)
    return table


def _entry(table, scenario, contender):
    for entry in table.get(scenario, {}).values():
        if entry["contender"] == contender:
            return entry
    return None


def _skk(table, scenario):
    return _entry(table, scenario, "skkeras_prep")


def _by_label(table, scenario, startswith):
    for label, entry in table.get(scenario, {}).items():
        if label.startswith(startswith):
            return entry
    return None


def small_rows(table):
    entries = list(table.get("fit_small", {}).values())
    return int(entries[0]["rows"]) if entries and "rows" in entries[0] else 0


def _ratio(a, b):
    return None if a is None or b is None or not b else a / b


def evaluate_targets(table, mode, contender="skkeras_prep"):
    """(target, measured, goal, met) tuples; met is None where a peer was not measured."""
    out = []
    skk = _entry(table, "fit_large", contender)
    raw = _by_label(table, "fit_large", "raw Keras")
    if skk:
        r = _ratio(raw and raw["fit_s"], skk["fit_s"])
        out.append((f"1. fit throughput vs raw Keras model.fit",
                    f"{r:.2f}x" if r else "n/a", ">= 1.3x", None if r is None else r >= 1.3))
        pct = skk["overhead_pct_of_data"]
        raw_note = f"; raw Keras +{raw['overhead_pct_of_data']:.0f}%" if raw else ""
        small = _entry(table, "fit_small", contender)
        fixed_note = ""
        if small:
            fixed = small["peak_over_before_mb"]
            data_pct = 100 * (skk["peak_over_before_mb"] - fixed) / skk["data_mb"]
            fixed_note = (f"; {fixed:.0f} MB of it is the cost of a first Keras fit in a "
                          f"process, the same on {small_rows(table):,} rows, leaving "
                          f"+{data_pct:.1f}% that grows with the data")
        out.append((f"2. fit peak RSS above loaded data",
                    f"+{pct:.1f}% of data (+{skk['peak_over_before_mb']:.0f} MB{fixed_note}{raw_note})",
                    "<= 10%", pct <= 10))
    skk = _entry(table, "wine_cv", contender)
    sk = _by_label(table, "wine_cv", "scikeras")
    if skk and sk:
        rw, rc = _ratio(sk["warm_s"], skk["warm_s"]), _ratio(sk["cold_s"], skk["cold_s"])
        out.append((f"3. wine CV vs scikeras, warm process", f"{rw:.2f}x", ">= 5x", rw >= 5))
        out.append((f"3. wine CV vs scikeras, first CV in a fresh process", f"{rc:.2f}x",
                    ">= 5x", rc >= 5))
        a, b = skk["accuracy_pooled"], sk["accuracy_pooled"]
        out.append((f"3. wine CV accuracy, mean of all runs",
                    f"{a:.3f} (sd {skk['accuracy_sd']:.3f}, {skk['accuracy_n']} CVs) vs scikeras "
                    f"{b:.3f} (sd {sk['accuracy_sd']:.3f})", "no loss (>= scikeras - 0.01)",
                    a >= b - 0.01))
    elif skk:
        out.append((f"3. wine CV vs scikeras", "scikeras not measured", ">= 5x", None))
    skk = _entry(table, "predict_one", contender)
    if skk:
        out.append((f"4. predict_proba on one row, median", f"{skk['median_ms']:.2f} ms",
                    "<= 2 ms", skk["median_ms"] <= 2.0))
    skk = _entry(table, "predict_large", contender)
    if skk:
        for name in ("raw Keras model.predict (default batch 32)", "raw Keras model.predict (batch 8192)"):
            raw = table.get("predict_large", {}).get(name)
            if raw:
                r = _ratio(raw["predict_s"], skk["predict_s"])
                out.append((f"4. large predict_proba vs {name}", f"{r:.2f}x", ">= 1.0x", r >= 1.0))
    skk = _entry(table, "repeated_fits", contender)
    if skk:
        out.append((f"5. RSS growth, fit {skk['from_fit']:.0f} -> {skk['to_fit']:.0f}",
                    f"{skk['growth_mb']:.1f} MB", "<= 30 MB", skk["growth_mb"] <= 30))
    skk = _entry(table, "repeated_fits_scaled", contender)
    if skk:
        out.append((f"5. RSS growth with a preprocessor at data size, fit {skk['from_fit']:.0f} -> "
                    f"{skk['to_fit']:.0f}", f"{skk['growth_mb']:.1f} MB "
                    f"({skk['growth_per_fit_mb']:.1f} MB per fit; data {skk['data_mb']:.0f} MB)",
                    "no growth with data size", skk["growth_per_fit_mb"] < 0.1 * skk["data_mb"]))
    rows = [e for e in table.get("transform_calls", {}).values() if e["contender"] == contender]
    if rows:
        passes = [e["transform_passes_per_fit"] for e in rows]
        out.append((f"6. preprocessor transform passes per fit",
                    ", ".join(f"{p:g}" for p in passes), "1 (not once per epoch)",
                    all(p == 1 for p in passes)))
    return out


# time metrics compared with the baseline revision: (scenario, metric, name)
BASELINE_CHECKS = [
    ("fit_large", "fit_s", "fit throughput (large fit time)"),
    ("fit_small", "fit_s", "first fit on small data (fit time)"),
    ("wine_cv", "cold_s", "wine CV, first CV in a fresh process"),
    ("wine_cv", "warm_s", "wine CV, warm process"),
]
BASELINE_TOLERANCE = 0.10  # current median time may be at most 10% above the baseline's


def evaluate_baseline(table, baseline_contender, contender="skkeras_prep",
                      tolerance=BASELINE_TOLERANCE):
    """"No regression" targets: current median time / baseline median time <= 1 + tolerance."""
    out = []
    for scenario, key, name in BASELINE_CHECKS:
        now, then = _entry(table, scenario, contender), _entry(table, scenario, baseline_contender)
        if not then:
            continue
        goal = f"current / baseline median time <= {1 + tolerance:.2f}x"
        target = f"R. no regression vs {baseline_contender}: {name}"
        r = _ratio(now and now.get(key), then.get(key))
        if r is None:
            out.append((target, f"current {contender} not measured", goal, None))
            continue
        out.append((target, f"{r:.2f}x ({now[key]:.2f} s vs {then[key]:.2f} s)", goal,
                    r <= 1 + tolerance))
    return out


# -- report --------------------------------------------------------------------------------
def _fmt(value, spec):
    return "" if value is None else format(value, spec)


def _spread(entry, key, spec):
    values = entry.get(key + "_all") or []
    if len(values) < 2:
        return _fmt(entry.get(key), spec)
    return f"{format(entry[key], spec)} ({format(min(values), spec)}-{format(max(values), spec)})"


SECTIONS = {
    "fit_large": (
        "Fit throughput and memory (targets 1, 2)",
        "`fit(X, y)` on {n:,} x {d} float32 rows (generated), one hidden layer of {hidden}, "
        "batch {batch}, {epochs} epochs, Adam. Time and peak RSS of the fit call only; \"peak "
        "over before\" is the peak RSS during fit minus the RSS just before it (data loaded, "
        "imports done, TensorFlow's eager runtime started).",
    ),
    "fit_small": (
        "The fixed cost of a first fit (target 2)",
        "The same fit on {n:,} rows, each in a fresh process: the peak RSS a first Keras fit "
        "adds whatever the data size (tracing, TensorFlow's runtime). Subtracted from the "
        "large fit's figure, it leaves the part that grows with the data.",
    ),
    "wine_cv": (
        "Small data: cross-validation on load_wine (target 3)",
        "`cross_val_score(est, X, y, cv=StratifiedKFold({folds}, shuffle=True))`, "
        "StandardScaler preprocessor (a Pipeline for the peers), one hidden layer of {hidden}, "
        "{epochs} epochs, batch {batch}. *first* = the first CV in a fresh process (graph "
        "tracing included); *warm* = the same CV again in that process. Accuracy is the mean "
        "CV score over every CV run (all rounds of all repetitions, each with its own seed).",
    ),
    "predict_one": (
        "One-row prediction latency (target 4)",
        "Model fitted on load_wine with StandardScaler; median and 90th percentile over "
        "{calls} single-row calls after {warmup} warm-up calls. Raw Keras rows include the "
        "scaler's transform.",
    ),
    "predict_large": (
        "Large prediction (target 4)",
        "Probabilities for {n:,} x {d} float32 rows (model fitted on {fit_rows:,} rows, one "
        "epoch); one warm-up call on 2048 rows first. Time and peak RSS of the call only.",
    ),
    "repeated_fits": (
        "Repeated fits in one process (target 5)",
        "{n_fits} sequential fits of a small model ({n} x {d} rows, hidden {hidden}, {epochs} "
        "epochs, batch {batch}) in one process, no `keras.backend.clear_session`. Growth = RSS "
        "after fit {n_fits} minus RSS after fit {from_fit} (after `gc.collect()`).",
    ),
    "repeated_fits_scaled": (
        "Repeated fit + predict with a preprocessor, at data size (target 5)",
        "{n_fits} sequential cycles of `fit(X, y)` + `predict_proba(X)` with a StandardScaler "
        "preprocessor (a Pipeline for the peers; raw Keras scales by hand and predicts with "
        "batch 8192) on {n:,} x {d} float32 rows, hidden {hidden}, {epochs} epoch, batch "
        "{batch}, in one process. Each cycle makes new transformed copies of X; growth = RSS "
        "after cycle {n_fits} minus after cycle {from_fit}.",
    ),
    "transform_calls": (
        "Preprocessor transform calls per fit (target 6)",
        "A StandardScaler subclass counts `fit`/`transform` calls and rows transformed; "
        "{n} x {d} rows, batch {batch}.",
    ),
}

COLUMNS = {
    "fit_large": [("fit s", "fit_s", ".2f", True), ("skkeras_prep speedup", "ratio:fit_s", ".2f", False),
                  ("rows/s", "rows_per_s", ",.0f", False), ("peak over before MB", "peak_over_before_mb", ".0f", True),
                  ("% of data", "overhead_pct_of_data", ".1f", False), ("peak RSS MB", "peak_rss_mb", ".0f", False),
                  ("train acc", "train_acc_first_20k", ".3f", False)],
    "fit_small": [("fit s", "fit_s", ".2f", True), ("peak over before MB", "peak_over_before_mb", ".1f", True),
                  ("peak RSS MB", "peak_rss_mb", ".0f", False)],
    "wine_cv": [("first CV s", "cold_s", ".2f", True), ("speedup (first)", "ratio:cold_s", ".2f", False),
                ("warm CV s", "warm_s", ".2f", True), ("speedup (warm)", "ratio:warm_s", ".2f", False),
                ("accuracy (mean of all CVs)", "accuracy_pooled", ".3f", False),
                ("accuracy sd", "accuracy_sd", ".3f", False), ("CVs", "accuracy_n", "d", False)],
    "predict_one": [("median ms", "median_ms", ".2f", True), ("p90 ms", "p90_ms", ".2f", False),
                    ("skkeras_prep speedup", "ratio:median_ms", ".2f", False)],
    "predict_large": [("predict s", "predict_s", ".2f", True), ("skkeras_prep speedup", "ratio:predict_s", ".2f", False),
                      ("rows/s", "rows_per_s", ",.0f", False), ("peak over before MB", "peak_over_before_mb", ".0f", True)],
    "repeated_fits": [("RSS growth MB", "growth_mb", ".1f", True), ("per fit MB", "growth_per_fit_mb", ".2f", False),
                      ("fit median s", "fit_median_s", ".3f", False), ("RSS after last fit MB", "rss_last_fit_mb", ".0f", False)],
    "repeated_fits_scaled": [("RSS growth MB", "growth_mb", ".1f", True), ("per cycle MB", "growth_per_fit_mb", ".1f", False),
                             ("cycle median s", "fit_median_s", ".2f", False), ("RSS after last cycle MB", "rss_last_fit_mb", ".0f", False)],
    "transform_calls": [("fit calls", "fit_calls", "d", False), ("transform calls / fit", "transform_calls_per_fit", "d", False),
                        ("rows transformed / n", "transform_passes_per_fit", "g", False),
                        ("transform calls / predict", "transform_calls_per_predict", "d", False)],
}


def _table_md(scenario, entries):
    cols = COLUMNS[scenario]
    skk = next((e for e in entries.values() if e["contender"] == "skkeras_prep"), None)
    lines = ["| contender | " + " | ".join(c[0] for c in cols) + " |",
             "|---|" + "---:|" * len(cols)]
    for label, entry in entries.items():
        cells = []
        for _, key, spec, spread in cols:
            if key.startswith("ratio:"):
                key = key[6:]
                r = None if not skk or not skk.get(key) else entry.get(key) / skk[key]
                cells.append("" if r is None else format(r, spec) + "x")
            elif spread:
                cells.append(_spread(entry, key, spec))
            else:
                value = entry.get(key)
                if spec == "d" and value is not None:
                    value = int(round(value))
                cells.append(_fmt(value, spec))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _machine():
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as fh:
            mem = f"{int(fh.readline().split()[1]) / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), {mem} RAM, {platform.system()} {platform.release()}"


def write_report(path, meta, results, table, targets):
    sizes = meta["sizes"]
    lines = [
        "# skkeras_prep benchmarks",
        "",
        "Generated by `bench/run.py`; do not edit by hand. Re-run with the command below.",
        "",
        "```",
        meta["command"],
        "```",
        "",
        f"- date: {meta['date']}, mode: `{meta['mode']}`, repetitions: {meta['reps']}, "
        f"total {meta['wall_s'] / 60:.1f} min",
        f"- machine: {meta['machine']}",
        f"- versions: {meta['versions']}",
        f"- load average (1, 5, 15 min) at start {meta['load_start']}, at end {meta['load_end']}; "
        f"1-min load before each case: min {meta['load_min']:.2f}, median {meta['load_median']:.2f}, "
        f"max {meta['load_max']:.2f}",
        f"- contenders skipped (not importable): {', '.join(meta['skipped']) or 'none'}",
    ]
    base = meta.get("baseline")
    if base:
        files = ", ".join(f"`{f}`" for f in base.get("verified_files", [])) or "none (no case ran)"
        current = ", ".join(f"`{f}`" for f in meta.get("current_files", [])) or "not run"
        lines += [
            f"- baseline: `{base['contender']}` = git revision `{base['rev']}` (commit "
            f"`{base['sha']}`), the library exported to `{base['path']}`; the baseline workers "
            f"imported skkeras_prep from {files}; the current skkeras_prep from {current}"
            + ("; **`--in-process`: the current skkeras_prep ran in the parent process (TensorFlow "
               "already started), the baseline in fresh processes, so their times are not "
               "comparable**" if meta.get("in_process") else ""),
        ]
    lines += [
        "",
        "Each case runs in its own fresh Python process (clean peak RSS). Repetitions alternate "
        "(every contender once per repetition, order rotated), so background load hits all "
        "alike. Cells are medians over repetitions, with (min-max) where there are several; "
        "*speedup* = the contender's median / skkeras_prep's median (above 1: skkeras_prep is "
        "faster). Peak RSS is the kernel's high-water mark (VmHWM, reset just before the "
        "measured call).",
        "",
        "`--baseline REV` (any git revision: a hash, a branch, `main~3`) adds the contender "
        "`skkeras_prep@<shortsha>`: the same skkeras_prep cases of the current bench/cases.py, "
        "run with the library exported from REV by `git archive` into "
        "`bench/results/baseline-<shortsha>/` (git-ignored; the working tree is untouched) and "
        "put first on the worker's `sys.path`. Its *speedup* cell is the baseline's median / "
        "the current skkeras_prep's (above 1: today's code is faster), and the \"R. no "
        f"regression\" targets require the current median time to be at most "
        f"{100 * BASELINE_TOLERANCE:.0f}% above the baseline's "
        f"(ratio <= {1 + BASELINE_TOLERANCE:.2f}x) in the fit and wine-CV cases; other targets "
        "compare the current skkeras_prep only. Before/after a change: `python -m bench.run "
        "--scenarios fit_large,fit_small,wine_cv --contenders skkeras_prep --baseline REV`.",
        "",
        "## Targets",
        "",
        "| target | measured | goal | met |",
        "|---|---|---|---|",
    ]
    for name, measured, goal, met in targets:
        lines.append(f"| {name} | {measured} | {goal} | {'n/a' if met is None else ('yes' if met else '**no**')} |")
    for scenario in SCENARIOS:
        if scenario not in table:
            continue
        title, desc = SECTIONS[scenario]
        params = dict(sizes[scenario])
        if isinstance(params.get("epochs"), list):
            params["epochs"] = "/".join(map(str, params["epochs"]))
        lines += ["", f"## {title}", "", desc.format(**params), "", _table_md(scenario, table[scenario])]
    for scenario in ("repeated_fits", "repeated_fits_scaled"):
        if scenario in table:
            lines += ["", f"RSS (MB) after each fit, `{scenario}`:", ""]
            for label, entry in table[scenario].items():
                trace = entry.get("rss_trace_mb") or []
                lines.append(f"- {label}: {', '.join(f'{v:.0f}' for v in trace)}")
    profiles = [r for r in results if r["job"]["rep"] < 0 and "rows" in r]
    if profiles:
        lines += ["", "## Profiles", "",
                  "cProfile of one wine CV (same settings as above) per contender, in its own "
                  "process: round 0 is the first CV in the process, round 1 the second. Top of "
                  "the warm round by cumulative time; full listings (cumulative and internal "
                  "time) in `bench/results/profile_wine_cv_*.txt` (git-ignored)."]
        for r in profiles:
            listing = r["job"]["params"]["profile"]["path"].format(round=1)
            try:
                with open(listing) as fh:
                    text = fh.read().splitlines()
            except OSError:
                continue
            head = [l for l in text[:60] if l.strip()][:32]
            lines += ["", f"`{os.path.basename(listing)}`:", "", "```"] + head + ["```"]
    from .memory_cycles import readme_section
    from .reuse import readme_section as reuse_section

    lines += ["", *readme_section()]
    lines += ["", *reuse_section()]
    from .reuse_kinds import readme_section as reuse_kinds_section

    lines += ["", *reuse_kinds_section()]
    lines += ["", "## Other measurements", "",
              "- `results/sparse_memory.md`: peak memory of a fit on a 200,000 x 50,000 sparse "
              "matrix (`python -m bench.sparse_memory`).",
              "- `results/memory_cycles.md`: RSS after every fit + predict cycle without "
              "`gc.collect()` (`python -m bench.memory_cycles`).",
              "- `results/reuse.md`: CV, grid search and 1,000 fits with model reuse, side by "
              "side with a baseline revision (`python -m bench.reuse --baseline REV`).",
              "- `results/reuse_kinds.md`: model reuse per model kind (Sequential and functional "
              "builders, a model instance, a compiled builder, several inputs): wine CV against "
              "`MLPClassifier`, RSS over 500 cycles, the first fit "
              "(`python -m bench.reuse_kinds --baseline REV`).",
              "- `results/retained_graphs.md`: which step of a Keras fit keeps memory across "
              "repeated fits, and what skkeras_prep releases (`python -m bench.retained_graphs`).",
              "- `results/bad_input_matrix.md`: 200 bad inputs on both estimators, each outcome "
              "classified clear, handled, obscure or silent (`python -m bench.bad_input_matrix`).",
              "- `results/images_arrays.md`: digits as (n, 8, 8, 1) arrays, `models.CNN()` against "
              "`MLPClassifier` on the same 5 folds, and the epoch time a 4-layer augmentation adds "
              "(`python -m bench.images_arrays`)."
              "- `results/out_of_core.md`: one epoch over a lazily generated 6 GB dask array, "
              "peak RSS and rows/s against the in-memory path (`python -m bench.out_of_core`)."]
    errors = [r for r in results if "error" in r]
    if errors:
        lines += ["", "## Errors", ""]
        for r in errors:
            lines.append(f"- {r['job']['scenario']} / {r['job']['contender']}: `{r['error'][-300:]}`")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def _library_files(results, contender):
    """The skkeras_prep.__file__ values the workers of ``contender`` reported."""
    return sorted({row["skkeras_prep_file"] for r in results for row in r.get("rows", [])
                   if row.get("contender") == contender and row.get("skkeras_prep_file")})


# -- main ----------------------------------------------------------------------------------
def run_jobs(jobs, runner=run_job_subprocess, reraise=False):
    """Run ``jobs`` one after the other, printing a progress line each; a job that fails
    becomes a result with an ``"error"`` (unless ``reraise``), so the run goes on."""
    results = []
    for i, job in enumerate(jobs, 1):
        t0 = time.perf_counter()
        try:
            result = runner(job)
        except Exception as exc:  # keep going: one broken peer must not lose the run
            if reraise:
                raise
            result = {"job": job, "error": repr(exc)}
        results.append(result)
        status = "ERROR" if "error" in result else "ok"
        print(f"[{i}/{len(jobs)}] rep {job['rep']} {job['scenario']:<15} {job['contender']:<22} "
              f"{status} {time.perf_counter() - t0:6.1f}s load {os.getloadavg()[0]:.2f}",
              file=sys.stderr, flush=True)
        if "error" in result:
            print(result["error"][-2000:], file=sys.stderr)
    return results


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", const="quick", dest="mode")
    mode.add_argument("--smoke", action="store_const", const="smoke", dest="mode")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default: 3 full, 2 quick)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--contenders", default=",".join(ALL_CONTENDERS))
    parser.add_argument("--out", default=os.path.join(HERE, "README.md"))
    parser.add_argument("--json", default=None, help="raw results (default bench/results/latest.json)")
    parser.add_argument("--in-process", action="store_true",
                        help="run cases in this process (fast, for the smoke test; RSS not isolated)")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile runs")
    parser.add_argument("--baseline", metavar="REV", default=None,
                        help="also run the skkeras_prep cases against the library at git revision "
                             "REV (a contender skkeras_prep@<shortsha>; always in its own process)")
    parser.add_argument("--report-only", action="store_true",
                        help="re-render --out from the raw results in --json; run nothing")
    args = parser.parse_args(argv)
    if args.report_only:
        source = args.json or os.path.join(HERE, "results", "latest.json")
        try:
            with open(source) as fh:
                saved = json.load(fh)
        except (OSError, ValueError) as exc:
            parser.error(f"--report-only needs the raw results of a run in {source} ({exc}); "
                         "run the benchmark first or pass --json PATH")
        write_report(args.out, saved["meta"], saved["results"], saved["table"],
                     [tuple(t) for t in saved["targets"]])
        print(f"wrote {args.out}")
        return 0
    args.mode = args.mode or "full"
    reps = args.reps or SIZES[args.mode]["reps"]
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; choose from {list(SCENARIOS)}")
    wanted = [c for c in args.contenders.split(",") if c]
    unknown = [c for c in wanted if c not in cases.CONTENDERS]
    if unknown:
        parser.error(f"unknown contenders {unknown}; choose from {ALL_CONTENDERS} (an earlier "
                     "revision of skkeras_prep is added with --baseline REV)")
    skipped = [c for c in wanted if not available(c)]
    contenders = [c for c in wanted if c not in skipped]
    for c in skipped:
        print(f"skipping {c}: {cases.CONTENDERS[c]['requires']} not importable", file=sys.stderr)

    base = None
    if args.baseline is not None:
        try:
            base = baseline_mod.export(args.baseline)
        except ValueError as exc:
            parser.error(str(exc))
        if not importable("keras"):
            parser.error(f"--baseline {args.baseline}: keras is not importable")
        if args.in_process:
            print("note: with --in-process the baseline still runs in its own processes (one "
                  "interpreter cannot import two versions), so current and baseline times are "
                  "not comparable; drop --in-process for a real comparison", file=sys.stderr)
        print(f"baseline {base['contender']}: revision {args.baseline} ({base['sha']}) "
              f"exported to {base['path']}", file=sys.stderr)

    jobs = plan(args.mode, scenarios, contenders, reps, baseline=base)
    if not args.no_profile and args.mode != "smoke" and "wine_cv" in scenarios:
        jobs += [j for j in profile_jobs(args.mode) if j["contender"] in contenders]
    runner = run_job_inprocess if args.in_process else run_job_subprocess
    load_start = [round(v, 2) for v in os.getloadavg()]
    started = time.perf_counter()
    results = run_jobs(jobs, runner, reraise=args.in_process)
    wall = time.perf_counter() - started
    table = aggregate(results)
    targets = evaluate_targets(table, args.mode)
    if base:
        targets += evaluate_baseline(table, base["contender"])
        base = dict(base, verified_files=_library_files(results, base["contender"]))
    loads = [r["loadavg_before"][0] for r in results if "loadavg_before" in r] or [0.0]
    versions = {}
    for r in results:
        versions.update(r.get("versions", {}))
    meta = {
        "command": ".venv/bin/python -m bench.run " + " ".join(shlex.quote(a) for a in argv),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "mode": args.mode, "reps": reps, "wall_s": wall, "machine": _machine(),
        "versions": ", ".join(f"{k} {v}" for k, v in sorted(versions.items())),
        "load_start": load_start, "load_end": [round(v, 2) for v in os.getloadavg()],
        "load_min": min(loads), "load_median": statistics.median(loads), "load_max": max(loads),
        "skipped": skipped, "sizes": SIZES[args.mode],
        "baseline": base, "in_process": args.in_process, "current_files": _library_files(results, "skkeras_prep"),
    }
    json_path = args.json or os.path.join(HERE, "results", "latest.json")
    os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
    with open(json_path, "w") as fh:
        json.dump({"meta": meta, "results": results, "table": table,
                   "targets": [list(t) for t in targets]}, fh, indent=1, default=str)
    write_report(args.out, meta, results, table, targets)
    for name, measured, goal, met in targets:
        print(f"{'n/a' if met is None else ('MET ' if met else 'MISS')}  {name}: {measured} (goal {goal})")
    print(f"wrote {args.out} and {json_path}")
    return 0 if not any("error" in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
