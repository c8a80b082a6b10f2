"""Target encoders: user labels or values in, arrays for Keras out, and back again.

Nothing here needs TensorFlow. An encoder is fitted once per fit on the training targets, is
told the model's output width once the model is built (``set_output_width``), and then turns
targets into what the loss expects (``targets``: a ``_target_layout.Targets``, made from
``encode`` and ``batch_dtype``) and model outputs into what scikit-learn's API returns
(``to_proba``, ``to_labels``, ``to_predictions``). The checks of y are in ``_target_checks``,
the classifier's target layouts and their losses in ``_target_losses``.

Saved files and pickles name the three encoder classes as ``skkeras_prep._targets.<class>``:
the two of one output are defined here; the encoder of several outputs lives with the
structure of the targets (``_target_layout``) and is found here by that name (``__getattr__``).
"""

import numpy as np
from sklearn.base import clone
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from . import _target_layout
from ._target_checks import (as_target_array as _as_target_array, check_finite_target,
                             check_float32_range, check_label_values, check_probabilities,
                             check_target_columns, known_classes, ravel_column)
from ._target_layout import Targets, check_one_width
from ._target_losses import (BINARY_COLUMN, INDICATOR, ONE_HOT, SPARSE_LABELS, SPARSE_LOSSES,
                             check_classifier_loss, classifier_layout, width_hint)

__all__ = ["ClassifierTargetEncoder", "RegressorTargetEncoder",
           "check_target_columns"]  # also imported from here: BINARY_COLUMN, INDICATOR

_CHUNK = 65536  # rows per chunk when labels are turned into class indices


