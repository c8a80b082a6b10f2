"""The stages of a fit, for the estimator (``_estimator._KerasPipelineBase._fit``).

Whether a fit starts from scratch or continues ``model_`` (``warm_start``, ``partial_fit``) is
decided once, by picking the stage object: ``NewFit`` (fit the target encoder and a clone of
the preprocessor, build and compile a new model, set the fitted attributes) or
``ContinuedFit`` (reuse them, keep the history). Both have the same methods: ``check``,
``preprocess``, ``model`` and ``keep``. X reaches them as the input structure of
``_inputs.dispatch``; neither asks what kind X is.
"""

import numpy as np
from sklearn.base import clone, is_classifier

from . import _build, _compiling, _pool, _training
from . import distribution as _distribution
from ._compat import sklearn_num_samples
from ._inputs import input_shape, map_inputs, width_of
from ._target_layout import encoder_for, model_output_count
from .exceptions import TrainingDivergedError
from .multi_io import target_dtypes


def check_same_rows(inputs, y):
    """X and y have one row per sample (scikit-learn's message)."""
    n_x, n_y = int(inputs.n_rows), int(sklearn_num_samples(y))
    if n_x != n_y:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: X has {n_x} rows, "
            f"y has {n_y}. Pass X and y with one row per sample."
        )


def check_distributable(strategy, batch_size):
    """Refuse what a distribution strategy cannot serve, before anything is built."""
    n = _distribution.replicas(strategy)
    if batch_size != -1 and batch_size < n:
        raise ValueError(
            f"batch_size={batch_size} is smaller than the {n} replicas of the distribution "
            f"strategy ({type(strategy).__name__}): each replica needs at least one row of "
            f"every batch. Pass batch_size >= {n} (batch_size is the global batch, split "
            "across the replicas)."
        )


def check_diverged(history, advice):
    losses = np.asarray(history.get("loss", []), dtype=float)
    if losses.size and not np.isfinite(losses).all():
        raise TrainingDivergedError(
            "Training diverged: the loss became NaN or infinite at epoch "
            f"{int(np.flatnonzero(~np.isfinite(losses))[0]) + 1}. " + advice
        )


def meta(estimator, source, encoder, data=None):
    """What a builder gets as ``meta`` (a dict whose missing keys raise a KeyError listing
    the keys there are). ``data``: scikeras's keys about the raw data (``X_shape_``,
    ``X_dtype_``, ``y_dtype_``, ``feature_encoder_``)."""
    shape = input_shape(source)
    values = {
        "n_features_in_": width_of(shape),
        "input_shape_": shape,
        "output_names_": getattr(encoder, "keys_", None),
        "n_outputs_": encoder.n_outputs_,
        "n_outputs_expected_": model_output_count(encoder),
        "target_type_": encoder.target_type_,
        "n_classes_": getattr(encoder, "n_classes_", None),
        "classes_": getattr(encoder, "classes_", None),
        "target_encoder_": encoder,
    }
    values.update(data or {})
    return _build.Meta(values)


class NewFit:
    """The stages of a fit that starts from scratch."""

    def __init__(self, estimator, classes, trained=False, strategy=None):
        self.est = estimator
        self.classes = classes
        # initialize: wrap the given trained keras.Model (a builder is built untrained)
        self.trained = trained and _build.is_model_instance(estimator.model)
        self.strategy = strategy  # a tf.distribute strategy, or None
        self.data = {}  # scikeras's meta keys about the raw data

    def check(self, inputs, y):
        """Check X (recording what predict compares), fit the target encoder: (y, encoder)."""
        est = self.est
        inputs.check(est, reset=True, preprocessor=est.preprocessor)
        encoder = encoder_for(y, inputs.n_rows, est._new_target_encoder,
                              "classifier" if is_classifier(est) else "regressor")
        y = est._fit_target_encoder(encoder, y, self.classes, trained=self.trained)
        check_same_rows(inputs, y)
        shape, dtype = inputs.description()
        self.data = {"X_shape_": shape, "X_dtype_": dtype, "y_dtype_": target_dtypes(y)}
        return y, encoder

    def preprocess(self, inputs, y, incremental, seed):
        """(a clone of the preprocessor fitted on X, X's row source)."""
        est = self.est
        preprocessor = None if est.preprocessor is None else clone(est.preprocessor)
        preprocessor, source = inputs.fit_rows(est, preprocessor, y, incremental=incremental,
                                               seed=seed)
        self.data["feature_encoder_"] = preprocessor
        return preprocessor, source

    def model(self, source, encoder, routed, seed):
        est = self.est
        described = meta(est, source, encoder, self.data)
        with _training.model_scope(self.strategy):
            model = _compiling.make_compiled_model(est, routed, described, encoder, seed,
                                                   trained=self.trained)
        return _pool.reuse_or_keep(model), {}

    def keep(self, preprocessor, encoder, source):
        est = self.est
        est.preprocessor_ = preprocessor
        est.target_encoder_ = encoder
        est.input_shape_ = input_shape(source)
        est._set_target_attributes(encoder)


class ContinuedFit:
    """The stages of a fit that continues ``model_``: the fitted preprocessor and target
    encoder are reused (``partial_fit`` updates an incremental preprocessor), and the history
    goes on."""

    def __init__(self, estimator):
        self.est = estimator

    def check(self, inputs, y):
        est = self.est
        inputs.check(est, reset=False, preprocessor=est.preprocessor_)
        y = est._check_targets_again(y)
        check_same_rows(inputs, y)
        return y, est.target_encoder_

    def preprocess(self, inputs, y, incremental, seed):
        preprocessor = self.est.preprocessor_
        return preprocessor, inputs.rows(self.est, preprocessor,
                                         update_y=y if incremental else None)

    def model(self, source, encoder, routed, seed):
        est = self.est
        fitted = map_inputs(tuple, est.input_shape_)
        if input_shape(source) != fitted:
            raise ValueError(
                f"The preprocessor now outputs shape {input_shape(source)}, but the model "
                f"was built for {est.input_shape_}; refit from scratch."
            )
        return est.model_, {k: list(v) for k, v in est.history_.items()}

    def keep(self, preprocessor, encoder, source):
        pass
