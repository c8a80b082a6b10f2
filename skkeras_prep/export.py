"""Export a fitted estimator as one ``keras.Model`` that takes raw features.

``export_model(est)`` (also ``est.export_model()``) translates the fitted preprocessor into
small Keras layers built from TensorFlow ops, puts a copy of ``est.model_`` behind them and
ends with the step that turns model outputs into what ``predict_proba`` (classifier) or
``predict`` (regressor) returns. The result needs neither scikit-learn nor this estimator to
serve, and can be written as a TensorFlow SavedModel with ``exported.export(directory)``.

Inputs
    Fitted on an array: one float64 input ``"features"`` of shape (batch, n_features_in_).
    Fitted on a DataFrame: a dict with one input per column, shape (batch, 1), float64 for
    numeric columns and string for text columns, named by ``input_name(column)`` (the column
    name, with characters a SavedModel signature cannot hold replaced by '_'). A missing text
    value is the empty string ``""`` (``MISSING_STRING``); a missing number is NaN.
    ``frame_to_inputs`` converts a DataFrame.

Arithmetic runs in float64 in the same order of operations as scikit-learn, and the features
are cast to float32 just before the Keras model, as ``predict`` does.
"""

import itertools
import re
from collections import namedtuple

import keras
import numpy as np
import tensorflow as tf
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted

from ._targets import BINARY_COLUMN, INDICATOR, ClassifierTargetEncoder

__all__ = ["ExportError", "MISSING_STRING", "export_model", "frame_to_inputs", "input_name"]

MISSING_STRING = ""
STRING, NUMBER = "string", "number"
_PACKAGE = "skkeras_prep"

SUPPORTED_TRANSFORMERS = (
    "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "SimpleImputer",
    "OneHotEncoder", "OrdinalEncoder", "ColumnTransformer", "Pipeline",
)
SUPPORTED_TARGET_TRANSFORMERS = (
    "None", "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler",
)


class ExportError(ValueError):
    """The estimator holds something ``export_model`` cannot translate into Keras layers."""