class ClassifierTargetEncoder:
    """Labels <-> class indices or indicator columns; knows ``classes_`` and the target type."""

    def fit(self, y, classes=None):
        y = _as_target_array(y)
        if y.ndim == 0 or y.size == 0 and y.ndim == 1:
            raise ValueError("y is empty or a scalar; pass one label per row of X.")
        target_type = type_of_target(y, input_name="y") if y.ndim == 2 and y.shape[1] > 1 else None
        if target_type == "multilabel-indicator":
            self.target_type_ = "multilabel-indicator"
            self.classes_ = np.arange(y.shape[1])
            self.n_outputs_ = y.shape[1]
            self.n_classes_ = y.shape[1]
            return y
        if y.ndim == 2 and y.shape[1] > 1:
            raise ValueError(
                f"y has shape {y.shape}; a classifier takes one label per row, or a 0/1 "
                "indicator matrix for multilabel targets. For several output columns of "
                "labels, wrap the classifier in sklearn.multioutput.MultiOutputClassifier."
            )
        y = ravel_column(y)
        check_label_values(y)
        check_classification_targets(y)
        classes = known_classes(y, classes)
        self.classes_ = classes
        self.n_classes_ = classes.size
        self.target_type_ = "binary" if classes.size == 2 else "multiclass"
        self.n_outputs_ = 1
        return y

    def check_labels(self, y):
        """Validate labels against the fitted classes (later partial_fit calls, score)."""
        y = _as_target_array(y)
        if self.target_type_ == "multilabel-indicator":
            if y.ndim != 2 or y.shape[1] != self.n_outputs_:
                raise ValueError(
                    f"y must be an indicator matrix with {self.n_outputs_} columns, as at "
                    f"the first fit; got shape {y.shape}."
                )
            return y
        y = ravel_column(y)
        check_label_values(y)
        check_classification_targets(y)
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(
                f"y contains new labels {unseen.tolist()} not seen at the first fit (classes_="
                f"{self.classes_.tolist()}). Pass all labels with partial_fit(..., classes=...) "
                "on the first call, or refit from scratch."
            )
        return y

    # -- model output layout -------------------------------------------------------------
    def expected_widths(self):
        if self.target_type_ == "binary":
            return (1, 2)
        return (self.n_classes_,)

    def set_output_width(self, width, loss_name, from_logits=False):
        """Pick the target layout for the model's output width and loss; check the width.
        ``from_logits``: the loss reads logits, so ``to_proba`` applies the sigmoid (one
        unit, multilabel, binary cross-entropy) or the softmax (the other losses) first."""
        check_one_width(width)
        allowed = self.expected_widths()
        if width not in allowed:
            raise ValueError(
                f"The model's output has width {width}, but the {self.target_type_} target "
                f"with classes {self.classes_.tolist()} needs width "
                f"{width_hint(self.target_type_, self.n_classes_)}. Use "
                "skkeras_prep.models.output_units(meta) in the builder, or read "
                "meta['n_classes_']."
            )
        layout = classifier_layout(self.target_type_, width, loss_name)
        check_classifier_loss(loss_name, width, layout, self.target_type_)
        self.output_width_ = width
        self.layout_ = layout
        self.logits_activation_ = None
        if from_logits:
            sigmoid = layout in (BINARY_COLUMN, INDICATOR) or str(loss_name).startswith("binary")
            self.logits_activation_ = "sigmoid" if sigmoid else "softmax"
        return self

    def default_loss(self, width=None):
        """The loss for ``loss=None``, for the output width set (or ``width``)."""
        width = self.output_width_ if width is None else width
        if self.target_type_ == "multilabel-indicator" or (
            self.target_type_ == "binary" and width == 1
        ):
            return "binary_crossentropy"
        return "sparse_categorical_crossentropy"

    def class_indices(self, y):
        """Class index of each label (not for multilabel), in the smallest unsigned integer
        type that holds them; computed in chunks, so no int64 copy of y is made."""
        y = np.asarray(y)
        out = np.empty(len(y), dtype=np.min_scalar_type(max(self.n_classes_ - 1, 0)))
        for start in range(0, len(y), _CHUNK):
            out[start:start + _CHUNK] = np.searchsorted(self.classes_, y[start:start + _CHUNK])
        return out

    def targets(self, y):
        """The encoded targets of a fit (``_target_layout.Targets``): ``encode(y)``, cast to
        ``batch_dtype()`` one batch at a time. A subclass changes the encoding by overriding
        ``encode`` (and ``batch_dtype``, for another dtype)."""
        return Targets(self.encode(y), self.batch_dtype())

    def encode(self, y):
        """Targets as stored for training: compact integers (1 byte a row for up to 256
        classes) that ``_dataset`` casts to ``batch_dtype()`` one batch at a time."""
        if self.layout_ == INDICATOR:
            return np.asarray(y).astype(np.uint8)  # validated 0/1 columns
        idx = self.class_indices(y)
        if self.layout_ == BINARY_COLUMN:
            return idx.reshape(-1, 1)
        if self.layout_ == ONE_HOT:
            return np.eye(self.n_classes_, dtype=np.uint8)[idx]
        return idx

    def batch_dtype(self):
        """The dtype the loss gets: class indices for sparse cross-entropy, else floats."""
        return np.int32 if self.layout_ == SPARSE_LABELS else np.float32

    # -- model output -> sklearn -----------------------------------------------------------
    def to_proba(self, output):
        out = np.asarray(output, dtype=np.float64)
        activation = getattr(self, "logits_activation_", None)  # absent in files of 0.1
        if activation == "sigmoid":
            out = 0.5 * (1.0 + np.tanh(0.5 * out))  # the logistic function, without overflow
        elif activation == "softmax":
            out = np.exp(out - out.max(axis=1, keepdims=True))
            out /= out.sum(axis=1, keepdims=True)
        check_probabilities(out)
        out = np.clip(out, 0.0, 1.0)
        if self.layout_ == INDICATOR:
            return out
        if self.layout_ == BINARY_COLUMN:
            p = out[:, 0]
            return np.column_stack([1.0 - p, p])
        total = out.sum(axis=1, keepdims=True)
        total[total == 0] = 1.0
        return out / total

    def to_labels(self, proba):
        if self.layout_ == INDICATOR:
            return (proba > 0.5).astype(int)
        if self.target_type_ == "binary":
            return self.classes_[(proba[:, 1] > proba[:, 0]).astype(int)]
        return self.classes_[np.argmax(proba, axis=1)]

    def export_head(self):
        """The output head of an exported model, as (step, arguments) pairs that
        ``skkeras_prep.export`` turns into Keras layers: what ``to_proba`` does."""
        activation = getattr(self, "logits_activation_", None)
        head = [("logits", {"activation": activation})] if activation else []
        return head + [("probabilities", {"layout": self.layout_})]


