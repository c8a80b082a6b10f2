"""The estimator core shared by the classifier and the regressor.

One way through the data (see docs/DESIGN.md):

    prepare: X -> _inputs.dispatch (X as named inputs, each with its kind's adapter)
             -> checks -> target encoder -> preprocessor_ (fitted on these rows) -> row source
    build:   model_ (built and compiled by _compiling), or the continued one (_fit_stages)
    train:   _training.train -> tf.data batches (_dataset) -> keras fit

``predict`` goes X -> dispatch -> checks -> preprocessor_.transform -> row source -> ordered
batches -> the model's forward function (_build); a lazy input (dask) maps it over its blocks.
Nothing here asks what kind X is. Subclasses supply the target encoder and turn model
outputs into labels or values.
"""

import numbers

import numpy as np
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from . import _augment, _build, _compiling, _dataset, _padding, _pool, _training
from . import distribution as _distribution
from ._call_options import fit_options, predict_batch_size, score_options
from ._estimator_params import EstimatorParams
from ._fit_stages import ContinuedFit, NewFit, check_diverged, check_distributable
from ._fit_stages import check_same_rows
from ._html_repr import PartsReprMixin
from ._inputs import dispatch, input_shape, reading, whole_transformer
from ._params import BOOLEAN, CALLABLE, CLASS, NONE, STRING, HasMethods, InstanceOf, Interval, Options
from ._params import positive_int, validate_params
from ._routing import check_routed_names, extra_params, params_for, routed_params
from ._target_layout import join_rows, map_heads
from ._targets import check_target_columns
from ._validation import check_sample_weight, check_weight_range, first_input_tags

_PREDICT_BATCH_SIZE = 8192


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


