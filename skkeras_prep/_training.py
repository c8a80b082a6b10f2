"""Training: one entry point, ``train``, that runs ``keras.Model.fit`` over a row source.

It owns everything between a compiled model and its history: the validation split, the
training and validation pipelines (``_dataset``), the callbacks the estimator adds
(``TerminateOnNaN``, early stopping), steps per execution, and the optimizer's variables. The
estimator decides *what* to train (model, rows, targets, weights, seeds) and passes the
stratification labels in; this module decides *how*.

A ``tf.distribute`` strategy enters in one place: ``model_scope`` wraps the building and
compiling of the model, and ``train`` distributes the pipelines with the same strategy.
"""

import contextlib
import dataclasses
import numbers

import keras
import numpy as np
from sklearn.model_selection import train_test_split

from . import _compiled_epochs, _dataset, _pool, _user_function_errors
from ._compat import keras_distribute_strategy, keras_set_steps_per_execution
from ._tf_process_state import releasing_gradient_registrations, releasing_kernel_cache

_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")


@dataclasses.dataclass
class TrainingSettings:
    """The estimator's settings that decide how a fit runs (read from its parameters)."""

    batch_size: int
    shuffle: bool
    validation_split: float
    early_stopping: bool
    n_iter_no_change: int
    tol: float
    verbose: int
    callbacks: list  # new instances made for this fit (``_compiling.resolve_callbacks``)
    # Set by ``train``: the epoch of this run (0-based) whose weights early stopping restored,
    # or None when no weights were restored.
    restored_epoch: int | None = None
    validation_batch_size: int = None  # None: max(batch_size, 1024)

    @property
    def validation_fraction(self):
        """The share of rows held out: ``validation_split``, or 0.1 for early stopping."""
        return self.validation_split or (0.1 if self.early_stopping else 0.0)

    @classmethod
    def of(cls, estimator, callbacks, options=None):
        """From the estimator's parameters; ``options`` (``_call_options.fit_options``: the
        values of this fit, by precedence) win where they name a field."""
        fields = {f.name for f in dataclasses.fields(cls)} - {"callbacks", "restored_epoch"}
        values = {name: getattr(estimator, name) for name in fields}
        values.update({k: v for k, v in (options or {}).items() if k in fields})
        return cls(callbacks=callbacks, **values)


def draw_seeds(random_state, count):
    """``count`` integer seeds. An int gives the same seeds every time; None gives fresh
    ones from OS entropy (no global random state is read or changed)."""
    if random_state is None:
        rng = np.random.default_rng()
    elif isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        rng = np.random.default_rng(int(random_state))
    elif isinstance(random_state, np.random.RandomState):
        return [int(s) for s in random_state.randint(0, 2**31 - 1, size=count)]
    else:  # a numpy Generator, the only kind left: validate_params checked it at fit
        rng = random_state
    return [int(s) for s in rng.integers(0, 2**31 - 1, size=count)]


def model_scope(strategy=None):
    """The scope in which the model, its optimizer and metrics are built: a distribution
    strategy's scope, or none."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def has_batch_hooks(callback):
    base = keras.callbacks.Callback
    return any(getattr(type(callback), h) is not getattr(base, h) for h in _BATCH_HOOKS)


def steps_per_execution(per_epoch, verbose, user_callbacks):
    """Gradient steps run inside one compiled call.

    A whole epoch in one call removes Keras's per-step Python overhead (digits: about 2.5x
    faster). Keras needs the count to divide the steps of an epoch exactly. With a progress
    bar (verbose=1) the largest divisor up to 32 keeps the bar moving; a user callback with
    batch-level hooks gets one step per call, so it sees every batch.
    """
    if any(has_batch_hooks(cb) for cb in user_callbacks):
        return 1
    if verbose != 1:
        return per_epoch
    return max(d for d in range(1, min(per_epoch, 32) + 1) if per_epoch % d == 0)


def build_optimizer(model):
    """Create the optimizer's variables before ``model.fit``.

    Keras otherwise creates them inside the first trace of the train function; variables made
    during a trace make ``tf.function`` trace a second time, which doubled the tracing cost
    of every fit (about 0.2 s on a small model) and left the branch functions of their lifted
    initialisers registered in the eager context for the life of the process.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        # in the scope of the strategy the model was built under (Keras keeps it), so that
        # the slots are mirrored like the weights
        with model_scope(keras_distribute_strategy(model)):
            optimizer.build(model.trainable_variables)


def _split_rows(n, fraction, stratify, seed):
    """Sorted (training, validation) row indices; stratified where every class allows it."""
    n_val = int(np.ceil(fraction * n))
    if n_val < 1 or n - n_val < 1:
        raise ValueError(
            f"validation_split={fraction} leaves no rows for training or validation "
            f"with {n} samples; lower it or pass more data."
        )
    rows = np.arange(n)
    try:
        train_rows, val_rows = train_test_split(
            rows, test_size=n_val, random_state=seed, stratify=stratify
        )
    except ValueError:  # a class too small to stratify: fall back to a plain split
        train_rows, val_rows = train_test_split(rows, test_size=n_val, random_state=seed)
    return np.sort(train_rows), np.sort(val_rows)


