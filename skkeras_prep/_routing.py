"""Routed parameters: ``model__*``, ``optimizer__*``, ``loss__*``, ``metrics__*``,
``callbacks__*``, ``fit__*``, ``predict__*`` and ``score__*`` (the scikeras prefixes).

A routed parameter is a keyword argument of the estimator whose name starts with one of the
prefixes below and a double underscore. It is stored unchanged in the estimator's private
``_routed`` dict (so scikit-learn sees no public attribute besides the declared ones), shows up in
``get_params``, is settable with ``set_params`` and survives ``clone``. At fit time the values
are handed to the part the prefix names (the model builder, the optimizer, the loss, the
callbacks, the metrics; ``fit__*``, ``predict__*`` and ``score__*`` to one call of ``fit``,
``predict`` or ``score``; see ``_call_options``). This module holds the name logic and how
routed values become the arguments of one object (``routed_kwargs``: nested
``<name>__<arg>__<sub>``; ``split_routed``: per key of a list or dict; ``construct``: a class
called with them, a mismatch named); it needs no TensorFlow. (The
``preprocessor__<input>[__<param>]`` parameters of a dict preprocessor are the input
structure's: ``_inputs.named``.)
"""

import functools
import inspect

from .exceptions import RoutedArgumentError

ROUTED_PREFIXES = ("model", "optimizer", "loss", "metrics", "callbacks", "fit", "predict", "score")


def is_routed_name(name):
    """True if ``name`` looks like ``<prefix>__<something>`` for a routed prefix."""
    prefix, sep, rest = name.partition("__")
    return bool(sep) and bool(rest) and prefix in ROUTED_PREFIXES


@functools.lru_cache(maxsize=64)
def init_param_names(inits):
    """The sorted names of the declared parameters of the ``__init__`` functions ``inits`` (a
    tuple; routed names and ``*args``/``**kwargs`` left out). Remembered per tuple: reading
    the signatures cost about 0.2 ms, several times a fit and a clone."""
    names = set()
    for init in inits:
        names.update(
            name for name, p in inspect.signature(init).parameters.items()
            if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
            and not is_routed_name(name)
        )
    return tuple(sorted(names))


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


def _split_once(params):
    """``({arg: value}, {head: {rest: value}})``: the keys of ``params`` with no ``__`` as
    they are, and the others grouped by what stands before their first ``__``."""
    flat, nested = {}, {}
    for key, value in params.items():
        head, sep, rest = key.partition("__")
        if sep:
            nested.setdefault(head, {})[rest] = value
        else:
            flat[key] = value
    return flat, nested


def routed_kwargs(what, params):
    """The keyword arguments of one object from its routed parameters (``what`` names them,
    e.g. "loss"): ``<what>__<arg>`` as they are, and ``<what>__<arg>__<sub>`` (scikeras's
    nested routing) as the arguments of ``<arg>``, which must then be given as a class and is
    made with them (``optimizer__learning_rate=ExponentialDecay,
    optimizer__learning_rate__decay_steps=10``)."""
    flat, nested = _split_once(params)
    for head, sub in nested.items():
        example = f"{what}__{head}__{next(iter(sub))}"
        if head not in flat:
            raise RoutedArgumentError(
                f"{example} routes an argument below {what}__{head}, which is not given. Give "
                f"{what}__{head} as a class (it is made with the {what}__{head}__* arguments), "
                f"or pass {what}__{head} directly."
            )
        target = flat[head]
        if not isinstance(target, type):
            raise RoutedArgumentError(
                f"{example} routes an argument below {what}__{head}={target!r}, which takes no "
                f"arguments (only a class given as {what}__{head} is made with them). Pass "
                f"{what}__{head} as a class, or set the argument on the object yourself."
            )
        flat[head] = construct(target, routed_kwargs(f"{what}__{head}", sub), f"{what}__{head}")
    return flat


def construct(cls, kwargs, what, hint=""):
    """``cls(**kwargs)``; an argument ``cls`` does not take raises ``RoutedArgumentError``
    naming it, the arguments ``cls`` takes and the routed prefix ``what``."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):  # no signature to read: let the call decide
        params = None
    if params is not None and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            raise RoutedArgumentError(
                f"{what}__ argument(s) {unknown} are not arguments of {cls.__name__}, which "
                f"takes {sorted(n for n in params if n not in ('self', 'args'))}.{hint} Remove "
                "them or use the argument names above."
            )
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # e.g. Keras's "Argument(s) not recognized"
        raise RoutedArgumentError(
            f"Could not make {cls.__name__} from the {what}__ arguments {sorted(kwargs)}: "
            f"{exc}.{hint}"
        ) from None


def keyed_items(objects):
    """(key, object) pairs of a list, tuple or dict of objects (a single object: key "0")."""
    if isinstance(objects, dict):
        return [(str(k), v) for k, v in objects.items()]
    if isinstance(objects, (list, tuple)):
        return [(str(i), v) for i, v in enumerate(objects)]
    return [("0", objects)]


def split_routed(prefix, params, keys):
    """``<prefix>__<arg>`` values shared by every object, and ``<prefix>__<key>__<arg>``
    values per key; an unknown key is refused."""
    shared, per_key = _split_once(params)
    unknown = set(per_key) - set(keys)
    if unknown:
        raise RoutedArgumentError(
            f"{prefix}__ parameters address {sorted(unknown)}, but the {prefix} are keyed "
            f"{list(keys)}."
        )
    return shared, per_key
