"""Structure-aware fuzzing of ``load`` (issue 20 §5): valid saved files, mutated where an
attacker would (the JSON metadata, the skops schema, the Keras configs, the HDF5 weights,
the zip layers), must load or give a ValueError, within 10 s and 300 MB, importing no module
outside the trusted set, leaving the environment as it was, creating no file.

The default run is ``FAST_EXAMPLES`` examples, derandomized: the same mutations every run
(about 15 s on one core). They mutate files saved afresh, whose zip entries carry the time of
saving, so the bytes they hit are not the same from one run to the next. The ``slow`` run is
``SLOW_EXAMPLES`` new random ones (about 3 minutes). ``SKKERAS_FUZZ_EXAMPLES`` overrides both.
"""

import base64
import io
import json
import os
import resource
import sys
import tempfile
import time
import zipfile

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skkeras_prep
from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor, _persistence
from skkeras_prep.distribution import StrategySpec
from skkeras_prep.models import MLP

FAST_EXAMPLES = 200
SLOW_EXAMPLES = 1200
SECONDS, MEGABYTES = 10, 300
# Keras spends 10-40 ms on each layer it loads: the time a file may cost follows the
# max_layers limit, set here to what 10 s allows on a busy machine (the seeds have 3 layers).
MAX_LAYERS = 100

MODULES = ["sklearn._build_utils.version", "sklearn.tests.test_docstrings",
           "sklearn.utils.tests.test_array_api", "os", "subprocess", "builtins", "posix",
           "sklearn.pipeline", "numpy", "skkeras_prep.distribution", "keras.layers",
           "keras.src.saving.saving_lib", "importlib"]
CLASSES = ["system", "Popen", "eval", "Pipeline", "StrategySpec", "Lambda", "TFSMLayer",
           "Anything", "import_module", "StandardScaler", "dict", "list"]
LOADERS = ["ObjectNode", "ReduceNode", "CachedNode", "JsonNode", "NdArrayNode", "FunctionNode",
           "MethodNode", "TypeNode", "DictNode", "ListNode", "SetNode", "TupleNode",
           "BytesNode", "ByteArrayNode", "OperatorFuncNode", "SparseMatrixNode",
           "RandomStateNode", "RandomGeneratorNode", "SliceNode", "NoSuchNode"]
KERAS_CLASSES = ["Dense", "Lambda", "TFSMLayer", "StringLookup", "Conv2D", "InputLayer",
                 "Functional", "Sequential", "Embedding", "LSTM", "NoSuchLayer", "Popen"]

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=8)


# -- the seed files ------------------------------------------------------------------------------
def _unzip(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members, compression=zipfile.ZIP_DEFLATED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seeds")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(24, 3))
    fitted = KerasPipelineRegressor(MLP((4,)), preprocessor=Pipeline([("s", StandardScaler())]),
                                    epochs=1, random_state=0).fit(X, X[:, 0])
    unfitted = KerasPipelineClassifier(
        keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)]),
        optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.Huber,
        distribution=StrategySpec("one_device", ["/cpu:0"]), epochs=1)
    found = []
    for name, est in [("fitted", fitted), ("unfitted", unfitted)]:
        path = folder / f"{name}.skkeras"
        est.save(path)
        found.append(path.read_bytes())
    return found


# -- mutations -----------------------------------------------------------------------------------
def _locations(doc):
    """Every (container, key) in a JSON document, iteratively."""
    found, stack = [], [doc]
    while stack:
        item = stack.pop()
        keys = list(item) if isinstance(item, dict) else range(len(item)) \
            if isinstance(item, list) else []
        for key in keys:
            found.append((item, key))
            stack.append(item[key])
    return found


def _lambda_layer():
    code = base64.b64encode(b"\xe3" + b"\0" * 40).decode()
    return {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
            "config": {"name": "l", "function": {"class_name": "__lambda__",
                                                 "config": {"code": code, "defaults": None,
                                                            "closure": None}}}}


