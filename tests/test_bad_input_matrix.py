"""The bad-input matrix (bench/bad_input_matrix.py) classifies outcomes as documented; the
cases themselves are tested in test_bad_input*.py."""

import os
import sys
import warnings

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import bad_input_matrix as matrix  # noqa: E402
from skkeras_prep import SkKerasPrepWarning  # noqa: E402


def raises(error):
    def run(data):
        raise error
    return run


def warns(data):
    warnings.warn("values up to 1e18: 2**24", SkKerasPrepWarning)


@pytest.mark.parametrize(
    "case, outcome",
    [
        (matrix.Case("clf", "fit", "", raises(ValueError("epochs must be >= 1")), "epochs"), "clear"),
        (matrix.Case("clf", "fit", "", raises(ValueError("something else")), "epochs"), "obscure"),
        (matrix.Case("clf", "fit", "", raises(RuntimeError("epochs")), "epochs"), "obscure"),
        (matrix.Case("clf", "fit", "", raises(ValueError("Graph execution error: epochs")), "epochs"), "obscure"),
        (matrix.Case("clf", "fit", "", lambda d: None, "epochs"), "silent"),
        (matrix.Case("clf", "fit", "", warns, r"2\*\*24", warning=True), "clear"),
        (matrix.Case("clf", "fit", "", lambda d: None, r"2\*\*24", warning=True), "silent"),
        (matrix.Case("clf", "predict", "", lambda d: 1, None, check=lambda r, d: r == 1), "handled"),
        (matrix.Case("clf", "predict", "", lambda d: 2, None, check=lambda r, d: r == 1), "silent"),
        (matrix.Case("clf", "load", "", raises(FileNotFoundError(2, "No such file", "/x/m.skp")), "m.skp"), "clear"),
        (matrix.Case("clf", "save", "", raises(FileNotFoundError(2, "No such file", "/x/.m.skp.1.tmp")), "m.skp"), "obscure"),
    ],
)
def test_outcomes_are_classified(case, outcome):
    assert matrix.classify(case, {})[0] == outcome


def test_the_matrix_has_over_a_hundred_cases_on_every_entry_point():
    cases = matrix.cases()
    assert len(cases) >= 100
    assert {c.method for c in cases} >= {
        "fit", "predict", "predict_proba", "score", "partial_fit", "set_params", "save", "load"
    }
    assert {c.kind for c in cases} == {"clf", "reg"}
