"""Target encoders: user labels or values in, arrays for Keras out, and back again.

Nothing here needs TensorFlow. An encoder is fitted once per fit on the training targets, is
told the model's output width once the model is built (``set_output_width``), and then turns
targets into what the loss expects (``targets``: a ``_target_layout.Targets``, made from
``encode`` and ``batch_dtype``) and model outputs into what scikit-learn's API returns
(``to_proba``, ``to_labels``, ``to_predictions``). The checks of y are in ``_target_checks``,
the classifier's target layouts and their losses in ``_target_losses``.

Saved files and pickles name the three encoder classes as ``skkeras_prep._targets.<class>``:
they stay defined here.
"""

import numpy as np
from sklearn.base import clone
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ._output_keys import per_output, split_targets
from ._target_checks import (as_target_array as _as_target_array, check_finite_target,
                             check_float32_range, check_label_values, check_probabilities,
                             check_target_columns, known_classes, ravel_column,
                             refuse_several_outputs)
from ._target_layout import Targets, side_by_side
from ._target_losses import (BINARY_COLUMN, INDICATOR, ONE_HOT, SPARSE_LABELS, SPARSE_LOSSES,
                             check_classifier_loss, classifier_layout, width_hint)
from .multi_io import MultiOutput, is_multi_target

__all__ = ["ClassifierTargetEncoder", "MultiOutputEncoder", "RegressorTargetEncoder",
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
        refuse_several_outputs(width)
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
        refuse_several_outputs(width)
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


# -- several outputs -------------------------------------------------------------------------
def encoder_for(y, n_rows, make_one, kind):
    """A new encoder for y: ``MultiOutputEncoder`` (one ``make_one()`` per output) when y
    holds one target per model output (``multi_io.is_multi_target``), else ``make_one()``."""
    return MultiOutputEncoder(make_one, kind) if is_multi_target(y, n_rows) else make_one()


def model_output_count(encoder):
    """The number of output tensors the model has: one per target for several outputs."""
    return len(encoder.heads_) if getattr(encoder, "several_outputs", False) else 1


class MultiOutputEncoder:
    """One target encoder per model output (a classifier's or a regressor's kind for every
    head). Targets are given as a dict or ``MultiOutput`` keyed by output name, or a list in
    the model's output order; the output names are matched once the model is built
    (``set_output_width``). For training, every head's encoded columns are stored side by side
    in one array (``targets``), whose heads tell ``_dataset`` how to cut a batch into the
    dict of per-output targets Keras takes."""

    several_outputs = True

    def __init__(self, make_head, kind):
        self.make_head = make_head
        self.kind = kind  # "classifier" or "regressor": the target type of the whole

    def fit(self, y, **kwargs):
        keys, targets = split_targets(y)
        self.keys_ = keys
        self.names_ = list(keys) if keys is not None else None
        classes = kwargs.pop("classes", None)
        if classes is not None and len(classes) != len(targets):
            raise ValueError(
                f"classes must hold one array of labels per output ({len(targets)}); got "
                f"{len(classes)}."
            )
        self.heads_, checked = [], []
        for i, target in enumerate(targets):
            head = self.make_head()
            head_kwargs = dict(kwargs)
            if classes is not None:
                head_kwargs["classes"] = classes[keys[i]] if isinstance(classes, dict) else classes[i]
            try:
                checked.append(head.fit(target, **head_kwargs))
            except (ValueError, TypeError) as error:
                raise type(error)(f"Target of output {self._label(i)!r}: {error}") from error
            self.heads_.append(head)
        # The factory is often a bound method of the estimator, which keeps this encoder:
        # holding it after the fit would put the estimator in a reference cycle, freed (and
        # its model handed back to the pool, ``_pool``) only by a garbage collection.
        self.make_head = None
        self.n_outputs_ = len(self.heads_)
        if self.kind == "classifier":
            self.target_type_ = "multiclass-multioutput"
            self.classes_ = [h.classes_ for h in self.heads_]
            self.n_classes_ = [h.n_classes_ for h in self.heads_]
        else:
            self.target_type_ = "continuous-multioutput"
        return self._container(checked)

    def _label(self, i):
        return self.names_[i] if self.names_ is not None else str(i)

    def _container(self, targets):
        """The checked targets, keyed as given (a list stays positional)."""
        if self.keys_ is None:
            return MultiOutput(list(targets))
        return MultiOutput(dict(zip(self.keys_, targets)))

    def _aligned(self, y):
        """The targets of ``y`` in head order, checked against the fitted outputs."""
        keys, targets = split_targets(y)
        if len(targets) != len(self.heads_):
            raise ValueError(
                f"y has {len(targets)} target(s), but the estimator was fitted with "
                f"{len(self.heads_)} outputs {self.names_}."
            )
        if keys is None:
            return targets
        if sorted(keys) != sorted(self.names_):
            raise ValueError(
                f"y has targets for outputs {keys}, but the model's outputs are {self.names_}."
            )
        by_key = dict(zip(keys, targets))
        return [by_key[name] for name in self.names_]

    def _checked_again(self, y, method):
        targets = self._aligned(y)
        out = []
        for i, (head, target) in enumerate(zip(self.heads_, targets)):
            try:
                out.append(getattr(head, method)(target))
            except (ValueError, TypeError) as error:
                raise type(error)(f"Target of output {self._label(i)!r}: {error}") from error
        return self._container(out)

    def check_labels(self, y):
        return self._checked_again(y, "check_labels")

    def check_values(self, y):
        return self._checked_again(y, "check_values")

    # -- model output layout -------------------------------------------------------------
    def _match_outputs(self, widths):
        """Match the targets to the model's outputs (``widths``: ``{output name: width}``):
        heads put in the model's output order and named. Idempotent."""
        n = len(self.heads_)
        if not isinstance(widths, dict):
            raise ValueError(
                f"y holds {n} target(s) (one per output), but the model has a single output "
                f"of width {widths}. Build a model with one named output per target "
                "(keras.Model(inputs, {name: output, ...})), or pass y as one array."
            )
        names = list(widths)
        if self.keys_ is not None:
            if sorted(self.keys_) != sorted(names):
                raise ValueError(
                    f"y has targets for outputs {self.keys_}, but the model's outputs are "
                    f"{names}. Key y by the model's output names."
                )
            order = {key: i for i, key in enumerate(self.keys_)}
            self.heads_ = [self.heads_[order[name]] for name in names]
            self.keys_ = list(names)
        elif len(names) != n:
            raise ValueError(
                f"y holds {n} target(s), but the model has {len(names)} outputs {names}; pass "
                "one target per output."
            )
        self.names_ = names
        if self.kind == "classifier":
            self.classes_ = [h.classes_ for h in self.heads_]
            self.n_classes_ = [h.n_classes_ for h in self.heads_]
        return names

    def set_output_width(self, widths, loss_names=None, from_logits=False):
        """Match the targets to the model's outputs (``widths``: ``{output name: width}``)
        and check each head's width and loss (``loss_names``, ``from_logits``: one value,
        or a dict by output name / list in output order)."""
        names = self._match_outputs(widths)
        losses = per_output(loss_names, names, "loss")
        logits = per_output(from_logits, names, "loss")
        for name, head, loss, head_logits in zip(names, self.heads_, losses, logits):
            try:
                head.set_output_width(widths[name], loss, from_logits=bool(head_logits))
            except ValueError as error:
                raise ValueError(f"Output {name!r}: {error}") from error
        return self

    def default_loss(self, width=None):
        """The loss for ``loss=None``: each head's default, as a dict by output name. Without
        ``width`` (before the model is built: a builder's ``compile_kwargs``), each head's
        default for the default model's width, keyed as y is (a list for a positional y)."""
        if width is None:
            losses = [head.default_loss(1) for head in self.heads_]
            return losses if self.keys_ is None else dict(zip(self.keys_, losses))
        names = self._match_outputs(width)
        return {name: head.default_loss(width[name]) for name, head in zip(names, self.heads_)}

    def targets(self, y):
        """Every head's encoded targets (its own ``targets``, so a subclass's ``encode``)
        side by side in one ``_target_layout.Targets``, one named head per output."""
        parts = [head.targets(t) for head, t in zip(self.heads_, self._aligned(y))]
        return side_by_side(self.names_, parts)

    # -- model output -> sklearn -----------------------------------------------------------
    def to_proba(self, outputs):
        return [head.to_proba(out) for head, out in zip(self.heads_, outputs)]

    def to_labels(self, probas):
        labels = [head.to_labels(p) for head, p in zip(self.heads_, probas)]
        return np.column_stack(labels)

    def to_predictions(self, outputs):
        values = [head.to_predictions(out) for head, out in zip(self.heads_, outputs)]
        return np.column_stack(values)

    def targets_in_order(self, y):
        """The targets of ``y`` in head order, each 2-D: from a dict, list or ``MultiOutput``,
        or the columns of a 2-D array laid out as ``predict`` returns them."""
        if is_multi_target(y) or (isinstance(y, (list, tuple)) and len(y) == len(self.heads_)):
            targets = self._aligned(y)
            return [np.asarray(t).reshape(len(t), -1) for t in targets]
        y = np.asarray(y)
        widths = [head.n_outputs_ for head in self.heads_]
        if y.ndim != 2 or y.shape[1] != sum(widths):
            raise ValueError(
                f"y has shape {y.shape}, but the estimator predicts {sum(widths)} column(s) for "
                f"outputs {self.names_}; pass y as a dict keyed by output name, or a 2-D array "
                "laid out as predict returns it."
            )
        return np.split(y, np.cumsum(widths)[:-1], axis=1)

    def stack(self, y):
        """``y`` as one 2-D float array in head order, as ``predict`` returns it (regressor
        ``score``)."""
        return np.concatenate([t.astype(np.float64) for t in self.targets_in_order(y)], axis=1)

    def subset_accuracy(self, probas, y, sample_weight=None):
        """The share of rows whose every output is predicted right (scikit-learn's score of
        multi-output classifiers), weighted by ``sample_weight``."""
        targets = self.targets_in_order(y)
        correct = np.ones(len(targets[0]), dtype=bool)
        for head, proba, target in zip(self.heads_, probas, targets):
            labels = np.asarray(head.to_labels(proba)).reshape(len(target), -1)
            correct &= (labels == target).all(axis=1)
        return float(np.average(correct, weights=sample_weight))

    def export_head(self):
        raise ValueError(
            "Several outputs have one export head each (heads_[i].export_head()); "
            "skkeras_prep.export.structure builds them. Please report this as a bug."
        )
