"""X with several named inputs (a dict or ``MultiInput``): checks, per-input preprocessors and
the row source. Each function also takes a single X and then does what the estimator always
did, so the estimator calls these in one place for both kinds.

Each input is checked on its own as a single X would be (``_validation.check_X``), against a
small record per input that remembers its ``n_features_in_``, feature names and DataFrame
columns; errors name the input. ``preprocessor`` is then a dict ``{input name: transformer}``:
each transformer is cloned and fitted on its input's rows; inputs without one (or with
``"passthrough"``) go to the model as they are, and must be numeric and finite.
"""

from sklearn.base import BaseEstimator

from ._validation import check_transformed, check_X, transform
from .multi_io import MultiInput, is_multi_input
from .sources import MultiSource, as_source

PASSTHROUGH = "passthrough"


class _InputRecord(BaseEstimator):
    """What the checks remember about one input at fit (``n_features_in_``,
    ``feature_names_in_``, DataFrame columns and dtypes), as they do on the estimator for a
    single X."""


def _named(name, error):
    return type(error)(f"Input {name!r}: {error}") if type(error) in (ValueError, TypeError) else error


def _transformer(preprocessor, name):
    """The transformer of input ``name``, or None where it passes through."""
    transformer = (preprocessor or {}).get(name)
    if transformer is None or (isinstance(transformer, str) and transformer == PASSTHROUGH):
        return None
    return transformer


def _check_preprocessor_dict(preprocessor, names):
    unknown = [key for key in preprocessor if key not in names]
    if unknown:
        raise ValueError(
            f"preprocessor has transformer(s) for {unknown}, which are not inputs of X; the "
            f"inputs are {list(names)}. Key the dict by input name."
        )
    for key, transformer in preprocessor.items():
        if transformer is None or (isinstance(transformer, str) and transformer == PASSTHROUGH):
            continue
        if not (hasattr(transformer, "fit") and hasattr(transformer, "transform")):
            raise TypeError(
                f"preprocessor[{key!r}] must be a scikit-learn transformer (with fit and "
                f"transform), 'passthrough' or None; got {type(transformer).__name__}."
            )


def per_input_params(preprocessor):
    """``preprocessor__<input>`` and ``preprocessor__<input>__<param>`` of a dict
    preprocessor, so a per-input transformer's parameters can be searched like a
    ``ColumnTransformer``'s; nothing for any other preprocessor."""
    if not isinstance(preprocessor, dict):
        return {}
    params = {}
    for name, transformer in preprocessor.items():
        params[f"preprocessor__{name}"] = transformer
        if hasattr(transformer, "get_params") and not isinstance(transformer, type):
            for key, value in transformer.get_params(deep=True).items():
                params[f"preprocessor__{name}__{key}"] = value
    return params


def set_per_input_params(preprocessor, params):
    """Apply the ``preprocessor__<input>[__<param>]`` entries of ``params`` to a dict
    preprocessor (replacing a transformer, or setting its parameters the scikit-learn way);
    return the other entries. Unknown inputs are named."""
    if not isinstance(preprocessor, dict):
        return params
    rest, replaced, nested = {}, {}, {}
    for key, value in params.items():
        if not key.startswith("preprocessor__"):
            rest[key] = value
            continue
        name, _, inner = key[len("preprocessor__"):].partition("__")
        if name not in preprocessor:
            raise ValueError(
                f"Invalid parameter {key!r}: the preprocessor dict has no input {name!r}; its "
                f"inputs are {list(preprocessor)}."
            )
        if inner:
            nested.setdefault(name, {})[inner] = value
        else:
            replaced[name] = value
    for name, transformer in replaced.items():
        preprocessor[name] = transformer
    for name, values in nested.items():
        preprocessor[name].set_params(**values)
    return rest


def _forget(estimator, names):
    for name in names:
        estimator.__dict__.pop(name, None)


