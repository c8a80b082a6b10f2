"""The output head of an exported model: model outputs -> what the estimator returns.

The target encoder describes its own head (``export_head()`` in ``skkeras_prep._targets``) as
plain (step, arguments) pairs, the way its ``to_proba`` / ``to_predictions`` decode outputs;
this module turns each step into a Keras layer. A regressor's ``target_transformer_`` is
inverted by an Affine layer, which exists for the scalers in ``_INVERSES``.
"""

from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler

from ._common import ExportError
from .layers import Affine, FirstColumn, LogitsToProbabilities, ProbabilityOutput


def _standard_scaler(t):
    return {"multiply": t.scale_ if t.with_std else None, "add": t.mean_ if t.with_mean else None}


def _min_max_scaler(t):
    return {"subtract": t.min_, "divide": t.scale_}


def _max_abs_scaler(t):
    return {"multiply": t.scale_}


def _robust_scaler(t):
    return {"multiply": t.scale_ if t.with_scaling else None,
            "add": t.center_ if t.with_centering else None}


# Affine arguments reproducing ``inverse_transform``, per exact class of target transformer.
_INVERSES = {
    StandardScaler: _standard_scaler, MinMaxScaler: _min_max_scaler,
    MaxAbsScaler: _max_abs_scaler, RobustScaler: _robust_scaler,
}

SUPPORTED_TARGET_TRANSFORMERS = ("None",) + tuple(cls.__name__ for cls in _INVERSES)


def _inverse_transform(transformer):
    if transformer is None:
        return Affine()
    inverse = _INVERSES.get(type(transformer))
    if inverse is None:
        raise ExportError(
            f"export_model cannot invert target_transformer={type(transformer).__name__}. "
            f"Supported target transformers: {', '.join(SUPPORTED_TARGET_TRANSFORMERS)}."
        )
    return Affine(**inverse(transformer))


# The steps a target encoder's ``export_head()`` may name, and the layer each becomes.
_STEPS = {
    "logits": LogitsToProbabilities,  # activation: "sigmoid" or "softmax" (from_logits losses)
    "probabilities": ProbabilityOutput,  # layout: how to_proba reads the outputs
    "inverse_transform": _inverse_transform,  # transformer: the fitted target transformer
    "first_column": FirstColumn,  # (batch, 1) -> (batch,) for a 1-D y
}


def output_head(target_encoder, output):
    """``output`` (the model's output tensor) through the head ``target_encoder`` describes."""
    for step, arguments in target_encoder.export_head():
        if step not in _STEPS:
            raise ExportError(
                f"The target encoder asks for an output step {step!r} that export does not "
                f"know (known: {sorted(_STEPS)}); please report this as a bug."
            )
        output = _STEPS[step](**arguments)(output)
    return output
