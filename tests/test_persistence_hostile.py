"""Hostile files, round two (issue 20): a file names no module that load imports, reaches no
path without trusted=, and costs what the limits say; save and load stage nothing in the
system temp folder."""

import json
import os
import subprocess
import sys
import tempfile
import textwrap

import keras
import numpy as np
import pytest
from sklearn.cluster import AgglomerativeClustering, FeatureAgglomeration, OPTICS
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skkeras_prep
from skkeras_prep import KerasPipelineRegressor, _compat
from skkeras_prep._persistence import path_values as _path_values
from skkeras_prep.images import ImageLoader
from skkeras_prep.models import MLP, KerasApplication

import crafted_files as crafted
from crafted_files import OBJECT

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURE = os.path.join(HERE, "fixtures", "sklearn_min", "classifier.skkeras")

# Modules whose top-level code has effects (issue 20 §1): prints, sets os.environ, raises
# pytest's Skipped (a BaseException).
NAMED_MODULES = ["sklearn._build_utils.version", "sklearn.utils.tests.test_array_api",
                 "sklearn.tests.test_docstrings"]


def _run(script, *args):
    env = {k: v for k, v in os.environ.items() if k != "SCIPY_ARRAY_API"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stdout


# -- §1: load imports no module the file names -------------------------------------------------
_NAMING_SCRIPT = """
import contextlib, io, json, os, sys
import skkeras_prep
from skkeras_prep import _persistence
_persistence.default_trusted_types()
skkeras_prep.load(sys.argv[1])  # a valid file first: what any load imports is imported now
before, environ = set(sys.modules), dict(os.environ)
outcomes, printed = [], io.StringIO()
with contextlib.redirect_stdout(printed):
    for path in sys.argv[2:]:
        try:
            skkeras_prep.load(path)
            outcomes.append("loaded")
        except ValueError as exc:
            outcomes.append("ValueError: " + str(exc))
        except BaseException as exc:
            outcomes.append(type(exc).__name__ + ": " + str(exc))
print(json.dumps({"outcomes": outcomes, "new_modules": sorted(set(sys.modules) - before),
                  "environ_changed": dict(os.environ) != environ,
                  "printed": printed.getvalue()}))
"""


def test_a_file_naming_modules_imports_none_of_them(tmp_path):
    valid = crafted.state_file(tmp_path / "valid.skkeras")
    paths = [str(crafted.naming_modules(tmp_path / f"m{i}.skkeras", [f"{name}.Anything"]))
             for i, name in enumerate(NAMED_MODULES)]
    paths.append(str(crafted.naming_modules(tmp_path / "all.skkeras",
                                            [f"{n}.Anything" for n in NAMED_MODULES])))
    result, stdout = _run(_NAMING_SCRIPT, str(valid), *paths)
    assert result["new_modules"] == []
    assert not result["environ_changed"]
    assert result["printed"] == "" and stdout.count("\n") == 1
    for outcome, name in zip(result["outcomes"], NAMED_MODULES + ["all"]):
        assert outcome.startswith("ValueError: "), outcome
        assert "not trusted by default" in outcome and "trusted=" in outcome
    for name in NAMED_MODULES:
        assert name not in result["new_modules"]


def test_the_version_rewrite_looks_only_at_its_declared_types():
    from skkeras_prep import _compat

    with pytest.raises(ValueError, match="not a declared version-dependent"):
        _compat._sklearn_has("sklearn._build_utils.version.Anything")
    assert "sklearn._build_utils.version" not in sys.modules


_FIXTURE_SCRIPT = """
import json, sys, warnings
import skkeras_prep
warnings.simplefilter("ignore")
loaded = skkeras_prep.load(sys.argv[1])
print(json.dumps({"classes": loaded.classes_.tolist(),
                  "remainder": type(loaded.preprocessor_.transformers_[-1][2]).__name__}))
"""


def test_the_oldest_sklearn_fixture_loads_in_a_fresh_process():
    with open(os.path.join(os.path.dirname(FIXTURE), "expected.json")) as f:
        expected = json.load(f)
    result, _ = _run(_FIXTURE_SCRIPT, FIXTURE)
    assert result["classes"] == expected["classes"]


# -- §2: parameters that reach a path, a URL or the network -----------------------------------
def _state_entry(place, value):
    return lambda tmp_path: crafted.state_file(tmp_path / "p.skkeras", params={place: value})


def _keras_object_entry(name):
    def make(tmp_path):
        layer = getattr(keras.layers, name)(vocabulary=[1, 2] if name == "IntegerLookup"
                                            else ["a", "b"])
        config = keras.saving.serialize_keras_object(layer)
        config["config"]["vocabulary"] = str(tmp_path / "vocabulary.txt")
        return crafted.state_file(tmp_path / "p.skkeras",
                                  params={"model__layer": {OBJECT: json.dumps(config)}})
    return make


ENTRIES = {
    "sklearn.pipeline.Pipeline.memory":
        lambda tmp_path: crafted.state_file(tmp_path / "p.skkeras", params={
            "preprocessor": Pipeline([("s", StandardScaler())], memory=str(tmp_path / "c"))}),
    "sklearn.cluster._agglomerative.AgglomerativeClustering.memory":
        lambda tmp_path: _state_entry("preprocessor", AgglomerativeClustering(
            memory=str(tmp_path / "c")))(tmp_path),
    "sklearn.cluster._agglomerative.FeatureAgglomeration.memory":
        lambda tmp_path: _state_entry("preprocessor", FeatureAgglomeration(
            memory=str(tmp_path / "c")))(tmp_path),
    "sklearn.cluster._optics.OPTICS.memory":
        lambda tmp_path: _state_entry("preprocessor", OPTICS(memory=str(tmp_path / "c")))(tmp_path),
    "sklearn.feature_extraction.text.CountVectorizer.input":
        _state_entry("preprocessor", CountVectorizer(input="filename")),
    "sklearn.feature_extraction.text.TfidfVectorizer.input":
        _state_entry("preprocessor", TfidfVectorizer(input="file")),
    "sklearn.feature_extraction.text.HashingVectorizer.input":
        _state_entry("preprocessor", HashingVectorizer(input="filename")),
    "skkeras_prep.images.ImageLoader.cache":
        lambda tmp_path: _state_entry("preprocessor", ImageLoader(
            size=(8, 8), cache=str(tmp_path / "cache")))(tmp_path),
    "skkeras_prep.models.KerasApplication.weights":
        _state_entry("model", KerasApplication(weights="imagenet")),
    "keras.layers.StringLookup.vocabulary": _keras_object_entry("StringLookup"),
    "keras.layers.IntegerLookup.vocabulary": _keras_object_entry("IntegerLookup"),
    "keras.layers.TextVectorization.vocabulary": _keras_object_entry("TextVectorization"),
}


# FeatureAgglomeration's default pooling_func is numpy.mean, a function skops asks about.
EXTRA_TRUSTED = {"sklearn.cluster._agglomerative.FeatureAgglomeration.memory": ["numpy.mean"]}


def test_every_table_entry_has_a_test_and_names_a_real_parameter():
    import importlib
    import inspect

    tokens = {f"{t}.{p}" for t, params in _path_values.PATH_PARAMETERS.items() for p in params}
    tokens |= {f"keras.layers.{n}.{a}" for n, a in _path_values.KERAS_PATH_ARGUMENTS.items()}
    assert tokens == set(ENTRIES)
    for token in tokens:
        module, cls, parameter = token.rsplit(".", 2)
        found = getattr(importlib.import_module(module), cls)
        assert parameter in inspect.signature(found.__init__).parameters, token
        if module != "keras.layers":
            default = inspect.signature(found.__init__).parameters[parameter].default
            assert default in _path_values.PATH_PARAMETERS[f"{module}.{cls}"][parameter]


@pytest.mark.parametrize("token", sorted(ENTRIES))
def test_a_path_value_needs_trusted_and_the_error_spells_out_the_call(tmp_path, token):
    path = ENTRIES[token](tmp_path)
    extra = EXTRA_TRUSTED.get(token, [])
    with pytest.raises(ValueError) as info:
        skkeras_prep.load(path, trusted=extra)
    message = str(info.value)
    assert "reach a path, a URL or the network" in message
    call = f"skkeras_prep.load({str(path)!r}, trusted={sorted([token] + extra)!r})"
    if token.startswith("keras."):  # a Keras object in the parameters: its entry is named
        assert "params['model__layer']" in message and f"trusted={[token]!r}" in message
    else:
        assert call in message, message
        listed = skkeras_prep.inspect_file(path)
        assert token in listed["untrusted"]
        assert [p["trusted_name"] for p in listed["paths"]] == [token]
    assert set(os.listdir(tmp_path)) == {"p.skkeras"}  # nothing created or read
    if token.startswith("keras."):  # Keras's own safe mode refuses the path as well
        assert "safe_mode=False" in message
        with pytest.raises(ValueError, match="vocabulary file outside of the model archive"):
            skkeras_prep.load(path, trusted=[token])
        return
    loaded = skkeras_prep.load(path, trusted=[token] + extra)
    assert isinstance(loaded, KerasPipelineRegressor)


def test_harmless_defaults_load_without_trusted(tmp_path):
    path = crafted.state_file(tmp_path / "ok.skkeras", params={
        "preprocessor": Pipeline([("v", CountVectorizer()), ("s", StandardScaler())]),
        "model": KerasApplication()})
    in_memory = crafted.state_file(tmp_path / "mem.skkeras", params={
        "preprocessor": ImageLoader(size=(8, 8), cache="memory")})
    assert skkeras_prep.load(in_memory).preprocessor.cache == "memory"
    assert skkeras_prep.inspect_file(path)["paths"] == []
    assert isinstance(skkeras_prep.load(path).preprocessor, Pipeline)


def test_a_value_hidden_behind_a_shared_skops_id_is_found(tmp_path):
    # skops loads every node with an __id__ it saw before as that earlier object, so a
    # harmless-looking memory=None node sharing the id of a path string loads the path.
    def edit(schema):
        params = schema["content"]["params"]["content"]
        pipeline = params["preprocessor"]["content"]["content"]
        params["verbose"] = {"__class__": "str", "__module__": "builtins",
                             "__loader__": "JsonNode", "content": json.dumps("/tmp/evil"),
                             "is_json": True, "__id__": 4242}
        pipeline["memory"]["__id__"] = 4242

    state = crafted._rewrite_schema(crafted.state_bytes(params={
        "preprocessor": Pipeline([("s", StandardScaler())])}), edit)
    path = crafted.write_zip(tmp_path / "id.skkeras", {"skkeras_prep.json": crafted.metadata(),
                                                       "state.skops": state})
    with pytest.raises(ValueError, match="sklearn.pipeline.Pipeline.memory"):
        skkeras_prep.load(path)


def test_a_model_file_with_a_vocabulary_path_needs_trusted(tmp_path):
    inputs = keras.Input((1,), dtype="string")
    model = keras.Model(inputs, keras.layers.StringLookup(vocabulary=["a", "b"])(inputs))

    def edit(config):
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "StringLookup":
                layer["config"]["vocabulary"] = "/etc/passwd"

    path = crafted.fitted_file(tmp_path / "v.skkeras", model, keras_config_edit=edit)
    with pytest.raises(ValueError) as info:
        skkeras_prep.load(path)
    assert "keras.layers.StringLookup.vocabulary" in str(info.value)
    assert "'/etc/passwd'" in str(info.value)
    listed = skkeras_prep.inspect_file(path)
    assert "keras.layers.StringLookup.vocabulary" in listed["untrusted"]


def test_a_saved_estimator_with_a_pipeline_memory_needs_trusted(binary_data, tmp_path):
    X, y = binary_data
    memory = str(tmp_path / "joblib")
    est = KerasPipelineRegressor(MLP((4,)), preprocessor=Pipeline(
        [("s", StandardScaler())], memory=memory), epochs=1, random_state=0)
    path = tmp_path / "est.skkeras"
    est.save(path)  # unfitted, as 1a28e87 wrote it
    with pytest.raises(ValueError, match=r"trusted=\['sklearn.pipeline.Pipeline.memory'\]"):
        skkeras_prep.load(path)
    loaded = skkeras_prep.load(path, trusted=["sklearn.pipeline.Pipeline.memory"])
    assert loaded.preprocessor.memory == memory


def test_an_image_loader_cache_in_a_fitted_file_creates_nothing(tmp_path):
    cache = tmp_path / "elsewhere" / "cache"
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    path = crafted.fitted_file(tmp_path / "img.skkeras", model, params={
        "preprocessor": ImageLoader(size=(8, 8), cache=str(cache))})
    with pytest.raises(ValueError, match="ImageLoader.cache"):
        skkeras_prep.load(path)
    assert not (tmp_path / "elsewhere").exists()


# -- §3: the size of one input row ------------------------------------------------------------
def test_the_large_row_file_of_the_issue_is_refused_at_load(tmp_path):
    path = crafted.large_rows(tmp_path / "rows.skkeras")
    assert os.path.getsize(path) < 16_000
    with pytest.raises(ValueError) as info:
        skkeras_prep.load(path)
    message = str(info.value)
    assert "max_row_elements=4,194,304" in message and "192,000,000" in message
    assert skkeras_prep.inspect_file(path, max_row_elements=10**9)["row_elements"] == 192_000_000
    with pytest.raises(ValueError, match="max_row_elements"):
        skkeras_prep.inspect_file(path)


@pytest.mark.parametrize("source", ["loader", "model"])
def test_each_source_of_the_row_size_is_bounded(tmp_path, source):
    if source == "loader":
        path = crafted.state_file(tmp_path / "l.skkeras",
                                  params={"preprocessor": ImageLoader(size=(4000, 4000))})
        expected = 4000 * 4000 * 3
    else:
        model = keras.Sequential([keras.Input((3000, 2000)), keras.layers.Dense(1)])
        path = crafted.fitted_file(tmp_path / "m.skkeras", model)
        expected = 3000 * 2000
    with pytest.raises(ValueError, match=f"{expected:,} elements"):
        skkeras_prep.load(path)
    assert skkeras_prep.inspect_file(path, max_row_elements=expected)["row_elements"] == expected


def test_a_1024_square_rgb_image_row_loads_by_default(tmp_path):
    path = crafted.state_file(tmp_path / "ok.skkeras",
                              params={"preprocessor": ImageLoader(size=(1024, 1024))})
    assert skkeras_prep.inspect_file(path)["row_elements"] == 1024 * 1024 * 3
    assert skkeras_prep.load(path).preprocessor.size == (1024, 1024)


def test_none_dimensions_count_as_one(tmp_path):
    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(1)])
    path = crafted.fitted_file(tmp_path / "n.skkeras", model)
    assert skkeras_prep.inspect_file(path)["row_elements"] == 3


