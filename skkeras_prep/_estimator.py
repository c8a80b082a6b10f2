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

from . import _augment, _build, _compiling, _dataset, _multi_input, _padding, _pool, _training
from ._call_options import fit_options, predict_batch_size, score_options
from ._compat import sklearn_num_samples
from ._html_repr import PartsReprMixin
from . import distribution as _distribution
from ._pickling import classes_scope, picklable_state
from ._params import BOOLEAN, CALLABLE, CLASS, NONE, STRING, HasMethods, InstanceOf, Interval, Options
from ._params import positive_int, validate_params
from ._routing import check_routed_names, extra_params, init_param_names, is_routed_name, params_for
from ._routing import routed_params
from ._targets import MultiOutputEncoder, check_target_columns
from ._validation import check_collection_X, check_sample_weight, check_transformed, check_weight_range
from ._validation import check_X, first_input_tags, nd_input_hint, transform
from .exceptions import TrainingDivergedError
from .multi_io import MultiInput, MultiOutput, is_multi_target
from .sources import explaining_errors, input_shape, input_width, streaming_rows_of
from .sources.dask import DaskRows, DaskSource, compute, is_dask_collection, map_rows

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


class _KerasPipelineBase(PartsReprMixin, BaseEstimator):
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

    # Parameters added after version 0.1, with their defaults: a pickle written by an earlier
    # version lacks them (``__setstate__``).
    _ADDED_PARAMETERS = {
        "augmentation": None, "validation_batch_size": None, "run_eagerly": None,
        "jit_compile": None, "shuffle_window_chunks": 4, "preprocessor_sample_size": 100_000,
        "distribution": None,
    }

    def __setstate__(self, state):
        super().__setstate__(state)
        for name, default in self._ADDED_PARAMETERS.items():
            if name not in vars(self):
                setattr(self, name, default)

    # -- parameters ------------------------------------------------------------------------
    @classmethod
    def _get_param_names(cls):
        """The parameters of every ``__init__`` from this class up to the shared base, so that
        a subclass in the scikeras style (its own ``__init__`` with new parameters, passing
        the others on as ``**kwargs``) keeps all of them in ``get_params`` and ``clone``.
        Remembered per tuple of those ``__init__`` functions (reading their signatures cost
        about 0.2 ms, several times a fit and a clone)."""
        inits = []
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is not None and issubclass(klass, _KerasPipelineBase):
                inits.append(init)
            if klass is _KerasPipelineBase:
                break
        return list(init_param_names(tuple(inits)))

    def __sklearn_clone__(self):
        """scikit-learn's clone, sharing a ``tf.distribute`` strategy instance instead of
        deep-copying it: a copy would restart the strategy's collective keys, so fits of two
        clones could collide; a strategy holds no training state. A ``keras.Model`` given as
        ``model`` is shared too: fits only read it (each fit trains a clone of it, see
        ``_build.build_model``), and deep-copying it cost about 75 ms a clone (issue 21: a
        CV clones the estimator once per fold)."""
        import keras

        shared = isinstance(self.model, keras.Model)  # not copied: no classes needed for it
        params = [value for name, value in vars(self).items()
                  if not name.endswith("_") and not (shared and name == "model")]
        with classes_scope(params):  # clone deep-copies the user's Keras objects
            if not shared:
                new = super().__sklearn_clone__()
            else:
                without = object.__new__(type(self))
                vars(without).update(vars(self), model=None)
                new = BaseEstimator.__sklearn_clone__(without)
                new.model = self.model
        if _distribution.is_strategy(self.distribution):
            new.distribution = self.distribution
        return new

    def __getstate__(self):
        """Pickled state: a ``tf.distribute`` strategy instance in ``distribution`` cannot be
        pickled, so its ``StrategySpec`` (name and devices) goes in its place; Keras objects
        naming the user's classes carry them (``_pickling``)."""
        state = super().__getstate__()
        if "distribution" in state:
            state = dict(state, distribution=_distribution.picklable(state["distribution"]))
        return picklable_state(state)  # the user's own Keras classes unpickle too

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
            first = first_input_tags(self.preprocessor)
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
        objects once: ``_NewFit`` or ``_ContinuedFit``. ``trained`` (``initialize``): the
        given model is wrapped and not trained."""
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
        _check_distributable(strategy, options["batch_size"])
        stage = _NewFit(self, classes, trained, strategy) if fresh else _ContinuedFit(self)
        streamed = None
        if is_dask_collection(X):  # larger than memory: X stays lazy, y and weights computed
            streamed, y, sample_weight = DaskRows.of(X, y, sample_weight)
        X, y, encoder = stage.check(X, y)
        if streamed is None:
            check_consistent_length(X, y)
        elif len(y) != streamed.n_rows:
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: X has "
                f"{streamed.n_rows} rows, y has {len(y)}."
            )
        weights = check_sample_weight(sample_weight, len(y))
        extra = self._extra_row_weights(y, encoder, options.get("class_weight"))
        if extra is not None:
            weights = (weights * extra).astype(np.float32)
            check_weight_range(weights, "sample_weight times class_weight")
        seeds = _training.draw_seeds(self.random_state, 3)
        if streamed is None:
            preprocessor, Xt = stage.preprocess(X, y, incremental)
        else:
            preprocessor = stage.preprocess_streamed(streamed, y, incremental, [seeds[2], 1])
            Xt = self._streamed_source(streamed, preprocessor)
        source = self._rows(Xt, preprocessor)
        if options["batch_size"] == -1:  # scikeras's "all rows in one batch"
            options["batch_size"] = max(1, source.n_rows)

        model, history = stage.model(source, encoder, routed, seeds[0])
        callbacks = _compiling.resolve_callbacks(self.callbacks, params_for("callbacks", routed))
        for more in options["callbacks"]:
            callbacks += _compiling.resolve_callbacks(more, {})
        epochs_before = len(history.get("loss", []))
        restored = None
        if not trained:
            validation = self._validation_rows(options["validation_data"], preprocessor, encoder)
            # continued fits (warm_start, partial_fit) augment with new draws, as they shuffle
            augment = _augment.for_fit(self.augmentation, input_shape(source),
                                       seeds[0] + epochs_before)
            targets = encoder.targets(y)  # one head, or one per output
            settings = _training.TrainingSettings.of(self, callbacks, options)
            fraction = 0.0 if validation is not None else settings.validation_fraction
            stratify = self._stratify_labels(targets.values) if fraction and targets.single else None
            with explaining_errors(source):  # e.g. an image file that fails to decode
                try:
                    keras_history = _training.train(
                        model, source, targets, weights, settings=settings,
                        epochs=options["epochs"], shuffle_seed=seeds[1] + epochs_before,
                        split_seed=seeds[2], stratify=stratify, augment=augment,
                        validation=validation,
                    )
                except Exception:
                    failure = getattr(source, "failure", None)  # a streamed block's own error,
                    if failure is not None:  # instead of TensorFlow's wrapped copy of it
                        raise failure from None
                    raise
            for key, values in keras_history.items():
                history.setdefault(key, []).extend(float(v) for v in values)
            _check_diverged(history, self._divergence_advice())
            restored = settings.restored_epoch

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

    def _validation_rows(self, validation_data, preprocessor, encoder):
        """``fit(validation_data=(X_val, y_val[, w_val]))`` as (row source, encoded targets,
        weights): X_val through the checks and the preprocessor fitted on this fit's rows."""
        if validation_data is None:
            return None
        X_val, y_val, *rest = validation_data
        X_val = _multi_input.check_inputs(self, X_val, reset=False, preprocessor=preprocessor)
        Xt = _multi_input.transform_inputs(self, preprocessor, X_val)
        y_val = self._check_targets_again(y_val, encoder)
        check_consistent_length(X_val, y_val)
        weights = check_sample_weight(rest[0] if rest else None, len(y_val))
        return self._rows(Xt, preprocessor), encoder.targets(y_val), weights

    def _rows(self, Xt, preprocessor):
        """The row source of transformed X: checked as the preprocessor's output where there
        is one (a source returned by ``transform`` is streamed as it is); one per input for
        several inputs."""
        return _multi_input.rows(Xt, preprocessor)

    def _streamed_source(self, rows, preprocessor):
        """The row source of a dask X (``sources.dask.DaskSource``): each block is transformed
        by the fitted preprocessor and checked as it streams (without a preprocessor: checked
        like X), and ``shuffle_window_chunks`` blocks are shuffled together. The first rows of
        the first block are transformed now, for the row shape and an early error."""

        def transform_block(block):
            if preprocessor is None:
                return check_X(self, block, reset=False, preprocessor=None)
            checked = check_transformed(transform(self, preprocessor, block), preprocessor)
            if not hasattr(checked, "stored_values") or checked.stored_values() is None:
                raise TypeError(
                    f"The preprocessor {type(preprocessor).__name__} returned a row source "
                    f"({type(checked).__name__}); with dask input it must return arrays."
                )
            return checked.X

        (_, first), = rows.blocks([0])
        probe = transform_block(first[:2])
        return DaskSource(rows, transform_block, probe.shape[1:],
                          window_chunks=self.shuffle_window_chunks)

    def _meta(self, source, encoder, data=None):
        """What a builder gets as ``meta`` (a dict whose missing keys raise a KeyError listing
        the keys there are). ``data``: scikeras's keys about the raw data (``X_shape_``,
        ``X_dtype_``, ``y_dtype_``, ``feature_encoder_``)."""
        meta = {
            "n_features_in_": input_width(source),
            "input_shape_": input_shape(source),
            "output_names_": getattr(encoder, "keys_", None),
            "n_outputs_": encoder.n_outputs_,
            # the number of output tensors the model has (one per target for several outputs)
            "n_outputs_expected_": len(encoder.heads_) if getattr(encoder, "several_outputs", False) else 1,
            "target_type_": encoder.target_type_,
            "n_classes_": getattr(encoder, "n_classes_", None),
            "classes_": getattr(encoder, "classes_", None),
            "target_encoder_": encoder,
        }
        meta.update(data or {})
        return _build.Meta(meta)

    # -- scoring ---------------------------------------------------------------------------
    def _routed_score(self, scorer, X, y, sample_weight):
        """``scorer(y, predict(X), sample_weight=..., **score__*)``."""
        kwargs = score_options(self, routed_params(self))
        check_target_columns(y)
        if is_dask_collection(X):  # a float: the lazy predictions, y and weights computed
            predictions, y, sample_weight = compute(self.predict(X), y, sample_weight)
            return float(scorer(np.asarray(y), predictions, sample_weight=sample_weight, **kwargs))
        return scorer(y, self.predict(X), sample_weight=sample_weight, **kwargs)

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
    def _model_output(self, X, call_kwargs=None):
        """Raw model outputs (float32, shape (n, width)) for X, streamed in ordered batches
        (``batch_size``: a ``predict`` keyword, else ``predict__batch_size``, else 8192 rows);
        a list of them, in the target encoder's order, for several outputs."""
        check_is_fitted(self, "model_")
        batch_size = predict_batch_size(self, routed_params(self), call_kwargs or {},
                                        _PREDICT_BATCH_SIZE)
        X = _multi_input.check_inputs(self, X, reset=False, preprocessor=self.preprocessor_)
        Xt = _multi_input.transform_inputs(self, self.preprocessor_, X)
        source = self._rows(Xt, self.preprocessor_)
        if batch_size == -1:  # all rows in one batch
            batch_size = max(1, source.n_rows)
        with explaining_errors(source):
            outputs = [
                self._call_model(batch)
                for batch in _dataset.prediction_batches(source, batch_size=batch_size)
            ]
        if isinstance(outputs[0], list):  # several outputs: one array per output
            return [np.concatenate(parts, axis=0) for parts in zip(*outputs)]
        return np.concatenate(outputs, axis=0)

    def _lazy(self, X, method, finish):
        """``method`` (e.g. "predict_proba") over a dask X as a lazy dask array, one block at
        a time; nothing is computed until asked. ``finish`` turns raw model outputs into the
        method's result; it is applied to one zero row, for the result's shape and dtype."""
        check_is_fitted(self, "model_")
        X = check_collection_X(self, X, reset=False, preprocessor=self.preprocessor_)
        template = finish(self._call_model(np.zeros((1,) + tuple(self.input_shape_), np.float32)))
        if isinstance(template, list):  # several outputs' probabilities: one array each,
            # sliced from one mapped array (compute them together: dask.compute(*result))
            widths = [np.asarray(t).shape[1] for t in template]
            joined = map_rows(X, _BlockMethod(self, method, joined=True),
                              np.concatenate([np.asarray(t) for t in template], axis=1))
            bounds = np.cumsum([0] + widths)
            return [joined[:, a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        return map_rows(X, _BlockMethod(self, method), np.asarray(template))

    def _call_model(self, batch):
        """The model's output for one batch, run in whole blocks of ``_padding.ROW_BLOCK``
        rows (the tail padded with copies of its last row, within ``_padding.PAD_BYTES``), so
        that a row's prediction does not depend on its position in the batch nor on how many
        rows came with it (scikit-learn's ``check_methods_sample_order_invariance`` failed by
        2e-7 for some weights without it). A list of arrays for several outputs."""
        forward = _build.forward_function(self.model_, self.input_shape_)
        results = [self._outputs(forward(piece), keep) for piece, keep in _padding.pieces(batch)]
        if len(results) == 1:
            return results[0]
        if isinstance(results[0], list):
            return [np.concatenate(parts, axis=0) for parts in zip(*results)]
        return np.concatenate(results, axis=0)

    def _outputs(self, out, n):
        """The first ``n`` rows of the forward function's output, as numpy arrays."""
        if isinstance(out, (dict, list, tuple)):  # several outputs, in the encoder's order
            parts = [out[name] for name in self.target_encoder_.names_] if isinstance(out, dict) else out
            return [part.numpy()[:n] for part in parts]
        return out.numpy()[:n]




class _BlockMethod:
    """``estimator.<method>(block)`` as a numpy array: the function a lazy prediction maps over
    the blocks (a class, so a distributed scheduler can pickle it with the estimator)."""

    def __init__(self, estimator, method, joined=False):
        self.estimator = estimator
        self.method = method
        self.joined = joined  # several outputs' arrays side by side

    def __call__(self, block):
        out = getattr(self.estimator, self.method)(block)
        if self.joined:
            return np.concatenate([np.asarray(part) for part in out], axis=1)
        return np.asarray(out)


def _fit_on_blocks(preprocessor, rows, y, sample_size, seed):
    """Fit ``preprocessor`` on the blocks of a dask X (``sources.dask.DaskRows``): in one pass
    with ``partial_fit`` where it has one (StandardScaler, MinMaxScaler, ...); else with
    ``fit`` on a uniform random sample of ``sample_size`` rows (seeded by ``seed``)."""
    if hasattr(preprocessor, "partial_fit"):
        _partial_fit_on_blocks(preprocessor, rows, y)
        return
    sample, which = rows.sample(sample_size, seed)
    preprocessor.fit(sample, y[which])


def _partial_fit_on_blocks(preprocessor, rows, y):
    for start, block in rows.blocks():
        preprocessor.partial_fit(block, y[start:start + len(block)])


def _check_distributable(strategy, batch_size):
    """Refuse what a distribution strategy cannot serve, before anything is built."""
    n = _distribution.replicas(strategy)
    if batch_size != -1 and batch_size < n:
        raise ValueError(
            f"batch_size={batch_size} is smaller than the {n} replicas of the distribution "
            f"strategy ({type(strategy).__name__}): each replica needs at least one row of "
            f"every batch. Pass batch_size >= {n} (batch_size is the global batch, split "
            "across the replicas)."
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

    def __init__(self, estimator, classes, trained=False, strategy=None):
        self.est = estimator
        self.classes = classes
        # initialize: wrap the given trained keras.Model (a builder is built untrained)
        self.trained = trained and _build.is_model_instance(estimator.model)
        self.strategy = strategy  # a tf.distribute strategy, or None
        self.data = {}  # scikeras's meta keys about the raw data

    def check(self, X, y):
        est = self.est
        dask = is_dask_collection(X)
        check = check_collection_X if dask else _multi_input.check_inputs
        X = check(est, X, reset=True, preprocessor=est.preprocessor)
        if is_multi_target(y, None if dask else sklearn_num_samples(X)):
            # one target per output, each its own encoder
            encoder = MultiOutputEncoder(
                est._new_target_encoder, "classifier" if is_classifier(est) else "regressor"
            )
        else:
            encoder = est._new_target_encoder()
        y = est._fit_target_encoder(encoder, y, self.classes, trained=self.trained)
        shape = X.shape if hasattr(X, "shape") else (sklearn_num_samples(X),)
        y_dtype = ({name: np.asarray(t).dtype for name, t in y.data.items()}
                   if isinstance(y, MultiOutput) else np.asarray(y).dtype)
        self.data = {"X_shape_": tuple(shape),
                     "X_dtype_": getattr(X, "dtype", None), "y_dtype_": y_dtype}
        return X, y, encoder

    def preprocess(self, X, y, incremental):
        preprocessor = None if self.est.preprocessor is None else clone(self.est.preprocessor)
        if isinstance(X, MultiInput):
            preprocessor, X = _multi_input.fit_transform_inputs(preprocessor, X, y, incremental)
        elif preprocessor is not None:
            with nd_input_hint(preprocessor, X), streaming_rows_of(preprocessor):
                # its transform may return a row source
                if incremental and hasattr(preprocessor, "partial_fit"):
                    X = preprocessor.partial_fit(X, y).transform(X)
                else:
                    X = preprocessor.fit_transform(X, y)
        self.data["feature_encoder_"] = preprocessor
        return preprocessor, X

    def preprocess_streamed(self, rows, y, incremental, seed):
        """A clone of the preprocessor fitted on the blocks of a dask X (``_fit_on_blocks``)."""
        preprocessor = None if self.est.preprocessor is None else clone(self.est.preprocessor)
        if preprocessor is not None:
            _fit_on_blocks(preprocessor, rows, y, self.est.preprocessor_sample_size, seed)
        return preprocessor

    def model(self, source, encoder, routed, seed):
        est = self.est
        meta = est._meta(source, encoder, self.data)
        with _training.model_scope(self.strategy):
            model = _compiling.make_compiled_model(est, routed, meta, encoder, seed, trained=self.trained)
        return _pool.reuse_or_keep(model), {}

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
        check = check_collection_X if is_dask_collection(X) else _multi_input.check_inputs
        X = check(est, X, reset=False, preprocessor=est.preprocessor_)
        return X, est._check_targets_again(y), est.target_encoder_

    def preprocess(self, X, y, incremental):
        preprocessor = self.est.preprocessor_
        Xt = _multi_input.transform_inputs(
            self.est, preprocessor, X, partial_fit_y=y if incremental else None
        )
        return preprocessor, Xt

    def preprocess_streamed(self, rows, y, incremental, seed):
        """The fitted preprocessor; ``partial_fit`` updates an incremental one over the blocks."""
        preprocessor = self.est.preprocessor_
        if preprocessor is not None and incremental and hasattr(preprocessor, "partial_fit"):
            _partial_fit_on_blocks(preprocessor, rows, y)
        return preprocessor

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
