"""The encoded targets of one fit, as the training pipelines read them: ``Targets``.

A target encoder (``_targets``) turns the user's y into one ``Targets``: the encoded values as
one array with a row per sample, the dtype each batch of it is cast to, and the heads, which
say how a batch becomes what Keras compares with the model's outputs. One output is one head
named None (its batch goes to Keras as it is); several outputs are one named head each, their
columns side by side in the array, cut apart into a dict ``{output name: columns}`` per batch.
``_dataset`` and ``_training`` handle both the same way, and never ask how many outputs there
are. Nothing here needs TensorFlow: a pipeline passes its own cast (``split``).

The one module of the target side that knows there may be several outputs: their encoder
(``MultiOutputEncoder``) and what any encoder answers alike for one output or several (e.g.
``map_heads``, ``output_widths``, a loss per output, a loaded file's heads); others ask these.
"""

import copy

import numpy as np

from .multi_io import MultiOutput, each_output, is_multi_target, split_targets


class Targets:
    """Encoded targets: ``values`` (one row per sample), ``dtype`` (what a batch is cast to)
    and ``heads``, a tuple of ``(output name, first column, end column, dtype name, squeeze
    to 1-D)``, one per output; a single output is one head named None."""

    __slots__ = ("values", "dtype", "heads")

    def __init__(self, values, dtype=None, heads=None):
        self.values = np.asarray(values)
        self.dtype = np.dtype(self.values.dtype if dtype is None else dtype)
        if heads is None:
            width = 1 if self.values.ndim == 1 else int(np.prod(self.values.shape[1:]))
            heads = ((None, 0, width, self.dtype.name, self.values.ndim == 1),)
        self.heads = tuple(tuple(head) for head in heads)
        if not self.heads:
            raise ValueError("Targets need at least one head (one per model output).")

    def __len__(self):
        return len(self.values)

    def __repr__(self):
        names = [head[0] for head in self.heads]
        return (f"Targets(n={len(self)}, shape={self.values.shape}, dtype={self.dtype.name}, "
                f"heads={names})")

    @property
    def single(self):
        """Whether the model has one output (one head named None): its batch is the targets."""
        return len(self.heads) == 1 and self.heads[0][0] is None

    @property
    def row_shape(self):
        """The shape of one row of a batch, before ``split``."""
        return self.values.shape[1:]

    def take(self, rows):
        """The targets of ``rows`` (an index array or a slice), e.g. a validation split."""
        return Targets(self.values[rows], self.dtype, self.heads)

    def batch(self, rows):
        """The values of ``rows`` cast to ``dtype``: a batch as a pipeline gathers it."""
        return self.values[rows].astype(self.dtype)

    def split(self, batch, cast):
        """A batch of ``batch()`` -> what Keras compares with the outputs: the batch itself for
        one unnamed output, else ``{output name: its columns}``, each cast with ``cast(columns,
        dtype name)`` (numpy's or TensorFlow's, as the caller's batch is)."""
        return split_batch(self.heads, batch, cast)


def split_batch(heads, batch, cast):
    """``Targets.split`` for ``heads`` alone: a pipeline traced into the graph keeps the heads,
    never the ``Targets`` and its values."""
    if len(heads) == 1 and heads[0][0] is None:
        return batch
    return {name: cast(batch[:, start] if squeeze else batch[:, start:stop], dtype)
            for name, start, stop, dtype, squeeze in heads}


def side_by_side(names, parts):
    """The ``Targets`` of several outputs: each output's ``Targets`` (in ``names`` order), their
    columns side by side in one array of a dtype that holds them all, cast to float32 per batch
    and back to each output's dtype by ``split``."""
    columns, start = [], 0
    for name, part in zip(names, parts):
        width = 1 if part.values.ndim == 1 else part.values.shape[1]
        columns.append((name, start, start + width, part.dtype.name, part.values.ndim == 1))
        start += width
    dtype = np.result_type(*[part.values.dtype for part in parts])
    values = np.concatenate(
        [p.values.reshape(len(p.values), -1).astype(dtype, copy=False) for p in parts], axis=1)
    return Targets(values, np.float32, columns)


