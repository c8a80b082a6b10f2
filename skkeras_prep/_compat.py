"""Third-party internals and differences between the supported versions, in one place.

Every entry here names the versions it was checked on, and ``tests/test_compat.py`` fails
loudly when the internal it relies on moves. The supported range is in ``pyproject.toml``;
CI tests its two ends (``constraints/minimum.txt`` and the newest releases).
"""

import importlib
import importlib.util
import io
import json
import zipfile

# -- scikit-learn types that exist in some supported versions only ----------------------------
# name -> what a file holding it becomes where the running scikit-learn lacks the type.
_SKLEARN_VERSION_DEPENDENT_TYPES = {
    # ColumnTransformer.transformers_ keeps the remainder columns in this list subclass (it
    # warns when they are read) when columns are chosen by name or mask and
    # force_int_remainder_cols=True, the default. Present in scikit-learn 1.6.0 (checked);
    # gone in 1.9.1 (checked), which keeps a plain list there. Where it is missing, a saved
    # one loads as the plain list of its items.
    "sklearn.compose._column_transformer._RemainderColsList": "list",
}


def sklearn_version_dependent_trusted_types():
    """Names of scikit-learn types trusted when loading, beyond the estimator classes of the
    running version: the types that other supported scikit-learn versions write."""
    return frozenset(_SKLEARN_VERSION_DEPENDENT_TYPES)


def _sklearn_has(name):
    module, _, attribute = name.rpartition(".")
    if not module.split(".")[0] == "sklearn":
        return True  # only scikit-learn's own names are checked here
    try:
        if importlib.util.find_spec(module) is None:
            return False
        return hasattr(importlib.import_module(module), attribute)
    except ImportError:
        return False


def _nodes(node):
    """Every skops schema node (a dict with a ``__loader__``) in ``node``, parents first."""
    if isinstance(node, dict):
        if "__loader__" in node:
            yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def _node_type(node):
    module, name = node.get("__module__"), node.get("__class__")
    if isinstance(module, str) and isinstance(name, str):
        return f"{module}.{name}"
    return None


def _as_plain_list(node):
    """The skops node of a ``UserList`` subclass turned into the node of its items (skops
    0.11 and 0.16 store a UserList as an ObjectNode whose state dict holds ``data``)."""
    try:
        items = node["content"]["content"]["data"]
    except (KeyError, TypeError):
        return None
    if not (isinstance(items, dict) and items.get("__loader__") == "ListNode"):
        return None
    replacement = dict(items)
    if "__id__" in node:  # later references (CachedNode) point at the outer object's id
        replacement["__id__"] = node["__id__"]
    return replacement


def sklearn_state_for_this_version(data, saved_versions):
    """The skops state ``data`` made loadable under the running scikit-learn.

    A type of ``_SKLEARN_VERSION_DEPENDENT_TYPES`` that the running scikit-learn lacks is
    replaced by its plain equivalent. Any other scikit-learn type the running version lacks
    raises a ValueError that names the saving and the running scikit-learn versions. Data
    whose schema cannot be read are returned unchanged, for the loader to report.
    """
    import sklearn

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except Exception:
        return data
    missing, changed = set(), False
    for node in list(_nodes(schema)):
        name = _node_type(node)
        if name is None or _sklearn_has(name):
            continue
        replacement = None
        if _SKLEARN_VERSION_DEPENDENT_TYPES.get(name) == "list":
            replacement = _as_plain_list(node)
        if replacement is None:
            missing.add(name)
            continue
        node.clear()
        node.update(replacement)
        changed = True
    if missing:
        saved_versions = saved_versions if isinstance(saved_versions, dict) else {}
        saved = saved_versions.get("sklearn", "an unknown version")
        raise ValueError(
            f"This estimator was saved with scikit-learn {saved} and holds "
            f"{sorted(missing)}, which scikit-learn {sklearn.__version__} (installed) does "
            f"not have. Load it with scikit-learn {saved}, or refit it and save it again "
            f"under scikit-learn {sklearn.__version__}."
        )
    if not changed:
        return data
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as archive, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as rewritten:
        for info in archive.infolist():
            if info.filename == "schema.json":
                rewritten.writestr(info, json.dumps(schema))
            else:
                rewritten.writestr(info, archive.read(info.filename))
    return out.getvalue()
