"""Parameter constraints, declared once per class and checked in one place.

Each public class declares ``_parameter_constraints``: a dict from a constructor parameter's
name to the list of kinds of value it accepts (the value is valid when it satisfies any one).
Routed parameters with a known meaning (``optimizer__learning_rate``) are declared in
``ROUTED_CONSTRAINTS``. ``validate_params`` runs at the start of ``fit`` (and of a builder's
``build``) and raises :class:`~skkeras_prep.exceptions.InvalidParameterError` with one
uniform message:

    KerasPipelineClassifier: parameter 'epochs' must be an int in [1, inf); got True (bool).

The style follows scikit-learn's ``_parameter_constraints``; scikit-learn's validator is
private, so this small one is the library's own. Nothing here needs TensorFlow.
"""

import math
import numbers

import numpy as np

from .exceptions import InvalidParameterError


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


class Interval:
    """Numbers of ``kind`` (``numbers.Integral`` or ``numbers.Real``) between ``left`` and
    ``right`` (None: unbounded). ``closed`` is "both", "left", "right" or "neither". Booleans
    are never numbers here (``epochs=True`` is refused), and a real must be finite."""

    def __init__(self, kind, left, right, closed="both"):
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def __call__(self, value):
        if not isinstance(value, self.kind) or _is_bool(value):
            return False
        if self.kind is numbers.Real and not math.isfinite(float(value)):
            return False
        low_ok = self.left is None or (
            value >= self.left if self.closed in ("both", "left") else value > self.left
        )
        high_ok = self.right is None or (
            value <= self.right if self.closed in ("both", "right") else value < self.right
        )
        return bool(low_ok and high_ok)

    def __str__(self):
        name = "an int" if self.kind is numbers.Integral else "a finite float"
        low = "-inf" if self.left is None else self.left
        high = "inf" if self.right is None else self.right
        opening = "[" if self.closed in ("both", "left") and self.left is not None else "("
        closing = "]" if self.closed in ("both", "right") and self.right is not None else ")"
        return f"{name} in {opening}{low}, {high}{closing}"


class Options:
    """One of a fixed set of values of one type (``bool`` never counts as an int)."""

    def __init__(self, kind, *values):
        self.kind, self.values = kind, values

    def __call__(self, value):
        return isinstance(value, self.kind) and not _is_bool(value) and value in self.values

    def __str__(self):
        return f"one of {{{', '.join(repr(v) for v in self.values)}}}"


class InstanceOf:
    """An instance of one of ``types``, described as ``text``."""

    def __init__(self, types, text):
        self.types, self.text = types, text

    def __call__(self, value):
        return isinstance(value, self.types)

    def __str__(self):
        return self.text


class HasMethods:
    """An object with all of ``methods`` (not a class), described as ``text``."""

    def __init__(self, methods, text):
        self.methods, self.text = tuple(methods), text

    def __call__(self, value):
        return not isinstance(value, type) and all(hasattr(value, m) for m in self.methods)


    def __str__(self):
        return self.text


class _Predicate:
    def __init__(self, test, text):
        self.test, self.text = test, text

    def __call__(self, value):
        return bool(self.test(value))


    def __str__(self):
        return self.text


NONE = _Predicate(lambda v: v is None, "None")
BOOLEAN = _Predicate(_is_bool, "True or False")
CALLABLE = _Predicate(callable, "a callable")
CLASS = _Predicate(lambda v: isinstance(v, type), "a class")
STRING = InstanceOf(str, "a str")


def positive_int(low=1):
    return Interval(numbers.Integral, low, None, closed="left")


# Routed parameters whose meaning is known whatever the optimizer: checked like the others.
ROUTED_CONSTRAINTS = {
    "optimizer__learning_rate": [
        Interval(numbers.Real, 0, None, closed="neither"),
        HasMethods(["__call__", "get_config"], "a keras LearningRateSchedule"),
        _Predicate(lambda v: isinstance(v, type) and hasattr(v, "from_config"),
                   "a LearningRateSchedule class (made with optimizer__learning_rate__*)"),
    ],
}


def _describe(constraints):
    texts = [str(c) for c in constraints]
    if len(texts) == 1:
        return texts[0]
    return ", ".join(texts[:-1]) + " or " + texts[-1]


def _shown(value):
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def check_value(owner, name, value, constraints):
    """Raise ``InvalidParameterError`` unless ``value`` satisfies one of ``constraints``."""
    if any(c(value) for c in constraints):
        return
    raise InvalidParameterError(
        f"{owner}: parameter {name!r} must be {_describe(constraints)}; got {_shown(value)}."
    )


def validate_params(obj, routed=None):
    """Check every parameter of ``obj`` declared in its class's ``_parameter_constraints``,
    and the routed parameters listed in ``ROUTED_CONSTRAINTS``. Called at the start of fit."""
    owner = type(obj).__name__
    for name, constraints in type(obj)._parameter_constraints.items():
        check_value(owner, name, getattr(obj, name), constraints)
    for name, value in (routed or {}).items():
        if name in ROUTED_CONSTRAINTS:
            check_value(owner, name, value, ROUTED_CONSTRAINTS[name])
