"""Save, load and export of estimators fitted with several inputs or outputs: round trips
match ``predict_proba`` / ``predict``, files of format version 2 (tests/fixtures, made by
make_multi_io_fixtures.py) keep loading, and a release that reads only older versions
refuses them by name."""

import json
import os
import zipfile

import numpy as np
import pytest

import skkeras_prep
from skkeras_prep import MultiInput
from skkeras_prep._persistence import format as file_format
from skkeras_prep.export import frame_to_inputs

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
NAMES = ("multi_inputs", "multi_outputs", "multi_io_regressor")


@pytest.fixture(scope="module")
def made():
    from fixtures import make_multi_io_fixtures  # tests/fixtures (tests/ is on sys.path)

    return make_multi_io_fixtures


@pytest.fixture(scope="module")
def fresh(made):
    """The fixtures' estimators, fitted now by this version."""
    return made.make_estimators()


def _outputs(estimator, X):
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    return estimator.predict(X)


def _assert_same(got, want, **tol):
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(np.asarray(g), w, **tol)
    else:
        np.testing.assert_allclose(np.asarray(got), want, **tol)


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_gives_the_same_outputs(made, fresh, name, tmp_path):
    estimator, X = fresh[name], made.fixture_inputs()[name]
    path = tmp_path / f"{name}.skkeras"
    estimator.save(path)
    loaded = skkeras_prep.load(path)
    _assert_same(_outputs(loaded, X), _outputs(estimator, X), rtol=0, atol=0)
    assert skkeras_prep.inspect_file(path)["metadata"]["format_version"] == 2
    if name == "multi_inputs":
        # the per-input checks came back: a missing column is named as before saving
        with pytest.raises(ValueError, match=r"Input 'a': X has missing column\(s\) \['z'\]"):
            loaded.predict({"a": X["a"].drop(columns="z"), "b": X["b"]})
        assert loaded.input_names_ == ["a", "b"]


@pytest.mark.parametrize("name", NAMES)
def test_export_matches_the_estimator(made, fresh, name):
    estimator, X = fresh[name], made.fixture_inputs()[name]
    exported = estimator.export_model()
    got = exported(frame_to_inputs(exported, X))
    _assert_same(got, _outputs(estimator, X), rtol=1e-5, atol=1e-6)


def test_exported_inputs_are_named_by_input_and_column(made, fresh):
    exported = fresh["multi_inputs"].export_model()
    assert sorted(exported.input) == ["a.colour", "a.x", "a.z", "b"]
    assert exported.input["a.colour"].dtype == "string"
    X = made.fixture_inputs()["multi_inputs"]
    as_dict, as_wrapper = frame_to_inputs(exported, X), frame_to_inputs(exported, MultiInput(X))
    assert list(as_dict) == list(as_wrapper)  # a MultiInput is read as its dict
    for key in as_dict:
        np.testing.assert_array_equal(as_dict[key], as_wrapper[key])
    with pytest.raises(ValueError, match=r"lacks the exported model's input\(s\) \['b'\]"):
        frame_to_inputs(exported, {"a": made.fixture_inputs()["multi_inputs"]["a"]})


@pytest.mark.parametrize("name", NAMES)
def test_fixtures_of_format_version_2_load_and_predict_as_recorded(made, name):
    expected = np.load(os.path.join(FIXTURES, "multi_io_expected.npz"))
    loaded = skkeras_prep.load(os.path.join(FIXTURES, f"{name}.skkeras"))
    got = _outputs(loaded, made.fixture_inputs()[name])
    if name == "multi_outputs":
        want = [expected[f"multi_outputs_{i}"] for i in range(2)]
    else:
        want = expected[name]
    _assert_same(got, want, rtol=1e-6, atol=1e-7)


def test_single_io_files_keep_format_version_1(tmp_path):
    X = np.random.default_rng(0).normal(size=(20, 3))
    clf = skkeras_prep.KerasPipelineClassifier(
        skkeras_prep.models.MLP(hidden_layer_sizes=(2,)), epochs=1, random_state=0)
    clf.fit(X, (X[:, 0] > 0).astype(int)).save(tmp_path / "one.skkeras")
    assert skkeras_prep.inspect_file(tmp_path / "one.skkeras")["metadata"]["format_version"] == 1


def test_a_release_reading_version_1_only_refuses_the_fixtures(monkeypatch):
    """What an older release does with a version-2 file: it reads versions up to its own
    FORMAT_VERSION (1), and refuses the file with the upgrade advice before reading any more
    of it (checked by hand with 1a28e87's package too)."""
    monkeypatch.setattr(file_format, "FORMAT_VERSION", 1)
    for name in NAMES:
        with pytest.raises(ValueError, match=r"written by a newer skkeras_prep \(file format "
                           r"version 2.*reads format versions up to 1\. Upgrade"):
            skkeras_prep.load(os.path.join(FIXTURES, f"{name}.skkeras"))


def _with_metadata(source, target, **changes):
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == file_format.METADATA:
                metadata = json.loads(data)
                metadata.update(changes)
                data = json.dumps(metadata).encode()
            zout.writestr(info, data)


def test_a_newer_format_version_is_refused_clearly(tmp_path):
    bumped = tmp_path / "bumped.skkeras"
    _with_metadata(os.path.join(FIXTURES, "multi_outputs.skkeras"), bumped,
                   format_version=file_format.FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match="written by a newer skkeras_prep.*pip install -U"):
        skkeras_prep.load(bumped)


def test_input_records_that_do_not_match_the_inputs_are_refused(fresh, tmp_path, monkeypatch):
    estimator = fresh["multi_inputs"]
    monkeypatch.setattr(estimator, "_input_records",
                        {"a": estimator._input_records["a"]})  # "b" lost
    estimator.save(tmp_path / "bad.skkeras")
    monkeypatch.undo()
    with pytest.raises(ValueError, match=r"input records \['a'\] do not match its inputs"):
        skkeras_prep.load(tmp_path / "bad.skkeras")


def test_an_encoder_of_several_outputs_without_its_kind_is_refused(fresh, tmp_path, monkeypatch):
    estimator = fresh["multi_outputs"]
    monkeypatch.delattr(estimator.target_encoder_, "kind")  # as a crafted file may hold it
    estimator.save(tmp_path / "bad.skkeras")
    monkeypatch.undo()
    with pytest.raises(ValueError, match=r"target encoding has no kind"):
        skkeras_prep.load(tmp_path / "bad.skkeras")