# -- the encoder of several outputs ------------------------------------------------------
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
    # Files and pickles have always named it ``skkeras_prep._targets.MultiOutputEncoder``, and
    # keep doing so (the file format is unchanged): ``_targets`` returns it for that name.
    __module__ = "skkeras_prep._targets"

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
        losses = each_output(loss_names, names, "loss")
        logits = each_output(from_logits, names, "loss")
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


# -- what every encoder answers, one output or several ----------------------------------------
def heads_are_named(encoder):
    """Whether ``encoder`` (any value, e.g. read from a file) encodes several outputs, each a
    named head, rather than one output (one head named None)."""
    return isinstance(encoder, MultiOutputEncoder)


def map_heads(encoder, output, fn, join=list):
    """``fn(head encoder, its model output)`` over the outputs, in the encoder's order: for
    one output ``fn(encoder, output)``; for several ``join`` of the list of results, the
    model's ``output`` being a dict by output name or a list in the encoder's order."""
    if not isinstance(encoder, MultiOutputEncoder):
        return fn(encoder, output)
    parts = [output[name] for name in encoder.names_] if isinstance(output, dict) else list(output)
    return join([fn(head, part) for head, part in zip(encoder.heads_, parts)])


def map_outputs(fn, value):
    """``fn`` of a result per output (``predict_proba``'s: a list, one per output)."""
    return [fn(part) for part in value] if isinstance(value, list) else fn(value)


def join_rows(batches):
    """Batches of model outputs (each an array, or for several outputs a list of one array
    per output) joined along their rows."""
    if isinstance(batches[0], list):
        return [np.concatenate(parts, axis=0) for parts in zip(*batches)]
    return np.concatenate(batches, axis=0)


def one_output(structure):
    """The one entry of a list, tuple or dict of one (``keras.Model(inp, [out])`` or
    ``{name: out}``): a structure of one output is one output, for its width, its target and
    its predictions; anything else as it is. (A tuple of two ints is a shape, not outputs.)"""
    if isinstance(structure, dict) and len(structure) == 1:
        return next(iter(structure.values()))
    if isinstance(structure, (list, tuple)) and len(structure) == 1 and not isinstance(
        structure[0], (int, type(None))
    ):
        return structure[0]
    return structure


def output_widths(shape, width, names):
    """The model's output width from its output shape (``compute_output_shape``'s
    structure): ``width(shape)`` for one output tensor (or a list or dict of one), else
    ``{output name: width(shape, name)}`` keyed as the model's outputs are (the keys of a dict
    of outputs, else ``names(count)``)."""
    if isinstance(shape, tuple) and shape and isinstance(shape[0], (tuple, list)):
        shape = list(shape)  # a tuple of output shapes
    shape = one_output(shape)
    if isinstance(shape, dict):
        return {name: width(s, name) for name, s in shape.items()}
    if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
        return {name: width(s, name) for name, s in zip(names(len(shape)), shape)}
    return width(shape)


def check_one_width(width):
    """A single target for a model with several outputs: say how to give one per output."""
    if isinstance(width, dict):
        raise ValueError(
            f"The model has several outputs {list(width)}; pass y as a dict keyed by output "
            "name (or a list in output order, or skkeras_prep.MultiOutput), one target per "
            "output."
        )


def per_output(value, width, defaults=None, what="loss"):
    """A loss (or metrics) setting laid out on the model's outputs. One output (``width`` an
    int): a list or dict of one is its entry. Several outputs (``width`` a dict by output
    name): a list is matched to the outputs in order, and a dict naming only some outputs
    gets ``defaults[name]`` (each target's default loss) for the others."""
    if value is None:
        return value
    n = len(value) if isinstance(value, (list, tuple, dict)) else None
    if not isinstance(width, dict):
        if n == 1:
            return next(iter(value.values())) if isinstance(value, dict) else value[0]
        if n is not None and what == "loss":
            raise ValueError(
                f"`loss` has {n} entries, but the model has one output; pass one loss."
            )
        return value
    if isinstance(value, (list, tuple)):
        if n != len(width):
            raise ValueError(
                f"`{what}` is a list of {n}, but the model has {len(width)} outputs "
                f"{list(width)}; pass one entry per output, in that order, or a dict by name."
            )
        return dict(zip(width, value))
    if isinstance(value, dict) and defaults is not None:
        unknown = sorted(set(value) - set(width))
        if unknown:
            raise ValueError(
                f"`{what}` names {unknown}, but the model's outputs are {list(width)}."
            )
        return {name: value[name] if name in value else defaults[name] for name in width}
    return value


