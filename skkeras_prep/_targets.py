"""Target encoders: user labels or values in, arrays for Keras out, and back again.

Nothing here needs TensorFlow. An encoder is fitted once per fit on the training targets, is
told the model's output width once the model is built (``set_output_width``), and then turns
targets into what the loss expects (``encode``) and model outputs into what scikit-learn's API
returns (``to_proba``, ``to_labels``, ``to_predictions``).
"""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import check_classification_targets, type_of_target

_CHUNK = 65536  # rows per chunk when labels are turned into class indices

# How targets are laid out for the loss.
BINARY_COLUMN = "binary_column"  # float32 (n, 1) of 0/1, for one sigmoid unit
SPARSE_LABELS = "sparse_labels"  # int32 (n,) class indices, for softmax + sparse CE
ONE_HOT = "one_hot"  # float32 (n, k) one-hot rows, for softmax + categorical CE
INDICATOR = "indicator"  # float32 (n, k) 0/1 columns, for multilabel sigmoid units


def _as_target_array(y):
    """Turn a list, Series, categorical, sparse indicator or array target into a numpy array.

    A categorical becomes an array of its categories' own dtype (int categories stay ints;
    an object array of ints would be an 'unknown' target type for scikit-learn)."""
    if sp.issparse(y):
        y = y.toarray()  # a sparse label indicator matrix: n_samples x n_labels, small
    y = np.asarray(y)
    if y.dtype.kind == "c":
        raise ValueError("Complex data not supported: y has a complex dtype; pass real values.")
    return y


# Losses that compare the output with a target of the same shape (element-wise or over the
# last axis), by their normalised names (_build.loss_name); and the one that takes class
# indices. Used to pick the target layout from the loss and to refuse impossible pairs.
SAME_SHAPE_LOSSES = frozenset({
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "huber", "log_cosh", "binary_crossentropy",
    "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy",
    "kl_divergence", "kldivergence", "poisson", "hinge", "squared_hinge", "categorical_hinge",
    "cosine_similarity",
})
SPARSE_LOSSES = frozenset({"sparse_categorical_crossentropy"})
# Losses normalised over the last axis: with a single output column they are always 0.
PER_ROW_DISTRIBUTION_LOSSES = frozenset({
    "categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge",
    "kl_divergence", "kldivergence", "cosine_similarity",
})


def _check_label_values(y):
    """Refuse missing (None, NaN) or mixed-type labels in an object array, naming rows."""
    if y.dtype.kind != "O" or y.ndim != 1:
        return
    missing = np.flatnonzero([v is None or (isinstance(v, float) and v != v) for v in y])
    if missing.size:
        raise ValueError(
            f"y contains missing labels (None or NaN) at {missing.size} row(s), first "
            f"{missing[:5].tolist()}. Drop those rows, or fill them with a label of their own, "
            "before fit."
        )
    kinds = sorted({"str" if isinstance(v, str) else "number" if isinstance(v, (int, float, np.number))
                    else type(v).__name__ for v in y})
    if len(kinds) > 1:
        raise ValueError(
            f"y mixes label types ({', '.join(kinds)}); labels must all be strings or all "
            "numbers. Convert them, e.g. y.astype(str)."
        )


