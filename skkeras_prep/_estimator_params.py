"""The estimator's parameters as scikit-learn reads and sets them: the names declared by every
``__init__`` of the class (a scikeras-style subclass adds its own), the routed ``<prefix>__*``
ones and a dict preprocessor's ``preprocessor__<input>[__<param>]`` ones (``_routing``),
``clone`` (what is shared rather than copied) and the pickled state (what a pickle written by
an earlier version lacks; a strategy and the user's Keras classes)."""

from sklearn.base import BaseEstimator

from . import distribution as _distribution
from ._inputs import per_input_params, set_per_input_params
from ._pickling import classes_scope, picklable_state
from ._routing import check_routed_names, extra_params, init_param_names, is_routed_name


class EstimatorParams(BaseEstimator):
    """``get_params`` / ``set_params`` / ``clone`` / pickling of the estimators' parameters."""

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
            if init is not None and issubclass(klass, EstimatorParams):
                inits.append(init)
            if klass is EstimatorParams:
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
            params.update(per_input_params(self.preprocessor))
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
        params = set_per_input_params(params.get("preprocessor", self.preprocessor), params)
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