def train(model, source, targets, weights, *, settings, epochs, shuffle_seed, split_seed,
          stratify=None, augment=None, validation=None):
    """Train the compiled ``model`` on ``source`` (a ``RowSource``) for ``epochs`` epochs and
    return Keras's history dict.

    ``targets`` (a ``_target_layout.Targets``: the encoded targets, one head per output) and
    ``weights`` (per-row float32) are aligned with the source's rows. ``stratify`` (labels or
    None) stratifies the validation split. ``shuffle_seed`` seeds the epoch permutations and
    ``split_seed`` the validation split. ``augment`` (``_augment.for_fit``, or None)
    transforms the training batches only. ``validation`` (row source, ``Targets``, weights),
    from ``fit(validation_data=...)``, replaces the split (early stopping then watches it).
    The pipelines' arrays are let go when training ends (see ``_dataset``), then the gradient
    registrations and the eager kernels this fit's traced functions left behind
    (docs/DESIGN.md, "Memory over many fits").
    """
    with contextlib.ExitStack() as stack:
        stack.enter_context(_user_function_errors.explaining(model, targets))  # outermost: last
        # A model kept for reuse keeps its traced functions, and their kernels are looked up
        # again by its next fit: the cache is emptied only every so many such fits.
        stack.enter_context(releasing_kernel_cache(reused_model=_pool.reusable(model)))  # closes last
        (source, targets, weights), validation = _validation_data(
            (source, targets, weights), validation, settings, stratify=stratify,
            seed=split_seed, stack=stack)
        callbacks = list(settings.callbacks)
        build_optimizer(model)
        stack.enter_context(releasing_gradient_registrations(model))
        # The compiled epoch loop takes batches of arrays or of dicts of them (several
        # inputs or outputs), from whole arrays in memory or from the tf.data pipeline.
        fast = _compiled_epochs.usable(model, callbacks=callbacks, validation=validation,
                                       verbose=settings.verbose)
        if fast and augment is None:  # augmentation is a map of the tf.data pipeline
            batches = _dataset.in_memory_batches(
                source, targets, weights, batch_size=settings.batch_size, epochs=epochs,
                shuffle=settings.shuffle, seed=shuffle_seed,
            )
            if batches is not None:
                per_epoch = _dataset.n_batches(source.n_rows, settings.batch_size)
                return _compiled_epochs.run_arrays(model, batches, epochs=epochs,
                                                   steps_per_epoch=per_epoch)
        dataset, per_epoch = _dataset.training_dataset(
            source, targets, weights, batch_size=settings.batch_size, epochs=epochs,
            shuffle=settings.shuffle, seed=shuffle_seed, stack=stack, augment=augment,
        )
        if fast:
            return _compiled_epochs.run(model, dataset, epochs=epochs, steps_per_epoch=per_epoch)
        return _keras_fit(model, dataset, validation, settings=settings, callbacks=callbacks,
                          epochs=epochs, steps_per_epoch=per_epoch)


def _validation_data(training, validation, settings, *, stratify, seed, stack):
    """``(training (source, targets, weights), validation dataset or None)``: the pipeline of
    ``fit(validation_data=...)``'s (source, targets, weights) where given, else of the rows
    ``validation_split`` (or early stopping) holds out, which leave the training rows."""
    val_batch = settings.validation_batch_size or max(settings.batch_size, 1024)
    if validation is not None:
        return training, _dataset.evaluation_dataset(*validation, batch_size=val_batch, stack=stack)
    fraction = settings.validation_fraction
    if not fraction:
        return training, None
    source, targets, weights = training
    if source.indexable:
        train_rows, val_rows = _split_rows(source.n_rows, fraction, stratify, seed)
        train_source, val_source = source.take(train_rows), source.take(val_rows)
    else:  # read in order: the source holds out what it can read cheaply
        train_source, val_source, train_rows, val_rows = source.hold_out(fraction, seed)
    validation = _dataset.evaluation_dataset(
        val_source, targets.take(val_rows), weights[val_rows], batch_size=val_batch, stack=stack)
    return (train_source, targets.take(train_rows), weights[train_rows]), validation


def _keras_fit(model, dataset, validation, *, settings, callbacks, epochs, steps_per_epoch):
    """``model.fit`` on the pipelines, with the callbacks the estimator adds; the history."""
    # A model built in a strategy's scope trains one step per call: Keras's loop of
    # several steps in one call fails on a distributed iterator (TensorFlow 2.21, Keras
    # 3.15: "You must feed a value for placeholder tensor ... while/cond/Placeholder").
    keras_set_steps_per_execution(
        model, 1 if keras_distribute_strategy(model) is not None
        else steps_per_execution(steps_per_epoch, settings.verbose, callbacks))
    callbacks.append(keras.callbacks.TerminateOnNaN())
    if settings.early_stopping:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=settings.n_iter_no_change,
                min_delta=settings.tol, restore_best_weights=True,
            )
        )
    result = model.fit(
        dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, validation_data=validation,
        callbacks=callbacks, verbose=settings.verbose, shuffle=False,  # the dataset shuffles
    )
    settings.restored_epoch = restored_epoch(callbacks)
    return result.history


def restored_epoch(callbacks):
    """The epoch (0-based) whose weights an ``EarlyStopping`` callback among ``callbacks``
    restored when training ended (ours or the user's, the last one that restored), or None."""
    epoch = None
    for callback in callbacks:
        if (isinstance(callback, keras.callbacks.EarlyStopping) and callback.restore_best_weights
                and callback.best_weights is not None):
            epoch = int(callback.best_epoch)
    return epoch
