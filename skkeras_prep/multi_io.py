"""Named inputs and targets that scikit-learn can split by rows: ``MultiInput``, ``MultiOutput``.

A Keras model with several named inputs takes a dict of arrays, one per input; a model with
several outputs trains on one target per output. scikit-learn cannot split a dict by rows
(``_num_samples`` counts its keys), so cross-validation and searches need a wrapper that
behaves like a 2-D array of rows: a ``shape`` of ``(n_rows, n_parts)``, ``len``, and
``wrapper[rows]`` (an index array, a boolean mask or a slice) giving the same kind of wrapper
over those rows of every part. Each part may be a numpy array, a scipy sparse matrix or a
pandas DataFrame / Series; parts are indexed with ``sklearn.utils._safe_indexing``.

A plain dict works too when passed to ``fit`` or ``predict`` directly; the estimators wrap it.
Nothing here needs TensorFlow.
"""

import numbers

import numpy as np
from scipy.sparse import issparse
from sklearn.utils import _safe_indexing

from ._compat import sklearn_num_samples as _num_samples

__all__ = ["MultiInput", "MultiOutput", "is_multi_input", "is_multi_target"]


def _rows_of(part, name, what):
    try:
        return _num_samples(part)
    except TypeError:
        raise TypeError(
            f"{what} {name!r} is a {type(part).__name__}; each part must be an array-like of "
            "rows (numpy array, sparse matrix, DataFrame or Series)."
        ) from None


class _NamedRows:
    """Parts with the same rows, keyed by name; indexed by rows like an array."""

    _what = "part"

    def __init__(self, data):
        if isinstance(data, _NamedRows):
            data = data.data
        if not isinstance(data, dict) or not data:
            raise TypeError(
                f"{type(self).__name__} takes a non-empty dict {{name: rows}}; got "
                f"{type(data).__name__}."
            )
        bad = [k for k in data if not isinstance(k, str)]
        if bad:
            raise TypeError(
                f"{type(self).__name__} keys must be the model's {self._what} names (strings); "
                f"got {bad!r}."
            )
        lengths = {name: _rows_of(part, name, self._what.capitalize()) for name, part in data.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"The {self._what}s of {type(self).__name__} have different numbers of rows: "
                f"{lengths}. Every {self._what} needs one row per sample."
            )
        self.data = dict(data)
        self._n_rows = next(iter(lengths.values()))

    @property
    def names(self):
        """The part names, in the order given."""
        return list(self.data)

    @property
    def shape(self):
        """``(n_rows, n_parts)``: what scikit-learn reads the number of samples from."""
        return (self._n_rows, len(self.data))

    def __len__(self):
        return self._n_rows

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.data[key]
        if isinstance(key, tuple) and len(key) == 2 and key[1] is Ellipsis:
            key = key[0]  # scikit-learn's _safe_indexing asks for array[rows, ...]
        if isinstance(key, numbers.Integral):
            raise TypeError(
                f"{type(self).__name__} is indexed by an array of rows or a slice (it returns "
                f"the same kind of object); use [[{key}]] for one row, or [name] for one part."
            )
        if isinstance(key, slice):
            key = np.arange(self._n_rows)[key]
        return type(self)({name: _safe_indexing(part, key) for name, part in self.data.items()})

    def keys(self):
        return self.data.keys()

    def items(self):
        return self.data.items()

    def __iter__(self):
        return iter(self.data)

    def __repr__(self):
        parts = ", ".join(f"{k!r}: {type(v).__name__}{tuple(getattr(v, 'shape', ()))}"
                          for k, v in self.data.items())
        return f"{type(self).__name__}(n_rows={self._n_rows}, {{{parts}}})"


class MultiInput(_NamedRows):
    """Inputs of a Keras model with several named inputs, one array-like per input, that
    scikit-learn can split by rows (cross-validation, searches).

    Parameters
    ----------
    data : dict of {str: array-like} or MultiInput
        One numpy array, scipy sparse matrix or pandas DataFrame per named model input, all
        with the same number of rows. Keys are the model's input names.

    Examples
    --------
    >>> import numpy as np
    >>> X = MultiInput({"numbers": np.zeros((4, 3)), "codes": np.ones((4, 2))})
    >>> X.shape, X[[0, 2]].shape
    ((4, 2), (2, 2))
    """

    _what = "input"


