"""The options of one call of ``fit``, ``predict`` or ``score``, and which value wins.

scikeras takes Keras ``fit`` and ``predict`` arguments in three places, and so does this
library:

- the constructor parameter (``epochs=...``, ``batch_size=...``): every fit;
- the routed ``fit__<name>`` / ``predict__<name>`` / ``score__<name>`` parameters: every call
  (they are parameters: ``get_params`` lists them and ``clone`` keeps them);
- a keyword argument of one call, ``fit(X, y, epochs=3)`` or ``predict(X, batch_size=64)``:
  that call only. Such arguments are a convenience for direct calls, not hyper-parameters:
  ``clone`` does not keep them, and with scikit-learn's metadata routing switched on they
  cannot be routed through ``GridSearchCV.fit`` (``fit`` declares none of them).

The value of the call wins over ``fit__<name>``, which wins over the constructor parameter
(scikeras's order). ``callbacks`` is the exception: the constructor's, ``fit__callbacks`` and
the call's all run, in that order, each fit on copies. Nothing here needs TensorFlow.
"""

from ._params import check_value
from ._routing import params_for

# Keras fit arguments taken by fit(**kwargs) and fit__<name>, when the class declares the
# parameter (class_weight: the classifier only).
FIT_OPTIONS = (
    "epochs", "batch_size", "verbose", "shuffle", "validation_split", "validation_batch_size",
    "class_weight",
)
# Taken by fit(**kwargs) (and ``callbacks`` by fit__callbacks), with no constructor twin here.
FIT_CALL_ONLY = ("validation_data", "callbacks")
PREDICT_OPTIONS = ("batch_size",)


def _unknown(owner, where, names, accepted, error=TypeError):
    return error(
        f"{owner}.{where} got unexpected argument(s) {sorted(names)}; it accepts "
        f"{', '.join(sorted(accepted))}. Other Keras arguments have no equivalent here (see "
        "the class docstring)."
    )


def fit_options(estimator, routed, kwargs):
    """The settings of this fit as a dict: every name of ``FIT_OPTIONS`` the class has
    (resolved by precedence and checked against the class's constraints), ``callbacks``: a
    list of callback specs to run after the constructor's (``fit__callbacks``, the call's),
    and ``validation_data`` (None or the call's tuple)."""
    owner = type(estimator).__name__
    constraints = type(estimator)._parameter_constraints
    accepted = [name for name in FIT_OPTIONS if name in constraints]
    unknown = set(kwargs) - set(accepted) - set(FIT_CALL_ONLY)
    if unknown:
        raise _unknown(owner, "fit()", unknown, [*accepted, *FIT_CALL_ONLY, "sample_weight"])
    routed_fit = params_for("fit", routed)
    unknown = set(routed_fit) - set(accepted) - {"callbacks"}
    if unknown:
        raise _unknown(owner, "fit__ parameters", [f"fit__{n}" for n in unknown],
                       [f"fit__{n}" for n in (*accepted, "callbacks")], error=ValueError)
    options = {name: getattr(estimator, name) for name in accepted}
    for prefix, given in (("fit__", routed_fit), ("", kwargs)):
        for name, value in given.items():
            if name in accepted:
                check_value(owner, prefix + name, value, constraints[name])
                options[name] = value
    options["verbose"] = int(options["verbose"])  # True/False mean 1/0
    if options["batch_size"] is None:
        options["batch_size"] = estimator._default_batch_size
    options["callbacks"] = [c for c in (routed_fit.get("callbacks"), kwargs.get("callbacks"))
                            if c is not None]
    validation_data = kwargs.get("validation_data")
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise TypeError(
                f"{owner}.fit(): validation_data must be a tuple (X_val, y_val) or "
                f"(X_val, y_val, sample_weight_val); got {type(validation_data).__name__}."
            )
        if options["validation_split"]:
            raise ValueError(
                f"{owner}.fit() got both validation_data and validation_split="
                f"{options['validation_split']}; pass one of them."
            )
    options["validation_data"] = validation_data
    return options


def predict_batch_size(estimator, routed, kwargs, default):
    """Rows per prediction batch: ``predict(X, batch_size=...)`` > ``predict__batch_size`` >
    ``default``. None means the default. ``verbose=0``/False is accepted (prediction shows
    no progress); anything else is refused."""
    owner = type(estimator).__name__
    routed_predict = params_for("predict", routed)
    for where, given in (("predict__ parameters", routed_predict), ("predict()", kwargs)):
        given = dict(given)
        if given.get("verbose", 0) in (0, False):
            given.pop("verbose", None)
        unknown = set(given) - set(PREDICT_OPTIONS)
        if unknown:
            raise _unknown(owner, where, unknown, ["batch_size", "verbose=0"],
                           error=ValueError if where.startswith("predict__") else TypeError)
    batch_size = default
    for prefix, given in (("predict__", routed_predict), ("", kwargs)):
        if given.get("batch_size") is not None:
            check_value(owner, prefix + "batch_size", given["batch_size"],
                        type(estimator)._parameter_constraints["batch_size"])
            batch_size = given["batch_size"]
    return batch_size


def score_options(estimator, routed):
    """The ``score__<name>`` values, passed to the scoring function (accuracy_score, r2_score)."""
    return params_for("score", routed)