def _ravel_column(y):
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change the "
            "shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning,
            stacklevel=4,
        )
        return y.ravel()
    return y


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
        y = _ravel_column(y)
        _check_label_values(y)
        check_classification_targets(y)
        if classes is None:
            classes = np.unique(y)
        else:
            classes = np.unique(np.asarray(classes))
            unseen = np.setdiff1d(np.unique(y), classes)
            if unseen.size:
                raise ValueError(
                    f"y contains labels {unseen.tolist()} that are not in classes="
                    f"{classes.tolist()}; pass every label in `classes`."
                )
        if classes.size < 2:
            raise ValueError(
                f"The target has only one class ({classes.tolist()}); a classifier needs at "
                "least 2 classes. Check the labels, or the row filter that produced them."
            )
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
        y = _ravel_column(y)
        _check_label_values(y)
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
        allowed = self.expected_widths()
        if width not in allowed:
            if self.target_type_ == "binary":
                hint = "1 (a sigmoid unit) or 2 (a softmax over both classes)"
            elif self.target_type_ == "multiclass":
                hint = f"{self.n_classes_} (one softmax unit per class)"
            else:
                hint = f"{self.n_classes_} (one sigmoid unit per label)"
            raise ValueError(
                f"The model's output has width {width}, but the {self.target_type_} target "
                f"with classes {self.classes_.tolist()} needs width {hint}. Use "
                "skkeras_prep.models.output_units(meta) in the builder, or read "
                "meta['n_classes_']."
            )
        if self.target_type_ == "multilabel-indicator":
            layout = INDICATOR
        elif width == 1:
            layout = BINARY_COLUMN
        elif loss_name in SAME_SHAPE_LOSSES:
            layout = ONE_HOT  # e.g. categorical cross-entropy, or mse on softmax outputs
        else:
            layout = SPARSE_LABELS  # sparse categorical cross-entropy, or a custom loss
        self._check_loss(loss_name, width, layout)
        self.output_width_ = width
        self.layout_ = layout
        self.logits_activation_ = None
        if from_logits:
            sigmoid = layout in (BINARY_COLUMN, INDICATOR) or str(loss_name).startswith("binary")
            self.logits_activation_ = "sigmoid" if sigmoid else "softmax"
        return self

    def _check_loss(self, loss_name, width, layout):
        """Refuse a loss that cannot work with this target layout, before training."""
        if loss_name in SPARSE_LOSSES and layout in (BINARY_COLUMN, INDICATOR):
            what = "one sigmoid unit" if layout == BINARY_COLUMN else "multilabel 0/1 columns"
            raise ValueError(
                f"loss={loss_name!r} takes one class index per row and needs a softmax over "
                f"every class, but this {self.target_type_} target is trained as {what} "
                f"(output width {width}). Use loss=None (binary cross-entropy) or "
                "'binary_crossentropy'."
            )
        if loss_name in PER_ROW_DISTRIBUTION_LOSSES and width == 1:
            raise ValueError(
                f"loss={loss_name!r} compares distributions over the output columns, so with "
                "one output unit it is constant and nothing is learned. Use loss=None "
                "(binary cross-entropy), or a softmax output of width 2 for this loss."
            )

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
        if out.size and (not np.all(np.isfinite(out)) or out.min() < -1e-6 or out.max() > 1 + 1e-6):
            raise ValueError(
                "The model's outputs are not probabilities (values outside [0, 1] or not "
                "finite). End the model with a 'sigmoid' (binary, multilabel) or 'softmax' "
                "(multiclass) activation, or, if it returns logits, train it with a loss that "
                "says so (loss__from_logits=True or a loss object with from_logits=True)."
            )
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


def _check_finite_target(y):
    if not np.isfinite(y).all():
        raise ValueError(
            "y contains NaN or infinity. Drop or impute those rows before fit; a regressor "
            "needs a finite target for every row."
        )


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
            y = _ravel_column(y)
        _check_finite_target(y)
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
        _check_finite_target(y)
        y2 = y.reshape(len(y), -1)
        if y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2.shape[1]} output column(s), but the estimator was first fitted "
                f"with {self.n_outputs_}."
            )
        return y

    def set_output_width(self, width, loss_name=None, from_logits=False):
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
        if self.target_transformer_ is not None:
            if not (np.abs(y2) <= np.finfo(np.float32).max).all():  # NaN, infinite or too large
                largest = np.abs(np.asarray(y, dtype=np.float64)).max()
                raise ValueError(
                    f"The target_transformer {type(self.target_transformer_).__name__} could not "
                    "bring y into float32's range (the model's precision): y has values up to "
                    f"{largest:.3g}, too large to standardise in float64 (their squares "
                    "overflow), and it returned NaN, infinite or still huge values. Divide y "
                    "by a power of ten before fit (and multiply the predictions back)."
                )
        elif np.abs(y2).max(initial=0.0) > np.finfo(np.float32).max:
            raise ValueError(
                f"y has values up to {np.abs(y2).max():.3g}, too large for float32 (the model's "
                "precision). Standardise it with target_transformer='auto' (the default; "
                "target_transformer=None trains on y as it is), or divide y by a power of ten."
            )
        return y2.astype(np.float32)

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
