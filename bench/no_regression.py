"""No regression against an earlier revision (issue 22): one command, one table.

    .venv/bin/python -m bench.no_regression --baseline 1a28e87 [--reps 3] [--smoke]
        [--cases fit_large,wine_cv,images,out_of_core] [--images-dir DIR] [--out PATH]

Four cases, each run for the current skkeras_prep and for the library exported from
``--baseline`` (``git archive``, bench/baseline.py), every run in a fresh worker process
(``bench.worker``; the baseline's worker imports the exported package and proves it):

* ``fit_large`` and ``wine_cv``: the cases of ``python -m bench.run --scenarios
  fit_large,wine_cv --contenders skkeras_prep --baseline REV --no-profile`` (bench/cases.py,
  sizes of bench.run's full mode);
* ``images``: one epoch of ``fit`` from a folder of PNG files, then ``predict_proba`` on the
  same files: bench/images_throughput.py's skkeras_prep contender, on 8,000 files (written
  once per run into ``--images-dir`` or a temporary folder);
* ``out_of_core``: one epoch of ``fit`` on a lazily generated dask array, then
  ``predict_proba`` computed: bench/out_of_core.py's dask phase, on 2,000,000 x 100 rows.

Sizes (``SIZES``) make each image and out-of-core run take a few seconds, long enough for 5%
to stand out of the noise; ``--smoke`` shrinks everything to check the plumbing.

Repetitions alternate: repetition r runs every case, and within a case the two revisions in
an order rotated by r, so load that changes over minutes hits both alike. Each cell is the
median over repetitions (min-max); ratio = current median / baseline median, and the target
is "within 5% or better" (ratio <= 1.05) for every time and peak RSS. Writes the table, the
command, the machine, load averages, versions and both revisions to ``--out``
(default bench/results/no_regression.md) and the raw results next to it as JSON
(``--json``; bench/results/*.json is git-ignored).
"""

import argparse
import datetime
import json
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time

from . import baseline as baseline_mod
from . import cases, images_throughput, out_of_core
from . import run as bench_run
from .harness import PeakMeter

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE = "bench.no_regression"
CURRENT = baseline_mod.CASE  # the current library's contender name
TOLERANCE = 0.05

SIZES = {
    "full": {
        "reps": 3, "run_mode": "full",
        "images": dict(n=8000),
        "out_of_core": dict(rows=2_000_000, cols=100, chunk=50_000, window=4, batch=512, hidden=64),
    },
    "smoke": {
        "reps": 1, "run_mode": "smoke",
        "images": dict(n=200),
        "out_of_core": dict(rows=20_000, cols=10, chunk=5_000, window=2, batch=256, hidden=8),
    },
}
RUN_CASES = ("fit_large", "wine_cv")  # bench.run's scenarios, planned by bench.run.plan
OWN_CASES = ("images", "out_of_core")
ALL_CASES = RUN_CASES + OWN_CASES

# (case, metric, what it is); every one is a time or a peak RSS: lower is better
MEASURES = [
    ("fit_large", "fit_s", "fit s"),
    ("fit_large", "peak_rss_mb", "peak RSS in fit MB"),
    ("fit_large", "peak_over_before_mb", "RSS growth in fit MB"),
    ("wine_cv", "cold_s", "first CV in a process s"),
    ("wine_cv", "warm_s", "second CV s"),
    ("images", "fit_s", "fit s"),
    ("images", "predict_s", "predict_proba s"),
    ("images", "peak_rss_mb", "peak RSS in fit MB"),
    ("out_of_core", "fit_s", "fit s"),
    ("out_of_core", "predict_s", "predict_proba s"),
    ("out_of_core", "peak_rss_mb", "peak RSS in fit MB"),
]
# results that the same seeds should reproduce (a check that both revisions did the same work)
RESULTS = [
    ("fit_large", "train_acc_first_20k", "training accuracy, first 20,000 rows"),
    ("wine_cv", "accuracy", "mean CV accuracy"),
    ("images", "loss", "final training loss"),
    ("images", "proba_mean", "mean predicted probability of the last class"),
    ("out_of_core", "loss", "final training loss"),
    ("out_of_core", "proba_mean", "mean predicted probability of the last class"),
]