def check_inputs(estimator, X, *, reset, preprocessor):
    """``check_X`` for a single X; for several inputs, a ``MultiInput`` of the checked inputs
    (at predict in the order seen at fit), with every mismatch named."""
    per_input = isinstance(preprocessor, dict)
    fitted_names = getattr(estimator, "input_names_", None)
    if not is_multi_input(X):
        if not reset and fitted_names is not None:
            raise ValueError(
                f"The estimator was fitted on several inputs {fitted_names}; pass X as a dict "
                "or skkeras_prep.MultiInput with those keys."
            )
        if per_input:
            raise ValueError(
                f"preprocessor is a dict of per-input transformers (keys {list(preprocessor)}), "
                "but X is a single array. Pass X as a dict or skkeras_prep.MultiInput keyed by "
                "the model's input names, or pass one transformer."
            )
        if reset:
            _forget(estimator, ("input_names_", "_input_records"))
        return check_X(estimator, X, reset=reset, preprocessor=preprocessor)

    X = MultiInput(X)
    if preprocessor is not None and not per_input:
        raise TypeError(
            f"X has several inputs {X.names}, so preprocessor must be a dict {{input name: "
            "transformer}} (inputs without one pass through as they are); got a single "
            f"{type(preprocessor).__name__}."
        )
    if per_input:
        _check_preprocessor_dict(preprocessor, X.names)
    if reset:
        _forget(estimator, ("n_features_in_", "feature_names_in_", "_frame_columns", "_frame_dtypes"))
        names, records = X.names, {name: _InputRecord() for name in X.names}
    else:
        if fitted_names is None:
            raise ValueError(
                f"X has several inputs {X.names}, but the estimator was fitted on a single "
                "array; pass X as at fit."
            )
        if sorted(X.names) != sorted(fitted_names):
            raise ValueError(
                f"X has inputs {X.names}, but the estimator was fitted on inputs "
                f"{fitted_names}; pass a dict or MultiInput with exactly those keys."
            )
        names, records = fitted_names, estimator._input_records
    checked = {}
    for name in names:
        try:
            checked[name] = check_X(
                records[name], X[name], reset=reset, preprocessor=_transformer(preprocessor, name)
            )
        except (ValueError, TypeError) as error:
            raise _named(name, error) from error
    if reset:
        estimator._input_records = records
        estimator.input_names_ = list(names)
    return MultiInput(checked)


def fit_transform_inputs(preprocessor, X, y, incremental):
    """Fit each input's transformer (already a clone) on its rows: ``(fitted dict,
    MultiInput of transformed inputs)``; ``partial_fit`` where ``incremental`` allows."""
    fitted, out = {}, {}
    for name in X.names:
        transformer = _transformer(preprocessor, name)
        if transformer is None:
            out[name] = X[name]
            continue
        try:
            if incremental and hasattr(transformer, "partial_fit"):
                out[name] = transformer.partial_fit(X[name], y).transform(X[name])
            else:
                out[name] = transformer.fit_transform(X[name], y)
        except (ValueError, TypeError) as error:
            raise _named(name, error) from error
        fitted[name] = transformer
    return fitted, MultiInput(out)


def transform_inputs(estimator, preprocessor, X, *, partial_fit_y=None):
    """The fitted preprocessor applied to X (each input's own, for several inputs); with
    ``partial_fit_y``, incremental transformers are updated first (``partial_fit``)."""
    if not isinstance(X, MultiInput):
        if preprocessor is None:
            return X
        if partial_fit_y is not None and hasattr(preprocessor, "partial_fit"):
            preprocessor.partial_fit(X, partial_fit_y)
        return transform(estimator, preprocessor, X)
    out = {}
    for name in X.names:
        transformer = _transformer(preprocessor, name)
        if transformer is None:
            out[name] = X[name]
            continue
        try:
            if partial_fit_y is not None and hasattr(transformer, "partial_fit"):
                transformer.partial_fit(X[name], partial_fit_y)
            out[name] = transform(estimator._input_records[name], transformer, X[name])
        except (ValueError, TypeError) as error:
            raise _named(name, error) from error
    return MultiInput(out)


def rows(Xt, preprocessor):
    """The row source of transformed X: checked as the preprocessor's output where there is
    one (``check_transformed``); for several inputs a ``MultiSource`` of one source per input."""
    if not isinstance(Xt, MultiInput):
        return check_transformed(Xt, preprocessor) if preprocessor is not None else as_source(Xt)
    parts = {}
    for name in Xt.names:
        transformer = _transformer(preprocessor, name)
        try:
            parts[name] = (
                check_transformed(Xt[name], transformer) if transformer is not None
                else as_source(Xt[name])
            )
        except (ValueError, TypeError) as error:
            raise _named(name, error) from error
    return MultiSource(parts)
