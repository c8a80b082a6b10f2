"""From a fitted scikit-learn preprocessor to Keras layers: the translator registry.

``TRANSLATORS`` holds one entry per scikit-learn transformer class: the function that
translates a fitted instance into layers, the column kinds it accepts, how it tells which of
its input columns are text, and any setting it cannot translate. ``SUPPORTED_TRANSFORMERS``,
the error messages and the input kinds of the exported model are all derived from it, so
supporting a new transformer is one translation function and one entry here (and the
parametrized tests in tests/test_export.py ask for an example of it).

A translation works on *blocks*: (batch, k) tensors whose k columns share a kind (``NUMBER``
or ``STRING``). The raw inputs start as blocks, every translation takes the blocks of its
input columns and returns the blocks of its output columns, in order.
"""

import itertools
from collections import namedtuple
from typing import Callable, NamedTuple, Optional

import numpy as np
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

from .._compat import sklearn_column_transformer_input_indices, sklearn_infrequent_enabled
from ._common import MISSING_STRING, NUMBER, STRING, ExportError, floats, is_missing
from .layers import Affine, Concat, FillMissing, IsMissing, OneHot, Ordinal, SelectColumns

# -- blocks: the columns flowing through the translation -----------------------------------
Block = namedtuple("Block", "tensor kind")  # a (batch, k) tensor whose k columns share a kind


def width(block):
    return int(block.tensor.shape[1])


def merge(blocks):
    """Concatenate neighbouring blocks of the same kind (fewer, wider layers)."""
    merged = []
    for kind, group in itertools.groupby(blocks, key=lambda b: b.kind):
        group = list(group)
        tensor = group[0].tensor if len(group) == 1 else Concat()([b.tensor for b in group])
        merged.append(Block(tensor, kind))
    return merged


def _select(blocks, indices):
    """The blocks holding columns ``indices`` (in that order) of ``blocks``."""
    owner = [(b, j) for b, block in enumerate(blocks) for j in range(width(block))]
    picked = []
    for b, run in itertools.groupby((owner[i] for i in indices), key=lambda bj: bj[0]):
        columns = [j for _, j in run]
        block = blocks[b]
        if columns == list(range(width(block))):
            picked.append(block)
        else:
            picked.append(Block(SelectColumns(columns)(block.tensor), block.kind))
    return picked


def _map_blocks(blocks, make_block):
    """``make_block(block, columns)`` on each merged block; ``columns`` are its positions."""
    out, start = [], 0
    for block in merge(blocks):
        columns = list(range(start, start + width(block)))
        out.append(make_block(block, columns))
        start += len(columns)
    return out


def _numbers(transformer, n):
    """Input kinds of a transformer that takes numbers only."""
    return [NUMBER] * n


# -- scalers: one Affine layer each ----------------------------------------------------------
def _pick(values, columns):
    return None if values is None else np.asarray(values)[columns]


def _affine(vectors):
    """The translation of a scaler whose transform is ``Affine(**vectors(scaler))``: per-column
    vectors, and the scalars ``low`` and ``high`` for a clipped range."""

    def translate(scaler, blocks):
        arguments = vectors(scaler)
        clip = {k: arguments.pop(k) for k in ("low", "high") if k in arguments}

        def make(block, columns):
            picked = {k: _pick(v, columns) for k, v in arguments.items()}
            return Block(Affine(**picked, **clip)(block.tensor), NUMBER)

        return _map_blocks(blocks, make)

    return translate


def _standard_scaler(scaler):
    return {"subtract": scaler.mean_ if scaler.with_mean else None,
            "divide": scaler.scale_ if scaler.with_std else None}


def _min_max_scaler(scaler):
    vectors = {"multiply": scaler.scale_, "add": scaler.min_}
    if scaler.clip:
        vectors.update(low=float(scaler.feature_range[0]), high=float(scaler.feature_range[1]))
    return vectors


def _max_abs_scaler(scaler):
    return {"divide": scaler.scale_}


def _robust_scaler(scaler):
    return {"subtract": scaler.center_ if scaler.with_centering else None,
            "divide": scaler.scale_ if scaler.with_scaling else None}


