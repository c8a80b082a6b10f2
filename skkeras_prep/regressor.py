"""KerasPipelineRegressor: the shared core with real-valued targets."""

import warnings

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.preprocessing import StandardScaler

from ._estimator import _KerasPipelineBase
from ._params import NONE, HasMethods, Options
from ._target_layout import as_predicted, model_output_count
from ._targets import RegressorTargetEncoder
from .exceptions import SkKerasPrepWarning

_PROBE_ROWS = 1000  # rows initialize predicts to tell a model of standardized y


class KerasPipelineRegressor(RegressorMixin, _KerasPipelineBase):
    """A Keras regressor with its scikit-learn preprocessing, as one scikit-learn estimator.

    ``fit`` clones and fits ``preprocessor`` on the training rows, fits ``target_transformer``
    on y, streams the transformed rows through ``tf.data`` and trains the Keras model;
    ``predict`` inverts the target transformation. Cross-validation and grid search therefore
    refit both transformers on each training fold, and every part is searchable
    (``preprocessor__*``, ``model__*``, ``optimizer__learning_rate``, ``epochs``).

    Parameters
    ----------
    model : None, builder object, callable or keras.Model, default=None
        None builds ``skkeras_prep.models.MLP()`` with a linear output of width
        ``n_outputs_``. A builder object (from ``skkeras_prep.models``) exposes its parameters
        as ``model__<name>``. A callable is called with the arguments it declares among the
        routed ``model__<name>`` values, ``n_features_in_`` (the width after the
        preprocessor), ``input_shape_``, ``n_outputs_``, ``target_type_`` and ``meta`` (a dict
        of these). A ``keras.Model`` instance is cloned (fresh weights) at every fit and never
        mutated. An uncompiled model is compiled with ``optimizer``, ``loss``, ``metrics``.
        A model the builder returns compiled keeps its own optimizer, loss and metrics except
        each one set here (the parameter, or any of its ``optimizer__*``, ``loss__*``,
        ``metrics__*``), which replaces the model's (the model is recompiled). A callable may
        also declare ``compile_kwargs`` (dict of the resolved ``optimizer``, ``loss``,
        ``metrics``) and ``params`` (``get_params()``); ``meta`` also has ``X_shape_``,
        ``X_dtype_``, ``y_dtype_``, ``n_outputs_expected_``, ``feature_encoder_`` and
        ``target_encoder_``, and a missing key raises a KeyError listing the keys. With
        model=None, a subclass may define ``_keras_build_fn(self, compile_kwargs)`` (the
        scikeras pattern): it is called like a builder, with ``meta``'s keys readable as
        attributes of ``self``; the subclass's own ``__init__`` parameters are parameters.
    preprocessor : scikit-learn transformer, dict of transformers or None, default=None
        Any transformer, ``Pipeline`` or ``ColumnTransformer``; cloned and fitted on the
        training rows at every fit. Its output may be sparse (kept sparse until the batch).
        For X with several named inputs (a dict or ``skkeras_prep.MultiInput``), a dict
        ``{input name: transformer}``; inputs without one pass through (docs/multi-io.md).
        Without one, X must be numeric and finite.
    optimizer : None, str, keras optimizer class or instance, default=None
        None is "adam" (or, for a model compiled by its builder, the model's own optimizer).
        An instance is copied, never mutated. ``optimizer__<arg>`` sets its arguments;
        ``optimizer__<arg>__<sub>`` makes an argument given as a class (a learning-rate
        schedule) with ``<sub>``.
    loss : str, keras loss or None, default=None
        None is mean squared error. Any regression loss of Keras (``"mae"``,
        ``keras.losses.Huber``, ...); ``loss__<arg>`` sets its arguments. Classification
        losses are refused. A class name (``"Huber"``) works like the class. With several
        outputs, one loss for all, a list in output order, or a dict ``{output name: loss}``
        (outputs it leaves out get mean squared error).
    metrics : str, metric, list, dict or None, default=None
        Keras metrics reported in ``history_`` under the names Keras gives them. One metric
        (a name, class or object) or a list; with several outputs also a dict by output name
        or one list per output. ``metrics__<arg>`` goes to each metric given by class or
        name, ``metrics__<i>__<arg>`` or ``metrics__<name>__<arg>`` to one.
    epochs : int >= 1, default=100
        Passes over the training rows (``partial_fit`` always runs one). A bool is refused.
    batch_size : int >= 1, -1 or None, default=64
        Rows per gradient step; None means the class default (the classifier's default is
        32: standardised targets at batch 64 matched MLPRegressor on diabetes, see
        docs/DESIGN.md); -1 means all rows in one batch.
    shuffle : bool, default=True
        Shuffle the rows each epoch (a seeded permutation).
    validation_split : float in [0, 1), default=0.0
        Fraction of the training rows held out (seeded) to report ``val_loss``.
    early_stopping : bool, default=False
        Stop when ``val_loss`` has not improved by ``tol`` for ``n_iter_no_change`` epochs and
        restore the best weights. Holds out ``validation_split`` (0.1 if that is 0).
    n_iter_no_change : int >= 1, default=10
        With ``early_stopping``: the number of epochs without an improvement of ``val_loss``
        by at least ``tol`` after which training stops (Keras ``EarlyStopping(patience=...)``).
    tol : float >= 0, default=1e-4
        With ``early_stopping``: the smallest decrease of ``val_loss`` that counts as an
        improvement (Keras ``EarlyStopping(min_delta=...)``), in units of the transformed
        target.
    callbacks : list or dict of keras callbacks (instances or classes), default=None
        Each fit works on deep copies; classes are built with ``callbacks__*`` arguments.
    target_transformer : "auto", scikit-learn transformer or None, default="auto"
        Fitted on y (as a 2-D column block) and inverted at predict, like
        ``TransformedTargetRegressor``. "auto" standardises y (``StandardScaler()``), because
        unscaled targets are the most common reason a neural regressor fails; None trains on
        y as it is; ``initialize`` (a model trained elsewhere) takes "auto" as None. A
        transformer needs ``fit``, ``transform`` and ``inverse_transform``.
    warm_start : bool, default=False
        A second ``fit`` continues training the same ``model_`` instead of rebuilding it.
    random_state : int >= 0, RandomState, Generator or None, default=None
        Seeds the weight initialisation, dropout, shuffling and validation split without
        touching global random state. Equal ints give identical predictions.
    verbose : {0, 1, 2} or bool, default=0
        0 is silent, 1 shows a progress bar, 2 one line per epoch; True/False mean 1/0.
    augmentation : None, Keras layer, list of Keras layers or dict, default=None
        Random transformations of the training images, applied to each training batch
        inside the ``tf.data`` pipeline; never to validation or early-stopping rows, nor in
        ``predict``, ``score`` or the model of ``export_model``. Layers are copied at each
        fit (yours are never called) and seeded from ``random_state``. A dict takes
        ``ImageDataGenerator``-style options: ``rotation_range`` (degrees),
        ``width_shift_range``, ``height_shift_range`` (fractions, or pixels from 1 on),
        ``zoom_range``, ``shear_range`` (degrees), ``horizontal_flip``, ``vertical_flip``,
        ``brightness_range`` ([lower, upper] factor), ``channel_shift_range`` (in pixel
        units) and ``fill_mode`` (default "nearest"). Needs image rows ``(h, w[, c])``.
    validation_batch_size : int >= 1 or None, default=None
        Rows per batch when the validation rows are evaluated; None is
        ``max(batch_size, 1024)``.
    run_eagerly : bool or None, default=None
        Keras's ``compile(run_eagerly=...)``: run the training step eagerly (slow; for
        debugging). None keeps what the model has (False when compiled here).
    jit_compile : bool, "auto" or None, default=None
        Keras's ``compile(jit_compile=...)`` (XLA). None keeps what the model has ("auto"
        when compiled here).
    shuffle_window_chunks : int >= 1, default=4
        With a dask X (docs/scaling.md, "Data larger than memory"): rows are shuffled within a
        window of this many consecutive chunks (partitions), read in order. Larger windows mix
        rows better and hold more chunks in memory at once.
    preprocessor_sample_size : int >= 1, default=100_000
        With a dask X: a preprocessor without ``partial_fit`` is fitted on a uniform random
        sample of this many rows (all rows if fewer); one with ``partial_fit`` is fitted in
        one pass over the chunks instead.
    distribution : None, str, tf.distribute.Strategy, callable or StrategySpec, default=None
        Train one model on several devices with a ``tf.distribute`` strategy: a name
        (``"mirrored"``: all visible GPUs, else the CPU; ``"one_device"``;
        ``"multi_worker_mirrored"``, configured by ``TF_CONFIG``), a strategy instance, or a
        factory (a module-level function returning one), resolved at each fit. The model,
        optimizer and metrics are built in its scope and Keras distributes the batches;
        ``batch_size`` is the global batch, split across the replicas. An instance is
        pickled and saved as a ``StrategySpec`` (its name and devices) and rebuilt at the
        next fit. See docs/scaling.md.
    **routed
        ``model__*``, ``optimizer__*``, ``loss__*``, ``metrics__*`` and ``callbacks__*``
        parameters, and, as in scikeras, ``fit__<name>`` (a Keras fit argument for every fit:
        ``epochs``, ``batch_size``, ``verbose``, ``shuffle``, ``validation_split``,
        ``validation_batch_size``, ``class_weight`` (classifier), ``callbacks``),
        ``predict__batch_size`` and ``score__<name>`` (passed to the scoring function).
        ``fit(X, y, name=...)`` beats ``fit__<name>``, which beats the constructor parameter;
        callbacks from all three run together.
        ``optimizer__learning_rate`` must be a finite float > 0 or a Keras learning-rate
        schedule. Any other name is reported at ``fit``.

    Every parameter is stored unchanged by ``__init__`` and checked at the start of ``fit``
    against the class's ``_parameter_constraints`` table; a bad value raises
    ``skkeras_prep.exceptions.InvalidParameterError`` (a ``ValueError`` and a ``TypeError``).
    ``score`` is R².

    Attributes
    ----------
    n_outputs_ : int
        Number of target columns (1 for a 1-D y), or of outputs for several outputs.
    target_type_ : str
        "continuous" or "continuous-multioutput".
    n_features_in_ : int
        Number of raw input features (before the preprocessor).
    feature_names_in_ : ndarray of str
        Column names, when X is a DataFrame with string column names.
    input_shape_ : tuple of int or dict
        Shape of one row after the preprocessor (what the model receives); a dict by input
        name for several inputs.
    input_names_ : list of str
        The input names, when X had several inputs (then there is no ``n_features_in_``).
    preprocessor_ : transformer or None
        The fitted clone of ``preprocessor``.
    target_encoder_ : object
        Holds the fitted clone of ``target_transformer`` (``target_transformer_``) and turns
        model outputs back into values shaped like y.
    model_ : keras.Model
        The trained model. With ``target_transformer`` (the default "auto" standardises y),
        it predicts the *transformed* target: ``model_.predict`` gives standardized values,
        and wrapping it again with ``initialize`` under "auto" (which means no scaling there)
        predicts them as if they were y (a warning says so). For a model in y's units, use
        ``export_model()``; to wrap ``model_`` again, pass the fitted scaling, e.g.
        ``target_transformer=StandardScaler()``.
    history_ : dict of lists
        Per-epoch ``loss`` (and ``val_loss`` and metrics), on the transformed target.
    n_iter_ : int
        Epochs run by the last ``fit`` (also with ``warm_start``) or ``partial_fit`` (1), as
        scikit-learn's ``MLPClassifier`` counts them; 0 after ``initialize``. ``history_``
        holds every epoch of a continued model.
    best_epoch_ : int or None
        With early stopping (``early_stopping=True``, or a Keras ``EarlyStopping`` callback with
        ``restore_best_weights=True``): the index in ``history_`` of the epoch whose weights
        were restored. None otherwise. ``skkeras_prep.plotting.HistoryDisplay`` marks it.
    callbacks_ : list of keras callbacks
        The copies of the user's callbacks that ran in the last fit (their state can be
        read here). Not saved by ``save``.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skkeras_prep import KerasPipelineRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = KerasPipelineRegressor(preprocessor=StandardScaler(), epochs=5, random_state=0)
    >>> reg.fit(X, y).predict(X[:2]).shape
    (2,)
    """

    _default_batch_size = 64  # what batch_size=None means (docs/DESIGN.md)
    _parameter_constraints = {
        **_KerasPipelineBase._parameter_constraints,
        "target_transformer": [
            NONE, Options(str, "auto"),
            HasMethods(["fit", "transform", "inverse_transform"],
                       "a transformer with fit, transform and inverse_transform"),
        ],
    }

    def __init__(
        self,
        model=None,
        preprocessor=None,
        *,
        optimizer=None,
        loss=None,
        metrics=None,
        epochs=100,
        batch_size=64,
        shuffle=True,
        validation_split=0.0,
        early_stopping=False,
        n_iter_no_change=10,
        tol=1e-4,
        callbacks=None,
        target_transformer="auto",
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
        super().__init__(
            model=model, preprocessor=preprocessor, optimizer=optimizer, loss=loss,
            metrics=metrics, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
            validation_split=validation_split, early_stopping=early_stopping,
            n_iter_no_change=n_iter_no_change, tol=tol, callbacks=callbacks,
            warm_start=warm_start, random_state=random_state, verbose=verbose,
            augmentation=augmentation, validation_batch_size=validation_batch_size,
            run_eagerly=run_eagerly, jit_compile=jit_compile,
            shuffle_window_chunks=shuffle_window_chunks,
            preprocessor_sample_size=preprocessor_sample_size, distribution=distribution,
            **routed,
        )
        self.target_transformer = target_transformer

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _new_target_encoder(self):
        return RegressorTargetEncoder()

    def _fit_target_encoder(self, encoder, y, classes, trained=False):
        transformer = self.target_transformer  # its kind was checked at fit
        if isinstance(transformer, str):  # "auto": standardise, unless wrapping a model
            # trained elsewhere (initialize), which predicts y as it is
            transformer = None if trained else StandardScaler()
        return encoder.fit(y, target_transformer=transformer)

    def _divergence_advice(self, remedies=()):
        if self.target_transformer is None:
            remedies = [*remedies, "standardise the targets (target_transformer='auto', the default)"]
        return super()._divergence_advice(remedies)

    def initialize(self, X, y):
        result = super().initialize(X, y)
        if self.target_transformer == "auto" and self.target_encoder_.target_transformer_ is None:
            _warn_if_standardized(self, X, y)
        return result

    initialize.__doc__ = _KerasPipelineBase.initialize.__doc__

    def _check_targets_again(self, y, encoder=None):
        return (encoder or self.target_encoder_).check_values(y)

    def partial_fit(self, X, y, sample_weight=None):
        """Train one pass over (X, y); the first call fits the preprocessor and builds the model.

        Parameters
        ----------
        X : array-like, sparse matrix, DataFrame, or dict / MultiInput of them
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        return self._partial_fit(X, y, None, sample_weight)

    def predict(self, X, **kwargs):
        """Predicted values, shape (n_samples,) or (n_samples, n_outputs) like y at fit; a
        lazy dask array for a dask X. ``batch_size=...`` sets the rows per prediction batch
        for this call (else ``predict__batch_size``, else 8192); it changes memory use, not
        the result."""
        return self._predict(X, "predict", lambda out: self.target_encoder_.to_predictions(out), kwargs)

    def score(self, X, y, sample_weight=None):
        """R² of ``predict(X)``; ``score__<name>`` parameters are passed to
        ``sklearn.metrics.r2_score`` (e.g. ``score__multioutput``), as in scikeras. With
        several outputs, y is given as for fit (a dict, list or ``MultiOutput``) or laid out
        as ``predict`` returns it; the default is the mean R² over the predicted columns (as
        scikit-learn's multi-output regressors score)."""
        y = as_predicted(getattr(self, "target_encoder_", None), y)
        return self._routed_score(r2_score, X, y, sample_weight)


def _warn_if_standardized(reg, X, y):
    """Warn when a wrapped model's predictions on the first rows fit standardized y far
    better than y itself (a ``model_`` of a regressor fitted with "auto" re-wrapped)."""
    head = reg._first_rows(X, _PROBE_ROWS)  # None for a lazy X or several inputs
    if model_output_count(reg.target_encoder_) > 1 or head is None:
        return
    from sklearn.utils import _safe_indexing

    pred = np.asarray(reg.predict(head), dtype=float)
    truth = np.asarray(_safe_indexing(y, np.arange(len(pred))), dtype=float).reshape(pred.shape)
    mean, std = truth.mean(axis=0), truth.std(axis=0)
    if not np.all(std > 0):
        return
    raw = np.mean((pred - truth) ** 2)
    unscaled = np.mean((pred * std + mean - truth) ** 2)
    if unscaled < 0.25 * raw:
        warnings.warn(
            "The wrapped model's predictions look like standardized y (mean "
            f"{pred.mean():.3g}, std {pred.std():.3g}; y has mean {truth.mean():.3g}, std "
            f"{truth.std():.3g}): target_transformer='auto' means no scaling in initialize. "
            "If it is the model_ of a regressor fitted with target_transformer='auto', use "
            "that regressor's export_model() for a model in y's units, or wrap it with "
            "target_transformer=StandardScaler() (the scaling it was trained with).",
            SkKerasPrepWarning, stacklevel=3,
        )
