"""X as a structure of named inputs: the one shape every X takes inside the estimator.

A dict or ``MultiInput`` X has one entry per model input; a single X is the structure of one
unnamed entry. Each entry is an adapter of its own kind (``memory``, or one lazy input). The structure
checks what concerns all of them (the names against the model's and the preprocessor dict's,
the same rows), gives each entry its record and its transformer, and joins their row sources
(``sources.MultiSource`` for named entries). Every loop here runs once for a single X.

Records: a single X is checked against the estimator itself (``n_features_in_``,
``feature_names_in_``, DataFrame columns); each named input against an ``InputRecord`` kept in
``estimator._input_records``, and errors are prefixed with the input's name. A dict
``preprocessor`` holds one transformer per input; inputs without one (or with
``"passthrough"``) go to the model as they are, and must be numeric and finite.
"""

import contextlib

from sklearn.base import BaseEstimator

from ..sources import MultiSource

PASSTHROUGH = "passthrough"


class InputRecord(BaseEstimator):
    """What the checks remember about one of several inputs at fit (``n_features_in_``,
    ``feature_names_in_``, DataFrame columns and dtypes), as they do on the estimator for a
    single X."""


def transformer_of(preprocessor, name):
    """The transformer of input ``name`` of a dict preprocessor, or None where it passes
    through; for a single X (``name`` None), the preprocessor itself."""
    if name is None:
        return preprocessor
    transformer = (preprocessor or {}).get(name)
    if transformer is None or (isinstance(transformer, str) and transformer == PASSTHROUGH):
        return None
    return transformer


@contextlib.contextmanager
def _naming(name):
    """Errors about one of several inputs start with its name."""
    try:
        yield
    except (ValueError, TypeError) as error:
        if name is None or type(error) not in (ValueError, TypeError):
            raise
        raise type(error)(f"Input {name!r}: {error}") from error


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


def _forget(estimator, names):
    for name in names:
        estimator.__dict__.pop(name, None)


