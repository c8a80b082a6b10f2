"""Crafted (hostile) skkeras_prep files, for tests/test_persistence_attacks.py and for measuring
what refusing them costs.

Measure each attack in a fresh process (file size, peak RSS growth during ``load``, outcome):

    cd <repo> && TF_CPP_MIN_LOG_LEVEL=2 python -m tests.crafted_files
"""

import io
import json
import os
import sys
import zipfile

MiB = 2**20
POPEN = {"module": "keras.src.utils.progbar", "name": "np.f2py.subprocess.Popen",
         "registered": "Popen"}
CLASS = "__skkeras_prep_keras_class__"
OBJECT = "__skkeras_prep_keras_object__"
MODEL = "__skkeras_prep_keras_model__"


def metadata(**changes):
    meta = {"format": "skkeras_prep.estimator", "format_version": 1,
            "estimator": "skkeras_prep.regressor.KerasPipelineRegressor", "fitted": False,
            "param_models": 0, "versions": {}}
    meta.update(changes)
    return json.dumps(meta).encode()


def write_zip(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            if callable(data):  # a writer of a large member, streamed
                with archive.open(name, "w", force_zip64=True) as f:
                    data(f)
            else:
                archive.writestr(name, data)
    return path


def state_bytes(params=None, attributes=None, estimator_class=None):
    import skops.io as sio

    from skkeras_prep import KerasPipelineRegressor

    state = {
        "estimator_class": estimator_class or KerasPipelineRegressor,
        "params": {**KerasPipelineRegressor().get_params(deep=False), **(params or {})},
        "attributes": attributes or {},
    }
    return sio.dumps(state)


def state_file(path, params=None, attributes=None, estimator_class=None, **meta):
    """An unfitted-regressor file whose state holds the given (crafted) parts."""
    return write_zip(path, {"skkeras_prep.json": metadata(**meta),
                            "state.skops": state_bytes(params, attributes, estimator_class)})


def zeros_writer(size):
    def write(f):
        chunk = bytes(MiB)
        for _ in range(size // MiB):
            f.write(chunk)
    return write


# -- the attacks of issue 9 §2, each at most 1 MB ------------------------------------------
def outer_bomb(path, size=256 * MiB):
    """A state.skops entry that inflates to ``size`` zero bytes."""
    return write_zip(path, {"skkeras_prep.json": metadata(), "state.skops": zeros_writer(size)})


def metadata_bomb(path, size=256 * MiB):
    return write_zip(path, {"skkeras_prep.json": zeros_writer(size), "state.skops": b""})


def inner_bomb(path, size=256 * MiB):
    """A state.skops stored as is, holding a member that inflates to ``size`` bytes."""
    inner = io.BytesIO()
    write_zip(inner, {"schema.json": zeros_writer(size)})
    return write_zip(path, {"skkeras_prep.json": metadata(), "state.skops": inner.getvalue()},
                     compression=zipfile.ZIP_STORED)


def model_bomb(path, size=256 * MiB):
    """A fitted file whose model.keras weights inflate to ``size`` bytes."""
    inner = io.BytesIO()
    write_zip(inner, {"config.json": b"{}", "metadata.json": b"{}",
                      "model.weights.h5": zeros_writer(size)})
    return write_zip(path, {"skkeras_prep.json": metadata(fitted=True),
                            "state.skops": state_bytes(), "model.keras": inner.getvalue()},
                     compression=zipfile.ZIP_STORED)


def many_param_models(path, count=10**7):
    return state_file(path, param_models=count)


def deep_metadata(path, depth=100_000):
    return write_zip(path, {"skkeras_prep.json": b"[" * depth + b"]" * depth,
                            "state.skops": b""})


def deep_state(path, depth=5_000):
    """A state whose schema.json nests lists ``depth`` deep."""
    inner = io.BytesIO()
    node = '{"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", ' \
           '"content": [%s]}'
    prefix, suffix = node.split("%s")
    prefix, suffix = prefix * depth, suffix * depth
    write_zip(inner, {"schema.json": (prefix + suffix).encode()})
    return write_zip(path, {"skkeras_prep.json": metadata(), "state.skops": inner.getvalue()})


def _small_model_bytes(n_features=4, units=2):
    import keras

    from skkeras_prep.models import MLP

    meta = {"input_shape_": (n_features,), "target_type_": "continuous", "n_outputs_": units}
    model = MLP((3,)).build(meta)
    buffer = io.BytesIO()
    tmp = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".crafted-small.keras")
    try:
        keras.saving.save_model(model, tmp)
        buffer.write(open(tmp, "rb").read())
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return buffer.getvalue()


def wide_dense(path, width=100_000, units=100_000):
    """A fitted file whose model config declares Dense(units) on a ``width``-wide input (a
    ``width * units`` kernel) with weights of a few KB."""
    original = zipfile.ZipFile(io.BytesIO(_small_model_bytes()))
    config = json.loads(original.read("config.json"))
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_shape"] = [None, width]
        elif layer["class_name"] == "Dense":
            layer["config"]["units"] = units
            layer["build_config"] = {"input_shape": [None, width]}
    inner = io.BytesIO()
    write_zip(inner, {"metadata.json": original.read("metadata.json"),
                      "config.json": json.dumps(config).encode(),
                      "model.weights.h5": original.read("model.weights.h5")})
    return write_zip(path, {"skkeras_prep.json": metadata(fitted=True),
                            "state.skops": state_bytes(), "model.keras": inner.getvalue()})


BIG = 960 * MiB  # the largest zero-filled entry that deflates into less than 1 MB

ATTACKS = {
    "outer zip bomb (state.skops inflates to 960 MiB)": lambda p: outer_bomb(p, BIG),
    "metadata zip bomb (960 MiB)": lambda p: metadata_bomb(p, BIG),
    "inner zip bomb (state.skops/schema.json, 960 MiB)": lambda p: inner_bomb(p, BIG),
    "model.keras weights bomb (960 MiB)": lambda p: model_bomb(p, BIG),
    "param_models=10**7": many_param_models,
    "metadata nested 100,000 deep": deep_metadata,
    "state schema nested 5,000 deep": deep_state,
    "Dense(100000) on a 100,000-wide input": wide_dense,
    "Dense(4000) on a 4,000-wide input, tiny weights":
        lambda path: wide_dense(path, width=4000, units=4000),
}


def _add_issue_20_attacks():
    """Defined after the functions they use (issue 20 §1 and §3)."""
    ATTACKS["state naming 3 scikit-learn test/build modules"] = lambda path: naming_modules(
        path, ["sklearn._build_utils.version.A", "sklearn.utils.tests.test_array_api.A",
               "sklearn.tests.test_docstrings.A"])
    ATTACKS["ImageLoader(size=(8000, 8000)) + Input((8000, 8000, 3))"] = large_rows


def _measure_one(name, path):
    """In this (fresh) process: peak RSS growth of loading ``path``, and the outcome."""
    import resource

    import keras  # noqa: F401 - the libraries are imported before measuring
    import psutil
    import skops.io  # noqa: F401

    import skkeras_prep
    from skkeras_prep import _persistence

    _persistence.default_trusted_types()  # imports every scikit-learn estimator module

    before = psutil.Process().memory_info().rss / 1024
    try:
        skkeras_prep.load(path)
        outcome = "LOADED"
    except ValueError as exc:
        outcome = "ValueError: " + str(exc)[:150]
    except BaseException as exc:  # noqa: BLE001 - reported, this is a measurement
        outcome = f"{type(exc).__name__}: {str(exc)[:150]}"
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"attack": name, "file_bytes": os.path.getsize(path),
                      "peak_rss_growth_mb_at_most": round((after - before) / 1024, 1),
                      "outcome": outcome}))


