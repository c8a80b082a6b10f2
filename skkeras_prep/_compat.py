"""Third-party internals and differences between the supported versions, in one place.

Every entry here names the versions it was checked on, and ``tests/test_compat.py`` fails
loudly when the internal it relies on moves. The supported range is in ``pyproject.toml``;
CI tests its two ends (``constraints/minimum.txt`` and the newest releases).
"""

import importlib
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
    """Whether the running scikit-learn has ``name``, one of the declared version-dependent
    types. Only names of ``_SKLEARN_VERSION_DEPENDENT_TYPES`` are ever looked up: a name a
    file holds never makes this import a module (issue 20)."""
    if name not in _SKLEARN_VERSION_DEPENDENT_TYPES:
        raise ValueError(f"{name!r} is not a declared version-dependent scikit-learn type")
    module, _, attribute = name.rpartition(".")
    try:
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


def sklearn_missing_types_note(names, saved_versions):
    """A sentence for scikit-learn type names a file holds that are not trusted: they may be
    types another scikit-learn version has. Nothing is imported to find out."""
    import sklearn

    names = sorted(n for n in names if n.split(".")[0] == "sklearn")
    if not names:
        return ""
    saved_versions = saved_versions if isinstance(saved_versions, dict) else {}
    saved = saved_versions.get("sklearn", "an unknown version")
    if not isinstance(saved, str) or saved == sklearn.__version__:
        return ""
    return (
        f" This estimator was saved with scikit-learn {saved} and holds {names}, which are "
        f"not estimator classes of scikit-learn {sklearn.__version__} (installed). Load it "
        f"with scikit-learn {saved}, or refit it and save it again under scikit-learn "
        f"{sklearn.__version__}."
    )


def sklearn_state_for_this_version(data, saved_versions):
    """The skops state ``data`` made loadable under the running scikit-learn.

    Call it only on a state whose types passed the trust check. Only the declared types of
    ``_SKLEARN_VERSION_DEPENDENT_TYPES`` are looked at: one that the running scikit-learn
    lacks is replaced by its plain equivalent. Data whose schema cannot be read are returned
    unchanged, for the loader to report.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, RecursionError):
        return data
    changed = False
    for node in list(_nodes(schema)):
        name = _node_type(node)
        if name not in _SKLEARN_VERSION_DEPENDENT_TYPES or _sklearn_has(name):
            continue
        replacement = None
        if _SKLEARN_VERSION_DEPENDENT_TYPES[name] == "list":
            replacement = _as_plain_list(node)
        if replacement is None:
            raise ValueError(
                f"The estimator state holds a {name} whose layout this version cannot read; "
                "refit the estimator and save it again under the installed scikit-learn."
            )
        node.clear()
        node.update(replacement)
        changed = True
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


# -- private internals of TensorFlow, Keras and scikit-learn ---------------------------------
# Every private name the package touches is reached through one function below, which states
# the versions it was checked on; tests/test_compat.py fails with a clear message when one
# moves. TensorFlow and Keras are imported inside the functions, so importing this module
# stays cheap.
_CHECKED = {"tensorflow": "2.16.1 and 2.21.0", "keras": "3.15.1", "sklearn": "1.6.0 and 1.9.1",
            "tf2onnx": "1.17.0"}


class InternalMovedError(RuntimeError):
    """A private internal of TensorFlow, Keras or scikit-learn is not where it was."""


def _moved(library, what, exc):
    import importlib.metadata as md

    try:
        installed = md.version({"sklearn": "scikit-learn"}.get(library, library))
    except md.PackageNotFoundError:
        installed = "unknown"
    return InternalMovedError(
        f"skkeras_prep relies on {what} of {library} (checked on {_CHECKED[library]}), and "
        f"{library} {installed} has moved it: {exc}. Please report this; until it is fixed, "
        "install a version in the range pyproject.toml declares."
    )


def tf_gradient_registry():
    """TensorFlow's registry of gradient functions (name -> entry), or None where it moved:
    ``tensorflow.python.framework.ops._gradient_registry._registry``. Used to release the
    traced graph each fit's training step leaves registered (``_tf_process_state``)."""
    try:
        from tensorflow.python.framework import ops

        registry = ops._gradient_registry._registry
    except (ImportError, AttributeError):
        return None
    return registry if isinstance(registry, dict) else None


