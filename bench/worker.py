"""Run one benchmark job: ``python -m bench.worker JOB.json RESULT.json``.

A job is ``{"scenario": ..., "contender": ..., "params": {...}, "rep": int}``, and optionally
``"module"``: the bench module whose ``SCENARIOS`` table holds the scenario (default
``bench.cases``; bench/no_regression.py keeps its image and out-of-core cases there). The
result holds the scenario's rows plus the load average before and after and the process's
lifetime peak RSS.

A job with ``"import_path"`` (a baseline revision, see bench/baseline.py) runs the case
functions of ``job["case"]`` with skkeras_prep imported from that folder: ``main`` puts the
folder named by ``SKKERAS_PREP_IMPORT_PATH`` at ``sys.path[0]`` before anything imports the
library, and ``execute`` refuses to report if ``skkeras_prep.__file__`` is not inside it.
"""

import importlib
import json
import os
import platform
import resource
import sys
import time

from .baseline import IMPORT_PATH_ENV


def _versions():
    out = {"python": platform.python_version()}
    for name in ("numpy", "sklearn", "tensorflow", "keras", "scikeras", "skkeras_prep"):
        module = sys.modules.get(name)
        if module is not None:
            out[name] = getattr(module, "__version__", "?")
    return out


def _library_file():
    module = sys.modules.get("skkeras_prep")
    return None if module is None else os.path.realpath(module.__file__)


def _scenarios(job):
    """The ``SCENARIOS`` table the job names (``bench.cases`` unless ``job["module"]``)."""
    from . import cases

    module = job.get("module")
    if module is None:
        return cases.SCENARIOS
    if not (module.startswith("bench.") and module.replace(".", "").replace("_", "").isalnum()):
        raise ValueError(f"job module {module!r} is not a bench module; name one such as "
                         "'bench.no_regression'")
    return importlib.import_module(module).SCENARIOS


def execute(job):
    from . import cases

    import_path = job.get("import_path")
    if import_path and "skkeras_prep" in sys.modules and not _inside(_library_file(), import_path):
        raise RuntimeError(f"skkeras_prep is already imported from {_library_file()}; a baseline "
                           f"job ({job['contender']}) must run in a fresh worker process")
    cases.quiet()
    load_before = os.getloadavg()
    started = time.perf_counter()
    rows = _scenarios(job)[job["scenario"]](job.get("case", job["contender"]), job["params"])
    library = _library_file()
    if import_path and not _inside(library, import_path):
        raise RuntimeError(f"{job['contender']} was to import skkeras_prep from {import_path}, "
                           f"but skkeras_prep.__file__ is {library}")
    versions = _versions()
    for row in rows:
        row.setdefault("contender", job["contender"])
        if library is not None:
            row["skkeras_prep_file"] = library
        if import_path:
            case = job["case"]
            row["contender"] = job["contender"]
            label = row.get("label", case)
            row["label"] = job["contender"] + label[len(case):] if label.startswith(case) else \
                f"{label} ({job['contender']})"
            row["revision"] = job["revision"]
    if import_path and "skkeras_prep" in versions:
        versions[job["contender"]] = versions.pop("skkeras_prep")
    return {
        "job": job,
        "rows": rows,
        "loadavg_before": list(load_before),
        "loadavg_after": list(os.getloadavg()),
        "case_wall_s": time.perf_counter() - started,
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "versions": versions,
    }


def _inside(path, folder):
    if path is None:
        return False
    folder = os.path.realpath(folder)
    return os.path.commonpath([os.path.realpath(path), folder]) == folder


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    spec, out = argv
    import_path = os.environ.get(IMPORT_PATH_ENV)
    if import_path:  # before anything imports skkeras_prep (bench.cases imports it lazily)
        sys.path.insert(0, import_path)
    with open(spec) as fh:
        job = json.load(fh)
    result = execute(job)
    with open(out, "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
