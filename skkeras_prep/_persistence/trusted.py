"""What a file may name without the caller's consent, and the trust check that runs before
anything a file names is imported (docs/persistence.md, "The trusted-types policy").

- The skops state loads only the types of ``default_trusted_types`` (named by strings, so
  this module imports none of the estimator modules) and those the caller names in
  ``trusted=`` (``trusted_names``); ``load_state`` refuses the others, and the parameters
  that reach a path (``path_values``), before skops imports anything.
- The estimator class must be one of ours, or a subclass the caller trusts
  (``estimator_class``); a model may hold no ``TFSMLayer`` (``check_model_classes``).

Keras class references in the parameters are resolved in ``references``.
"""

import functools
import os

import numpy as np

from .. import _compat
from .. import distribution as _distribution
from . import path_values as _path_values
from . import schema as _schema
from .errors import not_ours, refused

# Our estimator classes, by name: ``estimator_class`` in a file must be one of them (or a
# subclass the caller trusts). Strings keep the import graph acyclic.
ESTIMATOR_CLASSES = frozenset({
    "skkeras_prep.classifier.KerasPipelineClassifier",
    "skkeras_prep.regressor.KerasPipelineRegressor",
})


TARGET_ENCODERS = frozenset({
    "skkeras_prep._targets.ClassifierTargetEncoder",
    "skkeras_prep._targets.RegressorTargetEncoder",
    "skkeras_prep._targets.MultiOutputEncoder",  # several outputs (saved_io)
})


def skops_io():
    try:
        import skops.io
    except ImportError:
        raise ImportError(
            "Saving and loading estimators needs the skops package: pip install skops "
            "(or pip install 'skkeras_prep[persist]')."
        ) from None
    return skops.io


def type_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


@functools.lru_cache(maxsize=None)
def default_trusted_types():
    """Type names loaded without asking, beyond skops's own defaults: scikit-learn estimator
    classes, numpy dtypes and this package's estimators, target encoders, builders (every
    class in ``skkeras_prep.models.__all__``) and image loader (``images.__all__``)."""
    from sklearn.utils import all_estimators

    from .. import images, models

    builders = {f"{module.__name__}.{name}" for module in (models, images) for name in module.__all__
                if isinstance(getattr(module, name), type)}
    dtype_classes = [type(np.dtype(code)) for code in "?bhilqBHILQefdgFDGSUOMm"]
    names = {type_name(cls) for cls in [np.dtype] + dtype_classes}
    names.update(ESTIMATOR_CLASSES, TARGET_ENCODERS, builders, {type_name(_distribution.StrategySpec)})
    names.update(type_name(cls) for _, cls in all_estimators())
    names.update(_compat.sklearn_version_dependent_trusted_types())
    return frozenset(names)


def trusted_names(trusted):
    if trusted is None:
        return frozenset()
    if isinstance(trusted, (str, type)):
        trusted = [trusted]
    try:
        return frozenset(t if isinstance(t, str) else type_name(t) for t in trusted)
    except (TypeError, AttributeError):
        raise TypeError(
            f"trusted must be a list of type names (str) or classes; got {trusted!r}."
        ) from None


def untrusted_state_types(data, path):
    try:
        return set(skops_io().get_untrusted_types(data=data))
    except Exception:
        raise not_ours(path, "its estimator state cannot be read") from None


def load_state(data, trusted, path, versions, path_findings):
    """The estimator state, after its types passed the trust check: nothing the file names
    is imported before that check (the version rewrite looks only at declared types)."""
    sio = skops_io()
    found = untrusted_state_types(data, path)
    untrusted = sorted(found - default_trusted_types() - trusted)
    if untrusted:
        raise ValueError(
            f"{os.fspath(path)!s} holds types that are not trusted by default: {untrusted}. "
            "Loading them imports and runs code from their modules. If you trust the file "
            f"and these types, pass them: skkeras_prep.load(path, trusted={untrusted!r})."
            + _compat.sklearn_missing_types_note(untrusted, versions)
        )
    refusal = _path_values.refusal(path_findings, trusted, os.fspath(path))
    if refusal is not None:
        raise refusal
    data = _compat.sklearn_state_for_this_version(data, versions)
    try:
        return sio.loads(data, trusted=sorted(untrusted_state_types(data, path)))
    except Exception as exc:
        why = f"its estimator state cannot be loaded ({type(exc).__name__}: {exc})"
        raise not_ours(path, why) from None


def estimator_class(cls, metadata, trusted, path):
    if not isinstance(cls, type):
        raise not_ours(path, f"its estimator class is {cls!r}, not a class")
    names = {type_name(base) for base in cls.__mro__}
    if not (names & ESTIMATOR_CLASSES) or (
        type_name(cls) not in ESTIMATOR_CLASSES and type_name(cls) not in trusted
    ):
        raise refused("'estimator_class'", f"{type_name(cls)} is not a skkeras_prep "
                      "estimator (a subclass of one loads only when named in trusted=)")
    if metadata.get("estimator") != type_name(cls):
        raise not_ours(path, "its metadata and state name different estimator classes")
    return cls


def check_model_classes(config, name):
    for item in _schema.dicts(config):
        if item.get("class_name") == "TFSMLayer":
            raise refused(f"'{name}'", "it holds a TFSMLayer, which loads a SavedModel "
                          "from a path; load such models with Keras directly")
