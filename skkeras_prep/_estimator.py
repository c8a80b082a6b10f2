"""The estimator core shared by the classifier and the regressor.

One way through the data (see docs/DESIGN.md):

    prepare: X, y, sample_weight -> checks -> target encoder -> preprocessor_ (fitted on
             these rows) -> row source (sources)
    build:   model_ (built and compiled by _build), or the continued one
    train:   _training.train -> tf.data batches (_dataset) -> keras fit

``predict`` goes X -> checks -> preprocessor_.transform -> row source -> ordered batches ->
the model's forward function (_build).
Subclasses supply the target encoder and turn model outputs into labels or values.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.utils import check_consistent_length, get_tags
from sklearn.utils.validation import check_is_fitted

from . import _build, _dataset, _multi_input, _training
from ._compat import sklearn_num_samples
from ._params import BOOLEAN, CALLABLE, CLASS, NONE, STRING, HasMethods, InstanceOf, Interval, Options
from ._params import positive_int, validate_params
from ._routing import check_routed_names, extra_params, is_routed_name, params_for, routed_params
from ._targets import MultiOutputEncoder
from ._validation import check_sample_weight, check_weight_range
from .exceptions import TrainingDivergedError
from .multi_io import MultiInput, is_multi_target
from .sources import input_shape, input_width

_PREDICT_BATCH_SIZE = 8192
# Rows per block of the CPU matrix kernels (Eigen: 3 SIMD packets; 48 covers AVX-512).
_ROW_BLOCK = 48


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

    # What each constructor parameter accepts; checked at the start of every fit by
    # _params.validate_params (subclasses add their own entries). The docstrings of the
    # public classes describe the same values in words.
    _parameter_constraints = {
        "model": [NONE, HasMethods(["build", "get_params"], "a builder from skkeras_prep.models"),
                  CALLABLE],
        "preprocessor": [NONE, HasMethods(["fit", "transform"],
                                          "a scikit-learn transformer (with fit and transform)"),
                         InstanceOf(dict, "a dict of transformers keyed by input name")],
        "optimizer": [STRING, CLASS, HasMethods(["apply_gradients", "get_config"],
                                                "a keras optimizer instance")],
        "loss": [NONE, STRING, CALLABLE, InstanceOf(dict, "a dict of losses keyed by output name")],
        "metrics": [NONE, InstanceOf((list, tuple, dict), "a list, tuple or dict of Keras metrics")],
        "epochs": [positive_int()],
        "batch_size": [positive_int()],
        "shuffle": [BOOLEAN],
        "validation_split": [Interval(numbers.Real, 0, 1, closed="left")],
        "early_stopping": [BOOLEAN],
        "n_iter_no_change": [positive_int()],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "callbacks": [NONE, InstanceOf((list, tuple, dict), "a list, tuple or dict of callbacks"),
                      HasMethods(["set_model"], "a keras callback"), CLASS],
        "warm_start": [BOOLEAN],
        "random_state": [NONE, Interval(numbers.Integral, 0, None, closed="left"),
                         InstanceOf((np.random.RandomState, np.random.Generator),
                                    "a numpy RandomState or Generator")],
        "verbose": [Options(numbers.Integral, 0, 1, 2)],
    }

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
        """The constructor parameters, plus the routed ``model__*``, ``optimizer__*``,
        ``loss__*`` and ``callbacks__*`` ones (and, with ``deep``, those of sub-objects)."""
        params = super().get_params(deep=deep)
        params.update(extra_params(self))
        if deep:
            params.update(_multi_input.per_input_params(self.preprocessor))
        return params

    def _builder_param_names(self, model):
        if hasattr(model, "get_params") and not isinstance(model, type):
            return set(model.get_params(deep=True))
        return set()

    def set_params(self, **params):
        """Set constructor or routed parameters; unknown names without ``__`` are refused
        here, values are checked at the next ``fit``. Returns self."""
        if not params:
            return self
        params = _multi_input.set_per_input_params(params.get("preprocessor", self.preprocessor), params)
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
        tags.input_tags.dict = True  # several named inputs (a dict or skkeras_prep.MultiInput)
        tags.target_tags.required = True
        if self.preprocessor is not None and not isinstance(self.preprocessor, dict):
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

    def _divergence_advice(self, remedies=()):
        """What to try when the loss became NaN or infinite: only remedies not already in use."""
        remedies = list(remedies)
        if self.preprocessor is None:
            remedies.insert(0, "scale the inputs (e.g. preprocessor=StandardScaler())")
        remedies.append("lower the learning rate (e.g. optimizer__learning_rate=1e-4)")
        return "Try to " + "; or ".join(remedies) + "."

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Fit the preprocessor on (X, y), then train the Keras model on the transformed rows.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Or a dict / ``skkeras_prep.MultiInput`` of them, one per named model input.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Or a dict, list of arrays or ``skkeras_prep.MultiOutput``: one target per
            named model output (docs/multi-io.md).
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
        """prepare (checks, targets, preprocessor) -> build (a new or the continued model)
        -> train (``_training.train``) -> keep the fitted parts. ``fresh`` picks the stage
        objects once: ``_NewFit`` or ``_ContinuedFit``."""
        check_routed_names(extra_params(self), type(self).__name__)
        validate_params(self, routed_params(self))
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None. "
                "Pass the labels or values to fit(X, y)."
            )
        routed = routed_params(self)
        stage = _NewFit(self, classes) if fresh else _ContinuedFit(self)
        X, y, encoder = stage.check(X, y)
        check_consistent_length(X, y)
        weights = check_sample_weight(sample_weight, len(y))
        extra = self._extra_row_weights(y, encoder)
        if extra is not None:
            weights = (weights * extra).astype(np.float32)
            check_weight_range(weights, "sample_weight times class_weight")
        preprocessor, Xt = stage.preprocess(X, y, incremental)
        source = self._rows(Xt, preprocessor)

        seeds = _training.draw_seeds(self.random_state, 3)
        model, history = stage.model(source, encoder, routed, seeds[0])
        y_encoded = encoder.encode(y)
        settings = _training.TrainingSettings.of(
            self, _build.resolve_callbacks(self.callbacks, params_for("callbacks", routed))
        )
        y_heads = encoder.target_heads()  # None for one output
        stratify = (self._stratify_labels(y_encoded)
                    if settings.validation_fraction and y_heads is None else None)
        keras_history = _training.train(
            model, source, y_encoded, weights, settings=settings, epochs=epochs,
            shuffle_seed=seeds[1] + len(history.get("loss", [])), split_seed=seeds[2],
            stratify=stratify, y_dtype=encoder.batch_dtype(), y_heads=y_heads,
        )
        for key, values in keras_history.items():
            history.setdefault(key, []).extend(float(v) for v in values)
        _check_diverged(history, self._divergence_advice())

        stage.keep(preprocessor, encoder, source)
        self.model_ = model
        self.history_ = history
        self.n_iter_ = len(history.get("loss", []))
        return self

    def _rows(self, Xt, preprocessor):
        """The row source of transformed X: checked as the preprocessor's output where there
        is one (a source returned by ``transform`` is streamed as it is); one per input for
        several inputs."""
        return _multi_input.rows(Xt, preprocessor)

    def _meta(self, source, encoder):
        meta = {
            "n_features_in_": input_width(source),
            "input_shape_": input_shape(source),
            "output_names_": getattr(encoder, "keys_", None),
            "n_outputs_": encoder.n_outputs_,
            "target_type_": encoder.target_type_,
            "n_classes_": getattr(encoder, "n_classes_", None),
            "classes_": getattr(encoder, "classes_", None),
        }
        return meta

    def _set_target_attributes(self, encoder):
        self.n_outputs_ = encoder.n_outputs_
        self.target_type_ = encoder.target_type_

    # -- persistence -----------------------------------------------------------------------
    def save(self, path):
        """Save the estimator (fitted or not) to one file; reload it with ``skkeras_prep.load(path)``.

        The file holds the Keras model in the ``.keras`` format, the fitted preprocessor and
        target encoding in a safe format, and version metadata. Saving is atomic.
        """
        from ._persistence import save_estimator

        _check_single_io(self, "save")
        return save_estimator(self, path)

    def export_model(self):
        """A ``keras.Model`` taking raw features, with the fitted preprocessing baked in, that
        returns what ``predict_proba`` (regressor: ``predict``) returns. See docs/persistence.md."""
        from .export import export_model

        _check_single_io(self, "export_model")
        return export_model(self)

    # -- prediction ------------------------------------------------------------------------
    def _model_output(self, X):
        """Raw model outputs (float32, shape (n, width)) for X, streamed in ordered batches;
        a list of them, in the target encoder's order, for several outputs."""
        check_is_fitted(self, "model_")
        X = _multi_input.check_inputs(self, X, reset=False, preprocessor=self.preprocessor_)
        Xt = _multi_input.transform_inputs(self, self.preprocessor_, X)
        source = self._rows(Xt, self.preprocessor_)
        outputs = [
            self._call_model(batch)
            for batch in _dataset.prediction_batches(source, batch_size=_PREDICT_BATCH_SIZE)
        ]
        if isinstance(outputs[0], list):  # several outputs: one array per output
            return [np.concatenate(parts, axis=0) for parts in zip(*outputs)]
        return np.concatenate(outputs, axis=0)

    def _call_model(self, batch):
        """The model's output for one batch, padded to a multiple of ``_ROW_BLOCK`` rows
        (copies of the last row). CPU kernels run the rows of a last, partial block of a
        matrix product or SIMD packet through another code path whose float32 result can
        differ in the last bit; so without padding a row's prediction depended on its
        position in the batch and on how many rows came with it (scikit-learn's
        ``check_methods_sample_order_invariance`` failed by 2e-7 for some weights)."""
        forward = _build.forward_function(self.model_, self.input_shape_)
        if isinstance(batch, dict):  # several inputs
            n = len(next(iter(batch.values())))
            batch = {name: _padded(part, -n % _ROW_BLOCK) for name, part in batch.items()}
        else:
            n = len(batch)
            batch = _padded(batch, -n % _ROW_BLOCK)
        out = forward(batch)
        if isinstance(out, (dict, list, tuple)):  # several outputs, in the encoder's order
            parts = [out[name] for name in self.target_encoder_.names_] if isinstance(out, dict) else out
            return [part.numpy()[:n] for part in parts]
        return out.numpy()[:n]