# -- imputer ---------------------------------------------------------------------------------
def _missing_marker(missing_values, kind, transformer):
    """The value that marks a missing entry in a block of ``kind``."""
    if is_missing(missing_values):
        return MISSING_STRING if kind == STRING else None
    if isinstance(missing_values, str) == (kind == STRING):
        return missing_values if kind == STRING else float(missing_values)
    raise ExportError(
        f"{type(transformer).__name__}(missing_values={missing_values!r}) is applied to "
        f"{kind} columns; use missing_values=np.nan, or a marker of the columns' type."
    )


def _fill_value(value, kind):
    return str(value) if kind == STRING else (None if is_missing(value) else float(value))


def _simple_imputer(imputer, blocks):
    stats = imputer.statistics_

    def make(block, columns):
        missing = _missing_marker(imputer.missing_values, block.kind, imputer)
        fill = [_fill_value(stats[c], block.kind) for c in columns]
        return Block(FillMissing(fill, missing)(block.tensor), block.kind)

    filled = _map_blocks(blocks, make)
    keep = [c for c, s in enumerate(stats) if imputer.keep_empty_features or not is_missing(s)]
    out = filled if len(keep) == len(stats) else _select(filled, keep)
    if imputer.add_indicator:
        for block in _select(blocks, list(imputer.indicator_.features_)):
            missing = _missing_marker(imputer.missing_values, block.kind, imputer)
            out.append(Block(IsMissing(missing)(block.tensor), NUMBER))
    return out


def _imputer_kinds(imputer, n):
    if isinstance(imputer.missing_values, str):
        return [STRING] * n
    return [STRING if isinstance(s, str) else NUMBER for s in imputer.statistics_]


# -- encoders --------------------------------------------------------------------------------
def _check_not_infrequent(encoder):
    if sklearn_infrequent_enabled(encoder):
        raise ExportError(
            f"{type(encoder).__name__} groups infrequent categories (min_frequency or "
            "max_categories is set); export supports plain categories only. Refit with "
            "min_frequency=None and max_categories=None."
        )


def _split_categories(values, kind, encoder):
    """(real categories as str or float, whether a missing category ends the list)."""
    values = list(values)
    has_missing = bool(values) and is_missing(values[-1])
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
    unknown = floats([encoder.unknown_value])[0] if use_encoded else None
    encoded_missing = floats([encoder.encoded_missing_value])[0]

    def make(block, columns):
        categories, has_missing, missing = _encoder_columns(encoder, block, columns)
        layer = Ordinal(categories, has_missing, missing, unknown, encoded_missing)
        return Block(layer(block.tensor), NUMBER)

    return _map_blocks(blocks, make)


def _encoder_kinds(encoder, n):
    """Text where a column's categories are strings (``n`` is len(categories_))."""
    return [
        STRING if any(isinstance(v, str) for v in categories) else NUMBER
        for categories in encoder.categories_
    ]


# -- routing: Pipeline, ColumnTransformer, identity ------------------------------------------
def _is_passthrough(step):
    return step is None or (isinstance(step, str) and step == "passthrough")


def _identity(transformer, blocks):
    """FunctionTransformer() without a function: how a fitted ColumnTransformer stores
    'passthrough' columns."""
    return blocks


def _pipeline(pipeline, blocks):
    for _, step in pipeline.steps:
        if not _is_passthrough(step):
            blocks = translate(step, blocks)
    return blocks


def _pipeline_kinds(pipeline, n):
    steps = [s for _, s in pipeline.steps if not _is_passthrough(s)]
    return input_kinds(steps[0], n) if steps else [NUMBER] * n


def _column_indices(ct):
    """(name, fitted transformer, input column indices) for each part of a ColumnTransformer."""
    indices = sklearn_column_transformer_input_indices(ct)
    for name, transformer, _ in ct.transformers_:
        yield name, transformer, list(indices.get(name, []))


def _column_transformer(ct, blocks):
    out = []
    for _, transformer, columns in _column_indices(ct):
        if not columns or (isinstance(transformer, str) and transformer == "drop"):
            continue
        part = _select(blocks, columns)
        out += part if _is_passthrough(transformer) else translate(transformer, part)
    return out


