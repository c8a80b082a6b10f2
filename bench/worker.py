"""Run one benchmark job: ``python -m bench.worker JOB.json RESULT.json``.

A job is ``{"scenario": ..., "contender": ..., "params": {...}, "rep": int}``. The result
holds the scenario's rows plus the load average before and after and the process's
lifetime peak RSS.
"""

import json
import os
import platform
import resource
import sys
import time


def _versions():
    out = {"python": platform.python_version()}
    for name in ("numpy", "sklearn", "tensorflow", "keras", "scikeras", "skkeras_prep"):
        module = sys.modules.get(name)
        if module is not None:
            out[name] = getattr(module, "__version__", "?")
    return out


def execute(job):
    from . import cases

    cases.quiet()
    load_before = os.getloadavg()
    started = time.perf_counter()
    rows = cases.SCENARIOS[job["scenario"]](job["contender"], job["params"])
    for row in rows:
        row.setdefault("contender", job["contender"])
    return {
        "job": job,
        "rows": rows,
        "loadavg_before": list(load_before),
        "loadavg_after": list(os.getloadavg()),
        "case_wall_s": time.perf_counter() - started,
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "versions": _versions(),
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    spec, out = argv
    with open(spec) as fh:
        job = json.load(fh)
    result = execute(job)
    with open(out, "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
