"""Every example runs to the end and prints what its story promises (CI runs these)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

EXPECTED_OUTPUT = {
    "quickstart.py": ["5-fold stratified cross-validation", "mean", "GridSearchCV", "best:"],
    "regression_early_stopping.py": ["best epoch", "learning curve", "5-fold CV R^2"],
    "tabular_mixed_types.py": ["GridSearchCV (3-fold ROC AUC)", "best:", "5-fold cross-validation", "new customers"],
    "export_for_serving.py": ["all predictions agree"],
    "dask_search.py": ["workers: 2", "[(1, 1)]", "fits on the cluster", "best:"],  # needs [dask]
}


# import name -> the distribution that provides it
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "tensorflow": "tensorflow", "keras": "keras",
                  "numpy": "numpy", "scipy": "scipy", "skops": "skops", "pandas": "pandas"}


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


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(EXPECTED_OUTPUT))
def test_example_runs(script):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for text in EXPECTED_OUTPUT[script]:
        assert text in result.stdout, result.stdout
