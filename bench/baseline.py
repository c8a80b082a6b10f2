"""An earlier git revision of the library, benchmarked side by side with the current one.

``python -m bench.run --baseline REV`` exports REV's ``skkeras_prep/`` package (``git archive``;
the working tree and the index are not touched) into ``bench/results/baseline-<shortsha>/``
(git-ignored) and adds a contender ``skkeras_prep@<shortsha>``: the *current* skkeras_prep case
functions of bench/cases.py, run in a worker whose ``sys.path[0]`` is that folder (environment
variable ``SKKERAS_PREP_IMPORT_PATH``), so ``import skkeras_prep`` loads the old code. The
worker checks ``skkeras_prep.__file__`` against the folder and records both in every row.
"""

import io
import os
import shutil
import subprocess
import tarfile
import tempfile

IMPORT_PATH_ENV = "SKKERAS_PREP_IMPORT_PATH"
CASE = "skkeras_prep"  # the case functions a baseline contender runs
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")


def _git(*args):
    try:
        proc = subprocess.run(["git", "-C", ROOT, *args], capture_output=True, timeout=120)
    except FileNotFoundError:
        raise ValueError("--baseline needs the `git` command, which is not on PATH; install git "
                         "or run without --baseline") from None
    if proc.returncode != 0:
        raise _GitError(proc.stderr.decode(errors="replace").strip())
    return proc.stdout


class _GitError(Exception):
    pass


def resolve(rev):
    """``(full_sha, short_sha)`` of ``rev`` in this repository; ValueError if unknown."""
    if not rev or rev.startswith("-"):
        raise ValueError(f"--baseline needs a git revision such as HEAD~3 or a commit hash, got {rev!r}")
    try:
        full = _git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
        full = full.decode().strip()
        short = _git("rev-parse", "--short", full).decode().strip()
    except _GitError as exc:
        raise ValueError(
            f"--baseline {rev!r} is not a commit of the git repository at {ROOT} ({str(exc) or 'unknown revision'}); "
            "pass a revision that `git rev-parse` knows (a hash, a branch, HEAD~N), and in a shallow "
            "clone fetch the history first (`git fetch --unshallow`)") from None
    return full, short


def export(rev):
    """Export ``rev``'s skkeras_prep/ package; return a dict describing the baseline.

    The package lands in ``bench/results/baseline-<short>/skkeras_prep``; an existing complete
    export of the same commit is reused (the commit is immutable)."""
    full, short = resolve(rev)
    folder = os.path.join(RESULTS, f"baseline-{short}")
    marker = os.path.join(folder, ".commit")
    try:
        with open(marker) as fh:
            complete = fh.read().strip() == full
    except OSError:
        complete = False
    if not complete:
        try:
            archive = _git("archive", "--format=tar", full, "--", "skkeras_prep")
        except _GitError as exc:
            raise ValueError(f"--baseline {rev!r} ({short}) has no skkeras_prep/ package to export "
                             f"({exc}); pick a revision that contains the library") from None
        os.makedirs(RESULTS, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".baseline-{short}-", dir=RESULTS)
        try:
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(staging, filter="data")
                else:  # pragma: no cover - Python without extraction filters
                    tar.extractall(staging)
            with open(os.path.join(staging, ".commit"), "w") as fh:
                fh.write(full + "\n")
            os.chmod(staging, 0o755)  # mkdtemp makes it private
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if not os.path.isfile(os.path.join(folder, "skkeras_prep", "__init__.py")):
        raise ValueError(f"--baseline {rev!r} ({short}): the export in {folder} has no "
                         "skkeras_prep/__init__.py; pick a revision that contains the library")
    return {"rev": rev, "sha": full, "short": short, "path": folder,
            "contender": f"{CASE}@{short}"}
