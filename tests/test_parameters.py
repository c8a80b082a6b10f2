"""Issue 10 item 5: parameter constraints declared once per class, and every constructor
parameter of every public class documented in its numpydoc Parameters section."""

import inspect
import re

import numpy as np
import pytest

import skkeras_prep
from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor, models
from skkeras_prep.exceptions import InvalidParameterError

ESTIMATORS = [KerasPipelineClassifier, KerasPipelineRegressor]


def public_classes():
    found = {}
    for module, names in [(skkeras_prep, skkeras_prep.__all__), (models, models.__all__)]:
        for name in names:
            obj = getattr(module, name)
            if inspect.isclass(obj) and "__init__" in vars(obj):
                found[obj.__name__] = obj
    return list(found.values())


def init_parameters(cls):
    out = []
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        prefix = {p.VAR_KEYWORD: "**", p.VAR_POSITIONAL: "*"}.get(p.kind, "")
        out.append(prefix + p.name)
    return out


def documented_parameters(doc):
    """{name: description} from a numpydoc 'Parameters' section."""
    lines = inspect.cleandoc(doc).splitlines()
    try:
        start = next(i for i, line in enumerate(lines[:-1])
                     if line.strip() == "Parameters" and set(lines[i + 1].strip()) == {"-"})
    except StopIteration:
        return {}
    found, current = {}, None
    for i in range(start + 2, len(lines)):
        line = lines[i]
        if i + 1 < len(lines) and line.strip() and set(lines[i + 1].strip()) == {"-"}:
            break  # the next section
        entry = re.match(r"^(\*{0,2}\w+(?:, \*{0,2}\w+)*)(?: : .*)?$", line)
        if entry and not line.startswith(" "):
            current = entry.group(1).split(", ")
            for name in current:
                found[name] = ""
        elif current and line.startswith(" ") and line.strip():
            for name in current:
                found[name] += line.strip() + " "
        elif line.strip() and not line.startswith(" "):
            current = None  # a paragraph of the section, not an entry
    return found


def test_the_public_classes_are_found():
    names = {cls.__name__ for cls in public_classes()}
    assert {"KerasPipelineClassifier", "KerasPipelineRegressor", "MLP"} <= names


@pytest.mark.parametrize("cls", public_classes(), ids=lambda c: c.__name__)
def test_every_constructor_parameter_is_documented(cls):
    documented = documented_parameters(cls.__doc__ or "")
    missing = [p for p in init_parameters(cls) if p not in documented]
    assert not missing, f"{cls.__name__} does not document {missing} in its Parameters section"
    undescribed = [p for p in init_parameters(cls) if not documented[p].strip()]
    assert not undescribed, f"{cls.__name__} lists {undescribed} without a description"
    extra = sorted(set(documented) - set(init_parameters(cls)))
    assert not extra, f"{cls.__name__} documents {extra}, which are not parameters"


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_public_method_has_a_docstring(cls):
    missing = [
        name for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and member.__module__.startswith("skkeras_prep")
        and not (member.__doc__ or "").strip()
    ]
    assert not missing


def test_docstring_parser_sees_a_missing_parameter():
    doc = """Summary.

    Parameters
    ----------
    a : int
        Described.
    b : int

    Returns
    -------
    c : int
        Not a parameter.
    """
    assert documented_parameters(doc) == {"a": "Described. ", "b": ""}


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_one_constraint_entry_per_constructor_parameter(cls):
    assert set(cls._parameter_constraints) == set(init_parameters(cls)) - {"**routed"}


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_defaults_satisfy_the_constraints(cls):
    est = cls()
    for name, constraints in cls._parameter_constraints.items():
        assert any(c(getattr(est, name)) for c in constraints), name


BAD_VALUES = {
    "model": "mlp",
    "preprocessor": object(),
    "optimizer": 3,
    "loss": 3.5,
    "metrics": 3,
    "epochs": True,
    "batch_size": 0,
    "shuffle": "yes",
    "validation_split": 1.0,
    "early_stopping": 1,
    "n_iter_no_change": 2.5,
    "tol": float("nan"),
    "callbacks": "stop",
    "warm_start": None,
    "random_state": -1,
    "verbose": 3,  # True/False are accepted (1/0)
    "class_weight": "heavy",
    "target_transformer": "standard",
    "augmentation": "flip",
    "validation_batch_size": 0,
    "run_eagerly": "yes",
    "jit_compile": "on",
    "shuffle_window_chunks": 0,
    "preprocessor_sample_size": 2.5,
    "distribution": "gpus",
}


@pytest.mark.parametrize(
    "cls, name",
    [(cls, name) for cls in ESTIMATORS for name in cls._parameter_constraints],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_each_bad_parameter_gets_the_uniform_message(iris, cls, name):
    X, y = iris
    est = cls(**{name: BAD_VALUES[name]})
    with pytest.raises(InvalidParameterError, match=rf"^{cls.__name__}: parameter '{name}' must be .*; got "):
        est.fit(X, y)
    assert not hasattr(est, "model_")


def test_invalid_parameter_error_is_both_value_and_type_error():
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(InvalidParameterError, TypeError)


@pytest.mark.parametrize(
    "value", [0, 7, np.int64(3), np.random.RandomState(0), np.random.default_rng(0), None]
)
def test_random_state_kinds_accepted(value):
    constraints = KerasPipelineClassifier._parameter_constraints["random_state"]
    assert any(c(value) for c in constraints)