def test_an_unreadable_loader_size_is_refused(tmp_path):
    path = crafted.state_file(tmp_path / "s.skkeras",
                              params={"preprocessor": ImageLoader(size=("big", 3))})
    with pytest.raises(ValueError, match="size is not two positive integers"):
        skkeras_prep.load(path)


# -- §4: save errors and temporary files -----------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(16, 3))
    return KerasPipelineRegressor(MLP((4,)), epochs=1, random_state=0).fit(X, X[:, 0]), X


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs the Linux /proc file system")
@pytest.mark.parametrize("target", ["/proc/x.skkeras", "/proc/self/x.skkeras"])
def test_saving_to_an_unwritable_place_names_the_os_error_and_the_path(fitted, target):
    with pytest.raises(OSError) as info:
        fitted[0].save(target)
    message = str(info.value)
    assert f"Cannot save to {target!r}" in message and info.value.errno is not None
    assert "get_config" not in message


def test_save_and_load_stage_nothing_in_the_system_temp_folder(fitted, tmp_path, monkeypatch):
    system_tmp = tmp_path / "system_tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    path = tmp_path / "m.skkeras"
    fitted[0].save(path)
    seen = []
    real = _compat.keras_model_from_bytes

    def spying(*args):
        seen.append(sorted(os.listdir(system_tmp)))
        return real(*args)

    monkeypatch.setattr(_compat, "keras_model_from_bytes", spying)
    loaded = skkeras_prep.load(path)
    assert seen == [[]] and os.listdir(system_tmp) == []
    np.testing.assert_allclose(loaded.predict(fitted[1]), fitted[0].predict(fitted[1]), atol=1e-6)


