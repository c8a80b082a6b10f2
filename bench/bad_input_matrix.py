"""Bad-input matrix: try well over 100 bad inputs on both estimators and classify each outcome.

    .venv/bin/python -m bench.bad_input_matrix            # prints counts, writes the table

Every case is one bad input at one entry point (``fit``, ``predict``, ``predict_proba``,
``score``, ``partial_fit``, ``set_params``, ``save``/``load``) of ``KerasPipelineClassifier``
or ``KerasPipelineRegressor``, with a regular expression for what a useful message must name.
Outcomes:

* **clear**: a ``ValueError``, ``TypeError`` or ``NotFittedError`` (or a
  ``SkKerasPrepWarning`` where a warning is the answer; for files, an ``OSError`` naming the
  path the user gave) whose message matches the case's expectation and carries no
  TensorFlow or numpy internals;
* **handled**: the input is legitimate after all and the result is checked to be right
  (for example a DataFrame whose integer-named columns come in another order);
* **obscure**: any other exception, or one whose message does not name the problem;
* **silent**: no error where one is due, or a handled case whose result is wrong.

Writes the per-case table and the counts to bench/results/bad_input_matrix.md (``--out``).
Tiny models (one hidden layer of 4 units, one epoch) on iris keep the run to a minute or two.
The cases use only the public API, so the same script measures an older checkout
(``PYTHONPATH=<old checkout> python -m bench.bad_input_matrix --out /tmp/old.md``).
"""

import argparse
import datetime
import os
import re
import shlex
import sys
import tempfile
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # the script's choice: quiet TF start-up logs

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

import skkeras_prep  # noqa: E402
from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor, SkKerasPrepWarning  # noqa: E402
from skkeras_prep.models import MLP  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# Text that betrays an internal error surfacing as it is.
INTERNAL = re.compile(
    r"Graph execution error|InvalidArgumentError|Incompatible shapes|ufunc '|not supported "
    r"between instances|could not broadcast|object has no attribute|unhashable type|"
    r"index \d+ is out of bounds|list index out of range|takes \d+ positional argument|"
    r"missing \d+ required positional|got multiple values|Detected at node"
)
CLEAR_TYPES = (ValueError, TypeError, NotFittedError)
_SILENT = object()


def _warned(case, caught):
    """The message of the first SkKerasPrepWarning matching the case, or None."""
    for w in caught:
        if issubclass(w.category, SkKerasPrepWarning) and re.search(case.names, str(w.message)):
            return str(w.message)
    return None


def _names_user_path(error):
    """An OSError is clear when it names the path the user gave, not a hidden temporary."""
    name = os.path.basename(str(getattr(error, "filename", "") or ""))
    return bool(name) and not name.startswith(".") and not name.endswith(".tmp")


class Case:
    """One bad input: ``run(data)`` performs it; ``names`` is what the message must match;
    ``check(result)``, for inputs that are legitimate after all, says whether the result is
    right (the case then expects no error)."""

    def __init__(self, kind, method, label, run, names=None, check=None, warning=False):
        self.kind, self.method, self.label = kind, method, label
        self.run, self.names, self.check, self.warning = run, names, check, warning


