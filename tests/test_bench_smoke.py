"""Smoke test of the benchmark suite (bench/): tiny sizes, so the harness stays runnable.

The skkeras_prep and raw-Keras cases always run; peers (scikeras, ...) are not needed.
Timings and memory figures are meaningless at these sizes and are not checked.
"""

import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

bench_run = pytest.importorskip("bench.run")
from bench import cases, harness  # noqa: E402


@pytest.mark.slow  # runs the benchmark harness end to end (about 10 s of CPU)
def test_bench_harness_runs_on_tiny_sizes(tmp_path):
    out, raw = tmp_path / "README.md", tmp_path / "results.json"
    code = bench_run.main([
        "--smoke", "--in-process", "--contenders", "skkeras_prep,keras_fit",
        "--out", str(out), "--json", str(raw),
    ])
    assert code == 0
    data = json.loads(raw.read_text())
    assert not [r for r in data["results"] if "error" in r]
    table = data["table"]
    assert set(table) == set(bench_run.SCENARIOS)
    for scenario in bench_run.SCENARIOS:
        contenders = {e["contender"] for e in table[scenario].values()}
        assert "skkeras_prep" in contenders, scenario
        if scenario != "transform_calls":
            assert "keras_fit" in contenders, scenario
    # target 6 is a count, valid at any size: transform runs once per fit, not per epoch
    for entry in table["transform_calls"].values():
        assert entry["transform_calls_per_fit"] == 1
        assert entry["transform_passes_per_fit"] == 1
    text = out.read_text()
    assert "## Targets" in text and "--smoke --in-process" in text
    assert "| skkeras_prep |" in text and "| raw Keras |" in text


def test_bench_worker_subprocess_protocol():
    """One real subprocess job (sklearn's MLP: no TensorFlow start-up, so it is quick)."""
    job = {"scenario": "fit_large", "contender": "sklearn_mlp", "rep": 0,
           "params": dict(bench_run.SIZES["smoke"]["fit_large"], seed=0)}
    result = harness.run_job_subprocess(job, timeout=120)
    assert "error" not in result, result.get("error")
    (row,) = result["rows"]
    assert row["fit_s"] > 0 and row["peak_rss_mb"] >= row["rss_before_mb"] > 0
    assert len(result["loadavg_before"]) == 3


def test_plan_alternates_contenders_and_skips_missing_peers(monkeypatch):
    jobs = bench_run.plan("smoke", ["fit_large"], ["skkeras_prep", "keras_fit", "sklearn_mlp"], 3)
    orders = [[j["contender"] for j in jobs if j["rep"] == r] for r in range(3)]
    assert orders[0] == ["skkeras_prep", "keras_fit", "sklearn_mlp"]
    assert orders[1] == ["keras_fit", "sklearn_mlp", "skkeras_prep"]
    assert [j["params"]["seed"] for j in jobs] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    monkeypatch.setitem(cases.CONTENDERS, "scikeras",
                        dict(cases.CONTENDERS["scikeras"], requires=("no_such_module_xyz",)))
    assert not bench_run.available("scikeras")
    assert bench_run.available("skkeras_prep")


@pytest.mark.slow
def test_retained_graphs_benchmark_runs_and_skkeras_keeps_no_graph():
    from bench import retained_graphs

    rows = {r["case"]: r for r in retained_graphs.measure(fits=6)}
    assert len(rows) == 8 and all(r["growth_mb_per_cycle"] == r["growth_mb_per_cycle"] for r in rows.values())
    # 0, or below 0 where the eager kernel cache emptied at the end of a fit also let go of
    # graphs made before the measurement started
    assert rows["skkeras_prep fit (optimizer built before training)"]["graphs_per_cycle"] <= 0


def _git_head():
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")  # --baseline then fails with a clear message, tested below
    proc = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip("not a git checkout")
    return proc.stdout.strip()


@pytest.mark.slow  # runs the benchmark harness end to end (about 10 s of CPU)
def test_bench_baseline_runs_head_side_by_side_and_proves_its_import_path(tmp_path):
    """--baseline HEAD: the library exported by git archive runs as skkeras_prep@<short> in
    its own process, and every row says which skkeras_prep.__file__ it measured."""
    head = _git_head()
    out, raw = tmp_path / "README.md", tmp_path / "results.json"
    code = bench_run.main([
        "--smoke", "--in-process", "--scenarios", "fit_small", "--contenders", "skkeras_prep",
        "--baseline", "HEAD", "--out", str(out), "--json", str(raw),
    ])
    assert code == 0
    data = json.loads(raw.read_text())
    assert not [r for r in data["results"] if "error" in r]
    base = data["meta"]["baseline"]
    assert base["sha"] == head and head.startswith(base["short"])
    name = f"skkeras_prep@{base['short']}"
    assert base["contender"] == name
    folder = os.path.realpath(base["path"])
    assert folder == os.path.realpath(os.path.join(ROOT, "bench", "results", f"baseline-{base['short']}"))
    (entry,) = [e for e in data["table"]["fit_small"].values() if e["contender"] == name]
    assert entry["fit_s"] > 0
    rows = [row for r in data["results"] for row in r["rows"] if row["contender"] == name]
    assert len(rows) == 1 and rows[0]["label"] == name
    assert rows[0]["skkeras_prep_file"] == os.path.join(folder, "skkeras_prep", "__init__.py")
    assert rows[0]["revision"]["sha"] == head
    (current,) = [row for r in data["results"] for row in r["rows"] if row["contender"] == "skkeras_prep"]
    assert not current["skkeras_prep_file"].startswith(folder + os.sep)
    assert base["verified_files"] == [rows[0]["skkeras_prep_file"]]
    text = out.read_text()
    assert f"| {name} |" in text and f"commit `{head}`" in text and "--baseline HEAD" in text
    assert f"R. no regression vs {name}: first fit on small data" in text
    assert "at most 10% above" in text


