"""The estimator core shared by the classifier and the regressor.

One way through the data (see docs/DESIGN.md):

    X, y, sample_weight -> checks -> preprocessor_ (fitted on these rows) -> target encoder
    -> tf.data batches (_dataset) -> model_ (built and compiled by _model) -> keras fit

``predict`` goes X -> checks -> preprocessor_.transform -> ordered batches -> model_.
Subclasses supply the target encoder and turn model outputs into labels or values.
"""

import contextlib
import logging
import numbers

import keras
import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import train_test_split
from sklearn.utils import check_consistent_length, get_tags
from sklearn.utils.validation import check_is_fitted

from . import _dataset, _model
from ._routing import check_routed_names, extra_params, is_routed_name, params_for, routed_params
from ._validation import check_params, check_sample_weight, check_transformed, check_X
from .exceptions import TrainingDivergedError

logger = logging.getLogger(__name__)

_PREDICT_BATCH_SIZE = 8192


def _draw_seeds(random_state, count):
    """``count`` integer seeds. An int gives the same seeds every time; None gives fresh
    ones from OS entropy (no global random state is read or changed)."""
    if random_state is None:
        rng = np.random.default_rng()
        return [int(s) for s in rng.integers(0, 2**31 - 1, size=count)]
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        rng = np.random.default_rng(int(random_state))
        return [int(s) for s in rng.integers(0, 2**31 - 1, size=count)]
    if isinstance(random_state, np.random.RandomState):
        return [int(s) for s in random_state.randint(0, 2**31 - 1, size=count)]
    if isinstance(random_state, np.random.Generator):
        return [int(s) for s in random_state.integers(0, 2**31 - 1, size=count)]
    raise ValueError(
        f"random_state must be None, an int, or a numpy RandomState/Generator; got {random_state!r}."
    )


_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")


def _has_batch_hooks(callback):
    base = keras.callbacks.Callback
    return any(getattr(type(callback), h) is not getattr(base, h) for h in _BATCH_HOOKS)


def _steps_per_execution(per_epoch, verbose, user_callbacks):
    """Gradient steps run inside one compiled call.

    A whole epoch in one call removes Keras's per-step Python overhead (digits: about 2.5x
    faster). Keras needs the count to divide the steps of an epoch exactly. With a progress
    bar (verbose=1) the largest divisor up to 32 keeps the bar moving; a user callback with
    batch-level hooks gets one step per call, so it sees every batch.
    """
    if any(_has_batch_hooks(cb) for cb in user_callbacks):
        return 1
    if verbose != 1:
        return per_epoch
    return max(d for d in range(1, min(per_epoch, 32) + 1) if per_epoch % d == 0)


def _accepts_nan(transformer):
    """Whether the preprocessor turns NaN input into finite output, so that the estimator
    as a whole accepts NaN: true for scikit-learn's imputers; a Pipeline's first step
    decides; a ColumnTransformer needs every branch to. A scaler's ``allow_nan`` tag only
    means it passes NaN through, which the network cannot take. Missing values that
    survive preprocessing are caught after ``transform`` in any case."""
    steps = getattr(transformer, "steps", None)
    if isinstance(steps, list):
        first = [step for _, step in steps if step is not None and step != "passthrough"]
        return _accepts_nan(first[0]) if first else False
    branches = getattr(transformer, "transformers", None)
    if isinstance(branches, list) and hasattr(transformer, "remainder"):
        used = [t for _, t, _ in branches if not isinstance(t, str)]
        return bool(used) and all(_accepts_nan(t) for t in used)
    return type(transformer).__module__.startswith("sklearn.impute")


