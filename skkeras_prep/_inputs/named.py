"""X as a structure of named inputs, the one shape every X takes inside the estimator; the
one module that knows there may be several (the rest never asks how many).

A dict or ``MultiInput`` X has one entry per model input; a single X is the structure of one
unnamed entry. Each entry is an adapter of its own kind. The structure reads X
(``NamedInputs.of``), checks what concerns all entries (names against the model's and the
preprocessor dict's, the same rows), gives each its record and transformer, and joins their
row sources (``joined``). A value per input (a row shape, a batch, a preprocessor) is one
value for a single X and a dict by input name for several: ``entries`` / ``map_inputs``
read and map both alike (``{None: value}`` for one), as ``keras.tree.map_structure`` does.
The model's inputs, the pool key, loaded files and export ask here too.

Records: a single X is checked against the estimator itself (``n_features_in_``,
``feature_names_in_``, DataFrame columns); each named input against an ``InputRecord`` kept in
``estimator._input_records``, and errors are prefixed with the input's name. A dict
``preprocessor`` holds one transformer per input; inputs without one (or with
``"passthrough"``) go to the model as they are, and must be numeric and finite.
"""

import contextlib
import functools

import numpy as np
from sklearn.base import BaseEstimator

from ..multi_io import MultiInput, is_multi_input
from ..sources.named import NamedSource

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


def entries(value):
    """``{input name: value}`` of a value per input: a dict by input name as it is, the value
    of a single X as ``{None: value}``."""
    return dict(value) if isinstance(value, dict) else {None: value}


def rebuilt(parts):
    """The inverse of ``entries``: ``{None: value}`` -> value, else the dict by input name."""
    return parts[None] if None in parts else dict(parts)


def map_inputs(function, value):
    """``function`` applied to the value of each input, in the structure ``value`` has."""
    return rebuilt({name: function(one) for name, one in entries(value).items()})


def input_names_of(value):
    """The input names of a value per input (a shape, a batch): None for a single X."""
    parts = entries(value)
    return None if None in parts else list(parts)


def one_input(value, refusal):
    """The value of a single X; several: ``ValueError(refusal)``, ``{names}`` their names."""
    parts = entries(value)
    if None not in parts:
        raise ValueError(refusal.format(names=list(parts)))
    return parts[None]


def input_shape(source):
    """The shape of one row the model receives (``parts``): a tuple, or ``{name: tuple}``."""
    return rebuilt({name: tuple(part.row_shape) for name, part in source.parts.items()})


def width_of(shape):
    """The number of values in one row of ``input_shape``'s ``shape`` (a dict by name too)."""
    return map_inputs(lambda one: int(np.prod(one)), shape)


def joined(sources):
    """One row source of ``{input name: source}``: one unnamed as it is, named: ``NamedSource``."""
    return sources[None] if None in sources else NamedSource(sources)


def whole_transformer(preprocessor):
    """The preprocessor a single X goes through whole; None for a dict of per-input ones."""
    return None if isinstance(preprocessor, dict) else preprocessor


@contextlib.contextmanager
def _naming(name, kinds=(ValueError, TypeError)):
    """Errors (of exactly one of ``kinds``) about one of several inputs start with its name."""
    try:
        yield
    except kinds as error:
        if name is None or type(error) not in kinds:
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
        lazy = [name for name, part in self.parts.items() if part.lazy] if self.named else []
        if lazy:
            raise TypeError(
                f"Input(s) {lazy} are dask collections; several inputs must be held in memory "
                "(numpy arrays, sparse matrices or DataFrames). Compute them first, or pass "
                "one dask input."
            )

    @classmethod
    def of(cls, X, adapter):
        """X read as its structure: one entry per input of a dict or ``MultiInput``, else one
        unnamed entry; ``adapter(part)`` is the adapter of one input's kind. A lazy input
        among several is refused with what to do."""
        if is_multi_input(X):
            return cls({name: adapter(part) for name, part in MultiInput(X).items()})
        return cls({None: adapter(X)})

    @property
    def names(self):
        return list(self.parts) if self.named else None

    @functools.cached_property
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
        return (fitted if self.named else preprocessor), joined(sources)

    def rows(self, estimator, preprocessor, *, update_y=None):
        """X's row source through the fitted ``preprocessor``; with ``update_y``, incremental
        transformers are updated first (``partial_fit``)."""
        records = self._records(estimator, reset=False)
        sources = {}
        for name, part in self.parts.items():
            with _naming(name):
                sources[name] = part.rows(records[name], transformer_of(preprocessor, name),
                                          update_y=update_y)
        return joined(sources)

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
        if not self.named:
            return self.parts[None].X
        return MultiInput({name: part.X for name, part in self.parts.items()})

    def head(self, n):
        """The first ``n`` rows of a single in-memory X, else None."""
        return None if self.named else self.parts[None].head(n)


# -- the model's side: the inputs it is fed by ---------------------------------------------
def _model_inputs(model):
    """``{name: input tensor}`` the model is fed by: a dict of inputs by its keys, else by
    the tensors' names; None where the model does not say (a subclassed model)."""
    try:
        structure = model.input
    except (AttributeError, ValueError):  # a subclassed model never called on a structure
        return None
    if isinstance(structure, dict):
        return dict(structure)
    tensors = structure if isinstance(structure, (list, tuple)) else [structure]
    return {getattr(tensor, "name", None): tensor for tensor in tensors}