def classify(case, data):
    """(outcome, message) for one case."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with np.errstate(all="ignore"):
                result = case.run(data)
        except Exception as error:  # the outcome being measured
            message = f"{type(error).__name__}: {error}".replace("\n", " ")
            if case.check is not None:
                return "obscure", message
            if case.warning and _warned(case, caught):  # warned first, then refused: clear
                return "clear", f"SkKerasPrepWarning, then {message}"
            clear_type = isinstance(error, CLEAR_TYPES) or (
                isinstance(error, OSError) and _names_user_path(error)
            )
            ok = clear_type and not INTERNAL.search(str(error))
            if ok and re.search(case.names, str(error), flags=re.S):
                return "clear", message
            return "obscure", message
    if case.warning:
        warned = _warned(case, caught)
        return ("clear", f"SkKerasPrepWarning: {warned}") if warned else ("silent", "no error and no warning")
    if case.check is not None:
        return ("handled", "result checked") if case.check(result, data) else ("silent", "wrong result")
    return "silent", "no error"


# -- data and fitted estimators -----------------------------------------------------------------
def make_data():
    X, y = load_iris(return_X_y=True)
    yr = X[:, 0] * 2.0 + X[:, 1]
    frame = pd.DataFrame({"colour": ["red", "green", "blue"] * 50, "size": X[:, 0], "width": X[:, 1]})
    onehot = ColumnTransformer(
        [("oh", OneHotEncoder(handle_unknown="ignore"), ["colour"])], remainder="passthrough"
    )
    data = {"X": X, "y": y, "yr": yr, "frame": frame, "intframe": pd.DataFrame(X),
            "Xb": X[y < 2], "yb": y[y < 2]}
    data["clf"] = small("clf").fit(X, y)
    data["reg"] = small("reg").fit(X, yr)
    data["clf_scaled"] = small("clf", preprocessor=StandardScaler()).fit(X, y)
    data["reg_scaled"] = small("reg", preprocessor=StandardScaler()).fit(X, yr)
    data["clf_frame"] = small("clf", preprocessor=onehot).fit(frame, y)
    data["reg_frame"] = small("reg", preprocessor=onehot).fit(frame, yr)
    data["clf_int"] = small("clf").fit(data["intframe"], y)
    data["reg_int"] = small("reg").fit(data["intframe"], yr)
    data["tmp"] = tempfile.mkdtemp(prefix="skkeras_prep_badinput_")
    return data


def small(kind, **kwargs):
    cls = KerasPipelineClassifier if kind == "clf" else KerasPipelineRegressor
    return cls(**{"model": MLP((4,)), "epochs": 1, "random_state": 0, **kwargs})


def target(kind, data):
    return data["y"] if kind == "clf" else data["yr"]


# -- the cases -------------------------------------------------------------------------------
def fit_X(kind, label, make_X, names, **kwargs):
    return Case(kind, "fit", label, lambda d: small(kind, **kwargs).fit(make_X(d), target(kind, d)), names)


def fit_y(kind, label, make_y, names, **kwargs):
    return Case(kind, "fit", label, lambda d: small(kind, **kwargs).fit(d["X"], make_y(d)), names)


def fit_w(kind, label, make_w, names):
    return Case(kind, "fit", label, lambda d: small(kind).fit(d["X"], target(kind, d), sample_weight=make_w(d)), names)


def fit_params(kind, label, params, names, X="X"):
    return Case(kind, "fit", label, lambda d: small(kind, **params).fit(d[X], target(kind, d)), names)


def on_fitted(kind, method, label, make_X, names, fitted=None, check=None):
    key = fitted or kind

    def run(d):
        est = d[key]
        if method == "score":
            return est.score(make_X(d), target(kind, d))
        return getattr(est, method)(make_X(d))

    return Case(kind, method, label, run, names, check=check)


def with_nan(X):
    X = X.astype(float).copy()
    X[3, 1] = np.nan
    return X


def cases():
    return cases_for("clf") + cases_for("reg")


def cases_for(kind):
    """The cases of one estimator (a function of its own, so every lambda binds its kind)."""
    out = []
    # fit: X
    out += [
        fit_X(kind, "X is None", lambda d: None, "X is None"),
        fit_X(kind, "X is a scalar", lambda d: 3.0, "2D|2-D|scalar"),
        fit_X(kind, "X is 1-D", lambda d: d["X"][:, 0], "reshape"),
        fit_X(kind, "X is 1-D, with preprocessor", lambda d: d["X"][:, 0], "reshape", preprocessor=StandardScaler()),
        fit_X(kind, "X is 3-D, no preprocessor", lambda d: d["X"].reshape(150, 2, 2), "dim 3|3-D|2D"),
        fit_X(kind, "X has 0 rows", lambda d: np.empty((0, 4)), "0 sample"),
        fit_X(kind, "X has 0 columns", lambda d: np.empty((150, 0)), "0 feature"),
        fit_X(kind, "X of strings, no preprocessor", lambda d: np.array([["a", "b"]] * 150), "convert|numeric|not numbers"),
        fit_X(kind, "X list of mixed rows (str, None)", lambda d: [[1.0, "a", None]] * 75 + [[2, 3, 4]] * 75,
              "not numbers.*OneHotEncoder"),
        fit_X(kind, "X list with None only", lambda d: [[1.0, None]] * 75 + [[2.0, 3.0]] * 75, "NaN"),
        fit_X(kind, "X complex", lambda d: d["X"].astype(complex), "[Cc]omplex"),
        fit_X(kind, "X with NaN, no preprocessor", lambda d: with_nan(d["X"]), "NaN"),
        fit_X(kind, "X with NaN, scaler passes it through", lambda d: with_nan(d["X"]), r"NaN.*column",
              preprocessor=StandardScaler()),
        fit_X(kind, "X with inf", lambda d: np.where(d["X"] > 7, np.inf, d["X"]), "infinity"),
        fit_X(kind, "X * 1e300", lambda d: d["X"] * 1e300, "X has values up to.*float32"),
        fit_X(kind, "X of 1e39", lambda d: np.full_like(d["X"], 1e39), "X has values up to.*float32"),
        fit_X(kind, "X of 1e39 through a passthrough preprocessor",
              lambda d: np.full_like(d["X"], 1e39), "values up to.*float32",
              preprocessor=ColumnTransformer([("keep", "passthrough", [0, 1, 2, 3])])),
        fit_X(kind, "X a dict", lambda d: {"a": [1, 2]}, "dict|array|2D|2-D"),
        fit_X(kind, "X a ragged list", lambda d: [[1.0, 2.0], [3.0]] * 75, "sequence|inhomogeneous|shape"),
        fit_X(kind, "X rows != y rows", lambda d: d["X"][:-1], "inconsistent numbers of samples"),
        Case(kind, "fit", "int64 X near 2**62, no preprocessor",
             lambda d: small(kind).fit((d["X"] * 1e3).astype(np.int64) + 2**62, target(kind, d)),
             r"2\*\*24", warning=True),
    ]
    # fit: y
    out += [
        fit_y(kind, "y is None", lambda d: None, "requires y"),
        fit_y(kind, "y too short", lambda d: target(kind, d)[:-1], "inconsistent numbers of samples"),
        fit_y(kind, "y is a scalar", lambda d: 1.0, "scalar|1-D|inconsistent|y"),
        fit_y(kind, "y is 3-D", lambda d: np.zeros((150, 2, 2)), "shape|3|dimension|y"),
        fit_y(kind, "y with NaN", lambda d: np.where(np.arange(150) == 3, np.nan, target(kind, d)), "NaN"),
        fit_y(kind, "y complex", lambda d: target(kind, d).astype(complex), "[Cc]omplex"),
    ]
    if kind == "clf":
        out += [
            fit_y(kind, "y continuous", lambda d: np.linspace(0, 1, 150), "Unknown label type|continuous"),
            fit_y(kind, "y one class", lambda d: np.zeros(150), "one class"),
            fit_y(kind, "y with None", lambda d: np.array(["a", None] * 75, dtype=object), "missing labels"),
            fit_y(kind, "y mixes str and int", lambda d: np.array(["a", 1] * 75, dtype=object), "mix"),
            fit_y(kind, "y 2-D of labels (not 0/1)", lambda d: np.column_stack([d["y"], d["y"]]), "MultiOutputClassifier|multilabel"),
            Case(kind, "fit", "loss='mse' on a multiclass target (one-hot rows)",
                 lambda d: small(kind, loss="mse", epochs=20, preprocessor=StandardScaler()).fit(d["X"], d["y"]).predict_proba(d["X"]),
                 check=lambda p, d: p.shape == (150, 3) and np.allclose(p.sum(axis=1), 1, atol=1e-5)),
            Case(kind, "fit", "sparse CE loss on a binary sigmoid",
                 lambda d: small(kind, loss="sparse_categorical_crossentropy").fit(d["Xb"], d["yb"]), "class index"),
            Case(kind, "fit", "categorical CE on one sigmoid unit",
                 lambda d: small(kind, loss="categorical_crossentropy").fit(d["Xb"], d["yb"]), "constant|one output"),
            fit_params(kind, "class_weight key not a label", {"class_weight": {"nope": 2.0}}, "not labels of y"),
            fit_params(kind, "class_weight of 1e30", {"class_weight": {0: 1e30, 1: 1.0, 2: 1.0}}, "class_weight"),
        ]
    else:
        out += [
            fit_y(kind, "y strings", lambda d: np.array(["a", "b"] * 75), "non-numeric|KerasPipelineClassifier"),
            fit_y(kind, "y * 1e300, default target_transformer", lambda d: d["yr"] * 1e300,
                  r"Divide y|divide y"),
            fit_y(kind, "y of 1e39, target_transformer=None", lambda d: np.full(150, 1e39),
                  "target_transformer='auto'", target_transformer=None),
            fit_params(kind, "classification loss", {"loss": "sparse_categorical_crossentropy"}, "regression loss"),
            fit_params(kind, "model output width != n_outputs",
                       {"model": lambda meta: __import__("keras").Sequential(
                           [__import__("keras").Input((4,)), __import__("keras").layers.Dense(3)])},
                       "width 3"),
        ]
    # fit: sample_weight
    out += [
        fit_w(kind, "sample_weight wrong length", lambda d: np.ones(10), r"expected \(150,\)"),
        fit_w(kind, "sample_weight negative", lambda d: -np.ones(150), "Negative"),
        fit_w(kind, "sample_weight all zero", lambda d: np.zeros(150), "zero"),
        fit_w(kind, "sample_weight with NaN", lambda d: np.where(np.arange(150) == 1, np.nan, 1.0), "NaN"),
        fit_w(kind, "sample_weight strings", lambda d: np.array(["a"] * 150), "numeric"),
        fit_w(kind, "sample_weight 2-D", lambda d: np.ones((150, 2)), "1D|1-D|shape"),
        fit_w(kind, "sample_weight of 1e30", lambda d: np.full(150, 1e30), "sample_weight has values up to"),
        fit_w(kind, "sample_weight of 1e300", lambda d: np.full(150, 1e300), "sample_weight has values up to"),
    ]
    # fit: parameters
    bad = {
        "model": "mlp", "preprocessor": object(), "optimizer": 3, "loss": 3.5,
        "metrics": "accuracy", "epochs": 0, "batch_size": "32", "shuffle": "yes",
        "validation_split": 1.0, "early_stopping": 1, "n_iter_no_change": 0, "tol": -1.0,
        "callbacks": "stop", "warm_start": None, "random_state": "seed", "verbose": 5,
    }
    bad["class_weight" if kind == "clf" else "target_transformer"] = "heavy"
    for name, value in bad.items():
        out.append(fit_params(kind, f"{name}={value!r}", {name: value}, name))
    out += [
        fit_params(kind, "epochs=True", {"epochs": True}, "epochs"),
        fit_params(kind, "batch_size=True", {"batch_size": True}, "batch_size"),
        fit_params(kind, "tol=nan", {"tol": float("nan")}, "tol"),
        fit_params(kind, "optimizer='no_such'", {"optimizer": "no_such_optimizer"}, "optimizer"),
        fit_params(kind, "optimizer__learning_rate=-1.0", {"optimizer__learning_rate": -1.0}, "learning_rate"),
        fit_params(kind, "optimizer__learning_rate=nan", {"optimizer__learning_rate": float("nan")}, "learning_rate"),
        fit_params(kind, "optimizer__no_such_arg=1", {"optimizer__no_such_arg": 1}, "no_such_arg|optimizer"),
        fit_params(kind, "unknown keyword", {"units": 3}, "unknown parameter"),
        fit_params(kind, "model__ with a keras.Model", {
            "model": __import__("keras").Sequential([__import__("keras").Input((4,)), __import__("keras").layers.Dense(3 if kind == "clf" else 1)]),
            "model__units": 3}, "model__"),
        fit_params(kind, "callbacks__ without callbacks", {"callbacks__patience": 3}, "callbacks"),
        fit_params(kind, "loss__ on a loss instance", {"loss": __import__("keras").losses.MeanSquaredError(), "loss__delta": 1.0}, "loss__"),
        fit_params(kind, "validation_split leaves no rows", {"validation_split": 0.999}, "validation_split"),
    ]
    # predict / predict_proba / score on fitted estimators
    methods = ["predict", "score"] + (["predict_proba"] if kind == "clf" else [])
    for method in methods:
        out += [
            on_fitted(kind, method, "wrong feature count", lambda d: d["X"][:, :3], "3 features"),
            on_fitted(kind, method, "NaN", lambda d: with_nan(d["X"]), "NaN"),
            on_fitted(kind, method, "X of 1e39", lambda d: np.full_like(d["X"], 1e39), "X has values up to"),
        ]
    out += [
        on_fitted(kind, "predict", "1-D X", lambda d: d["X"][:, 0], "reshape"),
        on_fitted(kind, "predict", "0 rows", lambda d: np.empty((0, 4)), "0 sample"),
        on_fitted(kind, "predict", "strings", lambda d: np.array([["a"] * 4] * 5), "convert|numeric|not numbers"),
        on_fitted(kind, "predict", "None", lambda d: None, "X is None"),
        on_fitted(kind, "predict", "N-D reshape, with preprocessor", lambda d: d["X"].reshape(150, 2, 2),
                  r"shape \(150, 2, 2\)", fitted=f"{kind}_scaled"),
        on_fitted(kind, "predict", "DataFrame with int column names reordered",
                  lambda d: d["intframe"][[3, 2, 1, 0]], None, fitted=f"{kind}_int",
                  check=lambda p, d: np.array_equal(p, d[f"{kind}_int"].predict(d["intframe"]))),
        on_fitted(kind, "predict", "DataFrame missing a column", lambda d: d["frame"][["colour", "size"]],
                  "missing column", fitted=f"{kind}_frame"),
        on_fitted(kind, "predict", "one-hot column arriving as ints",
                  lambda d: d["frame"].assign(colour=np.arange(150)), "'colour' was", fitted=f"{kind}_frame"),
        Case(kind, "predict", "before fit", lambda d: small(kind).predict(d["X"]), "not fitted"),
        Case(kind, "score", "before fit", lambda d: small(kind).score(d["X"], target(kind, d)), "not fitted"),
        Case(kind, "score", "y too short", lambda d: d[kind].score(d["X"], target(kind, d)[:-1]), "inconsistent|samples"),
    ]
    if kind == "clf":
        out += [
            Case(kind, "predict_proba", "before fit", lambda d: small(kind).predict_proba(d["X"]), "not fitted"),
            Case(kind, "partial_fit", "new label on a later call",
                 lambda d: small(kind).partial_fit(d["X"], d["y"]).partial_fit(d["X"], np.where(d["y"] == 2, 5, d["y"])),
                 "new labels"),
            Case(kind, "partial_fit", "classes missing a label of y",
                 lambda d: small(kind).partial_fit(d["X"], d["y"], classes=[0, 1]), "not in classes"),
        ]
    else:
        out += [
            Case(kind, "partial_fit", "y with another output count on a later call",
                 lambda d: small(kind).partial_fit(d["X"], d["yr"]).partial_fit(d["X"], np.column_stack([d["yr"]] * 2)),
                 "output column"),
        ]
    out += [
        Case(kind, "partial_fit", "wrong feature count on a later call",
             lambda d: small(kind).partial_fit(d["X"], target(kind, d)).partial_fit(d["X"][:, :3], target(kind, d)),
             "3 features"),
        Case(kind, "partial_fit", "epochs=True (one pass anyway: still refused)",
             lambda d: small(kind, epochs=True).partial_fit(d["X"], target(kind, d)), "epochs"),
        Case(kind, "set_params", "unknown name", lambda d: small(kind).set_params(units=3), "unknown parameter"),
        Case(kind, "set_params", "epochs=-1 then fit",
             lambda d: small(kind).set_params(epochs=-1).fit(d["X"], target(kind, d)), "epochs"),
        Case(kind, "set_params", "optimizer__learning_rate=-1 then fit",
             lambda d: small(kind).set_params(optimizer__learning_rate=-1.0).fit(d["X"], target(kind, d)), "learning_rate"),
        Case(kind, "save", "into a missing directory",
             lambda d: d[kind].save(os.path.join(d["tmp"], "no", "such", "dir", "m.skp")), "no/such/dir|directory|No such file"),
        Case(kind, "load", "a missing file",
             lambda d: skkeras_prep.load(os.path.join(d["tmp"], "missing.skp")), "missing.skp|No such file"),
        Case(kind, "load", "a text file", lambda d: skkeras_prep.load(_write(d, "text.skp", b"hello")), "not a readable|zip"),
    ]
    return out


def _write(d, name, content):
    path = os.path.join(d["tmp"], name)
    with open(path, "wb") as fh:
        fh.write(content)
    return path


# -- report ----------------------------------------------------------------------------------
OUTCOMES = ("clear", "handled", "obscure", "silent")


def render(rows, command):
    counts = {o: sum(1 for r in rows if r[3] == o) for o in OUTCOMES}
    lines = [
        "# Bad-input matrix",
        "",
        "Generated by `bench/bad_input_matrix.py`; do not edit by hand. Re-run with:",
        "",
        "```",
        command,
        "```",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}, skkeras_prep "
        f"{getattr(skkeras_prep, '__version__', '?')}, python {sys.version.split()[0]}",
        f"- {len(rows)} bad inputs: " + ", ".join(f"{counts[o]} {o}" for o in OUTCOMES),
        "",
        "| method | " + " | ".join(OUTCOMES) + " |",
        "|---|" + "---:|" * len(OUTCOMES),
    ]
    for method in sorted({r[1] for r in rows}):
        sub = [r for r in rows if r[1] == method]
        lines.append(f"| {method} | " + " | ".join(str(sum(1 for r in sub if r[3] == o)) for o in OUTCOMES) + " |")
    lines.append("| **all** | " + " | ".join(f"**{counts[o]}**" for o in OUTCOMES) + " |")
    lines += ["", "## Every case", "", "| estimator | method | bad input | outcome | message (start) |",
              "|---|---|---|---|---|"]
    for kind, method, label, outcome, message in rows:
        text = message[:160].replace("|", "\\|")
        lines.append(f"| {kind} | {method} | {label.replace('|', '/')} | {outcome} | {text} |")
    return "\n".join(lines) + "\n", counts


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.bad_input_matrix", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(HERE, "results", "bad_input_matrix.md"))
    args = parser.parse_args(argv)
    data = make_data()
    rows = []
    for case in cases():
        outcome, message = classify(case, data)
        rows.append((case.kind, case.method, case.label, outcome, message))
        if outcome in ("obscure", "silent"):
            print(f"{outcome:8s} {case.kind} {case.method}: {case.label}: {message[:200]}")
    command = "python -m bench.bad_input_matrix" + (" " + shlex.join(argv) if argv else "")
    text, counts = render(rows, command)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write(text)
    print(f"{len(rows)} bad inputs: " + ", ".join(f"{counts[o]} {o}" for o in OUTCOMES))
    print(f"table written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
