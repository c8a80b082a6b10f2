"""KerasPipelineRegressor: the shared core with real-valued targets."""

from sklearn.base import RegressorMixin
from sklearn.preprocessing import StandardScaler

from ._base import _KerasPipelineBase
from ._params import NONE, HasMethods, Options
from ._targets import RegressorTargetEncoder


class KerasPipelineRegressor(RegressorMixin, _KerasPipelineBase):
    """A Keras regressor with its scikit-learn preprocessing, as one scikit-learn estimator.

    Parameters are those of :class:`KerasPipelineClassifier` without ``class_weight``, plus:

    target_transformer : "auto", scikit-learn transformer or None, default="auto"
        Fitted on y (as a 2-D column block) and inverted at predict, like
        ``TransformedTargetRegressor``. "auto" standardises y (``StandardScaler()``), because
        unscaled targets are the most common reason a neural regressor fails; None trains on
        y as it is.
    batch_size : int, default=64
        Rows per gradient step (the classifier's default is 32).

    ``loss=None`` is mean squared error on a linear output of width ``n_outputs_``; ``score``
    is R².

    Attributes
    ----------
    n_outputs_ : int
    n_features_in_ : int
    preprocessor_, model_, history_, n_iter_ : as for the classifier.

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
        optimizer="adam",
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
        **routed,
    ):
        super().__init__(
            model=model, preprocessor=preprocessor, optimizer=optimizer, loss=loss,
            metrics=metrics, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
            validation_split=validation_split, early_stopping=early_stopping,
            n_iter_no_change=n_iter_no_change, tol=tol, callbacks=callbacks,
            warm_start=warm_start, random_state=random_state, verbose=verbose, **routed,
        )
        self.target_transformer = target_transformer

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _new_target_encoder(self):
        return RegressorTargetEncoder()

    def _fit_target_encoder(self, encoder, y, classes):
        transformer = self.target_transformer  # its kind was checked at fit
        if isinstance(transformer, str):  # "auto"
            transformer = StandardScaler()
        return encoder.fit(y, target_transformer=transformer)

    def _divergence_advice(self, remedies=()):
        if self.target_transformer is None:
            remedies = [*remedies, "standardise the targets (target_transformer='auto', the default)"]
        return super()._divergence_advice(remedies)

    def _check_targets_again(self, y):
        return self.target_encoder_.check_values(y)

    def partial_fit(self, X, y, sample_weight=None):
        """Train one pass over (X, y); the first call fits the preprocessor and builds the model."""
        return self._partial_fit(X, y, None, sample_weight)

    def predict(self, X):
        """Predicted values, shape (n_samples,) or (n_samples, n_outputs) like y at fit."""
        output = self._model_output(X)
        return self.target_encoder_.to_predictions(output)