class _KerasPipelineBase(PartsReprMixin, EstimatorParams):
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
        "optimizer": [NONE, STRING, CLASS, HasMethods(["apply_gradients", "get_config"],
                                                      "a keras optimizer instance")],
        "loss": [NONE, STRING, CALLABLE,
                 InstanceOf((dict, list, tuple), "a dict of losses keyed by output name or a "
                            "list of losses in output order")],
        "metrics": [NONE, STRING, CALLABLE,
                    InstanceOf((list, tuple, dict), "a list, tuple or dict of Keras metrics")],
        "epochs": [positive_int()],
        "batch_size": [NONE, positive_int(), Options(numbers.Integral, -1)],
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
        "verbose": [Options(numbers.Integral, 0, 1, 2), BOOLEAN],
        "augmentation": [NONE, InstanceOf((dict, list, tuple),
                                          "a dict of ImageDataGenerator-style options or a list of Keras layers"),
                         HasMethods(["call", "get_config"], "a Keras layer")],
        "validation_batch_size": [NONE, positive_int()],
        "run_eagerly": [NONE, BOOLEAN],
        "jit_compile": [NONE, BOOLEAN, Options(str, "auto")],
        "shuffle_window_chunks": [positive_int()],
        "preprocessor_sample_size": [positive_int()],
        "distribution": [NONE, Options(str, *_distribution.STRATEGY_NAMES),
                         InstanceOf(_distribution.StrategySpec, "a StrategySpec"),
                         HasMethods(["scope", "experimental_distribute_dataset"],
                                    "a tf.distribute.Strategy"),
                         CALLABLE],
    }
    _default_batch_size = 32  # what batch_size=None means

    def __init__(
        self,
        model=None,
        preprocessor=None,
        *,
        optimizer=None,
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
        augmentation=None,
        validation_batch_size=None,
        run_eagerly=None,
        jit_compile=None,
        shuffle_window_chunks=4,
        preprocessor_sample_size=100_000,
        distribution=None,
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
        self.augmentation = augmentation
        self.validation_batch_size = validation_batch_size
        self.run_eagerly = run_eagerly
        self.jit_compile = jit_compile
        self.shuffle_window_chunks = shuffle_window_chunks
        self.preprocessor_sample_size = preprocessor_sample_size
        self.distribution = distribution
        self._routed = routed

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.dict = True  # several named inputs (a dict or skkeras_prep.MultiInput)
        tags.target_tags.required = True
        preprocessor = whole_transformer(self.preprocessor)  # None: per input, or none
        if preprocessor is not None:
            try:
                inner = get_tags(preprocessor).input_tags
            except Exception:  # a third-party transformer without tags: assume numeric arrays
                inner = None
            if inner is not None:
                tags.input_tags.allow_nan = _accepts_nan(preprocessor)
                tags.input_tags.sparse = inner.sparse
                tags.input_tags.string = inner.string
                tags.input_tags.categorical = inner.categorical
            first = first_input_tags(preprocessor)
            if first is not None and first.one_d_array:  # image file paths
                tags.input_tags.one_d_array = True
                tags.input_tags.two_d_array = first.two_d_array
        return tags

    # -- hooks for subclasses --------------------------------------------------------------
    def _new_target_encoder(self):
        raise NotImplementedError

    def _fit_target_encoder(self, encoder, y, classes, trained=False):
        raise NotImplementedError

    def _check_targets_again(self, y, encoder=None):
        raise NotImplementedError

    def _extra_row_weights(self, y, encoder, class_weight=None):
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
    def fit(self, X, y, sample_weight=None, **kwargs):
        """Fit the preprocessor on (X, y), then train the Keras model on the transformed rows.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Or a dask array or DataFrame, read block by block and never loaded whole
            (docs/scaling.md, "Data larger than memory"). Or a dict / ``skkeras_prep.MultiInput``
            of arrays, one per named model input (docs/multi-io.md).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            A dask array or Series too (computed into memory: one value per row). Or a dict,
            list of arrays or ``skkeras_prep.MultiOutput``: one target per named model output
            (docs/multi-io.md).
        sample_weight : array-like of shape (n_samples,), default=None
        **kwargs
            Keras ``fit`` arguments for this call only: ``epochs``, ``batch_size``,
            ``verbose``, ``shuffle``, ``validation_split``, ``validation_batch_size``,
            ``class_weight`` (classifier), ``callbacks`` (run after the estimator's own) and
            ``validation_data=(X_val, y_val[, sample_weight_val])`` (X_val goes through the
            fitted preprocessor). A value given here wins over ``fit__<name>``, which wins
            over the constructor parameter. They are not hyper-parameters: ``clone`` does
            not keep them; for a search, set the parameters instead.

        Returns
        -------
        self
        """
        continue_training = self.warm_start and hasattr(self, "model_")
        return self._fit(X, y, sample_weight, fresh=not continue_training, call_kwargs=kwargs)

    def initialize(self, X, y):
        """Fit the preprocessor and the target encoding on (X, y) and make ``model_`` without
        training it. Returns self.

        - ``model=`` a trained ``keras.Model``: a copy of it is wrapped with its weights (the
          given model is never changed). For the regressor, ``target_transformer="auto"`` then
          means no scaling: the model is taken as predicting y in its own units.
        - a builder (a function, a builder object, ``_keras_build_fn``, or None for the
          default ``MLP``): the model is built and compiled as ``fit`` would, untrained, with
          ``model__*`` arguments and ``random_state`` applied.

        Either way the model is compiled by the same rule as in ``fit``; ``predict``,
        ``predict_proba``, ``score``, ``partial_fit``, ``save`` and ``export_model`` then work,
        ``model_`` can be inspected or changed (``est.model_.set_weights(...)``),
        ``history_`` is empty and ``n_iter_`` is 0.
        """
        return self._fit(X, y, None, fresh=True, trained=True)

    def _partial_fit(self, X, y, classes, sample_weight):
        fresh = not hasattr(self, "model_")
        return self._fit(X, y, sample_weight, fresh=fresh, classes=classes, incremental=True)

    def _fit(self, X, y, sample_weight, *, fresh, classes=None, incremental=False,
             call_kwargs=None, trained=False):
        """prepare (checks, targets, preprocessor) -> build (a new or the continued model)
        -> train (``_training.train``) -> keep the fitted parts. ``fresh`` picks the stage
        objects once (``_fit_stages``). ``trained`` (``initialize``): the given model is
        wrapped and not trained."""
        check_routed_names(extra_params(self), type(self).__name__)
        validate_params(self, routed_params(self))
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None. "
                "Pass the labels or values to fit(X, y)."
            )
        routed = routed_params(self)
        options = fit_options(self, routed, call_kwargs or {})
        if incremental:
            options["epochs"] = 1
        strategy = _distribution.resolve(self.distribution) if fresh else None
        check_distributable(strategy, options["batch_size"])
        stage = NewFit(self, classes, trained, strategy) if fresh else ContinuedFit(self)
        inputs = dispatch(X)
        y, sample_weight = inputs.in_memory(y, sample_weight)  # a lazy X: computed now
        y, encoder = stage.check(inputs, y)
        weights = self._row_weights(sample_weight, y, encoder, options.get("class_weight"))
        seeds = _training.draw_seeds(self.random_state, 3)
        preprocessor, source = stage.preprocess(inputs, y, incremental, seeds[2])
        if options["batch_size"] == -1:  # scikeras's "all rows in one batch"
            options["batch_size"] = max(1, source.n_rows)

        model, history = stage.model(source, encoder, routed, seeds[0])
        callbacks = _compiling.resolve_callbacks(self.callbacks, params_for("callbacks", routed))
        for more in options["callbacks"]:
            callbacks += _compiling.resolve_callbacks(more, {})
        epochs_before = len(history.get("loss", []))
        restored = None
        if not trained:
            fit_data = (source, y, weights, encoder, preprocessor)
            restored = self._train(model, fit_data, history, callbacks, options, seeds)

        stage.keep(preprocessor, encoder, source)
        self.model_ = model
        _pool.adopt(self, model)  # hands a model this estimator owned before back to the pool
        self.history_ = history
        # the epochs of this call, as MLPClassifier counts (partial_fit: 1, initialize: 0);
        # history_ keeps every epoch of a continued model (scikeras's current_epoch)
        self.n_iter_ = 0 if trained else len(history.get("loss", [])) - epochs_before
        self.best_epoch_ = None if restored is None else epochs_before + restored
        self.callbacks_ = callbacks
        return self

    def _row_weights(self, sample_weight, y, encoder, class_weight):
        """One float32 weight per row: ``sample_weight`` times the subclass's (``class_weight``)."""
        weights = check_sample_weight(sample_weight, len(y))
        extra = self._extra_row_weights(y, encoder, class_weight)
        if extra is not None:
            weights = (weights * extra).astype(np.float32)
            check_weight_range(weights, "sample_weight times class_weight")
        return weights

    def _train(self, model, fit_data, history, callbacks, options, seeds):
        """Train ``model`` on (source, y, weights) and extend ``history`` with Keras's; the
        epoch whose weights early stopping restored, or None."""
        source, y, weights, encoder, preprocessor = fit_data
        epochs_before = len(history.get("loss", []))
        validation = self._validation_rows(options["validation_data"], preprocessor, encoder)
        # continued fits (warm_start, partial_fit) augment with new draws, as they shuffle
        augment = None if self.augmentation is None else _augment.for_fit(
            self.augmentation, input_shape(source), seeds[0] + epochs_before)
        targets = encoder.targets(y)  # one head, or one per output
        settings = _training.TrainingSettings.of(self, callbacks, options)
        fraction = 0.0 if validation is not None else settings.validation_fraction
        stratify = self._stratify_labels(targets.values) if fraction and targets.single else None
        with reading(source):  # e.g. an image file that fails to decode
            keras_history = _training.train(
                model, source, targets, weights, settings=settings,
                epochs=options["epochs"], shuffle_seed=seeds[1] + epochs_before,
                split_seed=seeds[2], stratify=stratify, augment=augment, validation=validation,
            )
        for key, values in keras_history.items():
            history.setdefault(key, []).extend(float(v) for v in values)
        check_diverged(history, self._divergence_advice())
        return settings.restored_epoch

    def _validation_rows(self, validation_data, preprocessor, encoder):
        """``fit(validation_data=(X_val, y_val[, w_val]))`` as (row source, encoded targets,
        weights): X_val through the checks and the preprocessor fitted on this fit's rows."""
        if validation_data is None:
            return None
        X_val, y_val, *rest = validation_data
        inputs = dispatch(X_val)
        y_val, w_val = inputs.in_memory(y_val, rest[0] if rest else None)
        inputs.check(self, reset=False, preprocessor=preprocessor)
        y_val = self._check_targets_again(y_val, encoder)
        check_same_rows(inputs, y_val)
        weights = check_sample_weight(w_val, len(y_val))
        return inputs.rows(self, preprocessor), encoder.targets(y_val), weights

    # -- scoring ---------------------------------------------------------------------------
    def _routed_score(self, scorer, X, y, sample_weight):
        """``scorer(y, predict(X), sample_weight=..., **score__*)`` (a float for a lazy X:
        the predictions, y and the weights computed together)."""
        kwargs = score_options(self, routed_params(self))
        check_target_columns(y)
        return dispatch(X).score(self, scorer, y, sample_weight, kwargs)

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

        return save_estimator(self, path)

    def export_model(self, input=None):
        """A ``keras.Model`` taking raw features, with the fitted preprocessing baked in, that
        returns what ``predict_proba`` (regressor: ``predict``) returns. See docs/persistence.md.
        With an ``ImageLoader`` preprocessor, ``input="images"`` (the default) takes images of
        the trained size, and ``input="bytes"`` encoded image files (docs/images.md)."""
        from .export import export_model

        return export_model(self, input=input)

    # -- prediction ------------------------------------------------------------------------
    def _predict(self, X, method, finish, call_kwargs):
        """``method`` (e.g. "predict_proba") on X: ``finish`` (raw model outputs -> the
        method's result) of the model's outputs; a lazy array for a lazy X (dask)."""
        check_is_fitted(self, "model_")
        return dispatch(X).predict(self, method, finish, call_kwargs or {})

    def _first_rows(self, X, n):
        """The first ``n`` rows of X as X's own kind, or None where X is not in memory or has
        several inputs."""
        return dispatch(X).head(n)

    def _model_output(self, inputs, call_kwargs=None):
        """Raw model outputs (float32, shape (n, width)) for ``inputs`` (``_inputs.dispatch``),
        streamed in ordered batches (``batch_size``: a ``predict`` keyword, else
        ``predict__batch_size``, else 8192 rows); a list of them, in the target encoder's
        order, for several outputs."""
        check_is_fitted(self, "model_")
        batch_size = predict_batch_size(self, routed_params(self), call_kwargs or {},
                                        _PREDICT_BATCH_SIZE)
        source = inputs.prediction_rows(self)
        if batch_size == -1:  # all rows in one batch
            batch_size = max(1, source.n_rows)
        with reading(source):
            outputs = [
                self._call_model(batch)
                for batch in _dataset.prediction_batches(source, batch_size=batch_size)
            ]
        return join_rows(outputs)

    def _call_model(self, batch):
        """The model's output for one batch, run in whole blocks of ``_padding.ROW_BLOCK``
        rows (the tail padded with copies of its last row, within ``_padding.PAD_BYTES``), so
        that a row's prediction does not depend on its position in the batch nor on how many
        rows came with it (scikit-learn's ``check_methods_sample_order_invariance`` failed by
        2e-7 for some weights without it). A list of arrays for several outputs."""
        forward = _build.forward_function(self.model_, self.input_shape_)
        results = [self._outputs(forward(piece), keep) for piece, keep in _padding.pieces(batch)]
        return results[0] if len(results) == 1 else join_rows(results)

    def _outputs(self, out, n):
        """The first ``n`` rows of the forward function's output, as numpy arrays (a list of
        them in the target encoder's order for several outputs)."""
        return map_heads(self.target_encoder_, out, lambda head, part: part.numpy()[:n])