@pytest.mark.parametrize("prefix, count, message", [
    ("junk/", 50, "unexpected entries"), ("assets/", 300, "300 assets; at most 256")])
def test_a_keras_entry_with_members_keras_does_not_write_is_refused(tmp_path, prefix, count,
                                                                    message):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    data = crafted.keras_bytes(model)
    import io
    import zipfile

    inner = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(inner, "w") as new:
        for name in old.namelist():
            new.writestr(name, old.read(name))
        for i in range(count):
            new.writestr(f"{prefix}{i}.txt", b"x")
    path = crafted.write_zip(tmp_path / "many.skkeras", {
        "skkeras_prep.json": crafted.metadata(fitted=True), "state.skops": crafted.state_bytes(),
        "model.keras": inner.getvalue()})
    with pytest.raises(ValueError, match=message):
        skkeras_prep.load(path)


# -- §5 findings: weights compressed inside HDF5, links out of it, malformed StrategySpec ----
def _with_weights(tmp_path, write):
    import io
    import zipfile

    import h5py

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    data = crafted.keras_bytes(model)
    h5 = io.BytesIO()
    with h5py.File(h5, "w") as f:
        write(f)
    inner = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(inner, "w") as new:
        for name in old.namelist():
            new.writestr(name, h5.getvalue() if name == "model.weights.h5" else old.read(name))
    return crafted.write_zip(tmp_path / "h5.skkeras", {
        "skkeras_prep.json": crafted.metadata(fitted=True), "state.skops": crafted.state_bytes(),
        "model.keras": inner.getvalue()})