def tf_gradient_entry_graphs(entry, depth=3):
    """The traced graphs a registered gradient function closes over (the entry's ``"type"``
    is the function; its closure cells hold the forward graph's tensors)."""
    fn = entry["type"] if isinstance(entry, dict) else None
    return list(_graphs_in_closure(fn, depth)) if fn is not None else []


def _graphs_in_closure(fn, depth):
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            graph = getattr(item, "graph", None)
            if graph is not None and hasattr(graph, "variables"):
                yield graph
        if callable(value) and depth > 1:
            yield from _graphs_in_closure(value, depth - 1)


def tf_clear_eager_kernel_cache():
    """Empty the eager context's kernel cache
    (``tensorflow.python.eager.context.context().clear_kernel_cache``); False where it moved."""
    try:
        from tensorflow.python.eager import context

        clear = context.context().clear_kernel_cache
    except (ImportError, AttributeError):
        return False
    clear()
    return True


def keras_layers(model):
    """Every layer of ``model``, itself and nested ones included (``Layer._flatten_layers``)."""
    try:
        return model._flatten_layers(include_self=True, recursive=True)
    except AttributeError as exc:
        raise _moved("keras", "Layer._flatten_layers", exc) from None


def keras_own_state(layer):
    """The variables a layer made itself (not its sublayers') and its seed generators
    (``Layer._trainable_variables``, ``_non_trainable_variables``, ``_seed_generators``)."""
    try:
        own = list(layer._trainable_variables) + list(layer._non_trainable_variables)
        return own, list(layer._seed_generators)
    except AttributeError as exc:
        raise _moved("keras", "the layer's own variable and seed-generator lists", exc) from None


def keras_set_steps_per_execution(model, steps):
    """Run ``steps`` gradient steps per compiled call from the next ``fit`` on: Keras reads
    ``steps_per_execution`` when it makes the train function, so the cached one is dropped
    (``model.train_function = None``, as ``compile`` does)."""
    if getattr(model, "steps_per_execution", 1) != steps:
        if not hasattr(model, "train_function"):
            raise _moved("keras", "Model.train_function", AttributeError("train_function"))
        model.steps_per_execution = steps
        model.train_function = None


def keras_symbolic_build(model, element_spec):
    """Build the compiled loss and metrics of ``model`` for batches of ``element_spec`` (a
    ``tf.data`` element spec), as ``Model.fit`` does before its first step
    (``Trainer._symbolic_build(data_batch=...)``, checked on keras 3.15.1). Without it they
    would create their variables inside the first trace of the compiled epoch loop."""
    try:
        build = model._symbolic_build
    except AttributeError as exc:
        raise _moved("keras", "Trainer._symbolic_build", exc) from None
    build(data_batch=element_spec)


def keras_distribute_strategy(model):
    """The distribution strategy ``model`` was compiled under, or None
    (``Trainer._distribute_strategy``, checked on keras 3.15.1; absent: None)."""
    return getattr(model, "_distribute_strategy", None)


def _keras_saving_lib():
    try:
        from keras.src.saving import saving_lib

        return saving_lib.save_model, saving_lib.load_model
    except (ImportError, AttributeError) as exc:
        raise _moved("keras", "keras.src.saving.saving_lib (save_model, load_model)", exc) \
            from None