def _mutate_json(doc, data, kind):
    places = _locations(doc)
    if not places:
        return json.dumps(data.draw(JSON, label="whole document"))
    container, key = places[data.draw(st.integers(0, len(places) - 1), label="place")]
    action = data.draw(st.sampled_from(
        ["replace", "delete", "duplicate", "module", "loader", "id", "deep", "strings",
         "many", "keras_class", "lambda"]), label="action")
    if action == "replace":
        container[key] = data.draw(JSON, label="value")
    elif action == "delete":
        del container[key]
    elif action == "duplicate":  # a subtree copied over another place
        other, other_key = places[data.draw(st.integers(0, len(places) - 1))]
        container[key] = json.loads(json.dumps(other[other_key]))
    elif action == "module" and isinstance(container[key], dict):
        container[key]["__module__"] = data.draw(st.sampled_from(MODULES))
        container[key]["__class__"] = data.draw(st.sampled_from(CLASSES))
    elif action == "loader" and isinstance(container[key], dict):
        container[key]["__loader__"] = data.draw(st.sampled_from(LOADERS))
    elif action == "id" and isinstance(container[key], dict):
        ids = [c[k]["__id__"] for c, k in places if isinstance(c[k], dict) and "__id__" in c[k]]
        container[key]["__id__"] = data.draw(st.sampled_from(ids) if ids else st.integers())
    elif action == "deep":
        depth = data.draw(st.integers(10, 400))
        value = container[key]
        for _ in range(depth):
            value = [value]
        container[key] = value
    elif action == "strings":  # a huge array of strings, up to ~2 MB
        count, size = data.draw(st.integers(1, 20_000)), data.draw(st.integers(1, 100))
        container[key] = ["x" * size] * count
    elif action == "many" and isinstance(container[key], list) and container[key]:
        container[key] = container[key] * data.draw(st.integers(2, 3000 // len(container[key])
                                                                 + 2))
    elif action == "keras_class" and isinstance(container[key], dict):
        container[key]["class_name"] = data.draw(st.sampled_from(KERAS_CLASSES))
    elif action == "lambda" and kind == "config":
        container[key] = _lambda_layer()
    return json.dumps(doc)


def _mutate_h5(data_bytes, data):
    action = data.draw(st.sampled_from(["flip", "truncate", "compressed"]), label="h5 action")
    if action == "flip":
        return _flip(data_bytes, data)
    if action == "truncate":
        return data_bytes[:data.draw(st.integers(0, len(data_bytes)))]
    import h5py

    out = io.BytesIO()
    with h5py.File(out, "w") as f:
        side = data.draw(st.integers(1, 40_000))
        f.create_dataset("layers/dense/vars/0", shape=(side, side), dtype="f4",
                         compression="gzip", chunks=True, fillvalue=0)
    return out.getvalue()


def _flip(raw, data):
    raw = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 20))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    return bytes(raw)


def _mutate(file_bytes, data):
    target = data.draw(st.sampled_from(["metadata", "schema", "config", "h5", "zip", "bytes"]),
                       label="target")
    if target == "bytes":  # the zip structure itself: headers, sizes, offsets
        return _flip(file_bytes, data)
    outer = _unzip(file_bytes)
    keras_names = [n for n in outer if n.endswith(".keras")]
    compression = zipfile.ZIP_DEFLATED
    if target == "metadata":
        outer["skkeras_prep.json"] = _mutate_json(json.loads(outer["skkeras_prep.json"]), data,
                                                  target).encode()
    elif target == "schema":
        inner = _unzip(outer["state.skops"])
        inner["schema.json"] = _mutate_json(json.loads(inner["schema.json"]), data,
                                            target).encode()
        outer["state.skops"] = _zip(inner.items())
    elif target in ("config", "h5") and keras_names:
        name = data.draw(st.sampled_from(keras_names), label="keras entry")
        inner = _unzip(outer[name])
        if target == "config":
            inner["config.json"] = _mutate_json(json.loads(inner["config.json"]), data,
                                                target).encode()
        else:
            inner["model.weights.h5"] = _mutate_h5(inner["model.weights.h5"], data)
        outer[name] = _zip(inner.items())
    else:  # zip tricks: many small entries, another compression, an entry dropped
        action = data.draw(st.sampled_from(["many", "inner many", "compression", "drop",
                                            "inner bytes"]))
        if action == "many":
            for i in range(data.draw(st.integers(1, 12_000))):
                outer[f"x/{i}"] = b""
        elif action == "inner many" and keras_names:
            inner = _unzip(outer[keras_names[0]])
            for i in range(data.draw(st.integers(1, 12_000))):
                inner[f"assets/{i}"] = b"a"
            outer[keras_names[0]] = _zip(inner.items())
        elif action == "compression":
            compression = data.draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_BZIP2,
                                                     zipfile.ZIP_LZMA]))
        elif action == "drop":
            outer.pop(data.draw(st.sampled_from(sorted(outer))))
        elif action == "inner bytes":  # the headers of an inner archive
            name = data.draw(st.sampled_from(["state.skops"] + keras_names))
            outer[name] = _flip(outer[name], data)
    return _zip(outer.items(), compression)