def metrics_per_output(metrics, width):
    """The metrics to compile with. One output: a list (a list of one list is that list).
    Several outputs (``width`` a dict by output name): a list of lists is one list per
    output, in order; any other list applies to every output, each getting its own copies;
    a dict (by output name) is passed as it is."""
    if metrics is None or isinstance(metrics, dict):
        return metrics
    metrics = list(metrics)
    per_output_lists = bool(metrics) and all(isinstance(m, (list, tuple)) for m in metrics)
    if not isinstance(width, dict):
        return list(metrics[0]) if per_output_lists and len(metrics) == 1 else metrics
    if per_output_lists:
        return {name: list(m) for name, m in per_output(metrics, width, what="metrics").items()}
    return {name: [copy.deepcopy(m) for m in metrics] for name in width}


def default_losses(encoder, width):
    """Each output's default loss by output name (what a loss dict naming only some outputs
    is completed with), for the model's ``width``; None for one output."""
    if isinstance(width, dict) and isinstance(encoder, MultiOutputEncoder):
        return encoder.default_loss(width)
    return None


def unbuilt_default_loss(encoder, default_width):
    """The loss for ``loss=None`` before the model is built (a builder's
    ``compile_kwargs``): one output's default for ``default_width()``, the default model's
    width; several outputs: each head's default, keyed as y is."""
    several = isinstance(encoder, MultiOutputEncoder)
    return encoder.default_loss(None if several else default_width())


def output_targets(encoder, y):
    """``([(output label, head encoder, its target)], keyed)`` for a checked ``y``: one output
    is ``[(None, encoder, y)]``; several are labelled by output name (``keyed``), or by
    position (``'0'``, ``'1'``, ...) for a y given as a list."""
    if not isinstance(encoder, MultiOutputEncoder):
        return [(None, encoder, y)], False
    targets = encoder._aligned(y)
    keyed = encoder.names_ is not None
    names = encoder.names_ if keyed else [str(i) for i in range(len(targets))]
    return list(zip(names, encoder.heads_, targets)), keyed


def as_predicted(encoder, y):
    """``y`` laid out as ``predict`` returns it, for ``score``: several outputs' targets
    stacked in the encoder's order (``MultiOutputEncoder.stack``); one output's as it is."""
    return encoder.stack(y) if isinstance(encoder, MultiOutputEncoder) else y


def check_loaded_heads(encoder, widths, classes, refuse):
    """For a loaded file of several outputs, whose every part is untrusted: the heads of its
    encoder agree with the model's output ``widths`` and, for a classifier, with the
    estimator's ``classes``; ``refuse(why)`` makes the error raised."""
    heads = getattr(encoder, "heads_", None)
    names = getattr(encoder, "names_", None)
    if type(encoder) is not MultiOutputEncoder or not (
        isinstance(widths, dict) and isinstance(heads, list) and names == list(widths)
        and len(heads) == len(names)
    ):
        raise refuse(f"its model's outputs {widths!r} do not match its target outputs {names!r}")
    for name, head in zip(names, heads):
        if getattr(head, "output_width_", None) != widths[name]:
            raise refuse(f"its model's output {name!r} has width {widths[name]}, but its "
                         f"target encoding expects {getattr(head, 'output_width_', None)!r}")
    if getattr(encoder, "kind", None) not in ("classifier", "regressor"):
        raise refuse("its target encoding has no kind (classifier or regressor)")
    if encoder.kind == "classifier":
        expected = [h.classes_ for h in heads]
        if not (isinstance(classes, list) and len(classes) == len(expected) and all(
            np.shape(a) == np.shape(b) and np.array_equal(a, b) for a, b in zip(classes, expected)
        )):
            raise refuse("its classes_ do not match its target encoding")


def named_outputs(meta):
    """Whether the fit that builder ``meta`` describes has several outputs given by name
    (``meta["output_names_"]``: y's keys, None for one target or a list of targets)."""
    return bool(meta.get("output_names_"))


def head_names(encoder):
    """The output names of a target encoder, in its order: None for one output."""
    return list(encoder.names_) if heads_are_named(encoder) else None
