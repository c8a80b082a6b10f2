"""Process-level measurement helpers and the one-case-per-subprocess runner.

Memory: ``PeakMeter`` measures the peak resident set size of *this* process during a block,
relative to the RSS just before it. On Linux it resets the kernel's high-water mark
(``echo 5 > /proc/self/clear_refs``) and reads ``VmHWM`` afterwards, so short spikes are not
missed; elsewhere it falls back to a 2 ms psutil sampling thread.

Isolation: ``run_job_subprocess`` runs one (scenario, contender) job in a fresh interpreter
(``python -m bench.worker``), so every case starts from the same state and its peak RSS is
its own. ``run_job_inprocess`` runs the same code in this process (the smoke test uses it).
"""

import gc
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

MB = 1024 * 1024


# -- memory --------------------------------------------------------------------------------
def _status_kb(field):
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def current_rss():
    """Resident set size of this process, in bytes."""
    value = _status_kb("VmRSS")
    if value is not None:
        return value
    import psutil

    return psutil.Process().memory_info().rss


def _reset_high_water_mark():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return _status_kb("VmHWM") is not None
    except OSError:
        return False


class PeakMeter:
    """``with PeakMeter() as m: ...`` then ``m.baseline``, ``m.peak``, ``m.delta`` (bytes)."""

    def __init__(self, collect=True):
        self.collect = collect
        self.baseline = self.peak = self.after = None
        self.method = None
        self._stop = None
        self._thread = None
        self._sampled = 0

    def __enter__(self):
        if self.collect:
            gc.collect()
        self.baseline = current_rss()
        if _reset_high_water_mark():
            self.method = "VmHWM"
        else:
            self.method = "psutil-sampling"
            self._sampled = self.baseline
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self._sampled = max(self._sampled, current_rss())
            time.sleep(0.002)

    def __exit__(self, *exc):
        if self.method == "VmHWM":
            self.peak = max(_status_kb("VmHWM"), self.baseline)
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self._sampled, current_rss())
        self.after = current_rss()
        return False

    @property
    def delta(self):
        return self.peak - self.baseline

    def as_dict(self, prefix=""):
        return {
            f"{prefix}rss_before_mb": self.baseline / MB,
            f"{prefix}peak_rss_mb": self.peak / MB,
            f"{prefix}peak_over_before_mb": self.delta / MB,
            f"{prefix}rss_after_mb": self.after / MB,
            "rss_method": self.method,
        }


# -- peers ---------------------------------------------------------------------------------
def importable(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# -- running one job -----------------------------------------------------------------------
def worker_env(import_path=None):
    """The worker's environment; ``import_path`` (a baseline export, bench/baseline.py) is
    handed over as SKKERAS_PREP_IMPORT_PATH, which is never inherited from this process."""
    from .baseline import IMPORT_PATH_ENV

    env = dict(os.environ)
    env.pop(IMPORT_PATH_ENV, None)
    if import_path:
        env[IMPORT_PATH_ENV] = import_path
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("PYTHONWARNINGS", "ignore")
    env.setdefault("KERAS_BACKEND", "tensorflow")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_job_subprocess(job, timeout=1800):
    """Run ``job`` (a JSON-able dict) in ``python -m bench.worker`` and return its result."""
    with tempfile.TemporaryDirectory(prefix="skkeras_bench_") as tmp:
        spec = os.path.join(tmp, "job.json")
        out = os.path.join(tmp, "result.json")
        with open(spec, "w") as fh:
            json.dump(job, fh)
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "bench.worker", spec, out],
            env=worker_env(job.get("import_path")), capture_output=True, text=True, timeout=timeout,
        )
        wall = time.perf_counter() - started
        if proc.returncode != 0 or not os.path.exists(out):
            tail = (proc.stderr or "")[-3000:]
            return {"job": job, "error": f"worker exited {proc.returncode}: {tail}", "process_wall_s": wall}
        with open(out) as fh:
            result = json.load(fh)
    result["process_wall_s"] = wall
    return result


def run_job_inprocess(job):
    """Run ``job`` here; a baseline job (another revision of the library) always gets its
    own process, since one interpreter cannot import two versions of skkeras_prep."""
    if job.get("import_path"):
        return run_job_subprocess(job)
    from .worker import execute

    return execute(job)
