"""KerasPipelineClassifier: labels, probabilities and decision values on top of the shared core."""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_sample_weight

from ._estimator import _KerasPipelineBase
from ._params import NONE, InstanceOf, Options
from ._targets import ClassifierTargetEncoder, MultiOutputEncoder


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
    preprocessor : scikit-learn transformer, dict of transformers or None, default=None
        Any transformer, ``Pipeline`` or ``ColumnTransformer``; cloned and fitted on the
        training rows at every fit. Its output may be sparse (kept sparse until the batch).
        For X with several named inputs (a dict or ``skkeras_prep.MultiInput``), a dict
        ``{input name: transformer}``; inputs without one pass through (docs/multi-io.md).
    optimizer : str, keras optimizer class or instance, default="adam"
        An instance is copied, never mutated. ``optimizer__<arg>`` sets its arguments.
    loss : str, keras loss or None, default=None
        None picks binary cross-entropy (one sigmoid unit, binary or multilabel targets) or
        sparse categorical cross-entropy (softmax output). ``loss__<arg>`` sets arguments.
        With several outputs, one loss for all or a dict ``{output name: loss}``.
    metrics : list or None, default=None
        Keras metrics reported in ``history_``.
    epochs : int >= 1, default=100
        Passes over the training rows (``partial_fit`` always runs one). A bool is refused.
    batch_size : int >= 1, default=32
        Rows per gradient step.
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
    class_weight : dict, "balanced" or None, default=None
        Weights keyed by the user's labels, multiplied into the sample weights.
    warm_start : bool, default=False
        A second ``fit`` continues training the same ``model_`` instead of rebuilding it.
    random_state : int >= 0, RandomState, Generator or None, default=None
        Seeds the weight initialisation, dropout, shuffling and validation split without
        touching global random state. Equal ints give identical predictions.
    verbose : {0, 1, 2}, default=0
        0 is silent, 1 shows a progress bar, 2 one line per epoch.
    **routed
        ``model__*``, ``optimizer__*``, ``loss__*`` and ``callbacks__*`` parameters.
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
        Epochs run.

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
                         InstanceOf(dict, "a dict of weights keyed by label")],
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
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        **routed,
    ):
        super().__init__(
            model=model, preprocessor=preprocessor, optimizer=optimizer, loss=loss,
            metrics=metrics, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
            validation_split=validation_split, early_stopping=early_stopping,
            n_iter_no_change=n_iter_no_change, tol=tol, callbacks=callbacks,
            warm_start=warm_start, random_state=random_state, verbose=verbose, **routed,
        )
        self.class_weight = class_weight

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    # -- hooks -----------------------------------------------------------------------------
    def _new_target_encoder(self):
        return ClassifierTargetEncoder()

    def _fit_target_encoder(self, encoder, y, classes):
        return encoder.fit(y, classes=classes)

    def _check_targets_again(self, y):
        return self.target_encoder_.check_labels(y)

    def _set_target_attributes(self, encoder):
        super()._set_target_attributes(encoder)
        self.classes_ = encoder.classes_
        self.n_classes_ = encoder.n_classes_

    def _extra_row_weights(self, y, encoder):
        if self.class_weight is None:  # its kind was checked at fit (_parameter_constraints)
            return None
        if isinstance(encoder, MultiOutputEncoder):
            raise ValueError(
                "class_weight is not supported with several outputs (a row has one label per "
                "output); pass per-row weights as sample_weight instead."
            )
        if isinstance(self.class_weight, dict):
            unknown = [k for k in self.class_weight if k not in set(encoder.classes_.tolist())]
            if unknown:
                raise ValueError(
                    f"class_weight has keys {unknown} that are not labels of y; the labels are "
                    f"{encoder.classes_.tolist()}."
                )
        return compute_sample_weight(self.class_weight, y).astype(np.float32)

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

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes) (two columns for binary). With
        several outputs, a list with one such array per output (as scikit-learn's
        multi-output classifiers return)."""
        output = self._model_output(X)  # raises NotFittedError before fit
        return self.target_encoder_.to_proba(output)

    def predict_log_proba(self, X):
        """Natural logarithm of ``predict_proba(X)``, shape (n_samples, n_classes).

        A probability of exactly 0 gives ``-inf``.
        """
        with np.errstate(divide="ignore"):
            proba = self.predict_proba(X)
            return [np.log(p) for p in proba] if isinstance(proba, list) else np.log(proba)

    def decision_function(self, X):
        """Log-odds of the positive class for binary targets (shape (n,)); log-probabilities
        (n, n_classes) otherwise. Larger means more confident; argmax matches ``predict``."""
        proba = self.predict_proba(X)
        if isinstance(proba, list):
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

    def predict(self, X):
        """Labels from ``classes_`` (an indicator matrix for multilabel targets); with several
        outputs, shape (n_samples, n_outputs), one column per output."""
        proba = self.predict_proba(X)
        return self.target_encoder_.to_labels(proba)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy; with several outputs, the share of rows whose every output is right
        (subset accuracy, as scikit-learn's multi-output classifiers score)."""
        if not isinstance(getattr(self, "target_encoder_", None), MultiOutputEncoder):
            return super().score(X, y, sample_weight=sample_weight)
        return self.target_encoder_.subset_accuracy(self.predict_proba(X), y, sample_weight)