def _padded(batch, pad):
    """``batch`` with ``pad`` copies of its last row appended (see ``_call_model``)."""
    if not pad:
        return batch
    batch = np.asarray(batch)
    return np.concatenate([batch, np.repeat(batch[-1:], pad, axis=0)])


def _check_single_io(estimator, what):
    """Refuse ``save`` / ``export_model`` of an estimator fitted with several inputs or outputs."""
    inputs = getattr(estimator, "input_names_", None)
    encoder = getattr(estimator, "target_encoder_", None)
    outputs = getattr(encoder, "names_", None) if isinstance(encoder, MultiOutputEncoder) else None
    if inputs is None and outputs is None:
        return
    which = f"several inputs {inputs}" if inputs is not None else f"several outputs {outputs}"
    raise ValueError(
        f"{what} does not support estimators fitted with {which} yet (the saved format and "
        "the exported model hold one input and one output). Keep the estimator with pickle or "
        "joblib in a trusted setting, or save est.model_ with Keras and the per-input "
        "preprocessors with skops."
    )


def _check_diverged(history, advice):
    losses = np.asarray(history.get("loss", []), dtype=float)
    if losses.size and not np.isfinite(losses).all():
        raise TrainingDivergedError(
            "Training diverged: the loss became NaN or infinite at epoch "
            f"{int(np.flatnonzero(~np.isfinite(losses))[0]) + 1}. " + advice
        )