# -- the property ---------------------------------------------------------------------------------
def _allowed_sklearn_modules():
    allowed = set()
    for name in _persistence.default_trusted_types():
        parts = name.split(".")[:-1]
        allowed.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return allowed


def _fuzz(seeds, tmp_path, examples, derandomize):
    folder = tmp_path / "files"
    folder.mkdir()
    private_tmp = tmp_path / "system_tmp"
    private_tmp.mkdir()
    for i, seed in enumerate(seeds):  # warm up: what any load imports is imported now
        (folder / f"seed{i}.skkeras").write_bytes(seed)
        skkeras_prep.load(folder / f"seed{i}.skkeras")
    allowed = _allowed_sklearn_modules()
    environ = dict(os.environ)
    # Loads run in an empty working folder of their own, so that a relative path a file
    # names lands where this test looks (the checkout's folder changes under another xdist
    # worker: pytest's cache, for one).
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak so far, MB
    outcomes = {}
    files = sorted(["mutated.skkeras"] + [f"seed{i}.skkeras" for i in range(len(seeds))])

    @settings(max_examples=examples, deadline=None, database=None, derandomize=derandomize,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def example(data):
        seed = data.draw(st.sampled_from(range(len(seeds))), label="seed")
        path = folder / "mutated.skkeras"
        path.write_bytes(_mutate(seeds[seed], data))
        old_tempdir, tempfile.tempdir = tempfile.tempdir, str(private_tmp)
        old_cwd = os.getcwd()
        os.chdir(cwd)
        modules = set(sys.modules)
        start = time.perf_counter()
        try:
            skkeras_prep.load(path, max_layers=MAX_LAYERS)
            outcome = "loaded"
        except ValueError as exc:
            outcome = "ValueError: " + str(exc).replace(str(path), "<file>")[:70]
        finally:
            tempfile.tempdir = old_tempdir
            os.chdir(old_cwd)
        elapsed = time.perf_counter() - start
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        assert elapsed < SECONDS, f"load took {elapsed:.1f} s"
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert peak - baseline < MEGABYTES, f"peak RSS grew by {peak - baseline:.0f} MB"
        new = set(sys.modules) - modules
        assert all(m.split(".")[0] != "sklearn" or m in allowed for m in new), sorted(new)
        assert not [m for m in new if m.split(".")[0] not in (
            "sklearn", "keras", "tensorflow", "numpy", "scipy", "h5py", "skops")], sorted(new)
        assert dict(os.environ) == environ
        assert os.listdir(private_tmp) == []
        assert sorted(os.listdir(folder)) == files
        assert os.listdir(cwd) == []

    example()
    return outcomes


def _examples(default):
    return int(os.environ.get("SKKERAS_FUZZ_EXAMPLES", default))


def test_mutated_files_load_or_give_a_value_error(seeds, tmp_path):
    outcomes = _fuzz(seeds, tmp_path, _examples(FAST_EXAMPLES), derandomize=True)
    assert sum(outcomes.values()) >= 1
    print(json.dumps(outcomes, indent=1))


@pytest.mark.slow
def test_mutated_files_load_or_give_a_value_error_long_run(seeds, tmp_path):
    outcomes = _fuzz(seeds, tmp_path, _examples(SLOW_EXAMPLES), derandomize=False)
    print(json.dumps(outcomes, indent=1))