def main():
    import subprocess
    import tempfile

    if len(sys.argv) == 3:
        _measure_one(sys.argv[1], sys.argv[2])
        return
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, make) in enumerate(ATTACKS.items()):
            path = os.path.join(tmp, f"attack{i}.skkeras")
            make(path)
            subprocess.run([sys.executable, "-m", "tests.crafted_files", name, path], check=False)



# -- issue 20: files naming modules, path parameters, large rows ------------------------------
def _rewrite_schema(state, edit):
    """``state`` (skops bytes) with its schema.json passed through ``edit(schema)``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(state)) as old, zipfile.ZipFile(out, "w") as new:
        for name in old.namelist():
            data = old.read(name)
            if name == "schema.json":
                schema = json.loads(data)
                edit(schema)
                data = json.dumps(schema).encode()
            new.writestr(name, data)
    return out.getvalue()


def naming_modules(path, type_names):
    """An unfitted file whose state holds one object node per dotted type name (module and
    class), as extra parameters: the attack of issue 20 §1."""
    def edit(schema):
        params = schema["content"]["params"]["content"]
        for i, name in enumerate(type_names):
            module, _, cls = name.rpartition(".")
            params[f"extra{i}"] = {
                "__class__": cls, "__module__": module, "__loader__": "ObjectNode",
                "content": {"__class__": "dict", "__module__": "builtins",
                            "__loader__": "DictNode", "content": {},
                            "key_types": {"__class__": "list", "__module__": "builtins",
                                          "__loader__": "ListNode", "content": []}},
                "__id__": 10**9 + i}
    return write_zip(path, {"skkeras_prep.json": metadata(),
                            "state.skops": _rewrite_schema(state_bytes(), edit)})


def keras_bytes(model):
    from skkeras_prep import _compat

    return _compat.keras_model_to_bytes(model)


def fitted_file(path, model, params=None, keras_config_edit=None):
    """A "fitted" regressor file holding ``model`` (its config passed through
    ``keras_config_edit``); its attributes are not consistent, so only checks that run before
    the consistency check are reached."""
    data = keras_bytes(model)
    if keras_config_edit is not None:
        original = zipfile.ZipFile(io.BytesIO(data))
        config = json.loads(original.read("config.json"))
        keras_config_edit(config)
        inner = io.BytesIO()
        write_zip(inner, {name: (json.dumps(config).encode() if name == "config.json"
                                 else original.read(name)) for name in original.namelist()})
        data = inner.getvalue()
    return write_zip(path, {"skkeras_prep.json": metadata(fitted=True),
                            "state.skops": state_bytes(params), "model.keras": data})


def large_rows(path, side=8000):
    """Issue 20 §3: ImageLoader(size=(side, side)) and a model whose Input is (side, side, 3),
    pooled into a Dense layer: a few KB that would cost side*side*3 floats a row."""
    import keras

    from skkeras_prep.images import ImageLoader

    model = keras.Sequential([keras.Input((side, side, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(1)])
    return fitted_file(path, model, params={"preprocessor": ImageLoader(size=(side, side))})


_add_issue_20_attacks()


if __name__ == "__main__":
    main()
