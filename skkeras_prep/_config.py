"""The package's settings for this process: ``get_config``, ``set_config``, ``config_context``.

This module holds the settings and nothing else; it imports no other module of the package,
so any module may read a setting. A module whose state a setting governs registers a
listener with ``on_change`` when it is first imported (``_pool`` empties its cache when
``reuse_models`` is turned off); the listener runs after every ``set_config`` call that gives
a setting, in the calling thread, with the new settings.
"""

import contextlib
import threading

_LOCK = threading.RLock()
_CONFIG = {"reuse_models": True}
_LISTENERS = []


def get_config():
    """The package's settings, as a dict (``reuse_models``)."""
    with _LOCK:
        return dict(_CONFIG)


def set_config(reuse_models=None):
    """Change the package's settings for this process.

    Parameters
    ----------
    reuse_models : bool, default=None
        Whether a fit may reuse a traced model of the same architecture that an earlier,
        garbage-collected estimator left behind (``True`` by default; results are the same
        either way). ``False`` builds and traces a new model for every fit and empties the
        pool. None leaves the setting unchanged.
    """
    if reuse_models is None:
        return
    if not isinstance(reuse_models, bool):
        raise TypeError(
            f"set_config: reuse_models must be True or False; got {reuse_models!r} "
            f"({type(reuse_models).__name__})."
        )
    with _LOCK:
        _CONFIG["reuse_models"] = reuse_models
        settings, listeners = dict(_CONFIG), list(_LISTENERS)
    for listener in listeners:
        listener(settings)


@contextlib.contextmanager
def config_context(reuse_models=None):
    """``set_config`` for the duration of a ``with`` block; the old settings come back after."""
    old = get_config()
    set_config(reuse_models=reuse_models)
    try:
        yield
    finally:
        set_config(**old)


def on_change(listener):
    """Call ``listener(settings)`` after each ``set_config`` that gives a setting (the same
    listener registered twice is called once)."""
    with _LOCK:
        if listener not in _LISTENERS:
            _LISTENERS.append(listener)