def check_model_inputs(model, input_shape):
    """Refuse a model that does not take X's inputs: named inputs whose names differ from
    X's (both lists named), several inputs for a single X, or, for a single X, a declared
    input (``keras.Input(shape=...)``) that does not take rows of ``input_shape`` (both
    shapes named; a model without a declared input is built for it)."""
    names = _model_inputs(model)
    names = None if names is None else list(names)
    if isinstance(input_shape, dict):
        if names is not None and sorted(names) != sorted(input_shape):
            raise ValueError(
                f"X has inputs {list(input_shape)}, but the model's inputs are named {names}. "
                "Key X by the model's input names (keras.Input(..., name=...) or a dict of "
                "inputs)."
            )
        return  # several inputs are matched by name
    if names is not None and len(names) > 1:
        raise ValueError(
            f"The model has several inputs {names}, but X is a single array. Pass X as a dict "
            "or skkeras_prep.MultiInput keyed by those names."
        )
    _check_declared_shape(model, tuple(input_shape))


def _check_declared_shape(model, data):
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):  # a subclassed or unbuilt Sequential model
        return
    if not inputs or len(inputs) != 1:
        return
    declared = tuple(inputs[0].shape[1:])
    if len(declared) != len(data) or any(d is not None and d != n for d, n in zip(declared, data)):
        raise ValueError(
            f"The model takes inputs of shape {declared} per row, but the rows it is given "
            f"have shape {data} (after the preprocessor). Build the model for the data: "
            "keras.Input(shape=meta['input_shape_']) in a builder (the input_shape_ "
            "argument of a builder function), or reshape X (or change the preprocessor) so "
            f"that the rows have shape {declared}."
        )


def structure_key(structure, tensors, own_names):
    """How a Keras model's inputs (or outputs) are keyed, for the model pool: ``["dict",
    keys]`` for a dict, ``["list", own_names()]`` for several tensors, None for one (then
    nothing is fed or read by name)."""
    if isinstance(structure, dict):
        return ["dict", list(structure)]
    if len(tensors) > 1:
        return ["list", list(own_names() or [])]
    return None


# -- the parameters of a dict preprocessor (scikit-learn's get_params / set_params) --------
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


# -- saved files: the fitted inputs' names, and their checks on load ----------------------
def fitted_names(estimator):
    """The names of the inputs ``estimator`` was fitted on; None for a single X."""
    return getattr(estimator, "input_names_", None)


def _positive_ints(shape):
    return isinstance(shape, tuple) and shape and all(type(d) is int and d > 0 for d in shape)


def check_loaded_inputs(estimator, model, refuse):
    """For a loaded file, whose every part is untrusted: the fitted input shape(s) are
    shapes, and those the ``model`` declares are the same; ``refuse(why)`` makes the error."""
    names, shapes = fitted_names(estimator), getattr(estimator, "input_shape_", None)
    if names is None:
        if not _positive_ints(shapes):
            raise refuse(f"its input shape {shapes!r} is invalid")
        try:
            declared = model.input_shape
        except Exception:  # a subclassed model that was never called has no input shape
            declared = None
        if declared is not None and tuple(declared)[1:] != shapes:
            raise refuse(f"its model takes inputs of shape {tuple(declared)[1:]}, but the "
                         f"estimator was fitted on shape {shapes}")
        return
    if not (isinstance(shapes, dict) and sorted(shapes) == sorted(names)
            and all(_positive_ints(s) for s in shapes.values())):
        raise refuse(f"its input shapes {shapes!r} do not match its inputs {names!r}")
    declared = {name: tuple(t.shape)[1:] for name, t in (_model_inputs(model) or {}).items()}
    for name, shape in shapes.items():
        if name in declared and declared[name] != shape:
            raise refuse(f"its model's input {name!r} takes shape {declared[name]}, but the "
                         f"estimator was fitted on shape {shape}")


# -- export: the fitted inputs, their exported inputs, and X as an exported model takes it ---
def fitted_inputs(estimator):
    """``{input name: (its record, its transformer, its row shape)}`` of a fitted estimator;
    a single X: ``{None: (the estimator, preprocessor_, input_shape_)}``."""
    names = fitted_names(estimator)
    if names is None:
        return {None: (estimator, estimator.preprocessor_, tuple(estimator.input_shape_))}
    return {name: (estimator._input_records[name], transformer_of(estimator.preprocessor_, name),
                   tuple(estimator.input_shape_[name])) for name in names}


def map_fitted(estimator, function, error):
    """``{input name: function(name, record, transformer, row shape)}`` over the inputs of a
    fitted estimator (``fitted_inputs``); an ``error`` about one of several inputs starts
    with its name."""
    made = {}
    for name, entry in fitted_inputs(estimator).items():
        with _naming(name, (error,)):
            made[name] = function(name, *entry)
    return made


def joined_exports(made, error):
    """(inputs, features) of an exported model from each input's ``(inputs, features)``: a
    single X's as they are; named inputs: one flat dict of inputs (a SavedModel signature
    takes no nesting; a name two inputs give is refused with ``error``) and the features by
    input name (the dict the trained model was fed)."""
    if None in made:
        return made[None]
    inputs, features = {}, {}
    for name, (mine, features[name]) in made.items():
        mine = mine if isinstance(mine, dict) else {name: mine}
        clashes = sorted(set(mine) & set(inputs))
        if clashes:
            raise error(
                f"Input {name!r} gives exported input names {clashes} that another input "
                "gives too; rename the inputs or columns so that they differ, and refit."
            )
        inputs.update(mine)
    return inputs, features


def read_given(X, one, named):
    """``one(X)`` for a single X, ``named({input name: part})`` for a dict or ``MultiInput``
    (X given to an exported model as it was at fit)."""
    if not is_multi_input(X):
        return one(X)
    return named(dict(X.data if isinstance(X, MultiInput) else X))