def keras_model_to_bytes(model):
    """The ``.keras`` bytes of ``model``, written in memory: Keras's own
    ``saving_lib.save_model`` takes a file object (checked on keras 3.15.1), where the public
    ``keras.saving.save_model`` takes only a path. Nothing is staged on disk (Keras keeps
    assets, such as a lookup layer's vocabulary, in a temporary folder while it writes)."""
    import io

    save_model, _ = _keras_saving_lib()
    buffer = io.BytesIO()
    save_model(model, buffer)
    return buffer.getvalue()


def keras_model_from_bytes(data, custom_objects, safe_mode):
    """The Keras model in the ``.keras`` bytes ``data``, read from memory
    (``saving_lib.load_model`` with a file object, checked on keras 3.15.1; the public
    ``keras.saving.load_model`` needs a path). Keras extracts the ``assets/`` entries, if the
    model has any, to a temporary folder it removes when done."""
    import io

    _, load_model = _keras_saving_lib()
    return load_model(io.BytesIO(data), custom_objects=custom_objects, compile=True,
                      safe_mode=safe_mode)


def keras_user_losses_and_metrics(model):
    """``(losses, metrics)`` as the compiled ``model`` was given them (each a value, list or
    dict, as passed to ``compile``; None where not given): ``model.loss`` is public, the
    metrics are kept by Keras 3.15.1 (checked) as ``model._compile_metrics._user_metrics``
    and ``_user_weighted_metrics``."""
    compiled = getattr(model, "_compile_metrics", None)
    try:
        metrics = [] if compiled is None else [compiled._user_metrics,
                                               compiled._user_weighted_metrics]
    except AttributeError as exc:
        raise _moved("keras", "Model._compile_metrics._user_metrics", exc) from None
    return getattr(model, "loss", None), metrics


def keras_compiled_metrics(model):
    """The metrics a compiled model was compiled with, from the public
    ``get_compile_config()``: names stay names (``"accuracy"`` is resolved against the loss),
    serialized metric objects are rebuilt."""
    import keras

    config = model.get_compile_config() if getattr(model, "compiled", False) else None
    metrics = (config or {}).get("metrics")
    if metrics is None:
        return None

    def rebuild(m):
        return keras.metrics.get(m) if isinstance(m, dict) else m

    if isinstance(metrics, dict):
        return {k: rebuild(v) for k, v in metrics.items()}
    return [rebuild(m) for m in metrics]


def sklearn_column_transformer_input_indices(ct):
    """A fitted ColumnTransformer's input column indices by transformer name
    (``ColumnTransformer._transformer_to_input_indices``)."""
    try:
        return ct._transformer_to_input_indices
    except AttributeError as exc:
        raise _moved("sklearn", "ColumnTransformer._transformer_to_input_indices", exc) from None


def sklearn_infrequent_enabled(encoder):
    """Whether a fitted OneHotEncoder/OrdinalEncoder groups infrequent categories
    (``_infrequent_enabled``)."""
    try:
        return bool(encoder._infrequent_enabled)
    except AttributeError as exc:
        raise _moved("sklearn", "the encoders' _infrequent_enabled", exc) from None


def sklearn_num_samples(X):
    """scikit-learn's own count of the rows of an array-like
    (``sklearn.utils.validation._num_samples``)."""
    try:
        from sklearn.utils.validation import _num_samples
    except ImportError as exc:
        raise _moved("sklearn", "sklearn.utils.validation._num_samples", exc) from None
    return _num_samples(X)


def sklearn_visual_block(kind, estimators, *, names, name_details):
    """A box layout of scikit-learn's HTML repr (``_VisualBlock``), which an estimator returns
    from ``_sk_visual_block_`` to show its parts as boxes. In
    ``sklearn.utils._estimator_html_repr`` in 1.6.0 (checked), in
    ``sklearn.utils._repr_html.estimator`` in 1.9.1 (checked)."""
    for module in ("sklearn.utils._repr_html.estimator", "sklearn.utils._estimator_html_repr"):
        try:
            block = getattr(importlib.import_module(module), "_VisualBlock")
            break
        except (ImportError, AttributeError):
            continue
    else:
        raise InternalMovedError(
            "scikit-learn moved _VisualBlock (checked on 1.6.0 and 1.9.1): the HTML repr shows "
            "the estimator as one box; update skkeras_prep._compat.sklearn_visual_block"
        )
    return block(kind, estimators, names=names, name_details=name_details)