# -- the two cases of this module (run by bench.worker in a fresh process) ----------------
def _fit_predict(est, fit, predict_arg):
    """``fit()`` (timed, under the peak meter), then ``est.predict_proba(predict_arg)``
    (timed, computed if lazy)."""
    with PeakMeter() as mem:
        t0 = time.perf_counter()
        fit()
        fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    proba = est.predict_proba(predict_arg)
    if hasattr(proba, "compute"):  # a lazy (dask) result: the user computes it
        proba = proba.compute()
    predict_s = time.perf_counter() - t0
    row = {"label": CURRENT, "fit_s": fit_s, "predict_s": predict_s,
           "loss": float(est.history_["loss"][-1]), "proba_mean": float(proba[:, -1].mean())}
    row.update(mem.as_dict())
    return row


def images_case(case, p):
    """bench/images_throughput.py's skkeras_prep fit (the folder listed inside the timed
    call, as there), then predict_proba on every file of the folder."""
    from skkeras_prep.images import image_folder

    cases.warm_runtime(case)
    est = images_throughput.skkeras_estimator(seed=p["seed"])
    row = _fit_predict(est, lambda: est.fit(*image_folder(p["dir"])), image_folder(p["dir"])[0])
    row["images"] = p["n"]
    return [row]


def out_of_core_case(case, p):
    """bench/out_of_core.py's dask phase: fit on the lazily generated array (y computed
    first, blocks generated while training), then predict_proba on it, computed."""
    import dask

    X, y = out_of_core.lazy_data(p["rows"], p["cols"], p["chunk"], p["seed"])
    cases.warm_runtime(case)
    est = out_of_core.estimator(hidden=p["hidden"], batch_size=p["batch"], seed=p["seed"],
                                window=p["window"])
    with dask.config.set(scheduler="threads"):
        row = _fit_predict(est, lambda: est.fit(X, y), X)
    row["rows"] = p["rows"]
    return [row]


SCENARIOS = {"images": images_case, "out_of_core": out_of_core_case}


# -- plan ----------------------------------------------------------------------------------
def plan(mode, reps, base, image_dir, cases=ALL_CASES):
    """Jobs in run order: repetition-major; in each repetition bench.run's cases, then the
    image and out-of-core cases (those of ``cases``), the two revisions of each in an order
    rotated by r."""
    sizes = SIZES[mode]
    run_cases = [c for c in RUN_CASES if c in cases]
    run_jobs = bench_run.plan(sizes["run_mode"], run_cases, [CURRENT], reps, baseline=base)
    base_job = {"case": baseline_mod.CASE, "import_path": base["path"],
                "revision": {k: base[k] for k in ("rev", "sha", "short")}}
    jobs = []
    for rep in range(reps):
        jobs += [j for j in run_jobs if j["rep"] == rep]
        names = [CURRENT, base["contender"]]
        names = names[rep % 2:] + names[:rep % 2]
        for scenario in (c for c in OWN_CASES if c in cases):
            params = dict(sizes[scenario], seed=rep)
            if scenario == "images":
                params["dir"] = image_dir
            for contender in names:
                job = {"scenario": scenario, "module": MODULE, "contender": contender,
                       "params": params, "rep": rep}
                if contender == base["contender"]:
                    job.update(base_job)
                jobs.append(job)
    return jobs


# -- table ---------------------------------------------------------------------------------
def _cell(entry, key):
    values = entry.get(key + "_all") or [entry[key]]
    spec = ",.0f" if key.endswith("_mb") else ".2f"
    text = format(entry[key], spec)
    return text if len(values) < 2 else f"{text} ({format(min(values), spec)}-{format(max(values), spec)})"


def _spread(entry, key):
    """(max - min) / median of the repetitions, or None with fewer than two."""
    values = entry.get(key + "_all") or []
    return (max(values) - min(values)) / entry[key] if len(values) > 1 and entry[key] else None


def compare(table, base_contender, tolerance=TOLERANCE):
    """One dict per measure: the case, the measure, both entries' cells, ratio, within."""
    out = []
    for scenario, key, name in MEASURES:
        now = bench_run._entry(table, scenario, CURRENT)
        then = bench_run._entry(table, scenario, base_contender)
        if not (now and then and key in now and key in then):
            continue
        ratio = bench_run._ratio(now[key], then[key])
        now_all, then_all = now.get(key + "_all") or [now[key]], then.get(key + "_all") or [then[key]]
        overlap = min(now_all) <= max(then_all)
        # runs of one repetition ran next to each other (results are in plan order)
        pairs = [a / b for a, b in zip(now_all, then_all) if b] if len(now_all) == len(then_all) else []
        out.append({"case": scenario, "key": key, "measure": name,
                    "current": _cell(now, key), "baseline": _cell(then, key), "ratio": ratio,
                    "within": ratio is not None and ratio <= 1 + tolerance,
                    "spread_current": _spread(now, key), "spread_baseline": _spread(then, key),
                    "ranges_overlap": overlap, "pair_ratios": pairs})
    return out


