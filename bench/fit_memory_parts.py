"""Where the RSS growth of ``fit_large`` goes, for two revisions side by side.

    .venv/bin/python -m bench.fit_memory_parts --baseline 1a28e87 [--reps 5] [--n 1000000]
        [--arena-max N] [--out bench/results/fit_memory_parts.md]

bench/no_regression.py's ``fit_large`` row "RSS growth in fit MB" is the kernel's high-water
mark during ``fit`` minus the RSS just before it. This script runs the same fit (bench/cases.py's
``make_binary`` data and ``make_estimator``, bench.run's full sizes) for the current tree and for
the library exported from ``--baseline`` (bench/baseline.py), each run in a fresh process, the
two revisions alternating, and splits that growth into parts:

* ``plain`` runs (the bench's own measure, nothing else running in the process): RSS before,
  peak and after (MB); the growth; anonymous and file-backed resident memory before and after
  (``/proc/self/smaps_rollup``); glibc's ``mallinfo2`` before and after (heap in use, free
  bytes kept by malloc, mmapped chunks, arenas); the modules imported during the fit;
  threads before and after.
* ``trace`` runs (a separate process each, because tracing slows the fit and costs memory):
  ``tracemalloc`` started after the imports and the runtime's start, so it sees only what the
  fit allocates through Python's allocators and numpy's data buffers: its peak during the fit,
  what is still held after it, and the top source lines of both. TensorFlow's C++ allocations
  are invisible to it; they are what is left between the RSS growth and the traced peak.

``--arena-max N`` runs every process with ``MALLOC_ARENA_MAX=N`` (both revisions alike), to see
whether the difference moves with glibc's arena placement.
"""

import argparse
import ctypes
import datetime
import gc
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MB = 1024 * 1024
MODULE = "bench.fit_memory_parts"


# -- measurements inside the worker --------------------------------------------------------
def _status_kb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return None