def _column_transformer_kinds(ct, n):
    kinds = [NUMBER] * n
    for _, transformer, columns in _column_indices(ct):
        if columns and not isinstance(transformer, str):
            for column, kind in zip(columns, input_kinds(transformer, len(columns))):
                kinds[column] = STRING if STRING in (kind, kinds[column]) else NUMBER
    return kinds


# -- the registry ------------------------------------------------------------------------------
NUMBERS, ANY_KIND = frozenset({NUMBER}), frozenset({NUMBER, STRING})


class Translator(NamedTuple):
    """How one scikit-learn transformer class becomes Keras layers."""

    translate: Callable  # (fitted transformer, blocks of its input columns) -> output blocks
    accepts: frozenset = NUMBERS  # the column kinds it may receive
    input_kinds: Callable = _numbers  # (fitted transformer, n) -> the kind of each input column
    routes: bool = False  # passes columns on unchanged or to the transformers it holds
    supports: Optional[Callable] = None  # (fitted transformer) -> False for settings it lacks
    limits: str = ""  # what ``supports`` requires, for the error message


# Matched on the exact class: a subclass may transform differently.
TRANSLATORS = {
    StandardScaler: Translator(_affine(_standard_scaler)),
    MinMaxScaler: Translator(_affine(_min_max_scaler)),
    MaxAbsScaler: Translator(_affine(_max_abs_scaler)),
    RobustScaler: Translator(_affine(_robust_scaler)),
    SimpleImputer: Translator(_simple_imputer, accepts=ANY_KIND, input_kinds=_imputer_kinds),
    OneHotEncoder: Translator(_one_hot, accepts=ANY_KIND, input_kinds=_encoder_kinds),
    OrdinalEncoder: Translator(_ordinal, accepts=ANY_KIND, input_kinds=_encoder_kinds),
    ColumnTransformer: Translator(_column_transformer, accepts=ANY_KIND,
                                  input_kinds=_column_transformer_kinds, routes=True),
    Pipeline: Translator(_pipeline, accepts=ANY_KIND, input_kinds=_pipeline_kinds, routes=True),
    FunctionTransformer: Translator(
        _identity, accepts=ANY_KIND, routes=True, supports=lambda t: t.func is None,
        limits="without func (the identity, as a fitted ColumnTransformer stores "
               "'passthrough' columns)",
    ),
}

SUPPORTED_TRANSFORMERS = tuple(cls.__name__ for cls in TRANSLATORS)


def _unsupported(transformer, translator=None):
    name = type(transformer).__name__
    reason = f"; it is supported only {translator.limits}" if translator is not None else ""
    return ExportError(
        f"export_model cannot translate {name} into Keras layers{reason}. "
        f"Supported preprocessors: {', '.join(SUPPORTED_TRANSFORMERS)} (and Pipelines or "
        "ColumnTransformers of them, with 'passthrough' and 'drop'). Use only these in the "
        "preprocessor, or serve with the estimator's predict instead of an exported model."
    )


def _translator(transformer):
    """The registry entry for a fitted transformer; ExportError if there is none."""
    translator = TRANSLATORS.get(type(transformer))
    if translator is None:
        raise _unsupported(transformer)
    if translator.supports is not None and not translator.supports(transformer):
        raise _unsupported(transformer, translator)
    return translator


def translate(transformer, blocks):
    """The output blocks of a fitted ``transformer`` given the blocks of its input columns."""
    translator = _translator(transformer)
    if STRING not in translator.accepts and any(b.kind == STRING for b in blocks):
        takes_text = [cls.__name__ for cls, t in TRANSLATORS.items()
                      if STRING in t.accepts and not t.routes]
        raise ExportError(
            f"{type(transformer).__name__} receives text columns; only "
            f"{', '.join(takes_text)} take text. Encode the text columns first."
        )
    return translator.translate(transformer, blocks)


def input_kinds(transformer, n):
    """``STRING`` or ``NUMBER`` for each of the ``n`` input columns of a fitted transformer
    (None: no preprocessor, all numbers)."""
    if transformer is None:
        return [NUMBER] * n
    return _translator(transformer).input_kinds(transformer, n)