class _NewFit:
    """The stages of a fit that starts from scratch: fit the target encoder and a clone of
    the preprocessor, build and compile a new model, and set the fitted attributes."""

    def __init__(self, estimator, classes):
        self.est = estimator
        self.classes = classes

    def check(self, X, y):
        est = self.est
        X = _multi_input.check_inputs(est, X, reset=True, preprocessor=est.preprocessor)
        if is_multi_target(y, sklearn_num_samples(X)):  # one target per output, each its own encoder
            encoder = MultiOutputEncoder(
                est._new_target_encoder, "classifier" if is_classifier(est) else "regressor"
            )
        else:
            encoder = est._new_target_encoder()
        return X, est._fit_target_encoder(encoder, y, self.classes), encoder

    def preprocess(self, X, y, incremental):
        preprocessor = None if self.est.preprocessor is None else clone(self.est.preprocessor)
        if isinstance(X, MultiInput):
            return _multi_input.fit_transform_inputs(preprocessor, X, y, incremental)
        if preprocessor is None:
            return None, X
        if incremental and hasattr(preprocessor, "partial_fit"):
            return preprocessor, preprocessor.partial_fit(X, y).transform(X)
        return preprocessor, preprocessor.fit_transform(X, y)

    def model(self, source, encoder, routed, seed):
        est = self.est
        meta = est._meta(source, encoder)
        with _training.model_scope():
            model = _build.build_model(est.model, params_for("model", routed), meta, seed)
            width = _build.output_width(model, meta["input_shape_"])
            compiled = getattr(model, "compiled", False)
            user_loss = model.loss if compiled else est.loss
            encoder.set_output_width(width, _build.loss_name(user_loss))
            if not compiled:
                loss = est.loss if est.loss is not None else encoder.default_loss()
                model.compile(
                    optimizer=_build.resolve_optimizer(est.optimizer, params_for("optimizer", routed)),
                    loss=_build.resolve_loss(loss, params_for("loss", routed)),
                    metrics=_build.metrics_per_output(est.metrics, width),
                )
        return model, {}

    def keep(self, preprocessor, encoder, source):
        est = self.est
        est.preprocessor_ = preprocessor
        est.target_encoder_ = encoder
        est.input_shape_ = input_shape(source)
        est._set_target_attributes(encoder)


class _ContinuedFit:
    """The stages of a fit that continues ``model_`` (``warm_start``, ``partial_fit``): the
    fitted preprocessor and target encoder are reused (``partial_fit`` updates an incremental
    preprocessor), and the history goes on."""

    def __init__(self, estimator):
        self.est = estimator

    def check(self, X, y):
        est = self.est
        X = _multi_input.check_inputs(est, X, reset=False, preprocessor=est.preprocessor_)
        return X, est._check_targets_again(y), est.target_encoder_

    def preprocess(self, X, y, incremental):
        preprocessor = self.est.preprocessor_
        Xt = _multi_input.transform_inputs(
            self.est, preprocessor, X, partial_fit_y=y if incremental else None
        )
        return preprocessor, Xt

    def model(self, source, encoder, routed, seed):
        est = self.est
        fitted = est.input_shape_ if isinstance(est.input_shape_, dict) else tuple(est.input_shape_)
        if input_shape(source) != fitted:
            raise ValueError(
                f"The preprocessor now outputs shape {input_shape(source)}, but the model "
                f"was built for {est.input_shape_}; refit from scratch."
            )
        return est.model_, {k: list(v) for k, v in est.history_.items()}

    def keep(self, preprocessor, encoder, source):
        pass