# -- tf2onnx (the optional onnx extra; export/onnx_model.py) ------------------------------------
# tf2onnx 1.17.0 (checked; it knows opsets up to 18) converts two ops of the exported model
# wrongly, so ``tf2onnx_op_handlers`` replaces its handlers for them:
# * Equal on strings: ONNX Equal takes no strings before opset 19, and tf2onnx casts both sides
#   to int32 (onnxruntime then fails in Cast, 'stoll'). The export layers compare a string
#   tensor with constant categories only, so the comparison becomes ai.onnx.ml CategoryMapper
#   (each constant -> its index, anything else -> -1) and an Equal of int64 codes: the same
#   answer, since an unknown value (-1) equals no constant's code.
# * SelectV2 (tf.where): for numbers tf2onnx writes ``cond * a + (1 - cond) * b`` unless it
#   sees a NaN constant, which gives NaN where the branch not taken holds NaN or inf (the
#   ordinal encoder's NaN for an unknown value is built with tf.fill, so it is not seen).
#   The handler makes it ONNX Where, which picks without arithmetic.
# Both reuse tf2onnx's own handler classes (``tf2onnx.onnx_opset``) for the cases they keep.
def _tf2onnx_handler(module, name):
    try:
        return getattr(importlib.import_module(f"tf2onnx.onnx_opset.{module}"), name)
    except (ImportError, AttributeError) as exc:
        raise _moved("tf2onnx", f"tf2onnx.onnx_opset.{module}.{name}", exc) from None


def _tf2onnx_string_equal(ctx, node, name, args):
    import numpy as np
    from onnx import TensorProto

    problems = args[0]
    if TensorProto.STRING not in [ctx.get_dtype(i) for i in node.input]:
        return _tf2onnx_handler("logical", "Equal").version_11(ctx, node)
    constant = [k for k, tensor in enumerate(node.inputs) if tensor.is_const()]
    if len(constant) != 1:
        problems.append(f"{name}: an Equal of two computed string tensors")
        return None
    k = constant[0]
    values = node.inputs[k].get_tensor_value(as_list=False)
    vocabulary = sorted(set(values.ravel().tolist()))
    index = {v: i for i, v in enumerate(vocabulary)}
    codes = np.array([index[v] for v in values.ravel().tolist()], np.int64).reshape(values.shape)
    other = node.input[1 - k]
    mapper = ctx.make_node(
        "CategoryMapper", [other], domain="ai.onnx.ml", name=f"{name}_codes",
        attr={"cats_strings": vocabulary, "cats_int64s": list(range(len(vocabulary))),
              "default_int64": -1},
        shapes=[ctx.get_shape(other)], dtypes=[TensorProto.INT64],
    )
    inputs = [None, None]
    inputs[k] = ctx.make_const(f"{name}_constant_codes", codes).output[0]
    inputs[1 - k] = mapper.output[0]
    ctx.replace_inputs(node, inputs)
    return None


def _tf2onnx_select(ctx, node, name, args):
    node.set_attr("handles_nan", True)
    return _tf2onnx_handler("controlflow", "Select").version_9(ctx, node)


def tf2onnx_op_handlers(problems):
    """``custom_op_handlers`` for ``tf2onnx.convert.from_function`` (opset >= 11): string
    Equal as CategoryMapper + Equal of codes, SelectV2 as ONNX Where. A comparison they cannot
    convert is appended to the list ``problems`` (tf2onnx goes on after a handler fails)."""
    return {"Equal": (_tf2onnx_string_equal, [None, problems]),
            "SelectV2": (_tf2onnx_select, [None])}
