"""Routed parameters: ``model__*``, ``optimizer__*``, ``loss__*``, ``metrics__*``,
``callbacks__*``, ``fit__*``, ``predict__*`` and ``score__*`` (the scikeras prefixes).

A routed parameter is a keyword argument of the estimator whose name starts with one of the
prefixes below and a double underscore. It is stored unchanged in the estimator's private
``_routed`` dict (so scikit-learn sees no public attribute besides the declared ones), shows up in
``get_params``, is settable with ``set_params`` and survives ``clone``. At fit time the values
are handed to the part the prefix names (the model builder, the optimizer, the loss, the
callbacks, the metrics; ``fit__*``, ``predict__*`` and ``score__*`` to one call of ``fit``,
``predict`` or ``score``; see ``_call_options``). This module holds only the name logic; it
needs no TensorFlow.
"""

ROUTED_PREFIXES = ("model", "optimizer", "loss", "metrics", "callbacks", "fit", "predict", "score")


def is_routed_name(name):
    """True if ``name`` looks like ``<prefix>__<something>`` for a routed prefix."""
    prefix, sep, rest = name.partition("__")
    return bool(sep) and bool(rest) and prefix in ROUTED_PREFIXES


def check_routed_names(names, estimator_name):
    """Raise a ValueError naming the valid prefixes if any name is not a routed one."""
    bad = sorted(name for name in names if not is_routed_name(name))
    if bad:
        valid = ", ".join(f"'{p}__'" for p in ROUTED_PREFIXES)
        raise ValueError(
            f"{estimator_name} got unknown parameter(s) {bad}. Extra keyword arguments must "
            f"start with one of the routed prefixes {valid} (for example "
            f"'optimizer__learning_rate=0.01' or 'model__hidden_units=32'); the other "
            f"parameters are listed by get_params()."
        )


def extra_params(estimator):
    """The keyword arguments given to the estimator beyond its declared parameters: the
    routed parameters, plus any unknown name (kept so that ``clone`` carries it and ``fit``
    can report it). They live in the private dict ``_routed``, as a new dict here; a
    scikeras-style subclass that declares one in its ``__init__`` and stores it as an
    attribute (``self.optimizer__learning_rate = ...``) counts too."""
    own = {k: v for k, v in vars(estimator).items() if is_routed_name(k)}  # a subclass's
    return {**own, **getattr(estimator, "_routed", {})}


def routed_params(estimator):
    """The routed parameters of ``estimator``, as a new dict."""
    return {k: v for k, v in extra_params(estimator).items() if is_routed_name(k)}


def params_for(prefix, params):
    """The routed values for one prefix, with the prefix stripped: {'learning_rate': 0.1}."""
    head = prefix + "__"
    return {k[len(head):]: v for k, v in params.items() if k.startswith(head)}
