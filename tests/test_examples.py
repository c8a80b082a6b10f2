"""Every example runs to the end and prints what its story promises (CI runs these), with
only what the README's set-up command installs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

EXPECTED_OUTPUT = {
    "quickstart.py": ["5-fold stratified cross-validation", "mean", "GridSearchCV", "best:",
                      "held-out accuracy of the best setting"],
    "regression_early_stopping.py": ["best epoch", "learning curve", "5-fold CV R^2"],
    "tabular_mixed_types.py": ["GridSearchCV (3-fold ROC AUC)", "best:", "5-fold cross-validation", "new customers"],
    "export_for_serving.py": ["all predictions agree"],
    "plot_learning_curves.py": ["best epoch", "learning curves saved to"],
    "images_from_folder.py": ["PNG files in 10 class folders", "fold stratified cross-validation",
                              "GridSearchCV (3-fold accuracy)", "best:"],
    "dask_search.py": ["workers: 2", "[(1, 1)]", "fits on the cluster", "best:"],
}
ROOT = EXAMPLES.parent


# import name -> the distribution that provides it
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "tensorflow": "tensorflow", "keras": "keras",
                  "numpy": "numpy", "scipy": "scipy", "skops": "skops", "pandas": "pandas",
                  "matplotlib": "matplotlib", "onnxruntime": "onnxruntime"}


def _demo_requirements():
    """The packages the README's demo command installs: the core dependencies plus the
    extras it names (so the examples are checked against what a user gets, not .[test])."""
    import re
    import tomllib

    root = EXAMPLES.parent
    readme = (root / "README.md").read_text()
    command = next(line for line in readme.splitlines() if "examples/quickstart.py" in line
                   and "pip install" in line)
    extras = re.search(r'pip install -e "?\.(?:\[([a-z,]+)\])?', command).group(1) or ""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    for extra in filter(None, extras.split(",")):
        names += project["optional-dependencies"][extra]
    return {re.split(r"[<>=!\[ ;]", n, maxsplit=1)[0].lower() for n in names}


def _third_party_imports(script):
    import ast

    tree = ast.parse(script.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return {name for name in found if name in _DISTRIBUTIONS}


@pytest.mark.parametrize("script", sorted(EXPECTED_OUTPUT))
def test_the_readme_demo_command_installs_what_each_example_imports(script):
    installed = _demo_requirements()
    needed = {_DISTRIBUTIONS[name] for name in _third_party_imports(EXAMPLES / script)}
    missing = needed - installed
    assert not missing, (
        f"examples/{script} imports {sorted(missing)}, which the README's demo command does "
        "not install: add them to its extra in pyproject.toml"
    )


def test_every_example_is_listed():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED_OUTPUT)


def _env():
    """The user's environment, with this checkout first on the path (a subprocess would
    otherwise import whichever skkeras_prep is installed)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    # figures drawn off-screen: plt.show() at an example's end must not wait for a window
    return dict(os.environ, PYTHONPATH=path, MPLBACKEND="Agg")


@pytest.fixture(scope="module")
def run_example(tmp_path_factory):
    """Runs an example once per module in a subprocess, as a user would (from a scratch
    directory, so files it writes land there); returns the CompletedProcess."""
    results = {}

    def run(script):
        if script not in results:
            workdir = tmp_path_factory.mktemp(script.removesuffix(".py"))
            results[script] = subprocess.run(
                [sys.executable, str(EXAMPLES / script)], capture_output=True, text=True,
                env=_env(), cwd=workdir, timeout=600,
            )
            results[script].workdir = workdir
        return results[script]

    return run


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(EXPECTED_OUTPUT))
def test_example_runs(script, run_example):
    result = run_example(script)
    assert result.returncode == 0, result.stderr[-3000:]
    for text in EXPECTED_OUTPUT[script]:
        assert text in result.stdout, result.stdout
    assert "np.float" not in result.stdout and "np.int" not in result.stdout, result.stdout


def test_the_dask_example_prints_plain_numbers():
    import runpy

    import numpy as np

    pytest.importorskip("distributed", reason="the skkeras_prep[dask] extra is not installed")
    readable = runpy.run_path(str(EXAMPLES / "dask_search.py"))["readable"]
    params = {"optimizer__learning_rate": np.float64(0.0123), "model__hidden_layer_sizes": (32,), "n": np.int64(3)}
    assert str(readable(params)) == "{'optimizer__learning_rate': 0.0123, 'model__hidden_layer_sizes': (32,), 'n': 3}"


@pytest.mark.slow
def test_the_plot_example_saves_a_png(run_example):
    result = run_example("plot_learning_curves.py")
    assert result.returncode == 0, result.stderr[-3000:]
    png = result.workdir / "learning_curves.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_plot_example_says_what_to_install_without_matplotlib():
    """An example with an optional need checks it first and says how to install it."""
    code = (
        "import runpy, sys; sys.modules['matplotlib'] = None; "
        f"runpy.run_path({str(EXAMPLES / 'plot_learning_curves.py')!r}, run_name='__main__')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=_env(), timeout=120)
    assert result.returncode == 1
    assert 'pip install "skkeras_prep[plot]"' in result.stderr
    assert "Traceback" not in result.stderr


def test_every_example_quiets_tensorflow_start_up_logs_before_importing_it():
    """The README shows how to quiet TensorFlow's start-up lines; each example does it as the
    script's own choice (setdefault, so the user's setting wins), before anything imports
    TensorFlow. The library itself never sets it."""
    import ast

    for script in sorted(EXPECTED_OUTPUT):
        tree = ast.parse((EXAMPLES / script).read_text())
        body = [ast.unparse(node) for node in tree.body]
        quiet = next((i for i, line in enumerate(body)
                      if "os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')" in line), None)
        assert quiet is not None, f"examples/{script} does not quiet TensorFlow's start-up logs"
        first_import = next(i for i, line in enumerate(body)
                            if line.startswith(("from sklearn", "from skkeras_prep", "import keras",
                                                "import tensorflow", "from tensorflow")))
        assert quiet < first_import, f"examples/{script} sets TF_CPP_MIN_LOG_LEVEL too late"
    import re

    sets_env = re.compile(r"environ\[[^\]]+\]\s*=(?!=)|environ\.(setdefault|update)\(|putenv\(")
    library = sorted((ROOT / "skkeras_prep").rglob("*.py"))
    assert library
    assert not [p.name for p in library if sets_env.search(p.read_text())]


@pytest.mark.slow
def test_the_quickstart_prints_no_tensorflow_retracing_warning(run_example):
    """Issue 12: each fit used to make its own traced functions, and TensorFlow warned
    "... triggered tf.function retracing" in every example, CV and grid search. Reusing the
    traced functions across fits (issue 13) removes the cause, so the warning must not appear."""
    result = run_example("quickstart.py")
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    retracing = [line for line in output.splitlines() if "retracing" in line.lower()]
    assert not retracing, "\n".join(retracing[:5])