def _pct(value):
    return "-" if value is None else f"{100 * value:.0f}%"


def render(meta, rows, checks):
    base = meta["baseline"]
    misses = [r for r in rows if not r["within"]]
    lines = [
        "# No regression: current tree against an earlier revision (issue 22)", "",
        "Generated by `bench/no_regression.py`; re-run with:", "",
        "```", meta["command"], "```", "",
        f"- date: {meta['date']}, mode `{meta['mode']}`, repetitions: {meta['reps']}, total "
        f"{meta['wall_s'] / 60:.1f} min",
        f"- machine: {meta['machine']}",
        f"- load average (1, 5, 15 min) at start {meta['load_start']}, at end {meta['load_end']}; "
        f"1-min load before each run: min {meta['load_min']:.2f}, median {meta['load_median']:.2f}, "
        f"max {meta['load_max']:.2f}",
        f"- versions: {meta['versions']}",
        f"- current: `{meta['current']['describe']}` (skkeras_prep from {meta['current']['files']})",
        f"- baseline: `{base['contender']}` = revision `{base['rev']}`, commit `{base['sha']}`, "
        f"exported to `{base['path']}` (skkeras_prep from {base['files']})",
        "",
        "Cases: `fit_large` and `wine_cv` are bench.run's (bench/cases.py; "
        f"{meta['case_sizes']['fit_large']}; {meta['case_sizes']['wine_cv']}); `images` is "
        "bench/images_throughput.py's skkeras_prep fit of one epoch from a folder of "
        f"{meta['case_sizes']['images']}, then `predict_proba` on every file; `out_of_core` is "
        f"bench/out_of_core.py's dask fit of one epoch, {meta['case_sizes']['out_of_core']}, then "
        "`predict_proba` on the same array, computed. Every run is a fresh process; the two "
        "revisions alternate, order rotated each repetition. Cells: median (min-max) over "
        "repetitions; peak RSS is the kernel's high-water mark during the fit (absolute; the "
        "growth is the peak minus the RSS just before the fit). Ratio = current / baseline; "
        f"target: ratio <= {1 + TOLERANCE:.2f} (within 5% or better).",
        "",
        "| case | measure | current median (min-max) | baseline median (min-max) | ratio | within 5% |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.3f}"
        lines.append(f"| {r['case']} | {r['measure']} | {r['current']} | {r['baseline']} | {ratio} | "
                     f"{'yes' if r['within'] else '**no**'} |")
    lines += ["", f"**{len(rows) - len(misses)} of {len(rows)} measures within 5%.**"]
    if misses and meta["reps"] > 1:
        lines += ["", "Outside 5%: " + "; ".join(
            f"{r['case']} {r['measure']} ({r['ratio']:.3f}x; the repetitions' ranges "
            + ("overlap: within the noise of this run" if r["ranges_overlap"] else "do not overlap")
            + ")" for r in misses) + "."]
    if meta["reps"] > 1:
        lines += ["", "Noise: the spread of each side's repetitions, (max - min) / median, and "
                  "the ratio of each repetition's pair of runs (run next to each other, so "
                  "least moved by load that changes over minutes):", "",
                  "| case | measure | spread current | spread baseline | ratio per repetition |",
                  "|---|---|---:|---:|---|"]
        lines += [f"| {r['case']} | {r['measure']} | {_pct(r['spread_current'])} | "
                  f"{_pct(r['spread_baseline'])} | {', '.join(f'{p:.3f}' for p in r['pair_ratios'])} |"
                  for r in rows]
    if checks:
        lines += ["", "Same seeds, same work (medians, current / baseline): " + "; ".join(checks) + "."]
    if meta["errors"]:
        lines += ["", "## Errors", ""] + [f"- {e}" for e in meta["errors"]]
    return "\n".join(lines) + "\n"


def result_checks(table, base_contender):
    out = []
    for scenario, key, name in RESULTS:
        now = bench_run._entry(table, scenario, CURRENT)
        then = bench_run._entry(table, scenario, base_contender)
        if now and then and key in now and key in then:
            out.append(f"{scenario} {name} {now[key]:.4f} / {then[key]:.4f}")
    return out


# -- main ----------------------------------------------------------------------------------
def _describe_current():
    sha = baseline_mod._git("rev-parse", "HEAD").decode().strip()
    dirty = baseline_mod._git("status", "--porcelain", "--", "skkeras_prep").decode().strip()
    return sha + (" with uncommitted changes in skkeras_prep/" if dirty else "")


def _sizes_text(mode):
    s, r = SIZES[mode], bench_run.SIZES[SIZES[mode]["run_mode"]]
    f, w, o = r["fit_large"], r["wine_cv"], s["out_of_core"]
    return {
        "fit_large": f"{f['n']:,} x {f['d']} float32, hidden {f['hidden']}, {f['epochs']} epochs, batch {f['batch']}",
        "wine_cv": f"{w['folds']} folds, {w['epochs']} epochs, hidden {w['hidden']}",
        "images": f"{s['images']['n']:,} PNG files of {images_throughput.SIZE}x{images_throughput.SIZE} "
                  f"RGB, batch {images_throughput.BATCH}",
        "out_of_core": f"{o['rows']:,} x {o['cols']} float32 in chunks of {o['chunk']:,} rows, "
                       f"shuffle_window_chunks={o['window']}, hidden {o['hidden']}, batch {o['batch']}",
    }


def _prepare_images(directory, n):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # write_folder imports TensorFlow here
    if images_throughput._count_files(directory) != n:
        shutil.rmtree(directory, ignore_errors=True)
        print(f"writing {n} PNG files to {directory} ...", file=sys.stderr, flush=True)
        images_throughput.write_folder(directory, n)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m bench.no_regression",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", metavar="REV", required=True,
                        help="the git revision to compare with (a hash, a branch, HEAD~N)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 3; smoke 1)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the plumbing, measures nothing")
    parser.add_argument("--cases", default=",".join(ALL_CASES),
                        help=f"a subset of {','.join(ALL_CASES)} (default: all)")
    parser.add_argument("--images-dir", default=None,
                        help="folder for the PNG files (reused when it holds the right count; "
                             "default: a temporary folder, removed at the end)")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "no_regression.md"))
    parser.add_argument("--json", default=None,
                        help="raw results (default: --out with the extension .json)")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "full"
    reps = SIZES[mode]["reps"] if args.reps is None else args.reps
    if reps < 1:
        parser.error(f"--reps must be at least 1, got {reps}")
    chosen = [c for c in args.cases.split(",") if c]
    unknown = [c for c in chosen if c not in ALL_CASES]
    if unknown or not chosen:
        parser.error(f"--cases {args.cases!r}: unknown {unknown}; choose from {','.join(ALL_CASES)}")
    try:
        base = baseline_mod.export(args.baseline)
    except ValueError as exc:
        parser.error(str(exc))
    own_dir = args.images_dir is None
    image_dir = args.images_dir or tempfile.mkdtemp(prefix="skkeras_no_regression_images_")
    load_start = [round(v, 2) for v in os.getloadavg()]
    started = time.perf_counter()
    try:
        if "images" in chosen:
            _prepare_images(image_dir, SIZES[mode]["images"]["n"])
        results = bench_run.run_jobs(plan(mode, reps, base, image_dir, chosen))
    finally:
        if own_dir:
            shutil.rmtree(image_dir, ignore_errors=True)
    wall = time.perf_counter() - started
    table = bench_run.aggregate(results)
    rows = compare(table, base["contender"])
    loads = [r["loadavg_before"][0] for r in results if "loadavg_before" in r] or [0.0]
    versions = {}
    for r in results:
        versions.update(r.get("versions", {}))
    files = {c: ", ".join(f"`{f}`" for f in bench_run._library_files(results, c)) or "no run"
             for c in (CURRENT, base["contender"])}
    meta = {
        "command": "python -m bench.no_regression " + " ".join(shlex.quote(a) for a in argv),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "mode": mode, "reps": reps, "wall_s": wall, "machine": bench_run._machine(),
        "load_start": load_start, "load_end": [round(v, 2) for v in os.getloadavg()],
        "load_min": min(loads), "load_median": statistics.median(loads), "load_max": max(loads),
        "versions": ", ".join(f"{k} {v}" for k, v in sorted(versions.items())),
        "current": {"describe": _describe_current(), "files": files[CURRENT]},
        "baseline": dict(base, files=files[base["contender"]]),
        "case_sizes": _sizes_text(mode),
        "errors": [f"{r['job']['scenario']} / {r['job']['contender']}: `{r['error'][-300:]}`"
                   for r in results if "error" in r],
    }
    text = render(meta, rows, result_checks(table, base["contender"]))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write(text)
    raw = args.json or os.path.splitext(args.out)[0] + ".json"
    with open(raw, "w") as fh:
        json.dump({"meta": meta, "results": results, "table": table, "rows": rows}, fh,
                  indent=1, default=str)
    print(text)
    print(f"wrote {args.out} and {raw}", file=sys.stderr)
    return 1 if meta["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