# -- small helpers ---------------------------------------------------------------------------
def _is_missing(value):
    """None, NaN or pandas.NA (the values scikit-learn treats as missing)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA refuses to be a bool
        return True


def _floats(values):
    """A JSON-safe list of floats: NaN is written as None."""
    return None if values is None else [None if _is_missing(v) else float(v) for v in values]


def _tensor(values, dtype):
    if dtype == tf.string:
        return tf.constant([str(v) for v in values], dtype=tf.string)
    return tf.constant([np.nan if v is None else v for v in values], dtype=dtype)


def _nan_if_none(value):
    return tf.constant(np.nan if value is None else value, tf.float64)


def _missing_mask(x, missing):
    """True where x holds the missing marker: a string, NaN (``missing=None``) or a number."""
    if x.dtype == tf.string:
        return tf.equal(x, missing)
    if missing is None:
        return tf.math.is_nan(x)
    return tf.equal(x, tf.cast(missing, x.dtype))


# -- layers ----------------------------------------------------------------------------------
class _ExportLayer(keras.layers.Layer):
    """Base of the export layers: float64 arithmetic, JSON configs, no weights."""

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float64")
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({k: getattr(self, k) for k in self._config_keys})
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class SelectColumns(_ExportLayer):
    """Columns ``indices`` of a 2-D tensor (numbers or strings)."""

    _config_keys = ("indices",)

    def __init__(self, indices, **kwargs):
        super().__init__(**kwargs)
        self.indices = [int(i) for i in indices]

    def call(self, x):
        return tf.gather(x, self.indices, axis=1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Concat(_ExportLayer):
    """Column-wise concatenation of tensors of one dtype (numbers or strings)."""

    _config_keys = ()

    def call(self, parts):
        return tf.concat(list(parts), axis=1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Affine(_ExportLayer):
    """``(x - subtract) / divide * multiply + add``, then clipped to [low, high]; a None
    vector skips its step, so each scaler runs in scikit-learn's order of operations."""

    _config_keys = ("subtract", "divide", "multiply", "add", "low", "high")

    def __init__(self, subtract=None, divide=None, multiply=None, add=None, low=None, high=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.subtract, self.divide = _floats(subtract), _floats(divide)
        self.multiply, self.add = _floats(multiply), _floats(add)
        self.low, self.high = low, high

    def call(self, x):
        x = tf.cast(x, tf.float64)
        if self.subtract is not None:
            x = x - _tensor(self.subtract, tf.float64)
        if self.divide is not None:
            x = x / _tensor(self.divide, tf.float64)
        if self.multiply is not None:
            x = x * _tensor(self.multiply, tf.float64)
        if self.add is not None:
            x = x + _tensor(self.add, tf.float64)
        if self.low is not None:
            x = tf.clip_by_value(x, float(self.low), float(self.high))
        return x


@keras.saving.register_keras_serializable(package=_PACKAGE)
class FillMissing(_ExportLayer):
    """Replace the missing marker in each column by that column's fill value."""

    _config_keys = ("fill", "missing")

    def __init__(self, fill, missing=None, **kwargs):
        super().__init__(**kwargs)
        self.fill, self.missing = list(fill), missing

    def call(self, x):
        fill = _tensor(self.fill, x.dtype)[None, :]
        return tf.where(_missing_mask(x, self.missing), fill, x)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class IsMissing(_ExportLayer):
    """1.0 where a value is missing, else 0.0 (scikit-learn's MissingIndicator)."""

    _config_keys = ("missing",)

    def __init__(self, missing=None, **kwargs):
        super().__init__(**kwargs)
        self.missing = missing

    def call(self, x):
        return tf.cast(_missing_mask(x, self.missing), tf.float64)


def _category_match(column, categories):
    """(batch, len(categories)) booleans: column value == category."""
    return tf.equal(column[:, None], _tensor(categories, column.dtype)[None, :])


@keras.saving.register_keras_serializable(package=_PACKAGE)
class OneHot(_ExportLayer):
    """One 0/1 column per category of each input column; an unseen value gives all zeros.
    ``has_missing[j]`` adds a last column for the missing marker."""

    _config_keys = ("categories", "has_missing", "missing")

    def __init__(self, categories, has_missing, missing=None, **kwargs):
        super().__init__(**kwargs)
        self.categories, self.has_missing, self.missing = categories, has_missing, missing

    def call(self, x):
        parts = []
        for j, categories in enumerate(self.categories):
            column = x[:, j]
            if categories:
                parts.append(tf.cast(_category_match(column, categories), tf.float64))
            if self.has_missing[j]:
                parts.append(tf.cast(_missing_mask(column, self.missing), tf.float64)[:, None])
        return tf.concat(parts, axis=1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Ordinal(_ExportLayer):
    """The index of each value among its column's categories; ``unknown_value`` for an unseen
    value and ``encoded_missing_value`` for the missing marker (None in the config is NaN)."""

    _config_keys = (
        "categories", "has_missing", "missing", "unknown_value", "encoded_missing_value",
    )

    def __init__(self, categories, has_missing, missing=None, unknown_value=None,
                 encoded_missing_value=None, **kwargs):
        super().__init__(**kwargs)
        self.categories, self.has_missing, self.missing = categories, has_missing, missing
        self.unknown_value, self.encoded_missing_value = unknown_value, encoded_missing_value

    def _encode(self, column, categories, has_missing):
        value = tf.fill(tf.shape(column), _nan_if_none(self.unknown_value))
        if categories:
            match = _category_match(column, categories)
            index = tf.cast(tf.argmax(tf.cast(match, tf.int32), axis=1), tf.float64)
            value = tf.where(tf.reduce_any(match, axis=1), index, value)
        if has_missing:
            encoded = _nan_if_none(self.encoded_missing_value)
            value = tf.where(_missing_mask(column, self.missing), encoded, value)
        return value

    def call(self, x):
        columns = [
            self._encode(x[:, j], categories, self.has_missing[j])
            for j, categories in enumerate(self.categories)
        ]
        return tf.stack(columns, axis=1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class JoinFeatures(_ExportLayer):
    """The preprocessed float64 blocks, concatenated and cast to float32 for the model."""

    _config_keys = ()

    def call(self, parts):
        return tf.cast(tf.concat([tf.cast(p, tf.float64) for p in parts], axis=1), tf.float32)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ProbabilityOutput(_ExportLayer):
    """Model outputs -> ``predict_proba``: clipped to [0, 1]; one sigmoid unit -> [1 - p, p];
    softmax rows renormalised; multilabel columns kept."""

    _config_keys = ("layout",)

    def __init__(self, layout, **kwargs):
        super().__init__(**kwargs)
        self.layout = layout

    def call(self, output):
        p = tf.clip_by_value(tf.cast(output, tf.float64), 0.0, 1.0)
        if self.layout == BINARY_COLUMN:
            return tf.concat([1.0 - p, p], axis=1)
        if self.layout == INDICATOR:
            return p
        total = tf.reduce_sum(p, axis=1, keepdims=True)
        return p / tf.where(total == 0.0, tf.ones_like(total), total)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class FirstColumn(_ExportLayer):
    """(batch, 1) -> (batch,), for a regressor fitted on a 1-D y."""

    _config_keys = ()

    def call(self, x):
        return x[:, 0]


# -- blocks: the columns flowing through the translation -----------------------------------
Block = namedtuple("Block", "tensor kind")  # a (batch, k) tensor whose k columns share a kind


def _width(block):
    return int(block.tensor.shape[1])


def _merge(blocks):
    """Concatenate neighbouring blocks of the same kind (fewer, wider layers)."""
    merged = []
    for kind, group in itertools.groupby(blocks, key=lambda b: b.kind):
        group = list(group)
        tensor = group[0].tensor if len(group) == 1 else Concat()([b.tensor for b in group])
        merged.append(Block(tensor, kind))
    return merged


def _select(blocks, indices):
    """The blocks holding columns ``indices`` (in that order) of ``blocks``."""
    owner = [(b, j) for b, block in enumerate(blocks) for j in range(_width(block))]
    picked = []
    for b, run in itertools.groupby((owner[i] for i in indices), key=lambda bj: bj[0]):
        columns = [j for _, j in run]
        block = blocks[b]
        if columns == list(range(_width(block))):
            picked.append(block)
        else:
            picked.append(Block(SelectColumns(columns)(block.tensor), block.kind))
    return picked


def _map_blocks(blocks, make_block):
    """``make_block(block, columns)`` on each merged block; ``columns`` are its positions."""
    out, start = [], 0
    for block in _merge(blocks):
        columns = list(range(start, start + _width(block)))
        out.append(make_block(block, columns))
        start += len(columns)
    return out


def _require_numbers(blocks, transformer):
    if any(b.kind == STRING for b in blocks):
        raise ExportError(
            f"{type(transformer).__name__} receives text columns; only OneHotEncoder, "
            "OrdinalEncoder and SimpleImputer take text. Encode the text columns first."
        )


# -- scalers ---------------------------------------------------------------------------------
def _pick(values, columns):
    return None if values is None else np.asarray(values)[columns]


def _scaler_vectors(scaler):
    """Affine arguments reproducing ``scaler.transform``."""
    if isinstance(scaler, StandardScaler):
        return {"subtract": scaler.mean_ if scaler.with_mean else None,
                "divide": scaler.scale_ if scaler.with_std else None}
    if isinstance(scaler, MinMaxScaler):
        return {"multiply": scaler.scale_, "add": scaler.min_}
    if isinstance(scaler, MaxAbsScaler):
        return {"divide": scaler.scale_}
    return {"subtract": scaler.center_ if scaler.with_centering else None,
            "divide": scaler.scale_ if scaler.with_scaling else None}


def _scaler(scaler, blocks):
    _require_numbers(blocks, scaler)
    vectors = _scaler_vectors(scaler)
    clip = {}
    if isinstance(scaler, MinMaxScaler) and scaler.clip:
        clip = {"low": float(scaler.feature_range[0]), "high": float(scaler.feature_range[1])}

    def make(block, columns):
        picked = {k: _pick(v, columns) for k, v in vectors.items()}
        return Block(Affine(**picked, **clip)(block.tensor), NUMBER)

    return _map_blocks(blocks, make)


# -- imputer ---------------------------------------------------------------------------------
def _missing_marker(missing_values, kind, transformer):
    """The value that marks a missing entry in a block of ``kind``."""
    if _is_missing(missing_values):
        return MISSING_STRING if kind == STRING else None
    if isinstance(missing_values, str) == (kind == STRING):
        return missing_values if kind == STRING else float(missing_values)
    raise ExportError(
        f"{type(transformer).__name__}(missing_values={missing_values!r}) is applied to "
        f"{kind} columns; use missing_values=np.nan, or a marker of the columns' type."
    )


def _fill_value(value, kind):
    return str(value) if kind == STRING else (None if _is_missing(value) else float(value))


def _simple_imputer(imputer, blocks):
    stats = imputer.statistics_

    def make(block, columns):
        missing = _missing_marker(imputer.missing_values, block.kind, imputer)
        fill = [_fill_value(stats[c], block.kind) for c in columns]
        return Block(FillMissing(fill, missing)(block.tensor), block.kind)

    filled = _map_blocks(blocks, make)
    keep = [c for c, s in enumerate(stats) if imputer.keep_empty_features or not _is_missing(s)]
    out = filled if len(keep) == len(stats) else _select(filled, keep)
    if imputer.add_indicator:
        for block in _select(blocks, list(imputer.indicator_.features_)):
            missing = _missing_marker(imputer.missing_values, block.kind, imputer)
            out.append(Block(IsMissing(missing)(block.tensor), NUMBER))
    return out


# -- encoders --------------------------------------------------------------------------------
def _check_not_infrequent(encoder):
    if getattr(encoder, "_infrequent_enabled", False):
        raise ExportError(
            f"{type(encoder).__name__} groups infrequent categories (min_frequency or "
            "max_categories is set); export supports plain categories only. Refit with "
            "min_frequency=None and max_categories=None."
        )


def _split_categories(values, kind, encoder):
    """(real categories as str or float, whether a missing category ends the list)."""
    values = list(values)
    has_missing = bool(values) and _is_missing(values[-1])
    real = values[:-1] if has_missing else values
    if kind == NUMBER:
        return [float(v) for v in real], has_missing
    real = [str(v) for v in real]
    if MISSING_STRING in real:
        raise ExportError(
            f"{type(encoder).__name__} has the empty string as a category, but the exported "
            "model uses the empty string for a missing text value. Replace empty strings "
            "(e.g. by 'empty') before fitting."
        )
    return real, has_missing


def _encoder_columns(encoder, block, columns):
    split = [_split_categories(encoder.categories_[c], block.kind, encoder) for c in columns]
    categories = [cats for cats, _ in split]
    has_missing = [flag for _, flag in split]
    missing = MISSING_STRING if block.kind == STRING else None
    return categories, has_missing, missing


def _one_hot(encoder, blocks):
    _check_not_infrequent(encoder)
    drop = encoder.drop_idx_

    def make(block, columns):
        categories, has_missing, missing = _encoder_columns(encoder, block, columns)
        tensor = OneHot(categories, has_missing, missing)(block.tensor)
        if drop is None:
            return Block(tensor, NUMBER)
        keep, start = [], 0
        for c in columns:
            n = len(encoder.categories_[c])
            keep += [start + k for k in range(n) if drop[c] is None or k != int(drop[c])]
            start += n
        return Block(SelectColumns(keep)(tensor), NUMBER)

    return _map_blocks(blocks, make)


def _ordinal(encoder, blocks):
    _check_not_infrequent(encoder)
    use_encoded = encoder.handle_unknown == "use_encoded_value"
    unknown = _floats([encoder.unknown_value])[0] if use_encoded else None
    encoded_missing = _floats([encoder.encoded_missing_value])[0]

    def make(block, columns):
        categories, has_missing, missing = _encoder_columns(encoder, block, columns)
        layer = Ordinal(categories, has_missing, missing, unknown, encoded_missing)
        return Block(layer(block.tensor), NUMBER)

    return _map_blocks(blocks, make)


# -- composites ------------------------------------------------------------------------------
def _is_passthrough(step):
    return step is None or (isinstance(step, str) and step == "passthrough")


def _identity(transformer, blocks):
    """FunctionTransformer() without a function: how a fitted ColumnTransformer stores
    'passthrough' columns."""
    if transformer.func is not None:
        raise _unsupported(transformer)
    return blocks


def _pipeline(pipeline, blocks):
    for _, step in pipeline.steps:
        if not _is_passthrough(step):
            blocks = _translate(step, blocks)
    return blocks


def _column_indices(ct):
    """(name, fitted transformer, input column indices) for each part of a ColumnTransformer."""
    indices = ct._transformer_to_input_indices
    for name, transformer, _ in ct.transformers_:
        yield name, transformer, list(indices.get(name, []))


def _column_transformer(ct, blocks):
    out = []
    for _, transformer, columns in _column_indices(ct):
        if not columns or (isinstance(transformer, str) and transformer == "drop"):
            continue
        part = _select(blocks, columns)
        out += part if _is_passthrough(transformer) else _translate(transformer, part)
    return out


_TRANSLATORS = {
    StandardScaler: _scaler, MinMaxScaler: _scaler, MaxAbsScaler: _scaler, RobustScaler: _scaler,
    SimpleImputer: _simple_imputer, OneHotEncoder: _one_hot, OrdinalEncoder: _ordinal,
    ColumnTransformer: _column_transformer, Pipeline: _pipeline, FunctionTransformer: _identity,
}


def _unsupported(transformer):
    return ExportError(
        f"export_model cannot translate {type(transformer).__name__} into Keras layers. "
        f"Supported preprocessors: {', '.join(SUPPORTED_TRANSFORMERS)} (and Pipelines or "
        "ColumnTransformers of them, with 'passthrough' and 'drop'). Use only these in the "
        "preprocessor, or serve with the estimator's predict instead of an exported model."
    )


def _translate(transformer, blocks):
    translator = _TRANSLATORS.get(type(transformer))
    if translator is None:
        raise _unsupported(transformer)
    return translator(transformer, blocks)


# -- which raw columns are text ------------------------------------------------------------
def _encoder_kinds(encoder, n):
    return [
        STRING if any(isinstance(v, str) for v in categories) else NUMBER
        for categories in encoder.categories_
    ]


def _imputer_kinds(imputer, n):
    if isinstance(imputer.missing_values, str):
        return [STRING] * n
    return [STRING if isinstance(s, str) else NUMBER for s in imputer.statistics_]


def _pipeline_kinds(pipeline, n):
    steps = [s for _, s in pipeline.steps if not _is_passthrough(s)]
    return _input_kinds(steps[0], n) if steps else [NUMBER] * n


def _column_transformer_kinds(ct, n):
    kinds = [NUMBER] * n
    for _, transformer, columns in _column_indices(ct):
        if columns and not isinstance(transformer, str):
            for column, kind in zip(columns, _input_kinds(transformer, len(columns))):
                kinds[column] = STRING if STRING in (kind, kinds[column]) else NUMBER
    return kinds


def _input_kinds(transformer, n):
    """STRING or NUMBER for each input column of a fitted transformer."""
    if transformer is None:
        return [NUMBER] * n
    if type(transformer) in (OneHotEncoder, OrdinalEncoder):
        return _encoder_kinds(transformer, n)
    if type(transformer) is SimpleImputer:
        return _imputer_kinds(transformer, n)
    if type(transformer) is Pipeline:
        return _pipeline_kinds(transformer, n)
    if type(transformer) is ColumnTransformer:
        return _column_transformer_kinds(transformer, n)
    if type(transformer) is FunctionTransformer and transformer.func is not None:
        raise _unsupported(transformer)
    if type(transformer) in _TRANSLATORS:
        return [NUMBER] * n
    raise _unsupported(transformer)


# -- the exported model ----------------------------------------------------------------------
def input_name(column):
    """The exported model's input name for a DataFrame column: characters other than letters,
    digits, '_', '.' and '-' become '_' (SavedModel signatures allow no others), and a name
    that does not start with a letter, digit or '.' gets the prefix 'c'."""
    name = re.sub(r"[^A-Za-z0-9_.\-]", "_", str(column))
    return name if re.match(r"[A-Za-z0-9.]", name) else "c" + name


def _input_names(columns):
    names = [input_name(c) for c in columns]
    clashes = sorted({c for c, n in zip(columns, names) if names.count(n) > 1})
    if clashes:
        raise ExportError(
            f"Columns {clashes} map to the same input name of the exported model (see "
            "skkeras_prep.export.input_name). Rename them so that they differ in letters or "
            "digits, and refit."
        )
    return names


def _make_inputs(estimator):
    """Keras inputs for raw features, and the blocks they start as."""
    n = int(estimator.n_features_in_)
    kinds = _input_kinds(estimator.preprocessor_, n)
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        if STRING in kinds:
            raise ExportError(
                "The estimator was fitted on an array with text columns. Fit it on a pandas "
                "DataFrame to export a model that takes text columns by name."
            )
        features = keras.Input(shape=(n,), dtype="float64", name="features")
        return features, [Block(features, NUMBER)]
    dtypes = {STRING: "string", NUMBER: "float64"}
    names = _input_names(names)
    inputs = {name: keras.Input(shape=(1,), dtype=dtypes[kind], name=name)
              for name, kind in zip(names, kinds)}
    return inputs, [Block(inputs[name], kind) for name, kind in zip(names, kinds)]


def _model_features(estimator, blocks):
    blocks = _merge(blocks)
    if any(b.kind == STRING for b in blocks):
        raise ExportError("The preprocessor passes text columns through to the model; encode them.")
    width = sum(_width(b) for b in blocks)
    if (width,) != tuple(estimator.input_shape_):
        raise ExportError(
            f"The translated preprocessor gives {width} features but the model takes "
            f"{tuple(estimator.input_shape_)}; please report this as a bug."
        )
    return JoinFeatures()([b.tensor for b in blocks])


def _copy_model(model):
    """An independent copy of the trained model (shares no weights with the estimator)."""
    try:
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
    except Exception:  # a subclassed model without a config cannot be cloned: reuse it
        return model
    return copy


def _inverse_target(transformer):
    """Affine arguments reproducing ``transformer.inverse_transform``."""
    if transformer is None:
        return {}
    kind = type(transformer)
    if kind is StandardScaler:
        return {"multiply": transformer.scale_ if transformer.with_std else None,
                "add": transformer.mean_ if transformer.with_mean else None}
    if kind is MinMaxScaler:
        return {"subtract": transformer.min_, "divide": transformer.scale_}
    if kind is MaxAbsScaler:
        return {"multiply": transformer.scale_}
    if kind is RobustScaler:
        return {"multiply": transformer.scale_ if transformer.with_scaling else None,
                "add": transformer.center_ if transformer.with_centering else None}
    raise ExportError(
        f"export_model cannot invert target_transformer={kind.__name__}. Supported target "
        f"transformers: {', '.join(SUPPORTED_TARGET_TRANSFORMERS)}."
    )


def _output_head(estimator, output):
    encoder = estimator.target_encoder_
    if isinstance(encoder, ClassifierTargetEncoder):
        return ProbabilityOutput(encoder.layout_)(output)
    values = Affine(**_inverse_target(encoder.target_transformer_))(output)
    return FirstColumn()(values) if encoder.y_ndim_ == 1 else values


def export_model(estimator):
    """A ``keras.Model`` from raw features to ``predict_proba`` (classifier) or ``predict``
    (regressor) output, with the fitted preprocessor translated into Keras layers.

    Raises ``ExportError`` (a ValueError) naming what cannot be translated. The model holds a
    copy of the trained weights; it reads float64 numbers, and text columns as strings with
    ``""`` for a missing value (see ``frame_to_inputs``).
    """
    check_is_fitted(estimator, "model_")
    inputs, blocks = _make_inputs(estimator)
    if estimator.preprocessor_ is not None:
        blocks = _translate(estimator.preprocessor_, blocks)
    output = _copy_model(estimator.model_)(_model_features(estimator, blocks))
    name = f"{type(estimator).__name__}_export"
    return keras.Model(inputs, _output_head(estimator, output), name=name)


def _as_text(values):
    """Strings for a string input: missing values become ``MISSING_STRING``."""
    return np.array([MISSING_STRING if _is_missing(v) else str(v) for v in values], dtype=object)


def frame_to_inputs(model, frame):
    """The inputs of an exported ``model`` for a pandas DataFrame: a dict of (n, 1) tensors,
    float64 for numeric inputs and strings (missing -> ``""``) for text inputs. An array is
    returned as one float64 tensor. Works for ``model(...)``, ``model.predict`` and the
    ``serve`` signature of a SavedModel written by ``model.export``."""
    if not isinstance(model.input, dict):
        return tf.constant(np.asarray(frame, dtype=np.float64))
    columns = {input_name(c): c for c in frame.columns}
    missing = [name for name in model.input if name not in columns]
    if missing:
        raise ValueError(
            f"The DataFrame lacks the column(s) for input(s) {missing} of the exported model; "
            "pass the columns the estimator was fitted on."
        )
    inputs = {}
    for name, spec in model.input.items():
        column = frame[columns[name]].to_numpy()
        if spec.dtype == "string":
            inputs[name] = tf.constant(_as_text(column).reshape(-1, 1), dtype=tf.string)
        else:
            inputs[name] = tf.constant(np.asarray(column, dtype=np.float64).reshape(-1, 1))
    return inputs