class MultiOutput(_NamedRows):
    """Targets of a Keras model with several outputs, one array-like per output, that
    scikit-learn can split by rows. A list gives the targets in the model's output order
    (named ``"0"``, ``"1"``, ...).

    Parameters
    ----------
    data : dict of {str: array-like}, list of array-like or MultiOutput
        One target per model output, all with the same number of rows: a dict keyed by
        output name, or a list in the model's output order.

    ``numpy.asarray`` of it is the 2-D array of all targets side by side (what scikit-learn's
    multi-output estimators take; as strings where text labels meet numbers), so
    ``type_of_target`` and ``check_cv`` work on it. The estimators' own ``score`` reads each
    target as it is.
    """

    _what = "output"

    def __init__(self, data):
        if isinstance(data, (list, tuple)):
            data = {str(i): part for i, part in enumerate(data)}
            self.positional = True
        else:
            self.positional = getattr(data, "positional", False)
        super().__init__(data)

    def __getitem__(self, key):
        subset = super().__getitem__(key)
        if isinstance(subset, MultiOutput):
            subset.positional = self.positional
        return subset

    def __array__(self, dtype=None, copy=None):
        columns = [np.asarray(part).reshape(self._n_rows, -1) for part in self.data.values()]
        kinds = {c.dtype.kind for c in columns}
        if len(kinds) > 1 and kinds & {"U", "S", "O"}:
            columns = [c.astype(str) for c in columns]  # one comparable kind for type_of_target
        out = np.concatenate(columns, axis=1)
        return out if dtype is None else out.astype(dtype)


# -- reading y as the user gives it (used by ``_target_layout``; not public) ----------------
def split_targets(y, what="y"):
    """``(keys or None, list of target arrays)`` of a multi-output y: a dict or ``MultiOutput``
    keyed by output name, or a list/tuple in the model's output order (keys None); every
    target must have the same number of rows."""
    if isinstance(y, MultiOutput):
        keys, targets = (None if y.positional else y.names), list(y.data.values())
    elif isinstance(y, dict):
        bad = [k for k in y if not isinstance(k, str)]
        if bad:
            raise TypeError(f"{what} is a dict whose keys must be output names (strings); got {bad!r}.")
        keys, targets = list(y), list(y.values())
    else:
        keys, targets = None, list(y)
    lengths = [len(t) for t in targets]
    if len(set(lengths)) > 1:
        shown = dict(zip(keys or [str(i) for i in range(len(targets))], lengths))
        raise ValueError(
            f"The targets have different numbers of rows: {shown}. Every output needs one "
            "target row per sample."
        )
    return keys, targets


def each_output(value, names, what):
    """``value`` for each output: a dict by output name, a list in output order, or one
    value for all."""
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        missing = [k for k in names if k not in value]
        if unknown or missing:
            raise ValueError(
                f"{what} is a dict keyed {list(value)}, but the model's outputs are "
                f"{names}; give one {what} per output (or {what}=None for the defaults)."
            )
        return [value[name] for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(
                f"{what} is a list of {len(value)}, but the model has {len(names)} outputs "
                f"{names}; give one {what} per output."
            )
        return list(value)
    return [value] * len(names)


def target_dtypes(y):
    """The dtype of y as given (scikeras's ``y_dtype_``): one per output, by name, for a
    ``MultiOutput``."""
    if isinstance(y, MultiOutput):
        return {name: np.asarray(t).dtype for name, t in y.data.items()}
    return np.asarray(y).dtype


def _is_plain_dict(obj):
    return isinstance(obj, dict) and not issparse(obj)  # scipy's DOK matrices are dicts


def is_multi_input(X):
    """Whether ``X`` holds several named inputs (a dict or a ``MultiInput``)."""
    return isinstance(X, MultiInput) or _is_plain_dict(X)


def is_multi_target(y, n_samples=None):
    """Whether ``y`` holds one target per model output: a dict, a ``MultiOutput``, or a list
    or tuple of numpy arrays / pandas Series with ``n_samples`` rows each. scikit-learn reads a
    list with one entry per sample as the rows of one target (a list of 1-D arrays is a
    multilabel indicator), so such a list is one target, whatever its entries are."""
    if isinstance(y, MultiOutput) or _is_plain_dict(y):
        return True
    return (
        n_samples is not None and isinstance(y, (list, tuple)) and 0 < len(y) != n_samples
        and all((isinstance(t, np.ndarray) or hasattr(t, "iloc")) and len(t) == n_samples
                for t in y)
    )
