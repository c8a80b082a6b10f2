"""KerasPipelineClassifier: labels, probabilities and decision values on top of the shared core."""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score

from ._estimator import _KerasPipelineBase
from ._call_options import score_options
from ._class_weight import row_weights
from ._params import NONE, InstanceOf, Options
from ._routing import routed_params
from ._target_layout import map_outputs, model_output_count
from ._targets import ClassifierTargetEncoder


class KerasPipelineClassifier(ClassifierMixin, _KerasPipelineBase):
    """A Keras classifier with its scikit-learn preprocessing, as one scikit-learn estimator.

    ``fit`` clones and fits ``preprocessor`` on the training rows, encodes the labels, streams
    the transformed rows through ``tf.data`` and trains the Keras model. Cross-validation and
    grid search therefore refit the preprocessor on each training fold, and every part is
    searchable (``preprocessor__*``, ``model__*``, ``optimizer__learning_rate``, ``epochs``).

    Parameters
    ----------
    model : None, builder object, callable or keras.Model, default=None
        None builds ``skkeras_prep.models.MLP()``. A builder object (from
        ``skkeras_prep.models``) exposes its parameters as ``model__<name>``. A callable is
        called with the arguments it declares among the routed ``model__<name>`` values,
        ``n_features_in_`` (the width after the preprocessor), ``input_shape_``,
        ``n_classes_``, ``n_outputs_``, ``classes_``, ``target_type_`` and ``meta`` (a dict
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
    optimizer : None, str, keras optimizer class or instance, default=None
        None is "adam" (or, for a model compiled by its builder, the model's own optimizer).
        An instance is copied, never mutated. ``optimizer__<arg>`` sets its arguments;
        ``optimizer__<arg>__<sub>`` makes an argument given as a class (a learning-rate
        schedule) with ``<sub>``.
    loss : str, keras loss or None, default=None
        None picks binary cross-entropy (one sigmoid unit, binary or multilabel targets) or
        sparse categorical cross-entropy (softmax output). A name (also a class name such
        as ``"BinaryCrossentropy"``) or class is made with the ``loss__<arg>`` arguments
        (``loss__<arg>__<sub>``: nested). With several outputs, one loss for all, a list in
        output order, or a dict ``{output name: loss}`` (outputs it leaves out get their
        default loss).
    metrics : str, metric, list, dict or None, default=None
        Keras metrics reported in ``history_`` under the names Keras gives them. One metric
        (a name, class or object) or a list; with several outputs also a dict by output name
        or one list per output. ``metrics__<arg>`` goes to each metric given by class or
        name, ``metrics__<i>__<arg>`` or ``metrics__<name>__<arg>`` to one.
    epochs : int >= 1, default=100
        Passes over the training rows (``partial_fit`` always runs one). A bool is refused.
    batch_size : int >= 1, -1 or None, default=32
        Rows per gradient step; None means the class default, -1 all rows in one batch.
    shuffle : bool, default=True
        Shuffle the rows each epoch (a seeded permutation).
    validation_split : float in [0, 1), default=0.0
        Fraction of the training rows held out (stratified, seeded) to report ``val_loss``.
    early_stopping : bool, default=False
        Stop when ``val_loss`` has not improved by ``tol`` for ``n_iter_no_change`` epochs and
        restore the best weights. Holds out ``validation_split`` (0.1 if that is 0).
    n_iter_no_change : int >= 1, default=10
        With ``early_stopping``: the number of epochs without an improvement of ``val_loss``
        by at least ``tol`` after which training stops (Keras ``EarlyStopping(patience=...)``).
    tol : float >= 0, default=1e-4
        With ``early_stopping``: the smallest decrease of ``val_loss`` that counts as an
        improvement (Keras ``EarlyStopping(min_delta=...)``).
    callbacks : list or dict of keras callbacks (instances or classes), default=None
        Each fit works on deep copies; classes are built with ``callbacks__*`` arguments.
    class_weight : dict, "balanced", list or None, default=None
        Weights keyed by the user's labels, multiplied into the sample weights. With several
        outputs, as scikit-learn's multi-output classifiers: "balanced", a list with one
        entry per output, or a dict keyed by output name, each entry a dict keyed by that
        output's labels, "balanced" or None; a row's weight is the product over its outputs.
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

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,), or list of them
        The labels seen at fit (indices 0..n-1 for a multilabel indicator target); one
        array per output for several outputs.
    n_classes_ : int or list of int
        Number of classes (of labels, for multilabel targets); one per output.
    target_type_ : str
        "binary", "multiclass", "multilabel-indicator" or, for several outputs,
        "multiclass-multioutput".
    n_outputs_ : int
        1, the number of label columns of a multilabel target, or the number of outputs.
    input_shape_ : tuple of int or dict
        Shape of one row after the preprocessor (what the model receives); a dict by input
        name for several inputs.
    input_names_ : list of str
        The input names, when X had several inputs (then there is no ``n_features_in_``).
    target_encoder_ : object
        Turns labels into the layout the loss needs and model outputs back into labels.
    n_features_in_ : int
        Number of raw input features (before the preprocessor).
    feature_names_in_ : ndarray of str
        Column names, when X is a DataFrame with string column names.
    preprocessor_ : transformer or None
        The fitted clone of ``preprocessor``.
    model_ : keras.Model
        The trained model.
    history_ : dict of lists
        Per-epoch ``loss`` (and ``val_loss`` and metrics).
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
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skkeras_prep import KerasPipelineClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = KerasPipelineClassifier(preprocessor=StandardScaler(), epochs=5, random_state=0)
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        **_KerasPipelineBase._parameter_constraints,
        "class_weight": [NONE, Options(str, "balanced"),
                         InstanceOf(dict, "a dict of weights keyed by label"),
                         InstanceOf(list, "a list of per-output class weights")],
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
        batch_size=32,
        shuffle=True,
        validation_split=0.0,
        early_stopping=False,
        n_iter_no_change=10,
        tol=1e-4,
        callbacks=None,
        class_weight=None,
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
        self.class_weight = class_weight

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    # -- hooks -----------------------------------------------------------------------------
    @property
    def target_encoder(self):
        """A new, unfitted target encoder; each fit uses a new one (``target_encoder_``).

        The hook for encoding targets another way (scikeras's ``target_encoder``; the
        regressor's equivalent is the ``target_transformer`` parameter): override this
        property in a subclass and return an instance of a subclass of
        ``skkeras_prep.ClassifierTargetEncoder``, for example one whose ``encode`` smooths
        the one-hot rows. Its ``to_proba`` and ``export_head`` turn outputs back. Saved files
        load only with the library's own encoder classes."""
        return ClassifierTargetEncoder()

    def _new_target_encoder(self):
        encoder = self.target_encoder
        if not isinstance(encoder, ClassifierTargetEncoder):
            raise TypeError(
                f"{type(self).__name__}.target_encoder returned {type(encoder).__name__}; it "
                "must return an instance of (a subclass of) "
                "skkeras_prep.ClassifierTargetEncoder."
            )
        return encoder

    def _fit_target_encoder(self, encoder, y, classes, trained=False):
        return encoder.fit(y, classes=classes)

    def _check_targets_again(self, y, encoder=None):
        return (encoder or self.target_encoder_).check_labels(y)

    def _set_target_attributes(self, encoder):
        super()._set_target_attributes(encoder)
        self.classes_ = encoder.classes_
        self.n_classes_ = encoder.n_classes_

    def _extra_row_weights(self, y, encoder, class_weight=None):
        """Row weights from ``class_weight`` (this fit's value: the parameter, fit__class_weight
        or fit(class_weight=...); its kind was checked at fit); ``_class_weight``."""
        return row_weights(class_weight, y, encoder)

    def _stratify_labels(self, y_encoded):
        """Class of each row for a stratified validation split; None for multilabel."""
        y_encoded = np.asarray(y_encoded)
        if y_encoded.ndim == 2 and y_encoded.shape[1] > 1:
            if (y_encoded.sum(axis=1) == 1).all():  # one-hot rows
                return y_encoded.argmax(axis=1)
            return None
        return y_encoded.reshape(len(y_encoded), -1)[:, 0]

    # -- API -------------------------------------------------------------------------------
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one pass over (X, y). The first call fits the preprocessor and builds the
        model; pass every label in ``classes`` then if this batch lacks some.

        Parameters
        ----------
        X : array-like, sparse matrix, DataFrame, or dict / MultiInput of them
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like of shape (n_classes,), default=None
            Every label, required on the first call when this batch does not hold them all.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        return self._partial_fit(X, y, classes, sample_weight)

    def predict_proba(self, X, **kwargs):
        """Class probabilities, shape (n_samples, n_classes) (two columns for binary); a lazy
        dask array for a dask X.

        ``batch_size=...`` sets the rows per prediction batch for this call (else
        ``predict__batch_size``, else 8192); it changes memory use, not the result. A model
        trained with a loss that reads logits (``from_logits=True``) gets the sigmoid or
        softmax applied here. With several outputs, a list with one such array per output (as
        scikit-learn's multi-output classifiers return)."""
        # raises NotFittedError before fit
        return self._predict(X, "predict_proba", lambda out: self.target_encoder_.to_proba(out), kwargs)

    def predict_log_proba(self, X, **kwargs):
        """Natural logarithm of ``predict_proba(X)``, shape (n_samples, n_classes).

        A probability of exactly 0 gives ``-inf``.
        """
        with np.errstate(divide="ignore"):
            proba = self.predict_proba(X, **kwargs)
            return map_outputs(np.log, proba)

    def decision_function(self, X, **kwargs):
        """Log-odds of the positive class for binary targets (shape (n,)); log-probabilities
        (n, n_classes) otherwise. Larger means more confident; argmax matches ``predict``."""
        proba = self.predict_proba(X, **kwargs)
        if model_output_count(self.target_encoder_) > 1:
            raise ValueError(
                "decision_function is not defined for several outputs; use predict_proba, "
                "which returns one array of probabilities per output."
            )
        eps = np.finfo(np.float64).tiny
        logp = np.log(np.clip(proba, eps, None))
        if self.target_type_ == "binary":
            return logp[:, 1] - logp[:, 0]
        if self.target_type_ == "multilabel-indicator":
            return logp - np.log(np.clip(1.0 - proba, eps, None))
        return logp

    def predict(self, X, **kwargs):
        """Labels from ``classes_`` (an indicator matrix for multilabel targets); a lazy dask
        array for a dask X; ``batch_size=...`` as in ``predict_proba``. With several outputs,
        shape (n_samples, n_outputs), one column per output."""
        def labels(out):
            return self.target_encoder_.to_labels(self.target_encoder_.to_proba(out))

        return self._predict(X, "predict", labels, kwargs)

    def score(self, X, y, sample_weight=None):
        """Accuracy of ``predict(X)``; ``score__<name>`` parameters are passed to
        ``sklearn.metrics.accuracy_score`` (as in scikeras). With several outputs, the share
        of rows whose every output is right (subset accuracy, as scikit-learn's multi-output
        classifiers score)."""
        if model_output_count(getattr(self, "target_encoder_", None)) > 1:
            if score_options(self, routed_params(self)):
                raise ValueError(
                    "score__ parameters go to accuracy_score, which is not used with several "
                    "outputs (score is the subset accuracy); remove them, or score each "
                    "output's column of predict(X) yourself."
                )
            return self.target_encoder_.subset_accuracy(self.predict_proba(X), y, sample_weight)
        return self._routed_score(accuracy_score, X, y, sample_weight)
