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
}


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