class RegressorTargetEncoder:
    """Values -> float32 columns (optionally through a fitted target transformer) and back."""

    def fit(self, y, target_transformer=None):
        y = _as_target_array(y)
        if y.ndim == 0 or y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D (n_samples, n_outputs); got shape {y.shape}.")
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    "y contains non-numeric values; a regressor needs numbers. For labels, "
                    "use KerasPipelineClassifier."
                ) from None
        if y.ndim == 2 and y.shape[1] == 1:
            y = ravel_column(y)
        check_finite_target(y)
        self.y_ndim_ = y.ndim
        y2 = y.reshape(len(y), -1).astype(np.float64)
        self.n_outputs_ = y2.shape[1]
        self.target_type_ = "continuous" if self.n_outputs_ == 1 else "continuous-multioutput"
        if target_transformer is not None:
            self.target_transformer_ = clone(target_transformer).fit(y2)
        else:
            self.target_transformer_ = None
        return y

    def check_values(self, y):
        y = _as_target_array(y).astype(np.float64)
        check_finite_target(y)
        y2 = y.reshape(len(y), -1)
        if y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2.shape[1]} output column(s), but the estimator was first fitted "
                f"with {self.n_outputs_}."
            )
        return y

    def set_output_width(self, width, loss_name=None, from_logits=False):
        check_one_width(width)
        if from_logits:
            raise ValueError(
                "The loss has from_logits=True, which is for classification; a regressor's "
                "outputs are the predictions. Drop from_logits (or loss__from_logits)."
            )
        if loss_name in SPARSE_LOSSES:
            raise ValueError(
                f"loss={loss_name!r} takes integer class indices; a regressor needs a "
                "regression loss such as loss=None (mean squared error), "
                "'mean_absolute_error' or keras.losses.Huber. For labels, use "
                "KerasPipelineClassifier."
            )
        if width != self.n_outputs_:
            raise ValueError(
                f"The model's output has width {width}, but y has {self.n_outputs_} output "
                f"column(s). Use skkeras_prep.models.output_units(meta) or "
                "meta['n_outputs_'] in the builder."
            )
        self.output_width_ = width
        return self

    def default_loss(self, width=None):
        return "mean_squared_error"

    def encode(self, y):
        y2 = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if self.target_transformer_ is not None:
            y2 = np.asarray(self.target_transformer_.transform(y2), dtype=np.float64)
        check_float32_range(y, y2, self.target_transformer_)
        return y2.astype(np.float32)

    def targets(self, y):
        """The encoded targets of a fit (``_target_layout.Targets``), float32 columns."""
        return Targets(self.encode(y), self.batch_dtype())

    def batch_dtype(self):
        return np.float32

    def to_predictions(self, output):
        out = np.asarray(output, dtype=np.float64).reshape(len(output), -1)
        if self.target_transformer_ is not None:
            out = np.asarray(self.target_transformer_.inverse_transform(out), dtype=np.float64)
            out = out.reshape(len(output), -1)
        if self.y_ndim_ == 1:
            return out[:, 0]
        return out

    def export_head(self):
        """The output head of an exported model, as (step, arguments) pairs that
        ``skkeras_prep.export`` turns into Keras layers: what ``to_predictions`` does."""
        steps = [("inverse_transform", {"transformer": self.target_transformer_})]
        if self.y_ndim_ == 1:
            steps.append(("first_column", {}))
        return steps


def __getattr__(name):
    """The encoder of several outputs, by the name files and pickles give it."""
    if name == "MultiOutputEncoder":
        return getattr(_target_layout, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
