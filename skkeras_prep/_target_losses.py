"""How a classifier's targets are laid out for its loss, and which losses fit which layout.

Nothing here needs TensorFlow. The layout is picked once the model's output width and loss are
known (``ClassifierTargetEncoder.set_output_width``); it decides what ``encode`` stores, the
batch dtype, and how ``to_proba`` (and an exported model's head) reads the outputs back.
"""

# How targets are laid out for the loss.
BINARY_COLUMN = "binary_column"  # float32 (n, 1) of 0/1, for one sigmoid unit
SPARSE_LABELS = "sparse_labels"  # int32 (n,) class indices, for softmax + sparse CE
ONE_HOT = "one_hot"  # float32 (n, k) one-hot rows, for softmax + categorical CE
INDICATOR = "indicator"  # float32 (n, k) 0/1 columns, for multilabel sigmoid units

# Losses that compare the output with a target of the same shape (element-wise or over the
# last axis), by their normalised names (_compiling.loss_name); and the one that takes class
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


def width_hint(target_type, n_classes):
    """The output widths a classifier's target needs, in words."""
    if target_type == "binary":
        return "1 (a sigmoid unit) or 2 (a softmax over both classes)"
    if target_type == "multiclass":
        return f"{n_classes} (one softmax unit per class)"
    return f"{n_classes} (one sigmoid unit per label)"


def classifier_layout(target_type, width, loss_name):
    """The layout of a classifier's targets for an output of ``width`` and this loss."""
    if target_type == "multilabel-indicator":
        return INDICATOR
    if width == 1:
        return BINARY_COLUMN
    if loss_name in SAME_SHAPE_LOSSES:
        return ONE_HOT  # e.g. categorical cross-entropy, or mse on softmax outputs
    return SPARSE_LABELS  # sparse categorical cross-entropy, or a custom loss


def check_classifier_loss(loss_name, width, layout, target_type):
    """Refuse a loss that cannot work with this target layout, before training."""
    if loss_name in SPARSE_LOSSES and layout in (BINARY_COLUMN, INDICATOR):
        what = "one sigmoid unit" if layout == BINARY_COLUMN else "multilabel 0/1 columns"
        raise ValueError(
            f"loss={loss_name!r} takes one class index per row and needs a softmax over "
            f"every class, but this {target_type} target is trained as {what} "
            f"(output width {width}). Use loss=None (binary cross-entropy) or "
            "'binary_crossentropy'."
        )
    if loss_name in PER_ROW_DISTRIBUTION_LOSSES and width == 1:
        raise ValueError(
            f"loss={loss_name!r} compares distributions over the output columns, so with "
            "one output unit it is constant and nothing is learned. Use loss=None "
            "(binary cross-entropy), or a softmax output of width 2 for this loss."
        )