def test_bench_baseline_plan_and_bad_revision(capsys):
    base = {"contender": "skkeras_prep@abc1234", "path": "/nowhere", "rev": "X", "sha": "a" * 40,
            "short": "abc1234"}
    jobs = bench_run.plan("smoke", ["fit_large", "fit_small"], ["skkeras_prep", "keras_fit"], 2,
                          baseline=base)
    orders = [[(j["scenario"], j["contender"]) for j in jobs if j["rep"] == r] for r in range(2)]
    assert [c for s, c in orders[0] if s == "fit_small"] == ["skkeras_prep", "skkeras_prep@abc1234", "keras_fit"]
    assert [c for s, c in orders[1] if s == "fit_small"] == ["skkeras_prep@abc1234", "keras_fit", "skkeras_prep"]
    for job in jobs:
        is_base = job["contender"] == base["contender"]
        assert (job.get("import_path") == "/nowhere") is is_base
        assert (job.get("case") == "skkeras_prep") is is_base
    # only the baseline when skkeras_prep is filtered out; none where skkeras_prep does not run
    jobs = bench_run.plan("smoke", ["fit_small"], ["keras_fit"], 1, baseline=base)
    assert [j["contender"] for j in jobs] == ["skkeras_prep@abc1234", "keras_fit"]
    with pytest.raises(SystemExit):
        bench_run.main(["--smoke", "--baseline", "no-such-revision-xyz", "--out", os.devnull])
    err = capsys.readouterr().err
    assert "--baseline 'no-such-revision-xyz' is not a commit" in err or "needs the `git` command" in err


def test_bench_worker_env_never_inherits_a_baseline_path(monkeypatch):
    from bench.baseline import IMPORT_PATH_ENV

    monkeypatch.setenv(IMPORT_PATH_ENV, "/stale")
    assert IMPORT_PATH_ENV not in harness.worker_env()
    assert harness.worker_env("/x")[IMPORT_PATH_ENV] == "/x"


def test_bench_worker_refuses_a_baseline_job_with_the_wrong_library(tmp_path):
    """A baseline job whose skkeras_prep is not the exported one must fail, not report."""
    import skkeras_prep  # noqa: F401  (the current library, not the folder below)
    from bench import worker

    job = {"scenario": "fit_small", "contender": "skkeras_prep@abc1234", "case": "skkeras_prep",
           "import_path": str(tmp_path), "rep": 0, "params": {}, "revision": {}}
    with pytest.raises(RuntimeError, match="fresh worker process"):
        worker.execute(job)


def test_memory_cycles_case_and_figures(tmp_path):
    from bench import memory_cycles

    result = memory_cycles.run_case("skkeras_prep", 2, progress=str(tmp_path / "p.json"))
    assert result["cycles"] == 2 and len(result["rss_mb"]) == 2
    assert all(v > 0 for v in result["rss_mb"])
    assert memory_cycles._slope([5.0, 7.0, 9.0, 11.0], 1) == pytest.approx(2.0)
    row = memory_cycles.summarise({"case": "raw_keras", "rss_mb": [1.0 * i for i in range(120)],
                                   "cycle_s": [0.1] * 120})
    assert row["from_cycle"] == 50 and row["growth_mb"] == pytest.approx(70.0)
    assert row["slope_mb_per_cycle"] == pytest.approx(1.0)
    short = memory_cycles.summarise({"case": "raw_keras", "rss_mb": [2.0 * i for i in range(60)],
                                     "cycle_s": [0.1] * 60})
    assert short["from_cycle"] == 20 and short["growth_mb"] == pytest.approx(80.0)
    with pytest.raises(ValueError, match="unknown case"):
        memory_cycles.run_case("nope", 1)


@pytest.mark.slow
def test_image_folder_benchmark_runs_its_three_contenders_on_a_tiny_folder(tmp_path):
    """bench.images_throughput end to end on 40 files: each contender in its own process,
    the report's table and ratios (the figures themselves are meaningless at this size)."""
    from bench import images_throughput

    out = tmp_path / "images.md"
    code = images_throughput.main(["--n", "40", "--repeats", "1", "--dir", str(tmp_path / "png"),
                                   "--out", str(out)])
    assert code == 0
    assert sum(len(files) for _, _, files in os.walk(tmp_path / "png")) == 40
    text = out.read_text()
    for contender in ("keras", "no_files", "skkeras_prep"):
        assert f"| {contender} |" in text
    assert "skkeras_prep / Keras pipeline" in text and "images per CPU second" in text
    assert "the same training with no files" in text