def _smaps():
    """Resident anonymous and file-backed bytes (``/proc/self/smaps_rollup``)."""
    out = {}
    with open("/proc/self/smaps_rollup") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1]) * 1024
    return {"anon": out.get("Anonymous", 0), "file": out.get("Rss", 0) - out.get("Anonymous", 0)}


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _mallinfo():
    """glibc's view of the heap: bytes in use, free bytes it keeps, mmapped chunks."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
    except (OSError, AttributeError):
        return {}
    m = libc.mallinfo2()
    return {"heap_used": m.uordblks, "heap_free": m.fordblks, "heap_arena": m.arena,
            "mmapped": m.hblkhd, "mmapped_chunks": m.hblks}


def _state():
    out = {"rss": _status_kb("VmRSS"), "threads": threading.active_count(),
           "os_threads": len(os.listdir("/proc/self/task"))}
    out.update(_smaps())
    out.update(_mallinfo())
    return out


def _top(stats, limit=12):
    return [{"where": f"{s.traceback[0].filename}:{s.traceback[0].lineno}", "kb": s.size / 1024,
             "count": s.count} for s in stats[:limit]]


def _watch_training_start(row, mode):
    """Record the state when the package starts its training batches (the first call of
    ``_dataset.in_memory_batches`` or ``_dataset.training_dataset``, in both revisions): its
    preparation is over (inputs read, targets encoded, model built and compiled, optimizer
    built). Wrappers set on that module in this bench process only; they read /proc and
    mallinfo (and tracemalloc in traced runs), nothing else."""
    from skkeras_prep import _dataset

    def watched(original):
        def call(*args, **kwargs):
            if "at_training" not in row:
                row["at_training"] = dict(_state(), hwm=_status_kb("VmHWM"))
                if mode == "trace":
                    _trace_training_start(row)
            return original(*args, **kwargs)
        return call

    for name in ("in_memory_batches", "training_dataset"):
        setattr(_dataset, name, watched(getattr(_dataset, name)))


def _trace_training_start(row):
    import tracemalloc

    row["at_training"]["traced"], row["at_training"]["traced_peak"] = tracemalloc.get_traced_memory()
    snap = tracemalloc.take_snapshot()
    big = [s for s in snap.statistics("traceback") if s.size >= 512 * 1024]
    row["big_blocks_at_training"] = [
        {"mb": s.size / MB, "count": s.count,
         "where": [f"{f.filename}:{f.lineno}" for f in s.traceback[:8]]} for s in big[:10]]
    tracemalloc.reset_peak()


def worker(mode, params):
    """One fit in this (fresh) process; returns a dict of measures (bytes unless named)."""
    import warnings

    warnings.simplefilter("ignore")
    from . import cases

    X, y = cases.make_binary(params["n"], params["d"], seed=params["seed"])
    cases.warm_runtime("skkeras_prep")
    est = cases.make_estimator("skkeras_prep", hidden=params["hidden"], epochs=params["epochs"],
                               batch_size=params["batch"], seed=params["seed"])
    import skkeras_prep

    row = {"library": os.path.realpath(skkeras_prep.__file__), "mode": mode}
    _watch_training_start(row, mode)
    if mode == "trace":
        import tracemalloc

        tracemalloc.start(12)
    gc.collect()
    if params.get("trim"):  # give malloc's free pages back before measuring (an extra run kind)
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    modules = set(sys.modules)
    before = _state()
    with open("/proc/self/clear_refs", "w") as fh:  # as bench.harness.PeakMeter
        fh.write("5")
    if mode == "trace":
        snap0 = tracemalloc.take_snapshot()
        tracemalloc.reset_peak()
    t0 = time.perf_counter()
    est.fit(X, y)
    row["fit_s"] = time.perf_counter() - t0
    row["peak"] = _status_kb("VmHWM")
    if mode == "trace":
        base0 = sum(s.size for s in snap0.statistics("filename"))
        row["traced_peak"] = tracemalloc.get_traced_memory()[1] - base0
        row["traced_base"] = base0
        snap1 = tracemalloc.take_snapshot()
        diff = snap1.compare_to(snap0, "lineno")
        row["traced_held"] = sum(d.size_diff for d in diff)
        row["top_held"] = _top(diff)
        tracemalloc.stop()
    row["after"] = _state()
    row["before"] = before
    row["new_modules"] = sorted(set(sys.modules) - modules)
    return row


# -- driver --------------------------------------------------------------------------------
def _run(path, mode, params, malloc_env):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=os.pathsep.join([path, ROOT]))
    env.update(malloc_env)
    if "PYTHONPYCACHEPREFIX" in malloc_env:  # --pyc: read (and write) compiled modules
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    code = (f"import json, sys; sys.path.insert(0, {path!r}); from {MODULE} import worker; "
            f"print('RESULT' + json.dumps(worker({mode!r}, {params!r})))")
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd="/tmp",
                          capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    if proc.returncode or not lines:
        raise RuntimeError(f"worker failed ({path}, {mode}):\n{proc.stderr[-2000:]}")
    row = json.loads(lines[-1][len("RESULT"):])
    if not row["library"].startswith(os.path.realpath(path)):
        raise RuntimeError(f"imported {row['library']}, not the library under {path}")
    return row


def _derived(row):
    b, a = row["before"], row["after"]
    out = {"rss_before": b["rss"] / MB, "growth": (row["peak"] - b["rss"]) / MB,
           "peak": row["peak"] / MB, "after_minus_before": (a["rss"] - b["rss"]) / MB,
           "anon_after_minus_before": (a["anon"] - b["anon"]) / MB,
           "file_after_minus_before": (a["file"] - b["file"]) / MB,
           "file_before": b["file"] / MB, "anon_before": b["anon"] / MB,
           "fit_s": row["fit_s"], "new_modules": len(row["new_modules"]),
           "os_threads_added": a["os_threads"] - b["os_threads"]}
    if "heap_used" in b:
        out.update({"malloc_used_after_minus_before": (a["heap_used"] - b["heap_used"]) / MB,
                    "malloc_free_before": b["heap_free"] / MB,
                    "malloc_free_after": a["heap_free"] / MB,
                    "mmapped_after_minus_before": (a["mmapped"] - b["mmapped"]) / MB})
    k = row.get("at_training")
    if k:
        out.update({"prep_peak_growth": (k["hwm"] - b["rss"]) / MB,
                    "rss_at_training": (k["rss"] - b["rss"]) / MB})
        if "heap_used" in k:
            out.update({"malloc_used_at_training": (k["heap_used"] - b["heap_used"]) / MB,
                        "malloc_free_at_training": k["heap_free"] / MB})
    if "traced_peak" in row:
        out.update({"traced_peak": row["traced_peak"] / MB, "traced_held": row["traced_held"] / MB})
        if k:
            out.update({"prep_traced_peak": (k["traced_peak"] - row["traced_base"]) / MB,
                        "prep_traced_held": (k["traced"] - row["traced_base"]) / MB})
    return out


def _malloc_env(args):
    env = {"PYTHONPYCACHEPREFIX": args.pyc} if args.pyc else {}
    if args.arena_max:
        env["MALLOC_ARENA_MAX"] = str(args.arena_max)
    if args.mmap_threshold:
        env["MALLOC_MMAP_THRESHOLD_"] = str(args.mmap_threshold)
    return env


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m " + MODULE, description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare with")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--trace-reps", type=int, default=2)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--arena-max", type=int, default=0, help="MALLOC_ARENA_MAX for every run")
    parser.add_argument("--mmap-threshold", type=int, default=0,
                        help="MALLOC_MMAP_THRESHOLD_ (bytes) for every run: a fixed threshold "
                             "turns off glibc's dynamic one")
    parser.add_argument("--pyc", action="store_true",
                        help="import compiled modules (a bytecode cache in a temporary "
                             "PYTHONPYCACHEPREFIX, filled by one small untimed run per revision "
                             "first) instead of compiling the package's sources in every process, "
                             "as PYTHONDONTWRITEBYTECODE=1 makes Python do")
    parser.add_argument("--trim", action="store_true",
                        help="malloc_trim(0) just before the fit (free heap pages given back)")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "fit_memory_parts.md"))
    args = parser.parse_args(argv)
    from . import baseline as baseline_mod

    base = baseline_mod.export(args.baseline)
    sides = {"current": ROOT, base["contender"]: base["path"]}
    if args.pyc:
        args.pyc = tempfile.mkdtemp(prefix="fit_memory_parts_pyc_")
        for path in sides.values():  # fills the cache; not measured
            _run(path, "plain", dict(n=2000, d=100, hidden=64, batch=512, epochs=2, seed=0),
                 _malloc_env(args))
    rows = {name: {"plain": [], "trace": []} for name in sides}
    for rep in range(max(args.reps, args.trace_reps)):
        names = list(sides)[rep % 2:] + list(sides)[:rep % 2]
        for mode in ("plain", "trace"):
            if rep >= (args.reps if mode == "plain" else args.trace_reps):
                continue
            for name in names:
                params = dict(n=args.n, d=100, hidden=64, batch=512, epochs=2, seed=rep,
                              trim=args.trim)
                row = _run(sides[name], mode, params, _malloc_env(args))
                rows[name][mode].append(row)
                d = _derived(row)
                print(f"rep {rep} {mode:5} {name:22} growth {d['growth']:6.1f} MB, before "
                      f"{d['rss_before']:7.1f}, peak {d['peak']:7.1f}"
                      + (f", traced peak {d['traced_peak']:.1f}" if "traced_peak" in d else ""),
                      file=sys.stderr, flush=True)
    if args.pyc:
        shutil.rmtree(args.pyc, ignore_errors=True)
        args.pyc = True
    text = render(args, argv, base, rows)
    with open(args.out, "w") as fh:
        fh.write(text)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as fh:
        json.dump(rows, fh, indent=1)
    print(text)


def _median(rows, key):
    values = [_derived(r)[key] for r in rows if key in _derived(r)]
    return (statistics.median(values), min(values), max(values)) if values else None


KEYS = [
    ("plain", "growth", "RSS growth in fit (peak - before), the bench's measure"),
    ("plain", "rss_before", "RSS before fit"),
    ("plain", "peak", "peak RSS in fit"),
    ("plain", "after_minus_before", "RSS after fit - before"),
    ("plain", "anon_after_minus_before", "anonymous resident after - before"),
    ("plain", "file_after_minus_before", "file-backed resident after - before (code/.so pages)"),
    ("plain", "anon_before", "anonymous resident before"),
    ("plain", "file_before", "file-backed resident before"),
    ("plain", "malloc_used_after_minus_before", "malloc heap in use after - before"),
    ("plain", "malloc_free_before", "free bytes malloc keeps, before"),
    ("plain", "malloc_free_after", "free bytes malloc keeps, after"),
    ("plain", "mmapped_after_minus_before", "malloc mmapped chunks after - before"),
    ("plain", "prep_peak_growth", "peak until training starts - before (package's preparation)"),
    ("plain", "rss_at_training", "RSS when training starts - before"),
    ("plain", "malloc_used_at_training", "malloc heap in use when training starts - before"),
    ("plain", "malloc_free_at_training", "free bytes malloc keeps when training starts"),
    ("plain", "new_modules", "modules imported during fit (count)"),
    ("plain", "os_threads_added", "OS threads added during fit (count)"),
    ("plain", "fit_s", "fit s"),
    ("trace", "prep_traced_peak", "tracemalloc peak until training starts"),
    ("trace", "prep_traced_held", "tracemalloc held when training starts"),
    ("trace", "traced_peak", "tracemalloc peak during training (Python + numpy allocations)"),
    ("trace", "traced_held", "tracemalloc still held after fit"),
]


def render(args, argv, base, rows):
    names = list(rows)
    lines = ["# Parts of fit_large's RSS growth, current tree against " + base["contender"], "",
             "Generated by `bench/fit_memory_parts.py`; re-run with:", "", "```",
             "python -m " + MODULE + " " + " ".join(shlex.quote(a) for a in argv), "```", "",
             f"- date: {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}, "
             f"{args.n:,} x 100 float32 rows, hidden 64, 2 epochs, batch 512; plain runs: {args.reps}, "
             f"traced runs: {args.trace_reps}; malloc environment: {_malloc_env(argparse.Namespace(**dict(vars(args), pyc=False))) or 'unset'}; "
             f"malloc_trim before fit: {'yes' if args.trim else 'no'}; "
             f"package modules: {'compiled once, read from a bytecode cache' if args.pyc else 'compiled from source in every process (PYTHONDONTWRITEBYTECODE=' + os.environ.get('PYTHONDONTWRITEBYTECODE', 'unset') + ')'}",
             f"- load average at end: {[round(v, 2) for v in os.getloadavg()]}", "",
             "Cells: median (min-max) over fresh processes, MB unless named.", "",
             f"| measure | {names[0]} | {names[1]} | difference |", "|---|---:|---:|---:|"]
    for mode, key, label in KEYS:
        cells = [_median(rows[n][mode], key) for n in names]
        if None in cells:
            continue
        spec = ".0f" if key in ("new_modules", "os_threads_added") else (".2f" if key == "fit_s" else ".1f")
        text = [f"{format(m, spec)} ({format(lo, spec)}-{format(hi, spec)})" for m, lo, hi in cells]
        lines.append(f"| {label} | {text[0]} | {text[1]} | {format(cells[0][0] - cells[1][0], '+' + spec)} |")
    lines += ["", "Per run (plain): growth / before / peak MB", ""]
    for n in names:
        lines.append(f"- {n}: " + "; ".join(
            f"{_derived(r)['growth']:.1f} / {_derived(r)['rss_before']:.1f} / {_derived(r)['peak']:.1f}"
            for r in rows[n]["plain"]))
    for n in names:
        mods = sorted({m for r in rows[n]["plain"] for m in r["new_modules"]})
        lines += ["", f"Modules imported during fit, {n} ({len(mods)}): "
                  + (", ".join(f"`{m}`" for m in mods) or "none")]
    for n in names:
        if rows[n]["trace"]:
            lines += ["", f"Blocks of 512 KiB or more held when training starts "
                      f"(tracemalloc, first traced run), {n}:", ""]
            lines += [f"- {b['mb']:.1f} MB in {b['count']} blocks: "
                      + " <- ".join(f"`{w}`" for w in b["where"][:4])
                      for b in rows[n]["trace"][0].get("big_blocks_at_training", [])]
    for n in names:
        if rows[n]["trace"]:
            lines += ["", f"Top source lines still held after fit (tracemalloc, first traced run), {n}:", ""]
            lines += [f"- {t['kb']:.0f} KiB in {t['count']} blocks: `{t['where']}`"
                      for t in rows[n]["trace"][0]["top_held"][:8]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