class _KerasPipelineBase(BaseEstimator):
    """Shared parameters, parameter routing, fit orchestration and batched prediction."""

    def __init__(
        self,
        model=None,
        preprocessor=None,
        *,
        optimizer="adam",
        loss=None,
        metrics=None,
        epochs=100,
        batch_size=32,
        shuffle=True,
        validation_split=0.0,
        early_stopping=False,
        n_iter_no_change=10,
        tol=1e-4,
        callbacks=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        **routed,
    ):
        self.model = model
        self.preprocessor = preprocessor
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self._routed = routed

    # -- parameters ------------------------------------------------------------------------
    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update(extra_params(self))
        return params

    def _builder_param_names(self, model):
        if hasattr(model, "get_params") and not isinstance(model, type):
            return set(model.get_params(deep=True))
        return set()

    def set_params(self, **params):
        if not params:
            return self
        builder_names = self._builder_param_names(params.get("model", self.model))
        plain, routed = {}, {}
        known = set(self.get_params(deep=True))
        extras = extra_params(self)
        for key, value in params.items():
            if key.startswith("model__") and key[len("model__"):] in builder_names:
                # a parameter of a builder object: set it on the builder the sklearn way
                plain[key] = value
                extras.pop(key, None)
            elif is_routed_name(key) or key in extras:
                routed[key] = value
            else:
                if key not in known and "__" not in key:
                    check_routed_names([key], type(self).__name__)
                plain[key] = value
        super().set_params(**plain)
        self._routed = {**extras, **routed}
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        if self.preprocessor is not None:
            try:
                inner = get_tags(self.preprocessor).input_tags
            except Exception:  # a third-party transformer without tags: assume numeric arrays
                inner = None
            if inner is not None:
                tags.input_tags.allow_nan = _accepts_nan(self.preprocessor)
                tags.input_tags.sparse = inner.sparse
                tags.input_tags.string = inner.string
                tags.input_tags.categorical = inner.categorical
        return tags

    # -- hooks for subclasses --------------------------------------------------------------
    def _new_target_encoder(self):
        raise NotImplementedError

    def _fit_target_encoder(self, encoder, y, classes):
        raise NotImplementedError

    def _check_targets_again(self, y):
        raise NotImplementedError

    def _extra_row_weights(self, y, encoder):
        return None

    def _stratify_labels(self, y_encoded):
        return None

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Fit the preprocessor on (X, y), then train the Keras model on the transformed rows.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        continue_training = self.warm_start and hasattr(self, "model_")
        return self._fit(X, y, sample_weight, epochs=self.epochs, fresh=not continue_training)

    def _partial_fit(self, X, y, classes, sample_weight):
        fresh = not hasattr(self, "model_")
        return self._fit(X, y, sample_weight, epochs=1, fresh=fresh, classes=classes, incremental=True)

    def _fit(self, X, y, sample_weight, *, epochs, fresh, classes=None, incremental=False):
        check_routed_names(extra_params(self), type(self).__name__)
        check_params(self)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None. "
                "Pass the labels or values to fit(X, y)."
            )
        routed = routed_params(self)
        if fresh:
            X = check_X(self, X, reset=True, preprocessor=self.preprocessor)
            encoder = self._new_target_encoder()
            y = self._fit_target_encoder(encoder, y, classes)
        else:
            X = check_X(self, X, reset=False, preprocessor=self.preprocessor_)
            encoder = self.target_encoder_
            y = self._check_targets_again(y)
        check_consistent_length(X, y)
        weights = check_sample_weight(sample_weight, len(y))
        extra = self._extra_row_weights(y, encoder)
        if extra is not None:
            weights = (weights * extra).astype(np.float32)

        if fresh:
            preprocessor = None if self.preprocessor is None else clone(self.preprocessor)
            if preprocessor is None:
                Xt = X
            elif incremental and hasattr(preprocessor, "partial_fit"):
                Xt = preprocessor.partial_fit(X, y).transform(X)
            else:
                Xt = preprocessor.fit_transform(X, y)
        else:
            preprocessor = self.preprocessor_
            if incremental and preprocessor is not None and hasattr(preprocessor, "partial_fit"):
                preprocessor.partial_fit(X, y)
            Xt = X if preprocessor is None else preprocessor.transform(X)
        if preprocessor is not None:
            Xt = check_transformed(Xt, preprocessor)
        Xt = _dataset.as_row_store(Xt)

        seeds = _draw_seeds(self.random_state, 3)
        if fresh:
            meta = self._meta(Xt, encoder)
            model = _model.build_model(self.model, params_for("model", routed), meta, seeds[0])
            width = _model.output_width(model, meta["input_shape_"])
            compiled = getattr(model, "compiled", False)
            user_loss = model.loss if compiled else self.loss
            encoder.set_output_width(width, _model.loss_name(user_loss))
            if not compiled:
                loss = self.loss if self.loss is not None else encoder.default_loss()
                model.compile(
                    optimizer=_model.resolve_optimizer(self.optimizer, params_for("optimizer", routed)),
                    loss=_model.resolve_loss(loss, params_for("loss", routed)),
                    metrics=None if self.metrics is None else list(self.metrics),
                )
            history = {}
        else:
            model = self.model_
            if Xt.shape[1:] != tuple(self.input_shape_):
                raise ValueError(
                    f"The preprocessor now outputs shape {Xt.shape[1:]}, but the model was built "
                    f"for {tuple(self.input_shape_)}; refit from scratch."
                )
            history = {k: list(v) for k, v in self.history_.items()}

        y_encoded = encoder.encode(y)
        keras_history = self._train(
            model, Xt, y_encoded, encoder.batch_dtype(), weights, epochs, seeds, routed,
            len(history.get("loss", [])),
        )
        for key, values in keras_history.items():
            history.setdefault(key, []).extend(float(v) for v in values)
        losses = np.asarray(history.get("loss", []), dtype=float)
        if losses.size and not np.isfinite(losses).all():
            raise TrainingDivergedError(
                "Training diverged: the loss became NaN or infinite at epoch "
                f"{int(np.flatnonzero(~np.isfinite(losses))[0]) + 1}. Scale the inputs (e.g. "
                "preprocessor=StandardScaler()), lower the learning rate "
                "(optimizer__learning_rate=1e-4), or scale the targets "
                "(target_transformer=StandardScaler() for a regressor)."
            )

        if fresh:
            self.preprocessor_ = preprocessor
            self.target_encoder_ = encoder
            self.input_shape_ = tuple(Xt.shape[1:])
            self._set_target_attributes(encoder)
        self.model_ = model
        self._forward = _model.forward_function(model, self.input_shape_)
        self.history_ = history
        self.n_iter_ = len(history.get("loss", []))
        return self

    def _meta(self, Xt, encoder):
        meta = {
            "n_features_in_": int(np.prod(Xt.shape[1:])),
            "input_shape_": tuple(Xt.shape[1:]),
            "n_outputs_": encoder.n_outputs_,
            "target_type_": encoder.target_type_,
            "n_classes_": getattr(encoder, "n_classes_", None),
            "classes_": getattr(encoder, "classes_", None),
        }
        return meta

    def _set_target_attributes(self, encoder):
        self.n_outputs_ = encoder.n_outputs_
        self.target_type_ = encoder.target_type_

    def _train(self, model, Xt, y, y_dtype, w, epochs, seeds, routed, epochs_done):
        """Run ``model.fit`` over the streamed rows; the pipelines' arrays are let go when
        the ``ExitStack`` closes (see ``_dataset``), then the gradient registrations and the
        eager kernels this fit's traced functions left behind (docs/DESIGN.md, "Memory over
        many fits")."""
        with contextlib.ExitStack() as stack:
            stack.enter_context(_model.releasing_kernel_cache())  # closes last
            n = _dataset.n_rows(Xt)
            validation = None
            fraction = self.validation_split or (0.1 if self.early_stopping else 0.0)
            if fraction:
                rows = np.arange(n)
                n_val = int(np.ceil(fraction * n))
                if n_val < 1 or n - n_val < 1:
                    raise ValueError(
                        f"validation_split={fraction} leaves no rows for training or validation "
                        f"with {n} samples; lower it or pass more data."
                    )
                stratify = self._stratify_labels(y)
                try:
                    train_rows, val_rows = train_test_split(
                        rows, test_size=n_val, random_state=seeds[2], stratify=stratify
                    )
                except ValueError:  # a class too small to stratify: fall back to a plain split
                    train_rows, val_rows = train_test_split(rows, test_size=n_val, random_state=seeds[2])
                train_rows.sort()
                val_rows.sort()
                validation = _dataset.evaluation_dataset(
                    Xt[val_rows], y[val_rows], w[val_rows], batch_size=max(self.batch_size, 1024),
                    stack=stack, y_dtype=y_dtype,
                )
                Xt, y, w = Xt[train_rows], y[train_rows], w[train_rows]

            dataset, per_epoch = _dataset.training_dataset(
                Xt, y, w, batch_size=self.batch_size, epochs=epochs, shuffle=self.shuffle,
                seed=seeds[1] + epochs_done, stack=stack, y_dtype=y_dtype,
            )
            callbacks = _model.resolve_callbacks(self.callbacks, params_for("callbacks", routed))
            steps = _steps_per_execution(per_epoch, self.verbose, callbacks)
            if getattr(model, "steps_per_execution", 1) != steps:
                model.steps_per_execution = steps
                model.train_function = None  # rebuilt by keras with the new step count
            _model.build_optimizer(model)
            callbacks.append(keras.callbacks.TerminateOnNaN())
            if self.early_stopping:
                callbacks.append(
                    keras.callbacks.EarlyStopping(
                        monitor="val_loss", patience=self.n_iter_no_change, min_delta=self.tol,
                        restore_best_weights=True,
                    )
                )
            stack.enter_context(_model.releasing_gradient_registrations(model))
            result = model.fit(
                dataset, epochs=epochs, steps_per_epoch=per_epoch, validation_data=validation,
                callbacks=callbacks, verbose=self.verbose, shuffle=False,  # the dataset shuffles
            )
            return result.history

    # -- persistence -----------------------------------------------------------------------
    def save(self, path):
        """Save the estimator (fitted or not) to one file; reload it with ``skkeras_prep.load(path)``.

        The file holds the Keras model in the ``.keras`` format, the fitted preprocessor and
        target encoding in a safe format, and version metadata. Saving is atomic.
        """
        from ._persistence import save_estimator

        return save_estimator(self, path)

    def export_model(self):
        """A ``keras.Model`` taking raw features, with the fitted preprocessing baked in, that
        returns what ``predict_proba`` (regressor: ``predict``) returns. See docs/persistence.md."""
        from .export import export_model

        return export_model(self)

    # -- prediction ------------------------------------------------------------------------
    def _model_output(self, X):
        """Raw model outputs (float32, shape (n, width)) for X, streamed in ordered batches."""
        check_is_fitted(self, "model_")
        X = check_X(self, X, reset=False, preprocessor=self.preprocessor_)
        if self.preprocessor_ is not None:
            Xt = check_transformed(self.preprocessor_.transform(X), self.preprocessor_)
        else:
            Xt = X
        Xt = _dataset.as_row_store(Xt)
        outputs = [
            self._call_model(batch)
            for batch in _dataset.prediction_batches(Xt, batch_size=_PREDICT_BATCH_SIZE)
        ]
        return np.concatenate(outputs, axis=0)

    def _call_model(self, batch):
        """The model's output for one batch. A single row is run as two copies: a one-row
        matrix product takes another kernel whose result can differ in the last float32
        bit, and a row's prediction must not depend on how many rows come with it."""
        forward = self._forward
        if len(batch) == 1:
            return forward(np.concatenate([batch, batch])).numpy()[:1]
        return forward(batch).numpy()

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: it may be the live __dict__
        state.pop("_forward", None)  # a traced TensorFlow function; rebuilt on load
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "model_" in self.__dict__:
            self._forward = _model.forward_function(self.model_, self.input_shape_)