class NamedInputs:
    """X as ``{input name: adapter}``; a single X is ``{None: adapter}``."""

    def __init__(self, parts):
        self.parts = dict(parts)
        self.named = None not in self.parts
        self.lazy = not self.named and self.parts[None].lazy  # predictions computed when asked
        if self.named and any(part.lazy for part in self.parts.values()):
            raise TypeError("Several named inputs must all be held in memory.")  # dispatch says more


    @property
    def names(self):
        return list(self.parts) if self.named else None

    @property
    def n_rows(self):
        return next(iter(self.parts.values())).n_rows

    def in_memory(self, y, sample_weight):
        """y and the weights in memory (a lazy single input computes them)."""
        if self.lazy:
            return self.parts[None].in_memory(y, sample_weight)
        return y, sample_weight

    def description(self):
        """(shape, dtype) of X as given (several inputs: ``(n_rows, n_inputs)``, no dtype)."""
        if not self.named:
            return self.parts[None].description()
        return (self.n_rows, len(self.parts)), None

    # -- checks ----------------------------------------------------------------------------
    def check(self, estimator, *, reset, preprocessor):
        """Check every input against its record (set at fit, compared later); at predict
        the inputs are taken in the order seen at fit."""
        self._check_structure(estimator, reset, preprocessor)
        records = self._records(estimator, reset)
        for name in list(self.parts):
            with _naming(name):
                self.parts[name].check(records[name], reset=reset,
                                       preprocessor=transformer_of(preprocessor, name))
        if reset and self.named:
            estimator._input_records = records
            estimator.input_names_ = list(self.parts)
        if self.named:
            self._same_rows()
        return self

    def _check_structure(self, estimator, reset, preprocessor):
        per_input = isinstance(preprocessor, dict)
        fitted = getattr(estimator, "input_names_", None)
        if not self.named:
            if not reset and fitted is not None:
                raise ValueError(
                    f"The estimator was fitted on several inputs {fitted}; pass X as a dict "
                    "or skkeras_prep.MultiInput with those keys."
                )
            if per_input:
                raise ValueError(
                    f"preprocessor is a dict of per-input transformers (keys {list(preprocessor)}), "
                    "but X is a single array. Pass X as a dict or skkeras_prep.MultiInput keyed "
                    "by the model's input names, or pass one transformer."
                )
            return
        if preprocessor is not None and not per_input:
            raise TypeError(
                f"X has several inputs {self.names}, so preprocessor must be a dict {{input "
                "name: transformer} (inputs without one pass through as they are); got a "
                f"single {type(preprocessor).__name__}."
            )
        if per_input:
            _check_preprocessor_dict(preprocessor, self.names)
        if not reset:
            self._match_fitted_names(fitted)

    def _match_fitted_names(self, fitted):
        if fitted is None:
            raise ValueError(
                f"X has several inputs {self.names}, but the estimator was fitted on a single "
                "array; pass X as at fit."
            )
        if sorted(self.names) != sorted(fitted):
            raise ValueError(
                f"X has inputs {self.names}, but the estimator was fitted on inputs "
                f"{fitted}; pass a dict or MultiInput with exactly those keys."
            )
        self.parts = {name: self.parts[name] for name in fitted}

    def _records(self, estimator, reset):
        if not self.named:
            if reset:
                _forget(estimator, ("input_names_", "_input_records"))
            return {None: estimator}
        if reset:
            _forget(estimator, ("n_features_in_", "feature_names_in_", "_frame_columns",
                                "_frame_dtypes"))
            return {name: InputRecord() for name in self.parts}
        return estimator._input_records

    def _same_rows(self):
        counts = {name: part.n_rows for name, part in self.parts.items()}
        if len(set(counts.values())) > 1:
            raise ValueError(
                f"The inputs have different numbers of rows: {counts}. Every input needs one "
                "row per sample."
            )

    # -- preprocessing and rows ------------------------------------------------------------
    def fit_rows(self, estimator, preprocessor, y, *, incremental, seed):
        """Fit ``preprocessor`` (a clone, or None; a dict: each input's transformer) on X and
        return (the fitted preprocessor, X's row source)."""
        records = self._records(estimator, reset=False)
        sources, fitted = {}, {}
        for name, part in self.parts.items():
            transformer = transformer_of(preprocessor, name)
            with _naming(name):
                sources[name] = part.fit_rows(records[name], transformer, y,
                                              incremental=incremental, seed=seed)
            if transformer is not None:
                fitted[name] = transformer
        if not self.named:
            return preprocessor, sources[None]
        return fitted, MultiSource(sources)

    def rows(self, estimator, preprocessor, *, update_y=None):
        """X's row source through the fitted ``preprocessor``; with ``update_y``, incremental
        transformers are updated first (``partial_fit``)."""
        records = self._records(estimator, reset=False)
        sources = {}
        for name, part in self.parts.items():
            with _naming(name):
                sources[name] = part.rows(records[name], transformer_of(preprocessor, name),
                                          update_y=update_y)
        return sources[None] if not self.named else MultiSource(sources)

    # -- prediction and score --------------------------------------------------------------
    @property
    def _first(self):
        return next(iter(self.parts.values()))

    def predict(self, estimator, method, finish, call_kwargs):
        """``estimator.<method>`` on X: eager, or lazy for a lazy single input; ``finish``
        turns the model's raw outputs into the method's result."""
        return self._first.predict(estimator, self, method, finish, call_kwargs)

    def prediction_rows(self, estimator):
        """X checked as at fit and through the fitted preprocessor: its row source."""
        self.check(estimator, reset=False, preprocessor=estimator.preprocessor_)
        return self.rows(estimator, estimator.preprocessor_)

    def score(self, estimator, scorer, y, sample_weight, kwargs):
        """``scorer(y, predictions, sample_weight=..., **kwargs)``, as X's kind computes it."""
        return self._first.score(estimator, self, scorer, y, sample_weight, kwargs)

    def as_given(self):
        """X as the user passes it: the single X, or a ``MultiInput`` of the inputs."""
        from ..multi_io import MultiInput

        if not self.named:
            return self.parts[None].X
        return MultiInput({name: part.X for name, part in self.parts.items()})

    def head(self, n):
        """The first ``n`` rows of a single in-memory X, else None."""
        return None if self.named else self.parts[None].head(n)
