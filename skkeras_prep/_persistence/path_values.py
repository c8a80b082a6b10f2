"""Parameters that reach a path, a URL or the network, in classes that load without
``trusted=`` (docs/persistence.md, "Parameters that reach a path").

A file may hold these classes, but a value other than the harmless default lets the file
choose where the estimator later reads or writes, or what it downloads; ``load`` refuses such
a value unless the caller names ``"<type>.<parameter>"`` in ``trusted=``, and
``inspect_file`` lists it. The checks read the skops schema and the Keras configs as
descriptions, before anything is built.
"""

from . import schema as _schema

# type name (as skops stores it) -> {parameter: harmless values}
PATH_PARAMETERS = {
    # joblib caches fitted transformers in the folder ``memory`` names
    "sklearn.pipeline.Pipeline": {"memory": (None,)},
    "sklearn.cluster._agglomerative.AgglomerativeClustering": {"memory": (None,)},
    "sklearn.cluster._agglomerative.FeatureAgglomeration": {"memory": (None,)},
    "sklearn.cluster._optics.OPTICS": {"memory": (None,)},
    # input="filename" or "file" opens the paths the data holds
    "sklearn.feature_extraction.text.CountVectorizer": {"input": ("content",)},
    "sklearn.feature_extraction.text.TfidfVectorizer": {"input": ("content",)},
    "sklearn.feature_extraction.text.HashingVectorizer": {"input": ("content",)},
    # writes skkeras_images_<hash>.npy into the folder it names
    "skkeras_prep.images.ImageLoader": {"cache": (None, "memory")},
    # "imagenet" downloads weights; a path opens a local weights file
    "skkeras_prep.models.KerasApplication": {"weights": (None,)},
}

# Keras layers whose argument names a file when it is a string (a list is harmless). They are
# checked in Keras configs: model files and Keras objects in the parameters. A reference to
# one of these classes needs the class itself in ``trusted=`` (its arguments come at fit).
KERAS_PATH_ARGUMENTS = {
    "StringLookup": "vocabulary",
    "IntegerLookup": "vocabulary",
    "TextVectorization": "vocabulary",
}


def _short(type_name):
    return type_name.rsplit(".", 1)[-1]


def state_findings(schema):
    """[(token, description)] for every table parameter of the state whose value may not be
    the harmless default. ``token`` is what ``trusted=`` takes to allow it."""
    by_id = _schema.index(schema)
    found = []
    for type_name, node in _schema.typed_nodes(schema, PATH_PARAMETERS):
        attributes = _schema.object_state(node)
        for parameter, harmless in PATH_PARAMETERS[type_name].items():
            token = f"{type_name}.{parameter}"
            if attributes is None:
                found.append((token, f"{_short(type_name)} stored in a layout whose "
                              f"{parameter} cannot be read"))
                continue
            if parameter not in attributes:
                continue
            for value in _schema.values(attributes[parameter], by_id):
                if isinstance(value, _schema.Unreadable) or not any(
                        value is h or (type(value) is type(h) and value == h)
                        for h in harmless):
                    found.append((token, f"{_short(type_name)}({parameter}={value!r})"))
    return _unique(found)


def keras_config_findings(config):
    """[(token, description)] for Keras layers in ``config`` whose file argument is a path."""
    found = []
    for item in _schema.dicts(config):
        name, layer = item.get("class_name"), item.get("config")
        argument = KERAS_PATH_ARGUMENTS.get(name) if isinstance(name, str) else None
        if argument and isinstance(layer, dict) and isinstance(layer.get(argument), str):
            found.append((f"keras.layers.{name}.{argument}",
                          f"{name}({argument}={layer[argument]!r})"))
    return _unique(found)


def _unique(found):
    seen, out = set(), []
    for item in found:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def refusal(findings, trusted, path=None, where=None):
    """A ValueError for the findings whose token is not in ``trusted``, or None. It names
    ``where`` (or the file) and spells out the call that loads the file at ``path``."""
    missing = [(token, what) for token, what in findings if token not in trusted]
    if not missing:
        return None
    tokens = sorted({token for token, _ in missing} | set(trusted))
    shown = "; ".join(what for _, what in missing[:5])
    more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
    return ValueError(
        f"{where or path!s} holds parameters that reach a path, a URL or the network: {shown}{more}. "
        "Loading them lets the file choose where the estimator reads or writes files, or "
        "what it downloads. If you trust the file, load it with: "
        f"skkeras_prep.load({repr(str(path)) if path else 'path'}, trusted={tokens!r})."
        + (" Keras itself reads a vocabulary file only in a model loaded with "
           "safe_mode=False." if any(t.startswith("keras.") for t, _ in missing) else "")
    )
