"""What every export module shares, without TensorFlow: the error, the column kinds and the
missing-value conventions of the exported model's inputs."""

import re

STRING, NUMBER = "string", "number"  # the kinds of raw and intermediate columns
MISSING_STRING = ""  # a missing text value in the exported model's inputs


class ExportError(ValueError):
    """The estimator holds something ``export_model`` cannot translate into Keras layers."""


def is_missing(value):
    """None, NaN or pandas.NA (the values scikit-learn treats as missing)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA refuses to be a bool
        return True


def floats(values):
    """A JSON-safe list of floats: NaN is written as None."""
    return None if values is None else [None if is_missing(v) else float(v) for v in values]


def input_name(column):
    """The exported model's input name for a DataFrame column: characters other than letters,
    digits, '_', '.' and '-' become '_' (SavedModel signatures allow no others), and a name
    that does not start with a letter, digit or '.' gets the prefix 'c'."""
    name = re.sub(r"[^A-Za-z0-9_.\-]", "_", str(column))
    return name if re.match(r"[A-Za-z0-9.]", name) else "c" + name