def test_weights_compressed_inside_the_hdf5_file_are_refused(tmp_path):
    def write(f):  # 1.6 GB of float32 zeros in about 10 KB
        f.create_dataset("layers/dense/vars/0", shape=(20000, 20000), dtype="f4",
                         compression="gzip", chunks=(1000, 1000), fillvalue=0)

    path = _with_weights(tmp_path, write)
    assert os.path.getsize(path) < 100_000
    with pytest.raises(ValueError, match="1,600,000,000 bytes.*compressed inside the file"):
        skkeras_prep.load(path)


@pytest.mark.parametrize("kind", ["external link", "external storage"])
def test_weights_pointing_outside_the_file_are_refused(tmp_path, kind):
    import h5py

    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\0" * 64)

    def write(f):
        if kind == "external link":
            f["layers/dense/vars/0"] = h5py.ExternalLink(str(secret), "/x")
        else:
            f.create_dataset("layers/dense/vars/0", shape=(4, 4), dtype="f4",
                             external=[(str(secret), 0, 64)])

    with pytest.raises(ValueError, match="ExternalLink|stored in another file"):
        skkeras_prep.load(_with_weights(tmp_path, write))


@pytest.mark.parametrize("devices", [[["a"]], ["a", 3], {"a": 1}])
def test_a_strategy_spec_with_unhashable_devices_is_refused(tmp_path, devices):
    from skkeras_prep.distribution import StrategySpec

    spec = StrategySpec("one_device")
    spec.devices = devices
    path = crafted.state_file(tmp_path / "s.skkeras", params={"distribution": spec})
    with pytest.raises(ValueError, match="StrategySpec must hold"):
        skkeras_prep.load(path)
    ok = crafted.state_file(tmp_path / "ok.skkeras", params={
        "distribution": StrategySpec("one_device", ["/cpu:0"])})
    assert skkeras_prep.load(ok).distribution == StrategySpec("one_device", ["/cpu:0"])


def test_a_config_with_too_many_layers_is_refused_before_keras_builds_it(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2), keras.layers.Dense(1)])

    def edit(config):  # the Dense layers repeated: a small file, a long load
        layers = config["config"]["layers"]
        config["config"]["layers"] = layers[:1] + layers[1:] * 1500

    path = crafted.fitted_file(tmp_path / "layers.skkeras", model, keras_config_edit=edit)
    assert os.path.getsize(path) < 200_000
    with pytest.raises(ValueError, match="3,001 layers.*max_layers=2,000"):
        skkeras_prep.load(path)
    with pytest.raises(ValueError, match="3 layers.*max_layers=2"):
        skkeras_prep.load(crafted.fitted_file(tmp_path / "few.skkeras", model), max_layers=2)
